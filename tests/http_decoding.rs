//! brotli and zstd response decoding (features `brotli`, `zstd`) beside
//! gzip/deflate: real bodies from the second nginx of
//! `scripts/servers.d/http-extra.sh` (8090, `/compressed/*`, made with the
//! `brotli`, `zstd`, `gzip` tools), the `Accept-Encoding` the client sends
//! (the base nginx's `/echo`), empty bodies under those codings, and
//! scripted hostile peers: bombs past the decoded-size cap, a zstd frame
//! asking for a huge window, a stream cut short.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use http_client::{Client, Error};
use integration_tests::env_or;

fn extra_url() -> String {
    env_or("PCONN_HTTP_EXTRA_URL", "http://127.0.0.1:8090")
}

fn http_url() -> String {
    env_or("PCONN_HTTP_URL", "http://127.0.0.1:8080")
}

fn client() -> Client {
    Client::builder().proxy_from_env(false).build().unwrap()
}

/// The suffix of each pre-compressed file and the coding nginx names.
const FILES: &[(&str, &str)] = &[
    ("gz", "gzip"),
    ("zz", "deflate"),
    ("br", "br"),
    ("zst", "zstd"),
];

/// 16 MiB of zeros, the size of the bombs nginx serves.
const BOMB: usize = 16 << 20;

#[test]
fn br_and_zstd_bodies_are_decoded_as_gzip_and_deflate_are() {
    let client = client();
    let plain = client
        .get(&format!("{}/compressed/text", extra_url()))
        .call()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        plain.starts_with("line 1 of the compressed text\n"),
        "{plain}"
    );
    assert_eq!(plain.lines().count(), 200);
    for (ext, coding) in FILES {
        let url = format!("{}/compressed/text.{ext}", extra_url());
        let resp = client.get(&url).call().unwrap();
        assert_eq!(resp.header("content-encoding"), Some(*coding), "{url}");
        let raw_len: usize = resp.header("content-length").unwrap().parse().unwrap();
        assert!(raw_len < plain.len() / 2, "{url}: {raw_len}");
        assert_eq!(resp.text().unwrap(), plain, "{url}");
        // Through the streaming reader too.
        let mut out = String::new();
        let resp = client.get(&url).call().unwrap();
        resp.into_reader().read_to_string(&mut out).unwrap();
        assert_eq!(out, plain, "{url} into_reader");
    }
    // Not decoded when the client is told not to: the raw brotli bytes.
    let raw = Client::builder()
        .decompress(false)
        .proxy_from_env(false)
        .build()
        .unwrap()
        .get(&format!("{}/compressed/text.br", extra_url()))
        .call()
        .unwrap()
        .bytes()
        .unwrap();
    assert_ne!(raw, plain.as_bytes());
    let stats = client.stats();
    assert_eq!(stats.opened, 1, "{stats:?}");
}

#[test]
fn accept_encoding_names_every_coding_compiled_in() {
    let echo = |client: &Client, header: Option<&str>| {
        let mut req = client.get(&format!("{}/echo", http_url()));
        if let Some(v) = header {
            req = req.header("Accept-Encoding", v);
        }
        req.call().unwrap().text().unwrap()
    };
    let text = echo(&client(), None);
    assert!(
        text.contains("\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"),
        "{text}"
    );
    // The caller's own value wins, alone.
    let text = echo(&client(), Some("zstd"));
    assert!(text.contains("\r\nAccept-Encoding: zstd\r\n"), "{text}");
    assert_eq!(text.matches("Accept-Encoding").count(), 1, "{text}");
    let off = Client::builder()
        .decompress(false)
        .proxy_from_env(false)
        .build()
        .unwrap();
    let text = echo(&off, None);
    assert!(!text.contains("Accept-Encoding"), "{text}");
}

