//! `cargo +nightly fuzz run connect_reply` (from proxy-tunnel/fuzz): see
//! `checks/connect_reply.rs` (shared with tests/fuzz_corpus.rs).
#![no_main]

#[path = "../checks/connect_reply.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::connect_reply(data));
