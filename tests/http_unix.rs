//! `http-client` over a Unix domain socket (`ClientBuilder::unix_socket`):
//! the base nginx's `listen unix:` socket (`PCONN_HTTP_UNIX_SOCKET`, the
//! same server as 8080, with its `/echo` location returning the request
//! head it received), and scripted peers on sockets of the test's own.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use http_client::{Client, Error, InvalidInput};
use integration_tests::{env_or, unique};

fn socket() -> PathBuf {
    PathBuf::from(env_or("PCONN_HTTP_UNIX_SOCKET", "/var/run/nginx-http.sock"))
}

fn client() -> Client {
    Client::builder()
        .unix_socket(socket())
        .proxy_from_env(false)
        .build()
        .unwrap()
}

/// The `Host` line of a head echoed by nginx's `/echo`.
fn host_line(echo: &str) -> &str {
    echo.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("host:"))
        .unwrap_or_else(|| panic!("no Host in {echo:?}"))
}

#[test]
fn get_and_post_go_through_the_socket_with_the_urls_host() {
    let client = client();
    let resp = client.get("http://api.local/echo/get?x=1").call().unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().unwrap();
    assert!(body.starts_with("GET /echo/get?x=1\n"), "{body}");
    assert_eq!(host_line(&body), "Host: api.local");

    let resp = client
        .post("http://api.local:9999/echo/post")
        .send_string("through the socket")
        .unwrap();
    let body = resp.text().unwrap();
    assert!(body.starts_with("POST /echo/post\n"), "{body}");
    assert_eq!(host_line(&body), "Host: api.local:9999");
    assert!(body.ends_with("\r\n\r\nthrough the socket"), "{body:?}");

    // An IPv6 literal is bracketed, as over TCP.
    let body = client.get("http://[::1]:81/echo").call().unwrap().text();
    assert_eq!(host_line(&body.unwrap()), "Host: [::1]:81");
}

#[test]
fn one_connection_serves_every_request_of_the_socket() {
    let client = client();
    let mut serial = None;
    for (i, url) in [
        "http://a.local/small",
        "http://a.local/small",
        "http://b.local:8080/small",
        "http://a.local/large",
        "http://a.local/chunked",
        "http://a.local/small",
    ]
    .into_iter()
    .enumerate()
    {
        let resp = client.get(url).call().unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let conn = resp.header("x-connection").unwrap().to_string();
        assert_eq!(
            resp.header("x-connection-requests"),
            Some(&*(i + 1).to_string()),
            "{url}"
        );
        assert_eq!(*serial.get_or_insert_with(|| conn.clone()), conn, "{url}");
        let body = resp.bytes().unwrap();
        if url.ends_with("/large") {
            assert_eq!(body.len(), 8 << 20);
        }
    }
    let stats = client.stats();
    assert_eq!((stats.opened, stats.reused), (1, 5), "{stats:?}");
}

#[test]
fn a_connection_the_server_closed_is_replaced() {
    let client = client();
    let resp = client.get("http://api.local/close").call().unwrap();
    assert_eq!(resp.text().unwrap(), "bye\n");
    let resp = client.get("http://api.local/small").call().unwrap();
    assert_eq!(resp.header("x-connection-requests"), Some("1"));
    assert_eq!(resp.text().unwrap(), "hello\n");
    assert_eq!(client.stats().opened, 2);
}

#[test]
fn redirects_stay_on_the_socket() {
    let client = client();
    let resp = client.get("http://api.local/redirect/1").call().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.url().as_str(), "http://api.local/small");
    assert_eq!(resp.text().unwrap(), "hello\n");
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn https_on_a_socket_client_fails_before_connecting() {
    let client = client();
    for url in ["https://api.local/small", "https://localhost:8443/"] {
        match client.get(url).call() {
            Err(Error::TlsOverUnixSocket { url: u, path }) => {
                assert_eq!(u, url);
                assert_eq!(path, socket());
            }
            other => panic!("{url}: {:?}", other.map(|r| r.status())),
        }
    }
    let stats = client.stats();
    assert_eq!((stats.opened, stats.open_failures), (0, 0), "{stats:?}");
}

#[test]
fn bad_socket_settings_are_refused_at_build() {
    let long = format!("/tmp/{}", "s".repeat(200));
    for path in ["", "/tmp/a\0b", &long] {
        let err = Client::builder().unix_socket(path).build().unwrap_err();
        assert!(matches!(err, Error::Transport(_)), "{path:?}: {err}");
    }
    let err = Client::builder()
        .unix_socket(socket())
        .proxy("http://127.0.0.1:3128")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::Conflicting("proxy", "unix_socket"))
        ),
        "{err}"
    );
    // CR/LF in the URL is refused before the socket is touched.
    let client = client();
    let err = client.get("http://api.local/a\r\nX: y").call().unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err}");
    assert_eq!(client.stats().opened, 0);
}

#[test]
fn a_socket_nobody_listens_on_is_a_connect_error() {
    let path = std::env::temp_dir().join(format!("{}.sock", unique("pconn-none")));
    let client = Client::builder().unix_socket(&path).build().unwrap();
    let err = client.get("http://api.local/").call().unwrap_err();
    assert!(
        matches!(&err, Error::Transport(http_client::transport::Error::Connect { addr, .. })
            if addr.contains(&*path.to_string_lossy())),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

/// A scripted peer on a socket of the test's own: it records each head
/// and answers one response per connection without saying it closes; the
/// client finds the closed idle connection and opens a new one.
#[test]
fn a_scripted_peer_sees_exactly_the_head_sent() {
    let path = std::env::temp_dir().join(format!("{}.sock", unique("pconn-peer")));
    let listener = UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let mut heads = Vec::new();
        for _ in 0..2 {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            while !head.ends_with("\r\n\r\n") {
                if reader.read_line(&mut head).unwrap() == 0 {
                    break;
                }
            }
            heads.push(head);
            let mut stream = stream;
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
        }
        heads
    });
    let client = Client::builder()
        .unix_socket(&path)
        .user_agent(Some("ua/1"))
        .decompress(false)
        .build()
        .unwrap();
    for _ in 0..2 {
        let resp = client.get("http://svc.internal/v1?q=1").call().unwrap();
        assert_eq!(resp.text().unwrap(), "ok");
    }
    let heads = server.join().unwrap();
    std::fs::remove_file(&path).ok();
    let want = "GET /v1?q=1 HTTP/1.1\r\nHost: svc.internal\r\nUser-Agent: ua/1\r\n\r\n";
    assert_eq!(heads, [want, want]);
    assert_eq!(client.stats().opened, 2);
}
