//! Acceptance tests of `http-client` against the real nginx (HTTP and
//! HTTPS), the limited nginx (keepalive_requests 3, keepalive_timeout 1s),
//! tinyproxy, and in-test scripted peers that misbehave on cue.
//!
//! nginx adds `X-Connection` (its connection serial) and
//! `X-Connection-Requests` to every response: the server's own view of
//! reuse, checked next to the pool's counters.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use http_client::transport::Discard;
use http_client::{Client, ClientBuilder, Error, Response};
use integration_tests::env_or;

// ---- helpers ---------------------------------------------------------------

fn http_url() -> String {
    env_or("PCONN_HTTP_URL", "http://127.0.0.1:8080")
}

fn https_url() -> String {
    env_or("PCONN_HTTPS_URL", "https://localhost:8443")
}

fn limited_url() -> String {
    env_or("PCONN_HTTP_LIMITED_URL", "http://127.0.0.1:8081")
}

fn builder() -> ClientBuilder {
    Client::builder()
        .proxy_from_env(false)
        .add_ca_file(integration_tests::test_ca())
}

fn client() -> Client {
    builder().build().unwrap()
}

/// nginx's connection serial and the request count on that connection.
fn server_view(resp: &Response) -> (u64, u64) {
    let num = |name| {
        resp.header(name)
            .unwrap_or_else(|| panic!("nginx did not send {name}"))
            .parse::<u64>()
            .unwrap()
    };
    (num("x-connection"), num("x-connection-requests"))
}

/// Streams a body and checks each byte against the generated /large file
/// (64-byte lines "%08d " + a-zA-Z01 + "\n") without keeping it.
struct LargeChecker {
    offset: u64,
}

