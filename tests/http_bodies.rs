//! Response bodies of `http-client` against real servers: empty bodies
//! under every content coding (the second nginx of
//! `scripts/servers.d/http-extra.sh` on 8090, and the base nginx).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use http_client::{Client, Error, Response};
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

/// Every coding this build decodes, two spellings of gzip, codings it does
/// not decode (passed through), and none.
const CODINGS: &[&str] = &["gzip", "x-gzip", "deflate", "br", "zstd", "identity"];

/// The ways a caller reads a whole body.
#[derive(Debug, Clone, Copy)]
enum Reading {
    Bytes,
    BytesLimited,
    Text,
    Json,
    IntoReader,
}

const READINGS: &[Reading] = &[
    Reading::Bytes,
    Reading::BytesLimited,
    Reading::Text,
    Reading::Json,
    Reading::IntoReader,
];

/// Reads `resp`'s body the way `how` says and checks that it is empty.
fn assert_empty(resp: Response, how: Reading, what: &str) {
    match how {
        Reading::Bytes => assert_eq!(resp.bytes().unwrap(), b"", "{what}"),
        Reading::BytesLimited => assert_eq!(resp.bytes_limited(0).unwrap(), b"", "{what}"),
        Reading::Text => assert_eq!(resp.text().unwrap(), "", "{what}"),
        Reading::Json => {
            // An empty body is no JSON value: the error says JSON, not
            // that a compressed stream ended early.
            let err = resp.json::<serde_json::Value>().unwrap_err();
            assert!(
                matches!(&err, Error::Decode(d) if d.to_string().starts_with("JSON")),
                "{what}: {err}"
            );
        }
        Reading::IntoReader => {
            let mut reader = resp.into_reader();
            let mut out = Vec::new();
            reader.read_to_end(&mut out).unwrap();
            assert_eq!(out, b"", "{what}");
            // Read again after the end: still the end.
            assert_eq!(reader.read(&mut [0u8; 8]).unwrap(), 0, "{what}");
        }
    }
}

#[test]
fn empty_bodies_are_empty_whatever_their_coding() {
    let client = client();
    let base = extra_url();
    for coding in CODINGS {
        for how in READINGS {
            let cases = [
                ("HEAD", format!("{base}/encoded/{coding}"), 200),
                ("HEAD", format!("{base}/empty/200/{coding}"), 200),
                ("GET", format!("{base}/empty/200/{coding}"), 200),
                ("GET", format!("{base}/empty/204/{coding}"), 204),
                ("GET", format!("{base}/empty/304/{coding}"), 304),
                ("HEAD", format!("{base}/empty/204/{coding}"), 204),
            ];
            for (method, url, status) in cases {
                let what = format!("{method} {url} read with {how:?}");
                let resp = client.request(method, &url).call().unwrap();
                assert_eq!(resp.status(), status, "{what}");
                assert_eq!(resp.header("content-encoding"), Some(*coding), "{what}");
                assert_empty(resp, *how, &what);
            }
        }
    }
    // Every response was complete: one connection served them all.
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn a_head_of_a_gzip_serving_origin_reads_as_empty() {
    // The base nginx compresses /gzip for a client that asks (this one does).
    let client = client();
    let url = format!("{}/gzip", http_url());
    for how in READINGS {
        let resp = client.head(&url).call().unwrap();
        assert_eq!(resp.header("content-encoding"), Some("gzip"));
        assert_empty(resp, *how, &format!("HEAD {url} with {how:?}"));
    }
    // The GET still decodes.
    let text = client.get(&url).call().unwrap().text().unwrap();
    assert!(
        text.starts_with("line 000: the quick brown fox"),
        "{text:.40}"
    );
    assert_eq!(client.stats().opened, 1);
}

/// Answers each request on one connection with the next of `replies`.
fn serve(replies: Vec<&'static [u8]>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut stream = stream;
        for reply in replies {
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap() == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
            }
            stream.write_all(reply).unwrap();
        }
    });
    format!("http://{addr}/")
}

#[test]
fn a_chunked_body_with_no_chunks_is_empty_and_a_bad_one_is_still_an_error() {
    let url = serve(vec![
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
    ]);
    let client = client();
    assert_eq!(client.get(&url).call().unwrap().bytes().unwrap(), b"");
    let mut reader = client.get(&url).call().unwrap().into_reader();
    assert_eq!(reader.read(&mut [0u8; 8]).unwrap(), 0);
    assert_eq!(
        reader.trailers().and_then(|t| t.get("x-t")),
        Some("1"),
        "trailers of an empty coded body"
    );
    // Four bytes that are not gzip: still a decoding error.
    let err = client.get(&url).call().unwrap().bytes().unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
}

