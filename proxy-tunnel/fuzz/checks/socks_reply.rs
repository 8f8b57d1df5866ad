//! What the SOCKS fuzz target checks, shared with the stable corpus replay
//! (`tests/fuzz_corpus.rs`).

use proxy_tunnel::proto::socks::{
    decode_method, decode_password_reply, decode_reply4, decode_reply5, MAX_REPLY,
};
use proxy_tunnel::proto::SocksError;

type Verdict = Result<Option<usize>, SocksError>;

fn check(bytes: &[u8], decode: impl Fn(&[u8]) -> Verdict) {
    let whole = decode(bytes);
    if let Ok(Some(used)) = &whole {
        assert!(*used <= bytes.len() && *used <= MAX_REPLY);
    }
    // Every prefix is either "need more" or the same verdict reached early.
    for cut in [bytes.len() / 3, bytes.len() / 2] {
        match decode(&bytes[..cut]) {
            Ok(None) => {}
            early => assert_eq!(early, whole),
        }
    }
}

/// The SOCKS decoders (method choice, RFC 1929 status, SOCKS5 and SOCKS4
/// replies) on any bytes: they must never panic, never claim more bytes
/// than they were given or than `MAX_REPLY`, and reach the same verdict
/// however the bytes are split across reads.
pub fn socks_reply(data: &[u8]) {
    check(data, |b| decode_reply5(b).map(|r| r.map(|(_, n)| n)));
    check(data, |b| decode_reply4(b).map(|r| r.map(|(_, n)| n)));
    check(data, |b| {
        decode_method(b, &[0, 2]).map(|r| r.map(|(_, n)| n))
    });
    check(data, |b| {
        decode_password_reply(b).map(|r| r.map(|(_, n)| n))
    });
}
