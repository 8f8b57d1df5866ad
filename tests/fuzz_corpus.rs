//! Replays every fuzz corpus on the stable toolchain (issue 11 §4): each
//! input through the very check its cargo-fuzz target runs (the checks live
//! in `<crate>/fuzz/checks/` and are included here and by the targets), so
//! `make test` keeps every input the fuzzers ever kept passing, and any
//! crash file put in a corpus stays fixed.

#[path = "../http-client/fuzz/checks/http.rs"]
mod http_checks;
#[path = "../proxy-tunnel/fuzz/checks/connect_reply.rs"]
mod proxy_checks;
#[path = "../redis-client/fuzz/checks/resp.rs"]
mod resp_checks;
#[path = "../smtp-client/fuzz/checks/smtp.rs"]
mod smtp_checks;
#[path = "../proxy-tunnel/fuzz/checks/socks_reply.rs"]
mod socks_checks;

use std::path::{Path, PathBuf};

/// Every file of `<crate>/fuzz/corpus/<target>/`, run through `check`.
/// Returns how many there were (a target without a corpus fails).
fn replay(krate: &str, target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no corpus", dir.display());
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let r = std::panic::catch_unwind(|| check(&data));
        assert!(
            r.is_ok(),
            "{krate}/{target}: {} fails its check",
            f.display()
        );
    }
    files.len()
}

#[test]
fn http_response_corpus() {
    replay("http-client", "response", http_checks::response);
}

#[test]
fn http_body_corpus() {
    replay("http-client", "body", http_checks::body);
}

#[test]
fn resp_decode_corpus() {
    replay("redis-client", "decode", resp_checks::decode_whole);
    // Every decode input also goes through the pieces path, and the reverse.
    replay("redis-client", "decode", resp_checks::decode_pieces);
}

#[test]
fn resp_decode_pieces_corpus() {
    replay("redis-client", "decode_pieces", resp_checks::decode_pieces);
    replay("redis-client", "decode_pieces", resp_checks::decode_whole);
}

#[test]
fn smtp_reply_corpus() {
    replay("smtp-client", "reply", smtp_checks::reply);
}

#[test]
fn smtp_ehlo_corpus() {
    replay("smtp-client", "ehlo", smtp_checks::ehlo);
}

#[test]
fn proxy_connect_reply_corpus() {
    replay("proxy-tunnel", "connect_reply", proxy_checks::connect_reply);
}

#[test]
fn proxy_socks_reply_corpus() {
    replay("proxy-tunnel", "socks_reply", socks_checks::socks_reply);
}

/// The checks are not vacuous: a well-formed input reaches the decoder's
/// success path (a check that returned early on everything would pass any
/// corpus).
#[test]
fn checks_reach_the_decoders() {
    use redis_client::proto::{decode, Limits, Protocol};
    let limits = Limits::default();
    assert!(matches!(
        decode(b"+OK\r\n", Protocol::Resp2, &limits),
        Ok(Some((_, 5)))
    ));
    let greeting = b"220 ready\r\n";
    assert!(matches!(
        smtp_client::proto::reply::decode(greeting),
        Ok(Some((_, 11)))
    ));
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    assert!(matches!(
        http_client::proto::parse_head(head, 4096),
        Ok(Some((_, 38)))
    ));
    let socks = [5, 0, 0, 1, 10, 0, 0, 1, 0x10, 0x92];
    assert!(matches!(
        proxy_tunnel::proto::socks::decode_reply5(&socks),
        Ok(Some((_, 10)))
    ));
    let reply = b"HTTP/1.1 200 Connection established\r\n\r\n";
    assert!(matches!(
        proxy_tunnel::proto::decode_reply(reply, 1024),
        Ok(Some((_, 39)))
    ));
}