impl Write for LargeChecker {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        const TAIL: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01\n";
        for &b in buf {
            let line = self.offset / 64;
            let col = (self.offset % 64) as usize;
            let want = if col < 8 {
                format!("{line:08}").as_bytes()[col]
            } else if col == 8 {
                b' '
            } else {
                TAIL[col - 9]
            };
            assert_eq!(b, want, "wrong byte at offset {}", self.offset);
            self.offset += 1;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---- scripted peers --------------------------------------------------------

/// Reads one request (head and Content-Length body) from a scripted peer's
/// side; `None` when the client closed.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    if head.contains("Expect: 100-continue") {
        // The body comes only after a 100 the script does not send.
        return Some(head);
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    head.push_str(&String::from_utf8_lossy(&body));
    Some(head)
}

/// What a scripted peer does on one connection after reading a request.
enum Step {
    /// Write these bytes.
    Reply(Vec<u8>),
    /// Close without answering (after reading the request).
    Close,
}

/// What a scripted server saw: (connection number, request head) in arrival order.
type Seen = Arc<Mutex<Vec<(usize, String)>>>;

/// A scripted peer: connection `i` gets `scripts[i]`, one step per request,
/// then the connection is closed. Returns the URL and the requests seen, as
/// (connection index, request text).
fn scripted(scripts: Vec<Vec<Step>>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    thread::spawn(move || {
        for (i, script) in scripts.into_iter().enumerate() {
            let Ok((sock, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(sock.try_clone().unwrap());
            let mut writer = sock;
            for step in script {
                let Some(req) = read_request(&mut reader) else {
                    break;
                };
                log.lock().unwrap().push((i, req));
                match step {
                    Step::Reply(bytes) => {
                        if writer.write_all(&bytes).is_err() {
                            break;
                        }
                    }
                    Step::Close => break,
                }
            }
            // Dropping both halves closes the connection.
        }
    });
    (url, seen)
}

fn ok(body: &str) -> Step {
    Step::Reply(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn raw(bytes: &[u8]) -> Step {
    Step::Reply(bytes.to_vec())
}

fn protocol_error(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Protocol(e)) => e.to_string(),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

// ---- reuse: 1,000 GETs on one connection ----------------------------------

fn thousand_gets_on_one_connection(base: &str) {
    let client = client();
    let url = format!("{base}/small");
    let mut first = None;
    for i in 1..=1000u64 {
        let resp = client.get(&url).call().unwrap();
        assert_eq!(resp.status(), 200);
        let (conn, served) = server_view(&resp);
        let first = *first.get_or_insert(conn);
        assert_eq!(conn, first, "request {i} arrived on another connection");
        assert_eq!(
            served, i,
            "nginx counted {served} requests on the connection"
        );
        assert_eq!(resp.text().unwrap(), "hello\n");
    }
    let stats = client.stats();
    assert_eq!((stats.opened, stats.reused), (1, 999), "{stats:?}");
    assert_eq!(stats.discarded_total(), 0);
}

#[test]
fn thousand_gets_over_http_open_one_connection() {
    let status = || -> u64 {
        let text = client()
            .get(&format!("{}/nginx_status", http_url()))
            .call()
            .unwrap()
            .text()
            .unwrap();
        // "server accepts handled requests\n 47 47 42"
        let line = text.lines().nth(2).unwrap();
        line.split_whitespace().next().unwrap().parse().unwrap()
    };
    let before = status();
    thousand_gets_on_one_connection(&http_url());
    let accepted = status() - before;
    // Ours, the status request's, and whatever other tests opened meanwhile
    // (nginx counts for everyone): never one per request. The exact count is
    // X-Connection above, which nginx sets per connection.
    assert!(accepted < 1000, "nginx accepted {accepted} connections");
}

#[test]
fn thousand_gets_over_https_open_one_connection() {
    thousand_gets_on_one_connection(&https_url());
}

// ---- server-side limits -----------------------------------------------------

#[test]
fn keepalive_requests_limit_forces_new_connections() {
    let client = client();
    let url = format!("{}/small", limited_url());
    for i in 0..100u64 {
        let resp = client.get(&url).call().unwrap();
        assert_eq!(resp.status(), 200);
        // nginx closes after 3 requests: the client must follow exactly.
        assert_eq!(server_view(&resp).1, i % 3 + 1);
        assert_eq!(resp.text().unwrap(), "hello\n");
    }
    let stats = client.stats();
    assert_eq!(
        stats.opened, 34,
        "100 requests at 3 per connection: {stats:?}"
    );
    assert_eq!(stats.discarded(Discard::MustClose), 33, "{stats:?}");
}

#[test]
fn requests_spaced_beyond_keepalive_timeout_succeed() {
    let client = client();
    let url = format!("{}/small", limited_url());
    for _ in 0..3 {
        let resp = client.get(&url).call().unwrap();
        assert_eq!(resp.status(), 200);
        // Each lands on a new connection: the server closed the last one.
        assert_eq!(server_view(&resp).1, 1);
        assert_eq!(resp.text().unwrap(), "hello\n");
        thread::sleep(Duration::from_millis(1300));
    }
    let stats = client.stats();
    assert_eq!(stats.opened, 3, "{stats:?}");
}

// ---- the retry rule ---------------------------------------------------------

/// Connection 0 answers a GET, then reads the next request and closes
/// without a byte: a server that timed the connection out just as the
/// request arrived. Connection 1 answers normally.
fn closes_after_first() -> (String, Seen) {
    scripted(vec![
        vec![ok("first"), Step::Close],
        vec![ok("second"), ok("third")],
    ])
}

#[test]
fn post_on_a_connection_the_server_just_closed_is_not_replayed() {
    let (url, seen) = closes_after_first();
    let client = builder().build().unwrap();
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "first");
    let err = client.post(&url).send_string("pay 10").unwrap_err();
    assert!(
        matches!(&err, Error::NotReplayed { method, .. } if method == "POST"),
        "{err:?}"
    );
    assert!(err.is_retryable());
    thread::sleep(Duration::from_millis(50));
    let posts: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, r)| r.starts_with("POST"))
        .cloned()
        .collect();
    assert_eq!(posts.len(), 1, "the POST was sent again: {posts:?}");
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn replayable_post_is_resent_once_on_a_new_connection() {
    let (url, seen) = closes_after_first();
    let client = builder().build().unwrap();
    client.get(&url).call().unwrap().text().unwrap();
    let resp = client
        .post(&url)
        .replayable(true)
        .send_string("pay 10")
        .unwrap();
    assert_eq!(resp.text().unwrap(), "second");
    let seen = seen.lock().unwrap();
    let posts: Vec<usize> = seen
        .iter()
        .filter(|(_, r)| r.starts_with("POST") && r.ends_with("pay 10"))
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(posts, vec![0, 1], "once on each connection");
    assert_eq!(client.stats().opened, 2);
}

#[test]
fn idempotent_put_is_resent_but_a_streamed_body_is_not() {
    let (url, _) = closes_after_first();
    let client = builder().build().unwrap();
    client.get(&url).call().unwrap().text().unwrap();
    let resp = client.put(&url).send_string("v").unwrap();
    assert_eq!(resp.text().unwrap(), "second");

    let (url, _) = closes_after_first();
    client.get(&url).call().unwrap().text().unwrap();
    let mut body: &[u8] = b"streamed";
    let err = client
        .put(&url)
        .send_reader(&mut body, Some(8))
        .unwrap_err();
    assert!(matches!(err, Error::NotReplayed { .. }), "{err:?}");
}

#[test]
fn failure_on_a_fresh_connection_is_not_retried() {
    // The first and only connection closes at once: nothing was reused.
    let (url, seen) = scripted(vec![vec![Step::Close], vec![ok("never")]]);
    let client = builder().build().unwrap();
    let err = client.get(&url).call().unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(client.stats().opened, 1);
}

// ---- dropped bodies ---------------------------------------------------------

#[test]
fn half_read_small_body_is_drained_and_the_connection_reused() {
    let client = client();
    // /gzip without Accept-Encoding: 22 KB of text, under the 64 KiB drain limit.
    let mut resp = client
        .get(&format!("{}/gzip", http_url()))
        .header("Accept-Encoding", "identity")
        .call()
        .unwrap();
    let (conn, _) = server_view(&resp);
    let len: usize = resp.header("content-length").unwrap().parse().unwrap();
    assert!(len > 16 * 1024 && len < 64 * 1024, "{len}");
    let mut half = vec![0; len / 2];
    resp.body_mut().read_exact(&mut half).unwrap();
    assert!(half.starts_with(b"line 000: the quick brown fox"));
    drop(resp);

    let resp = client.get(&format!("{}/small", http_url())).call().unwrap();
    assert_eq!(server_view(&resp), (conn, 2), "drained and reused");
    assert_eq!(resp.text().unwrap(), "hello\n");
    let stats = client.stats();
    assert_eq!((stats.opened, stats.reused), (1, 1), "{stats:?}");
}

#[test]
fn half_read_large_body_closes_the_connection() {
    for path in ["/large", "/chunked-large"] {
        let client = client();
        let mut resp = client.get(&format!("{}{path}", http_url())).call().unwrap();
        let (conn, _) = server_view(&resp);
        let mut half = vec![0; 4 * 1024 * 1024];
        resp.body_mut().read_exact(&mut half).unwrap();
        assert!(half.starts_with(b"00000000 abc"));
        drop(resp);

        let resp = client.get(&format!("{}/small", http_url())).call().unwrap();
        let (next, served) = server_view(&resp);
        assert_ne!(next, conn, "{path}: 4 MiB unread must not be drained");
        assert_eq!(served, 1);
        assert_eq!(
            resp.text().unwrap(),
            "hello\n",
            "{path}: the right response"
        );
        let stats = client.stats();
        assert_eq!(stats.opened, 2, "{path}: {stats:?}");
        assert_eq!(
            stats.discarded(Discard::ResetFailed),
            1,
            "{path}: {stats:?}"
        );
    }
}

// ---- bodies -----------------------------------------------------------------

#[test]
fn chunked_response_with_trailers() {
    for base in [http_url(), https_url()] {
        let client = client();
        let resp = client.get(&format!("{base}/chunked")).call().unwrap();
        assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
        let (conn, _) = server_view(&resp);
        let mut reader = resp.into_reader();
        let mut body = String::new();
        reader.read_to_string(&mut body).unwrap();
        assert_eq!(body, "chunk one\nchunk two\nchunk three\n");
        let trailers = reader.trailers().expect("trailers after the last chunk");
        assert_eq!(trailers.get("X-Trailer-Check"), Some("ok"));
        drop(reader);
        let resp = client.get(&format!("{base}/small")).call().unwrap();
        assert_eq!(server_view(&resp), (conn, 2));
    }
}

#[test]
fn large_bodies_are_streamed() {
    for base in [http_url(), https_url()] {
        for path in ["/large", "/chunked-large"] {
            let client = client();
            let resp = client.get(&format!("{base}{path}")).call().unwrap();
            let (conn, _) = server_view(&resp);
            let mut checker = LargeChecker { offset: 0 };
            // A 64 KiB copy buffer: the body never sits in memory whole.
            let copied = io::copy(&mut resp.into_reader(), &mut checker).unwrap();
            assert_eq!(copied, 8 * 1024 * 1024, "{base}{path}");
            let resp = client.get(&format!("{base}/small")).call().unwrap();
            assert_eq!(server_view(&resp), (conn, 2), "{base}{path}: reused");
        }
    }
}

#[test]
fn head_204_304_have_no_body() {
    let client = client();
    let base = http_url();
    let resp = client.head(&format!("{base}/large")).call().unwrap();
    assert_eq!(resp.header("content-length"), Some("8388608"));
    let (conn, _) = server_view(&resp);
    assert!(resp.bytes().unwrap().is_empty());
    for (path, status) in [("/status/204", 204), ("/status/304", 304)] {
        let mut resp = client.get(&format!("{base}{path}")).call().unwrap();
        assert_eq!(resp.status(), status);
        // No body: the connection is already back in the pool.
        assert!(resp.body_mut().is_done());
        assert!(resp.bytes().unwrap().is_empty());
    }
    let resp = client.get(&format!("{base}/small")).call().unwrap();
    assert_eq!(server_view(&resp), (conn, 4), "one connection for all four");
}

#[test]
fn connection_close_response_is_not_reused() {
    let client = client();
    let resp = client.get(&format!("{}/close", http_url())).call().unwrap();
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(resp.text().unwrap(), "bye\n");
    client.get(&format!("{}/small", http_url())).call().unwrap();
    let stats = client.stats();
    assert_eq!(stats.opened, 2, "{stats:?}");
    assert_eq!(stats.discarded(Discard::MustClose), 1);
}

// ---- what is sent -----------------------------------------------------------

#[test]
fn echo_shows_method_target_headers_and_body() {
    let client = builder().user_agent(Some("pconn-test/1")).build().unwrap();
    let resp = client
        .post(&format!("{}/echo/x", http_url()))
        .query("q", "a b&c")
        .header("X-Multi", "one")
        .header("x-multi", "two")
        .basic_auth("user", "pw")
        .send_string("the body")
        .unwrap();
    let text = resp.text().unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("POST /echo/x?q=a+b%26c"));
    assert!(
        text.contains("\r\nX-Multi: one\r\nx-multi: two\r\n"),
        "{text}"
    );
    assert!(
        text.contains("Authorization: Basic dXNlcjpwdw==\r\n"),
        "{text}"
    );
    assert!(text.contains("User-Agent: pconn-test/1\r\n"), "{text}");
    assert!(text.contains("Content-Length: 8\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nthe body"), "{text}");

    let resp = client
        .get(&format!("{}/echo", http_url()))
        .bearer_auth("tok")
        .call()
        .unwrap();
    assert!(resp
        .text()
        .unwrap()
        .contains("Authorization: Bearer tok\r\n"));
}

#[test]
fn streamed_body_is_sent_chunked() {
    let client = client();
    let mut reader = io::Cursor::new(vec![b'z'; 40_000]);
    let resp = client
        .put(&format!("{}/echo", http_url()))
        .send_reader(&mut reader, None)
        .unwrap();
    let text = resp.text().unwrap();
    assert!(text.contains("Transfer-Encoding: chunked\r\n"), "{text}");
    assert!(text.ends_with(&"z".repeat(40_000)));
}

#[test]
fn large_body_waits_for_100_continue() {
    let client = builder()
        .expect_continue_above(1024, Duration::from_secs(5))
        .build()
        .unwrap();
    let body = vec![b'q'; 200_000];
    let resp = client
        .post(&format!("{}/echo", https_url()))
        .send_bytes(&body)
        .unwrap();
    let text = resp.text().unwrap();
    assert!(
        text.contains("Expect: 100-continue\r\n"),
        "{}",
        &text[..300]
    );
    assert!(text.ends_with(&"q".repeat(200_000)));
}

#[test]
fn final_answer_instead_of_100_continue_skips_the_body() {
    let (url, seen) = scripted(vec![vec![raw(
        b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nno\n",
    )]]);
    let client = builder()
        .expect_continue_above(10, Duration::from_secs(5))
        .build()
        .unwrap();
    let resp = client.post(&url).send_bytes(&[b'x'; 100]).unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.text().unwrap(), "no\n");
    // The scripted server answered the head alone; the body was never
    // sent, so the connection cannot be reused.
    assert_eq!(client.stats().discarded(Discard::MustClose), 1);
    assert!(seen.lock().unwrap()[0].1.contains("Expect: 100-continue"));
}

// ---- redirects --------------------------------------------------------------

#[test]
fn redirect_chain_and_method_rules() {
    let client = client();
    let base = http_url();
    let resp = client.get(&format!("{base}/redirect/1")).call().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.url().as_str().ends_with("/small"), "{}", resp.url());
    assert_eq!(resp.text().unwrap(), "hello\n");

