//! What the proxy fuzz target checks, shared with the stable corpus replay
//! (`tests/fuzz_corpus.rs`).

use proxy_tunnel::proto::decode_reply;

/// The proxy's reply head to CONNECT: any bytes, any limit. The decoder
/// must never panic, never claim more bytes than it was given or than the
/// limit, and give the same answer for a head however it is split across
/// reads.
pub fn connect_reply(data: &[u8]) {
    let Some((&limit_byte, bytes)) = data.split_first() else {
        return;
    };
    let limit = 16 + usize::from(limit_byte) * 16;
    let whole = decode_reply(bytes, limit);
    if let Ok(Some((_, used))) = &whole {
        assert!(*used <= bytes.len() && *used <= limit);
    }
    // Every prefix is either "need more" or the same verdict reached early.
    for cut in [bytes.len() / 3, bytes.len() / 2] {
        match decode_reply(&bytes[..cut], limit) {
            Ok(None) => {}
            Ok(Some(early)) => assert_eq!(Ok(Some(early)), whole),
            Err(_) => assert!(whole.is_err()),
        }
    }
}
