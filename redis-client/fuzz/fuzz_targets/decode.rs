//! `cargo +nightly fuzz run decode`: any bytes, both RESP versions, small
//! limits. The decoder must never panic, never claim more bytes than it was
//! given, and never accept a reply over the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redis_client::proto::{decode, Limits, Protocol};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bulk_len: 1024,
        max_aggregate_len: 64,
        max_depth: 8,
        max_reply_bytes: 4096,
        ..Limits::default()
    };
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        if let Ok(Some((_, used))) = decode(data, protocol, &limits) {
            assert!(used <= data.len() && used <= limits.max_reply_bytes);
        }
    }
});