#[test]
fn head_204_and_304_under_br_and_zstd_are_empty() {
    let client = client();
    let base = extra_url();
    for coding in ["br", "zstd"] {
        for (method, url, status) in [
            ("HEAD", format!("{base}/encoded/{coding}"), 200),
            ("GET", format!("{base}/empty/204/{coding}"), 204),
            ("GET", format!("{base}/empty/304/{coding}"), 304),
            ("GET", format!("{base}/empty/200/{coding}"), 200),
        ] {
            let resp = client.request(method, &url).call().unwrap();
            assert_eq!(resp.status(), status, "{method} {url}");
            assert_eq!(resp.header("content-encoding"), Some(coding));
            assert_eq!(resp.bytes().unwrap(), b"", "{method} {url}");
            let resp = client.request(method, &url).call().unwrap();
            let mut out = Vec::new();
            resp.into_reader().read_to_end(&mut out).unwrap();
            assert!(out.is_empty(), "{method} {url} into_reader");
        }
    }
    // A HEAD of a real compressed file (Content-Length > 0, no body), and a
    // conditional GET of it that nginx answers 304 with its coding.
    for ext in ["br", "zst"] {
        let url = format!("{base}/compressed/text.{ext}");
        let head = client.head(&url).call().unwrap();
        assert_ne!(head.header("content-length"), Some("0"));
        let etag = head.header("etag").unwrap().to_string();
        assert_eq!(head.text().unwrap(), "");
        let resp = client
            .get(&url)
            .header("If-None-Match", &etag)
            .call()
            .unwrap();
        assert_eq!(resp.status(), 304, "{url}");
        assert!(resp.header("content-encoding").is_some());
        assert_eq!(resp.text().unwrap(), "", "{url}");
    }
    // Every empty body ended its exchange: one connection throughout.
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn real_bombs_stop_at_the_decoded_size_cap() {
    let cap = 1 << 20;
    let client = Client::builder()
        .max_body_bytes(cap)
        .proxy_from_env(false)
        .build()
        .unwrap();
    for ext in ["br", "zst", "gz"] {
        let url = format!("{}/compressed/bomb.{ext}", extra_url());
        let err = client.get(&url).call().unwrap().bytes().unwrap_err();
        assert!(
            matches!(err, Error::BodyTooLarge { limit } if limit == cap),
            "{url}: {err}"
        );
        // The streaming reader stops at the same cap, with the same error.
        let mut reader = client.get(&url).call().unwrap().into_reader();
        let mut total = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        let err = loop {
            match reader.read(&mut buf) {
                Ok(0) => panic!("{url}: the bomb decoded whole ({total} bytes)"),
                Ok(n) => total += n as u64,
                Err(e) => break e,
            }
        };
        assert!(total <= cap, "{url}: {total}");
        let inner = err.into_inner().unwrap().downcast::<Error>().unwrap();
        assert!(matches!(*inner, Error::BodyTooLarge { limit } if limit == cap));
        // A later read says the same, never a byte more.
        let again = reader.read(&mut buf).unwrap_err();
        assert!(again.to_string().contains("larger than"), "{again}");
        // The client goes on working.
        let ok = client.get(&format!("{}/compressed/text.{ext}", extra_url()));
        assert_eq!(ok.call().unwrap().text().unwrap().lines().count(), 200);
    }
    // At exactly its size the bomb is a (large) body like any other.
    let exact = Client::builder()
        .max_body_bytes(BOMB as u64)
        .proxy_from_env(false)
        .build()
        .unwrap();
    let url = format!("{}/compressed/bomb.zst", extra_url());
    let body = exact.get(&url).call().unwrap().bytes().unwrap();
    assert_eq!(body.len(), BOMB);
    assert!(body.iter().all(|&b| b == 0));
}

/// The raw (still compressed) bytes nginx serves at `path`.
fn raw(path: &str) -> Vec<u8> {
    Client::builder()
        .decompress(false)
        .proxy_from_env(false)
        .build()
        .unwrap()
        .get(&format!("{}{path}", extra_url()))
        .call()
        .unwrap()
        .bytes()
        .unwrap()
}

/// A scripted peer: answers each request head on one connection with the
/// next reply (a head and body, sent as is); stops after the last, closing
/// the connection. Returns the URL and the number of connections accepted.
fn serve(replies: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut replies = replies.into_iter().peekable();
        let mut accepted = 0;
        while replies.peek().is_some() {
            let (stream, _) = listener.accept().unwrap();
            accepted += 1;
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            'conn: for reply in replies.by_ref() {
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break 'conn;
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                // A reply that ends in "CLOSE" is cut there: the peer hangs up.
                if let Some(cut) = reply.strip_suffix(b"CLOSE") {
                    stream.write_all(cut).unwrap();
                    break 'conn;
                }
                stream.write_all(&reply).unwrap();
            }
        }
        accepted
    });
    (url, handle)
}