    // 303: POST becomes GET without a body.
    let text = client
        .post(&format!("{base}/redirect-303"))
        .send_string("form")
        .unwrap()
        .text()
        .unwrap();
    assert!(text.starts_with("GET /echo\n"), "{text}");
    assert!(!text.contains("form"));

    // 308: method and body kept.
    let text = client
        .post(&format!("{base}/redirect-308"))
        .send_string("form")
        .unwrap()
        .text()
        .unwrap();
    assert!(text.starts_with("POST /echo\n"), "{text}");
    assert!(text.ends_with("form"));

    let err = client
        .get(&format!("{base}/redirect/1"))
        .max_redirects(2)
        .call()
        .unwrap_err();
    assert!(
        matches!(err, Error::TooManyRedirects { limit: 2, .. }),
        "{err:?}"
    );

    let resp = client
        .get(&format!("{base}/redirect/1"))
        .max_redirects(0)
        .call()
        .unwrap();
    assert_eq!(resp.status(), 302);
    // Every hop ran on the one connection.
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn authorization_is_dropped_when_the_origin_changes() {
    let target = format!("{}/echo", http_url());
    let (url, seen) = scripted(vec![vec![raw(format!(
        "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n"
    )
    .as_bytes())]]);
    let client = client();
    let text = client
        .get(&url)
        .bearer_auth("secret-token")
        .call()
        .unwrap()
        .text()
        .unwrap();
    assert!(seen.lock().unwrap()[0]
        .1
        .contains("Authorization: Bearer secret-token"));
    assert!(text.starts_with("GET /echo\n"), "{text}");
    assert!(!text.contains("secret-token"), "{text}");

    // Same origin (nginx 308 to /echo): kept.
    let text = client
        .post(&format!("{}/redirect-308", http_url()))
        .bearer_auth("secret-token")
        .send_string("x")
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains("Authorization: Bearer secret-token"),
        "{text}"
    );
}

