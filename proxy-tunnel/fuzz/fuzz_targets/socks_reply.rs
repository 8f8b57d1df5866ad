//! `cargo +nightly fuzz run socks_reply` (from proxy-tunnel/fuzz): see
//! `checks/socks_reply.rs` (shared with tests/fuzz_corpus.rs).
#![no_main]

#[path = "../checks/socks_reply.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::socks_reply(data));