fn chunked(coding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(100) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn with_length(coding: &str, declared: usize, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nContent-Length: {declared}\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

#[test]
fn scripted_bombs_fail_past_the_cap_and_the_connection_goes_on() {
    for (ext, coding) in [("br", "br"), ("zst", "zstd")] {
        let bomb = raw(&format!("/compressed/bomb.{ext}"));
        let (url, server) = serve(vec![chunked(coding, &bomb), OK.to_vec()]);
        let cap = 100_000;
        let client = Client::builder()
            .max_body_bytes(cap)
            .proxy_from_env(false)
            .build()
            .unwrap();
        let err = client.get(&url).call().unwrap().bytes().unwrap_err();
        assert!(
            matches!(err, Error::BodyTooLarge { limit } if limit == cap),
            "{coding}: {err}"
        );
        assert!(err.to_string().contains("100000"), "{err}");
        // The compressed rest is small: drained, and the connection kept.
        assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "ok");
        assert_eq!(server.join().unwrap(), 1, "{coding}");
    }
}

#[test]
fn a_zstd_frame_asking_for_a_huge_window_is_refused_before_decoding() {
    // Magic, a frame header descriptor with no single-segment flag, and a
    // window descriptor of exponent 21: a 2 GiB window. Then junk.
    let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3];
    frame.extend_from_slice(&[0u8; 32]);
    let (url, server) = serve(vec![with_length("zstd", frame.len(), &frame)]);
    let err = client().get(&url).call().unwrap().bytes().unwrap_err();
    match &err {
        Error::Decode(d) => assert!(d.to_string().contains("window"), "{d}"),
        other => panic!("{other:?}"),
    }
    server.join().unwrap();
}

#[test]
fn a_stream_cut_short_is_a_clear_error_and_its_connection_is_not_reused() {
    for (ext, coding) in FILES {
        let body = raw(&format!("/compressed/text.{ext}"));
        let half = &body[..body.len() / 2];
        // The peer promises the whole body, sends half, and hangs up.
        let mut cut = with_length(coding, body.len(), half);
        cut.extend_from_slice(b"CLOSE");
        let (url, server) = serve(vec![cut, OK.to_vec()]);
        let client = client();
        let err = client.get(&url).call().unwrap().text().unwrap_err();
        assert!(
            !matches!(err, Error::Decode(_)),
            "{coding}: the cut is the transfer's, not the coding's: {err:?}"
        );
        assert!(
            err.to_string().contains("closed") || err.to_string().contains("short"),
            "{coding}: {err}"
        );
        assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "ok");
        assert_eq!(server.join().unwrap(), 2, "{coding}: a new connection");
        assert_eq!(client.stats().opened, 2);

        // The transfer whole but the coded stream cut short: a decode
        // error that says the stream ended early.
        let (url, server) = serve(vec![with_length(coding, half.len(), half), OK.to_vec()]);
        let client = self::client();
        let err = client.get(&url).call().unwrap().bytes().unwrap_err();
        match &err {
            Error::Decode(d) => assert!(!d.to_string().is_empty()),
            other => panic!("{coding}: {other:?}"),
        }
        // Its framing was honoured to the byte, so the connection is in
        // step: the next response on it is read exactly as on a new one.
        assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "ok");
        server.join().unwrap();
    }
}
