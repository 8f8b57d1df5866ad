//! What the SMTP fuzz targets check, shared with the stable corpus replay
//! (`tests/fuzz_corpus.rs`).
// Each target uses one of these checks; the corpus replay uses them all.
#![allow(dead_code)]

use smtp_client::proto::ehlo::Extensions;
use smtp_client::proto::reply::{decode, EnhancedCode, Reply, MAX_REPLY_BYTES};

/// Any bytes as server replies: the decoder never panics, never claims
/// more bytes than it was given or than its bound, decodes the same reply
/// whichever prefix first completes it, and every reply it returns can be
/// shown and classified.
pub fn reply(data: &[u8]) {
    let mut rest = data;
    for _ in 0..16 {
        let Ok(Some((reply, used))) = decode(rest) else {
            return;
        };
        assert!(used > 0 && used <= rest.len() && used <= MAX_REPLY_BYTES);
        assert!((100..=599).contains(&reply.code), "code {}", reply.code);
        // A prefix is "need more", or (ending early) the same reply.
        for cut in [used / 2, used.saturating_sub(1)] {
            if let Ok(Some(early)) = decode(&rest[..cut]) {
                panic!("a prefix of {cut} bytes decoded as {early:?}, whole {reply:?}");
            }
        }
        let _ = (
            reply.is_positive(),
            reply.is_transient(),
            reply.is_closing(),
        );
        let _ = (reply.message(), reply.to_string());
        rest = &rest[used..];
    }
}

/// An EHLO reply: decoded, then its keywords parsed; also the lines taken
/// as they come (no decoder in front), and enhanced codes on every line.
pub fn ehlo(data: &[u8]) {
    if let Ok(Some((reply, _))) = decode(data) {
        check_extensions(&reply);
    }
    let text = String::from_utf8_lossy(data);
    let lines: Vec<String> = text.split('\n').take(128).map(str::to_string).collect();
    for line in &lines {
        if let Some((code, rest)) = EnhancedCode::parse_prefix(line) {
            assert!(rest.len() < line.len());
            let _ = code.to_string();
        }
    }
    check_extensions(&Reply {
        code: 250,
        enhanced: None,
        lines,
    });
}

fn check_extensions(reply: &Reply) {
    let ext = Extensions::parse(reply);
    if let Some(limit) = ext.size_limit() {
        assert!(limit > 0);
    }
    for m in &ext.auth {
        assert!(!m.name().is_empty());
    }
}
