//! `cargo +nightly fuzz run decode_pieces` (from redis-client/fuzz): the
//! resumable scan path fed in pieces, against the whole-buffer path; see
//! `checks/resp.rs` (shared with tests/fuzz_corpus.rs).
#![no_main]

#[path = "../checks/resp.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::decode_pieces(data));
