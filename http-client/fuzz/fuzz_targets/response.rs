//! `cargo +nightly fuzz run response` (from http-client/fuzz): see
//! `checks/http.rs` for what it checks (shared with the stable corpus
//! replay in tests/fuzz_corpus.rs).
#![no_main]

#[path = "../checks/http.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::response(data));