// ---- timeouts -----------------------------------------------------------------

#[test]
fn whole_request_and_read_timeouts() {
    let client = client();
    let err = client
        .get(&format!("{}/slow", http_url()))
        .timeout(Duration::from_millis(300))
        .call()
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(err.is_timeout());

    let client = builder()
        .read_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let err = client
        .get(&format!("{}/slow", http_url()))
        .call()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(http_client::transport::Error::Timeout(_))
        ),
        "{err:?}"
    );
    // A timed-out connection is never reused.
    assert_eq!(client.stats().discarded(Discard::Timeout), 1);
}

// ---- content decoding and JSON ------------------------------------------------

#[test]
fn gzip_body_is_decoded() {
    let resp = client()
        .get(&format!("{}/gzip", https_url()))
        .call()
        .unwrap();
    assert_eq!(resp.header("content-encoding"), Some("gzip"));
    let text = resp.text().unwrap();
    assert_eq!(text.lines().count(), 400);
    assert!(text.starts_with("line 000: the quick brown fox jumps over the lazy dog\n"));
}

#[test]
fn json_request_and_response() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct User {
        name: String,
        id: u32,
    }
    let client = client();
    let text = client
        .post(&format!("{}/echo", http_url()))
        .send_json(&User {
            name: "John Doe".into(),
            id: 123,
        })
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains("Content-Type: application/json\r\n"),
        "{text}"
    );
    assert!(text.ends_with(r#"{"name":"John Doe","id":123}"#), "{text}");

    let (url, _) = scripted(vec![vec![ok(r#"{"name":"Ann","id":7}"#), ok("{oops")]]);
    let user: User = client.get(&url).call().unwrap().json().unwrap();
    assert_eq!(
        user,
        User {
            name: "Ann".into(),
            id: 7
        }
    );
    let err = client.get(&url).call().unwrap().json::<User>().unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
}

// ---- hostile peers ----------------------------------------------------------

/// Sends one GET to a peer that answers `reply`, then checks the
/// connection was closed and not pooled.
fn against(reply: &[u8]) -> (Result<Vec<u8>, Error>, Client) {
    let (url, _) = scripted(vec![vec![raw(reply)]]);
    let client = builder().max_head_bytes(4096).build().unwrap();
    let result = client.get(&url).call().and_then(Response::bytes);
    (result, client)
}

fn assert_closed(client: &Client) {
    let stats = client.stats();
    assert_eq!(stats.idle_now, 0, "{stats:?}");
    assert_eq!(stats.open_now, 0, "{stats:?}");
}

#[test]
fn hostile_malformed_status_line() {
    let (r, c) = against(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n");
    assert!(protocol_error(r).contains("malformed"));
    assert_closed(&c);
    let (r, c) = against(b"SSH-2.0-OpenSSH_9.2\r\n\r\n");
    assert!(protocol_error(r).contains("malformed"));
    assert_closed(&c);
}

#[test]
fn hostile_header_block_over_the_limit() {
    let mut reply = b"HTTP/1.1 200 OK\r\n".to_vec();
    reply.extend_from_slice(format!("X-Big: {}\r\n", "a".repeat(8000)).as_bytes());
    reply.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let (r, c) = against(&reply);
    assert!(protocol_error(r).contains("larger than 4096"));
    assert_closed(&c);
}

#[test]
fn hostile_too_many_headers() {
    let mut reply = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..150 {
        reply.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    reply.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let client = builder().build().unwrap();
    let (url, _) = scripted(vec![vec![raw(&reply)]]);
    let r = client.get(&url).call();
    assert!(protocol_error(r).contains("more than 100 header fields"));
    assert_closed(&client);
}

#[test]
fn hostile_conflicting_content_length() {
    let (r, c) =
        against(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello");
    assert!(protocol_error(r).contains("conflicting Content-Length"));
    assert_closed(&c);
}

#[test]
fn hostile_content_length_with_chunked_uses_chunked_and_closes() {
    let (url, _) = scripted(vec![
        vec![
            raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            ok("never reused"),
        ],
        vec![ok("fresh")],
    ]);
    let client = builder().build().unwrap();
    assert_eq!(client.get(&url).call().unwrap().bytes().unwrap(), b"hello");
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "fresh");
    let stats = client.stats();
    assert_eq!(stats.opened, 2, "{stats:?}");
    assert_eq!(stats.discarded(Discard::MustClose), 1);
}

#[test]
fn hostile_bad_chunk_size() {
    let (r, c) =
        against(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\nhello\r\n0\r\n\r\n");
    assert!(protocol_error(r).contains("bad chunk size"));
    assert_closed(&c);
}

#[test]
fn hostile_body_shorter_than_declared() {
    let (r, c) = against(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
    assert!(protocol_error(r).contains("closed after 9 of 100"));
    assert_closed(&c);
    let (r, c) = against(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc");
    assert!(protocol_error(r).contains("middle of a chunked body"));
    assert_closed(&c);
}

#[test]
fn hostile_bytes_after_a_complete_response() {
    let (url, _) = scripted(vec![
        vec![
            raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"),
            ok("never asked"),
        ],
        vec![ok("right")],
    ]);
    let client = builder().build().unwrap();
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "ok");
    // The extra response must not be taken for the next one.
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "right");
    let stats = client.stats();
    assert_eq!(stats.opened, 2, "{stats:?}");
    assert_eq!(stats.discarded(Discard::UnexpectedData), 1, "{stats:?}");
}

#[test]
fn hostile_body_until_close_is_read_and_not_reused() {
    let (url, _) = scripted(vec![
        vec![raw(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")],
        vec![ok("next")],
    ]);
    let client = builder().build().unwrap();
    assert_eq!(
        client.get(&url).call().unwrap().text().unwrap(),
        "until the end"
    );
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "next");
    assert_eq!(client.stats().opened, 2);
}

#[test]
fn http10_without_keep_alive_is_not_reused() {
    let (url, _) = scripted(vec![
        vec![raw(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\none")],
        vec![ok("two")],
    ]);
    let client = builder().build().unwrap();
    let resp = client.get(&url).call().unwrap();
    assert_eq!(resp.version(), "HTTP/1.0");
    assert_eq!(resp.text().unwrap(), "one");
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "two");
    assert_eq!(client.stats().discarded(Discard::MustClose), 1);
}

// ---- caller-side bad input: nothing reaches the wire ----------------------

/// A listener that must never see a connection, and a client for it.
fn silent_target() -> (TcpListener, String, Client) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    (listener, url, builder().build().unwrap())
}

fn assert_nothing_sent(listener: &TcpListener, client: &Client) {
    listener.set_nonblocking(true).unwrap();
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        io::ErrorKind::WouldBlock,
        "a connection was opened"
    );
    assert_eq!(client.stats().opened, 0);
}

fn invalid_input(result: Result<Response, Error>) -> String {
    match result {
        Err(Error::InvalidInput(e)) => e.to_string(),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn caller_cr_lf_in_method() {
    let (l, url, c) = silent_target();
    let msg = invalid_input(c.request("GET / HTTP/1.1\r\nX:", &url).call());
    assert!(msg.contains("in method"), "{msg}");
    assert_nothing_sent(&l, &c);
}

#[test]
fn caller_lf_in_header_name() {
    let (l, url, c) = silent_target();
    let msg = invalid_input(c.get(&url).header("X-A\nInjected", "v").call());
    assert!(msg.contains("LF in header name"), "{msg}");
    assert_nothing_sent(&l, &c);
}

#[test]
fn caller_crlf_in_header_value() {
    let (l, url, c) = silent_target();
    let msg = invalid_input(c.get(&url).header("X-A", "v\r\nX-Injected: 1").call());
    assert!(msg.contains("CR in the value"), "{msg}");
    assert_nothing_sent(&l, &c);
}

#[test]
fn caller_nul_in_header_value() {
    let (l, url, c) = silent_target();
    let msg = invalid_input(c.get(&url).header("X-A", "v\0w").call());
    assert!(msg.contains("NUL"), "{msg}");
    assert_nothing_sent(&l, &c);
}

#[test]
fn caller_crlf_in_request_target() {
    let (l, url, c) = silent_target();
    let err = c
        .get(&format!("{url}/a\r\nX-Injected: 1\r\n"))
        .call()
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidUrl { reason, .. } if reason.contains("CR")),
        "{err:?}"
    );
    let err = c.get(&format!("{url}/a\0b")).call().unwrap_err();
    assert!(
        matches!(&err, Error::InvalidUrl { reason, .. } if reason.contains("NUL")),
        "{err:?}"
    );
    assert_nothing_sent(&l, &c);
}

#[test]
fn caller_invalid_url_and_scheme() {
    let (l, url, c) = silent_target();
    for bad in [
        "not a url",
        "http://",
        "ftp://127.0.0.1/x",
        "file:///etc/passwd",
    ] {
        let err = c.get(bad).call().unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{bad}: {err:?}");
    }
    let err = c
        .get(&url.replace("http://", "http://user:pw@"))
        .call()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    assert_nothing_sent(&l, &c);
}

#[test]
fn caller_framing_headers_are_refused() {
    let (l, url, c) = silent_target();
    let msg = invalid_input(c.post(&url).header("Content-Length", "0").send_string("x"));
    assert!(msg.contains("Content-Length"), "{msg}");
    let msg = invalid_input(c.post(&url).header("transfer-encoding", "chunked").call());
    assert!(msg.contains("transfer-encoding"), "{msg}");
    assert_nothing_sent(&l, &c);
}

// ---- proxy --------------------------------------------------------------------

#[test]
fn through_the_proxy_http_absolute_form_and_https_tunnel() {
    let proxy = env_or(
        "PCONN_PROXY_AUTH_URL",
        "http://pconn:pconn-secret@127.0.0.1:3129",
    );
    let client = builder().proxy(&proxy).build().unwrap();
    for _ in 0..3 {
        let text = client
            .get(&format!("{}/echo", http_url()))
            .call()
            .unwrap()
            .text()
            .unwrap();
        assert!(text.starts_with("GET /echo\n"), "{text}");
        // Proxy-Authorization is for the proxy only.
        assert!(
            !text.to_ascii_lowercase().contains("proxy-authorization"),
            "{text}"
        );
    }
    // tinyproxy closes client connections after each absolute-form request
    // without saying `Connection: close`. Either the probe sees the FIN before
    // the next request, or the request meets the closed connection before
    // any reply byte and the GET is re-sent once on a new connection: three
    // requests make three checkouts plus at most one retry each.
    let before = client.stats();
    assert!(before.opened >= 1, "{before:?}");
    let checkouts = before.opened + before.reused;
    assert!((3..=6).contains(&checkouts), "{before:?}");
    assert_eq!(before.open_failures, 0, "{before:?}");
    for _ in 0..3 {
        let resp = client
            .get(&format!("{}/small", https_url()))
            .call()
            .unwrap();
        assert_eq!(resp.text().unwrap(), "hello\n");
    }
    // One CONNECT tunnel serves all three https requests.
    let after = client.stats();
    assert_eq!(after.opened - before.opened, 1, "{after:?}");
    assert_eq!(after.reused - before.reused, 2, "{after:?}");

    let tunnelled = builder()
        .proxy(&env_or("PCONN_PROXY_URL", "http://127.0.0.1:3128"))
        .tunnel_http(true)
        .build()
        .unwrap();
    for _ in 0..2 {
        let resp = tunnelled
            .get(&format!("{}/small", http_url()))
            .call()
            .unwrap();
        assert_eq!(resp.text().unwrap(), "hello\n");
    }
    assert_eq!(tunnelled.stats().opened, 1);
}
