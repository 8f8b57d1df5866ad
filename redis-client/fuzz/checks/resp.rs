//! What the RESP fuzz targets check, shared with the stable corpus replay
//! (`tests/fuzz_corpus.rs`).
// Each target uses one of these checks; the corpus replay uses them all.
#![allow(dead_code)]

use redis_client::proto::{decode, decode_with, scan, Limits, Protocol, Scanner};

fn limits() -> Limits {
    Limits {
        max_bulk_len: 1024,
        max_aggregate_len: 64,
        max_depth: 8,
        max_reply_bytes: 4096,
        ..Limits::default()
    }
}

/// Any bytes, both RESP versions, small limits: the decoder must never
/// panic, never claim more bytes than it was given, and never accept a
/// reply over the limits.
pub fn decode_whole(data: &[u8]) {
    let limits = limits();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        if let Ok(Some((_, used))) = decode(data, protocol, &limits) {
            assert!(used <= data.len() && used <= limits.max_reply_bytes);
        }
    }
}

/// The second decode path: the same bytes arriving in growing pieces go
/// through the resumable scanner (`decode_with` keeps it across calls).
/// Whatever way the bytes arrive, the verdict is the same: the same value
/// of the same length, or an error either way; and the scan agrees on the
/// frame's length.
pub fn decode_pieces(data: &[u8]) {
    let limits = limits();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let whole = decode(data, protocol, &limits);
        let mut scanner = Scanner::default();
        let mut have = 0;
        let mut piece = 1;
        let pieces = loop {
            have = (have + piece).min(data.len());
            piece = piece * 2 + 1;
            match decode_with(&mut scanner, &data[..have], protocol, &limits) {
                Ok(None) if have < data.len() => continue,
                other => break other,
            }
        };
        match (&whole, &pieces) {
            (Ok(Some((a, n))), Ok(Some((b, m)))) => {
                assert_eq!(n, m, "frame length differs by arrival");
                assert_eq!(
                    format!("{a:?}"),
                    format!("{b:?}"),
                    "value differs by arrival"
                );
                assert_eq!(scan(data, protocol, &limits), Ok(Some(*n)));
            }
            (Ok(None), Ok(None)) | (Err(_), Err(_)) => {}
            // A frame that fails whole may be complete and fine in a
            // prefix (the error is in later bytes), and the reverse.
            (Ok(Some((_, n))), _) => assert!(*n > 0),
            (_, Ok(Some((_, m)))) => assert!(*m <= data.len()),
            (a, b) => panic!("whole {a:?} but in pieces {b:?}"),
        }
    }
}
