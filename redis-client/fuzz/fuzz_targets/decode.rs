//! `cargo +nightly fuzz run decode` (from redis-client/fuzz): see
//! `checks/resp.rs` (shared with tests/fuzz_corpus.rs).
#![no_main]

#[path = "../checks/resp.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::decode_whole(data));