#[test]
fn a_form_from_pairs_is_urlencoded() {
    let client = client();
    let text = client
        .post(&format!("{}/echo", http_url()))
        .send_form(&[("q", "a b&c=d"), ("name", "Zoë"), ("empty", "")])
        .unwrap()
        .text()
        .unwrap();
    assert!(text.starts_with("POST /echo\n"), "{text}");
    assert!(
        text.contains("Content-Type: application/x-www-form-urlencoded\r\n"),
        "{text}"
    );
    assert!(
        text.ends_with("\r\n\r\nq=a+b%26c%3Dd&name=Zo%C3%AB&empty="),
        "{text}"
    );
}

#[test]
fn a_multipart_form_goes_out_whole_with_its_boundary() {
    let client = client();
    let form = http_client::Multipart::new()
        .text("title", "holiday")
        .file_bytes("notes", "n.txt", "text/plain", b"in memory".to_vec())
        .file(
            "photo",
            "p.bin",
            "application/octet-stream",
            std::io::Cursor::new(vec![7u8; 40_000]),
        );
    let resp = client
        .post(&format!("{}/echo", http_url()))
        .send_multipart(form)
        .unwrap();
    let body = resp.bytes().unwrap();
    let text = String::from_utf8_lossy(&body);
    let boundary = text
        .split("Content-Type: multipart/form-data; boundary=")
        .nth(1)
        .and_then(|rest| rest.split("\r\n").next())
        .unwrap_or_else(|| panic!("no boundary in {text:.300}"))
        .to_string();
    // Streamed (a part from a reader): chunked framing.
    assert!(
        text.contains("Transfer-Encoding: chunked\r\n"),
        "{text:.300}"
    );
    let start = text.find("\r\n\r\n").unwrap() + 4;
    let sent = &body[start..];
    let expected_head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nholiday\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"notes\"; filename=\"n.txt\"\r\nContent-Type: text/plain\r\n\r\nin memory\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    assert!(sent.starts_with(expected_head.as_bytes()));
    let rest = &sent[expected_head.len()..];
    assert_eq!(&rest[..40_000], &[7u8; 40_000][..]);
    assert_eq!(
        &rest[40_000..],
        format!("\r\n--{boundary}--\r\n").as_bytes()
    );

    // A field name that would inject a header line: refused before sending.
    let err = client
        .post(&format!("{}/echo", http_url()))
        .send_multipart(http_client::Multipart::new().text("a\r\nX-Evil: 1", "v"))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
}

#[test]
fn text_decodes_the_charset_the_server_names() {
    let client = client();
    let get = |path: &str| {
        client
            .get(&format!("{}{path}", extra_url()))
            .call()
            .unwrap()
    };
    let latin1 = get("/charset/latin1");
    assert_eq!(
        latin1.header("content-type"),
        Some("text/plain; charset=iso-8859-1")
    );
    assert_eq!(latin1.text().unwrap(), "café crème\n");
    assert_eq!(get("/charset/sjis").text().unwrap(), "あい\n");
    // No charset named: UTF-8, invalid bytes replaced.
    assert_eq!(
        get("/charset/none").text().unwrap(),
        "caf\u{fffd} cr\u{fffd}me\n"
    );
}

#[test]
fn the_negotiated_tls_version_is_on_the_response() {
    let client = Client::builder()
        .proxy_from_env(false)
        .add_ca_file(integration_tests::test_ca())
        .build()
        .unwrap();
    let https = env_or("PCONN_HTTPS_URL", "https://localhost:8443");
    let resp = client.get(&format!("{https}/small")).call().unwrap();
    assert_eq!(resp.tls_version(), Some("TLSv1_3"));
    let resp = client.get(&format!("{}/small", http_url())).call().unwrap();
    assert_eq!(resp.tls_version(), None);
}

#[test]
fn retries_wait_within_their_cap_and_never_replay_a_post() {
    use std::time::Duration;
    let policy = http_client::RetryPolicy::new(2)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
        .retry_after_cap(Duration::from_millis(20));
    let client = Client::builder()
        .proxy_from_env(false)
        .retry(policy)
        .build()
        .unwrap();
    // Retry-After of a year, capped: three tries on one connection, then
    // the last 503 comes back.
    let resp = client
        .get(&format!("{}/retry/503-year", extra_url()))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.text().unwrap(), "requests=3\n");
    // A POST is not sent again.
    let resp = client
        .post(&format!("{}/retry/429", extra_url()))
        .send_string("x")
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.text().unwrap(), "requests=4\n");
    // Unless marked replayable.
    let resp = client
        .post(&format!("{}/retry/429", extra_url()))
        .replayable(true)
        .send_string("x")
        .unwrap();
    assert_eq!(resp.text().unwrap(), "requests=7\n");
    // A status it is not told about is not retried.
    let resp = client
        .get(&format!("{}/status/404", http_url()))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 404);
    // Without a policy: one try.
    let plain = client_without_retries();
    let resp = plain
        .get(&format!("{}/retry/503-year", extra_url()))
        .call()
        .unwrap();
    assert_eq!(resp.text().unwrap(), "requests=1\n");
}

fn client_without_retries() -> Client {
    Client::builder().proxy_from_env(false).build().unwrap()
}
