//! `cargo +nightly fuzz run ehlo` (from smtp-client/fuzz): see
//! `checks/smtp.rs` (shared with tests/fuzz_corpus.rs).
#![no_main]

#[path = "../checks/smtp.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::ehlo(data));
