//! proxy-tunnel against the real proxies (tinyproxy on 3128 and, with Basic
//! auth, 3129; TLS to the proxy on 3443 through nginx's stream module) and
//! against hostile proxies scripted with a `TcpListener`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use integration_tests::{env_or, host_port, test_ca};
use proxy_tunnel::{Error, Proxy, TunnelPhase};
use transport::{open, Conn, ConnectOptions, Endpoint, Pool, PoolConfig, PoolKey, TlsConfig};

fn proxy_url() -> String {
    env_or("PCONN_PROXY_URL", "http://127.0.0.1:3128")
}

fn proxy_auth_url() -> String {
    env_or(
        "PCONN_PROXY_AUTH_URL",
        "http://pconn:pconn-secret@127.0.0.1:3129",
    )
}

fn proxy_tls_url() -> String {
    env_or("PCONN_PROXY_TLS_URL", "https://localhost:3443")
}

fn tls() -> TlsConfig {
    TlsConfig::builder()
        .add_ca_file(test_ca())
        .build()
        .expect("test CA")
}

/// The three real proxies: plain, Basic auth, and TLS to the proxy.
fn real_proxies() -> Vec<Proxy> {
    vec![
        Proxy::parse(&proxy_url()).unwrap(),
        Proxy::parse(&proxy_auth_url()).unwrap(),
        Proxy::parse(&proxy_tls_url())
            .unwrap()
            .with_tls_config(tls()),
    ]
}

fn https_endpoint() -> Endpoint {
    let (host, port) = host_port(&env_or("PCONN_HTTPS_URL", "https://localhost:8443"), 443);
    Endpoint::new(&host, port).unwrap().with_tls(tls())
}

fn opts() -> ConnectOptions {
    ConnectOptions {
        read_timeout: Some(Duration::from_secs(10)),
        write_timeout: Some(Duration::from_secs(10)),
        ..ConnectOptions::default()
    }
}

/// One HTTP/1.1 response with a Content-Length body: status and body.
fn read_response(conn: &mut Conn) -> (u16, Vec<u8>) {
    conn.read_frame(1 << 20, |buf: &[u8]| -> transport::Result<_> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let head = match resp.parse(buf).expect("HTTP response head") {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => return Ok(None),
        };
        let len: usize = resp
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .map(|h| {
                std::str::from_utf8(h.value)
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            })
            .expect("Content-Length");
        if buf.len() < head + len {
            return Ok(None);
        }
        let body = buf[head..head + len].to_vec();
        Ok(Some(((resp.code.unwrap(), body), head + len)))
    })
    .expect("response")
}

fn get(conn: &mut Conn, host: &str, path: &str) -> (u16, Vec<u8>) {
    conn.begin_exchange().unwrap();
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    let reply = read_response(conn);
    conn.end_exchange();
    reply
}

/// Reads everything until the peer closes.
fn read_to_end(conn: &mut Conn) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match conn.read_into(&mut chunk).unwrap() {
            0 => return out,
            n => out.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One CRLF-terminated line.
fn read_line(conn: &mut Conn) -> String {
    conn.read_frame(4096, |buf: &[u8]| -> transport::Result<_> {
        Ok(buf
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|i| (String::from_utf8_lossy(&buf[..i]).into_owned(), i + 2)))
    })
    .expect("line")
}

/// One SMTP reply (all its lines); returns the last line.
fn smtp_reply(conn: &mut Conn) -> String {
    loop {
        let line = read_line(conn);
        if line.as_bytes().get(3) != Some(&b'-') {
            return line;
        }
    }
}

fn tunnel_error(result: transport::Result<Conn>) -> Error {
    let err = result.expect_err("tunnel should fail");
    match err {
        transport::Error::Tunnel(inner) => *inner.downcast::<Error>().expect("proxy_tunnel::Error"),
        other => panic!("expected a tunnel error, got {other:?}"),
    }
}

// ---- the real proxies ------------------------------------------------------

#[test]
fn https_get_through_each_proxy_verifies_the_target() {
    let endpoint = https_endpoint();
    for proxy in real_proxies() {
        let connector = proxy.connector();
        // The tunnel alone is not TLS to the target, even through an
        // https:// proxy: only the TLS layered inside it counts.
        let tunnel = connector
            .connect(
                endpoint.host(),
                endpoint.port(),
                &opts(),
                Instant::now() + Duration::from_secs(10),
            )
            .unwrap();
        assert!(!tunnel.is_tls(), "via {proxy}");
        assert_eq!(tunnel.tls_version(), None);
        assert_eq!(tunnel.server_name(), endpoint.host());
        drop(tunnel);
        let mut conn = open(&endpoint, &*connector, &opts()).unwrap();
        assert!(conn.is_tls());
        assert!(conn.tls_version().is_some());
        assert_eq!(conn.server_name(), endpoint.host());
        let (status, body) = get(&mut conn, &endpoint.authority(), "/small");
        assert_eq!(
            (status, body.as_slice()),
            (200, &b"hello\n"[..]),
            "via {proxy}"
        );
    }
}

#[test]
fn target_name_is_verified_not_the_proxys() {
    // The tunnel reaches 127.0.0.1:8443, but TLS is asked to verify a name
    // the certificate does not carry: TLS inside the tunnel must refuse.
    let proxy = Proxy::parse(&proxy_url()).unwrap();
    let conn = proxy
        .tunnel(
            "127.0.0.1",
            https_endpoint().port(),
            &opts(),
            Instant::now() + Duration::from_secs(10),
        )
        .unwrap();
    let err = conn
        .start_tls(
            &tls(),
            "not-the-server.example",
            Instant::now() + Duration::from_secs(10),
        )
        .unwrap_err();
    assert!(matches!(err, transport::Error::Tls { .. }), "{err:?}");
}

#[test]
fn proxy_credentials_never_reach_the_target() {
    let proxy = Proxy::parse(&proxy_auth_url()).unwrap();
    let endpoint = https_endpoint();
    let mut conn = open(&endpoint, &*proxy.connector(), &opts()).unwrap();
    conn.write_all(
        format!(
            "GET /echo HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            endpoint.authority()
        )
        .as_bytes(),
    )
    .unwrap();
    let page = String::from_utf8_lossy(&read_to_end(&mut conn)).to_ascii_lowercase();
    assert!(page.contains("get /echo"), "{page}");
    assert!(!page.contains("proxy-authorization"), "{page}");
    assert!(!page.contains("pconn-secret"), "{page}");
}

#[test]
fn hundred_requests_reuse_one_tunnel() {
    let proxy = Proxy::parse(&proxy_url()).unwrap();
    let connector = proxy.connector();
    let endpoint = https_endpoint();
    let pool: Pool<()> = Pool::new(PoolConfig::default()).unwrap();
    let direct_key = PoolKey::new("https", endpoint.host(), endpoint.port())
        .tls(endpoint.tls().unwrap().fingerprint());
    let key = direct_key.clone().via(connector.identity().unwrap());
    assert_ne!(key, direct_key);
    let tunnels = pool.key_pool(&key);
    for _ in 0..100 {
        let mut guard = tunnels
            .checkout(|| -> transport::Result<_> {
                Ok((open(&endpoint, &*connector, &opts())?, ()))
            })
            .unwrap();
        let (status, body) = get(guard.conn(), &endpoint.authority(), "/small");
        assert_eq!((status, body.as_slice()), (200, &b"hello\n"[..]));
    }
    let stats = tunnels.stats();
    assert_eq!((stats.opened, stats.reused), (1, 99), "{}", stats.to_json());
    assert_eq!(stats.discarded_total(), 0);

    // A direct connection to the same server never comes from the tunnel pool.
    let mut direct = pool
        .checkout(&direct_key, || -> transport::Result<_> {
            Ok((open(&endpoint, &transport::Direct, &opts())?, ()))
        })
        .unwrap();
    assert!(!direct.is_reused());
    assert_eq!(get(direct.conn(), &endpoint.authority(), "/small").0, 200);
}

#[test]
fn redis_over_tls_through_the_proxy() {
    let (host, port) = host_port(
        &env_or("PCONN_REDIS_TLS_URL", "rediss://localhost:6380"),
        6380,
    );
    let endpoint = Endpoint::new(&host, port).unwrap().with_tls(tls());
    for proxy in real_proxies() {
        let mut conn = open(&endpoint, &*proxy.connector(), &opts()).unwrap();
        assert!(conn.is_tls());
        conn.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(read_line(&mut conn), "+PONG", "via {proxy}");
    }
}

#[test]
fn smtp_greeting_and_starttls_through_the_proxy() {
    let (host, port) = host_port(&env_or("PCONN_SMTP_URL", "smtp://127.0.0.1:2525"), 2525);
    for proxy in real_proxies() {
        let endpoint = Endpoint::new(&host, port).unwrap();
        let mut conn = open(&endpoint, &*proxy.connector(), &opts()).unwrap();
        // The server speaks first; its greeting may share a packet with the 200.
        let greeting = smtp_reply(&mut conn);
        assert!(greeting.starts_with("220 "), "via {proxy}: {greeting}");
        conn.write_all(b"EHLO proxy-test\r\n").unwrap();
        assert!(smtp_reply(&mut conn).starts_with("250 "));
        conn.write_all(b"STARTTLS\r\n").unwrap();
        assert!(smtp_reply(&mut conn).starts_with("220 "));
        let mut conn = conn
            .start_tls(&tls(), &host, Instant::now() + Duration::from_secs(10))
            .unwrap();
        conn.write_all(b"EHLO proxy-test\r\n").unwrap();
        assert!(smtp_reply(&mut conn).starts_with("250 "));
        conn.write_all(b"QUIT\r\n").unwrap();
        assert!(smtp_reply(&mut conn).starts_with("221"));
    }
}

#[test]
fn wrong_or_missing_credentials_give_the_auth_error_with_the_challenge() {
    let (host, port) = host_port(&proxy_auth_url(), 3129);
    for url in [
        format!("http://pconn:wrong@{host}:{port}"),
        format!("http://{host}:{port}"),
    ] {
        let proxy = Proxy::parse(&url).unwrap();
        let err = tunnel_error(open(&https_endpoint(), &*proxy.connector(), &opts()));
        match &err {
            Error::ProxyAuthRequired {
                challenge,
                credentials_sent,
                ..
            } => {
                assert!(
                    challenge.as_deref().is_some_and(|c| c.starts_with("Basic")),
                    "{err}"
                );
                assert_eq!(*credentials_sent, url.contains('@'));
            }
            other => panic!("expected 407, got {other:?}"),
        }
        // tinyproxy 1.11 answers wrong credentials with 401 + WWW-Authenticate
        // (missing ones with 407); both are the proxy refusing credentials.
        assert!(matches!(err.status(), Some(401 | 407)), "{err}");
        assert!(!err.is_retryable());
        assert!(!err.to_string().contains("wrong"));
    }
}

#[test]
fn denied_port_gives_403() {
    // Port 9 (discard) is not among the proxy's ConnectPort entries.
    for proxy in real_proxies() {
        let endpoint = Endpoint::new("127.0.0.1", 9).unwrap();
        let err = tunnel_error(open(&endpoint, &*proxy.connector(), &opts()));
        assert!(
            matches!(err, Error::Forbidden { .. }),
            "via {proxy}: {err:?}"
        );
        assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    }
}

// ---- hostile proxies ---------------------------------------------------------

/// A scripted proxy: accepts one connection, reads the request head, hands
/// it to the test through the channel, then runs `script`.
fn hostile<F>(script: F) -> (Proxy, mpsc::Receiver<String>)
where
    F: FnOnce(&mut TcpStream) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if sock.read(&mut byte).unwrap_or(0) == 0 {
                return;
            }
            head.push(byte[0]);
        }
        tx.send(String::from_utf8_lossy(&head).into_owned())
            .unwrap();
        script(&mut sock);
    });
    let proxy = Proxy::parse(&format!("http://u:p%40ss@127.0.0.1:{port}")).unwrap();
    (proxy, rx)
}

fn short_opts() -> ConnectOptions {
    ConnectOptions {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Some(Duration::from_millis(500)),
        write_timeout: Some(Duration::from_secs(5)),
        keepalive: None,
    }
}

#[test]
fn target_bytes_in_the_same_packet_as_the_200_are_delivered() {
    let (proxy, requests) = hostile(|sock| {
        sock.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n220 hostile.example ESMTP\r\n")
            .unwrap();
        // The tunnel works both ways after that.
        let mut buf = [0u8; 6];
        sock.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"NOOP\r\n");
        sock.write_all(b"250 OK\r\n").unwrap();
    });
    let endpoint = Endpoint::new("mail.example", 2525).unwrap();
    let mut conn = open(&endpoint, &*proxy.connector(), &short_opts()).unwrap();
    assert_eq!(read_line(&mut conn), "220 hostile.example ESMTP");
    conn.write_all(b"NOOP\r\n").unwrap();
    assert_eq!(read_line(&mut conn), "250 OK");
    assert_eq!(
        requests.recv().unwrap(),
        "CONNECT mail.example:2525 HTTP/1.1\r\nHost: mail.example:2525\r\n\
         Proxy-Authorization: Basic dTpwQHNz\r\n\r\n"
    );
}

#[test]
fn interim_replies_are_skipped() {
    let (proxy, _requests) = hostile(|sock| {
        sock.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n+OK\r\n")
            .unwrap();
    });
    let mut conn = proxy
        .tunnel(
            "db.example",
            6379,
            &short_opts(),
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(read_line(&mut conn), "+OK");
}

#[test]
fn header_block_over_the_limit_is_refused() {
    let (proxy, _requests) = hostile(|sock| {
        let _ = sock.write_all(b"HTTP/1.1 200 OK\r\n");
        let line = format!("X-Padding: {}\r\n", "a".repeat(1000));
        for _ in 0..200 {
            if sock.write_all(line.as_bytes()).is_err() {
                return;
            }
        }
    });
    let proxy = proxy.with_max_header_bytes(8 * 1024);
    let err = tunnel_error(open(
        &Endpoint::new("x.example", 443).unwrap(),
        &*proxy.connector(),
        &short_opts(),
    ));
    assert!(
        matches!(err, Error::HeaderTooLarge { limit: 8192, .. }),
        "{err:?}"
    );
}

#[test]
fn non_http_reply_is_refused() {
    let (proxy, _requests) = hostile(|sock| {
        let _ = sock.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
        thread::sleep(Duration::from_millis(200));
    });
    let err = tunnel_error(open(
        &Endpoint::new("x.example", 443).unwrap(),
        &*proxy.connector(),
        &short_opts(),
    ));
    assert!(matches!(err, Error::NotHttp { .. }), "{err:?}");
    assert!(err.to_string().contains("SSH-2.0"), "{err}");
}

#[test]
fn close_mid_header_is_a_clear_error() {
    let (proxy, _requests) = hostile(|sock| {
        let _ = sock.write_all(b"HTTP/1.1 200 Connection est");
    });
    let err = tunnel_error(open(
        &Endpoint::new("x.example", 443).unwrap(),
        &*proxy.connector(),
        &short_opts(),
    ));
    assert!(
        matches!(
            err,
            Error::ProxyClosed {
                mid_reply: true,
                ..
            }
        ),
        "{err:?}"
    );

    let (proxy, _requests) = hostile(|_sock| {});
    let err = tunnel_error(open(
        &Endpoint::new("x.example", 443).unwrap(),
        &*proxy.connector(),
        &short_opts(),
    ));
    assert!(
        matches!(
            err,
            Error::ProxyClosed {
                mid_reply: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[test]
fn silent_proxy_times_out_in_the_reply_phase() {
    let (proxy, _requests) = hostile(|sock| {
        // Hold the connection open, say nothing, until the client gives up.
        let mut buf = [0u8; 1];
        let _ = sock.read(&mut buf);
    });
    let err = tunnel_error(open(
        &Endpoint::new("x.example", 443).unwrap(),
        &*proxy.connector(),
        &short_opts(),
    ));
    assert!(
        matches!(
            err,
            Error::Timeout {
                phase: TunnelPhase::ConnectReply,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_timeout());
}

#[test]
fn gateway_and_other_statuses_are_typed() {
    for (reply, status) in [
        (
            &b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad"[..],
            502,
        ),
        (b"HTTP/1.1 504 Gateway Timeout\r\n\r\n", 504),
        (b"HTTP/1.0 405 Method Not Allowed\r\n\r\n", 405),
    ] {
        let (proxy, _requests) = hostile(move |sock| {
            let _ = sock.write_all(reply);
        });
        let err = tunnel_error(open(
            &Endpoint::new("x.example", 443).unwrap(),
            &*proxy.connector(),
            &short_opts(),
        ));
        assert_eq!(err.status(), Some(status), "{err:?}");
        if status == 405 {
            assert!(matches!(err, Error::Status { .. }), "{err:?}");
            assert!(err.to_string().contains("Method Not Allowed"), "{err}");
        } else {
            assert!(matches!(err, Error::Gateway { .. }), "{err:?}");
        }
    }
}

#[test]
fn ipv6_target_is_bracketed_in_the_request_line() {
    let (proxy, requests) = hostile(|sock| {
        let _ = sock.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
    });
    proxy
        .tunnel(
            "::1",
            8443,
            &short_opts(),
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap();
    let head = requests.recv().unwrap();
    assert!(
        head.starts_with("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n"),
        "{head}"
    );
}

#[test]
fn bad_targets_are_refused_before_anything_is_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let proxy = Proxy::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let connector = proxy.connector();
    for (host, port) in [
        ("evil.example\r\nX-Injected: 1", 443),
        ("a b", 443),
        ("user@host", 443),
        ("host/path", 443),
        ("host", 0),
    ] {
        let err = tunnel_error(connector.connect(
            host,
            port,
            &short_opts(),
            Instant::now() + Duration::from_secs(5),
        ));
        assert!(matches!(err, Error::InvalidTarget(_)), "{host:?}: {err:?}");
    }
    // Nobody connected to the proxy.
    listener.set_nonblocking(true).unwrap();
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

#[test]
fn silent_https_proxy_times_out_in_the_proxy_tls_phase() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        // Accept, read the ClientHello, never answer.
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        while sock.read(&mut buf).unwrap_or(0) > 0 {}
    });
    let proxy = Proxy::parse(&format!("https://localhost:{port}"))
        .unwrap()
        .with_tls_config(tls());
    let err = tunnel_error(open(&https_endpoint(), &*proxy.connector(), &short_opts()));
    assert!(
        matches!(
            err,
            Error::Timeout {
                phase: TunnelPhase::ProxyTls,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn silent_target_times_out_in_the_target_tls_phase() {
    let (proxy, _requests) = hostile(|sock| {
        sock.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        // The "target" takes the ClientHello and never answers.
        let mut buf = [0u8; 4096];
        while sock.read(&mut buf).unwrap_or(0) > 0 {}
    });
    let endpoint = Endpoint::new("localhost", 8443).unwrap().with_tls(tls());
    let err = proxy.open(&endpoint, &short_opts()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                phase: TunnelPhase::TargetTls,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn unreachable_proxy_is_a_retryable_error() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proxy = Proxy::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let err = tunnel_error(open(&https_endpoint(), &*proxy.connector(), &short_opts()));
    assert!(matches!(err, Error::ProxyUnreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
    // The same error through the transport error, found again with Error::find.
    let outer = open(&https_endpoint(), &*proxy.connector(), &short_opts()).unwrap_err();
    assert!(matches!(
        Error::find(&outer),
        Some(Error::ProxyUnreachable { .. })
    ));
}

#[test]
fn absolute_form_request_through_open_to_proxy() {
    let (host, port) = host_port(&env_or("PCONN_HTTP_URL", "http://127.0.0.1:8080"), 80);
    let proxy = Proxy::parse(&proxy_auth_url()).unwrap();
    let mut conn = proxy
        .open_to_proxy(&opts(), Instant::now() + Duration::from_secs(10))
        .unwrap();
    let auth = proxy.basic_auth().unwrap();
    // One request: tinyproxy closes the client side after each forwarded
    // request, so keep-alive to the proxy is not something to test here.
    conn.write_all(
        format!(
            "GET http://{host}:{port}/small HTTP/1.1\r\nHost: {host}:{port}\r\nProxy-Authorization: {auth}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let (status, body) = read_response(&mut conn);
    assert_eq!((status, body.as_slice()), (200, &b"hello\n"[..]));
}

// ---- the protocol clients through the proxies ----------------------------------

#[test]
fn redis_client_through_each_proxy_reuses_one_tunnel() {
    for proxy in real_proxies() {
        let client = redis_client::Client::builder()
            .url(&env_or("PCONN_REDIS_TLS_URL", "rediss://localhost:6380"))
            .unwrap()
            .ca_file(test_ca())
            .connector(proxy.connector())
            .build()
            .unwrap();
        assert!(
            client.key().to_string().contains(" via "),
            "{:?}",
            client.key()
        );
        for _ in 0..10 {
            let mut conn = client.get().unwrap();
            let pong: String = conn.query(&redis_client::cmd("PING")).unwrap();
            assert_eq!(pong, "PONG");
        }
        let stats = client.stats();
        assert_eq!(
            (stats.opened, stats.reused),
            (1, 9),
            "via {proxy}: {stats:?}"
        );
    }
}

#[test]
fn redis_client_surfaces_the_proxy_refusal_typed() {
    let (host, port) = host_port(&proxy_auth_url(), 3129);
    let proxy = Proxy::parse(&format!("http://pconn:wrong@{host}:{port}")).unwrap();
    let client = redis_client::Client::builder()
        .url(&env_or("PCONN_REDIS_URL", "redis://127.0.0.1:6379"))
        .unwrap()
        .connector(proxy.connector())
        .build()
        .unwrap();
    let err = client.get().map(|_| ()).unwrap_err();
    let redis_client::Error::Transport(transport_err) = &err else {
        panic!("expected a transport error, got {err:?}");
    };
    assert!(
        matches!(
            Error::find(transport_err),
            Some(Error::ProxyAuthRequired { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn http_client_through_the_https_proxy_tls_in_tls() {
    let proxy = Proxy::parse(&proxy_tls_url())
        .unwrap()
        .with_tls_config(tls());
    let client = http_client::Client::builder()
        .proxy_from_env(false)
        .add_ca_file(test_ca())
        .connector(proxy.connector())
        .build()
        .unwrap();
    let url = format!(
        "{}/small",
        env_or("PCONN_HTTPS_URL", "https://localhost:8443")
    );
    for _ in 0..5 {
        assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "hello\n");
    }
    let stats = client.stats();
    assert_eq!((stats.opened, stats.reused), (1, 4), "{stats:?}");
}

#[test]
fn smtp_client_through_the_https_proxy_with_starttls() {
    let proxy = Proxy::parse(&proxy_tls_url())
        .unwrap()
        .with_tls_config(tls());
    let client =
        smtp_client::SmtpClient::from_url(&env_or("PCONN_SMTP_URL", "smtp://127.0.0.1:2525"))
            .unwrap()
            .tls_config(tls())
            .credentials(smtp_client::Credentials::password("pconn", "pconn-secret"))
            .connector(proxy.connector())
            .build()
            .unwrap();
    let marker = integration_tests::unique("proxy-tunnel-tls");
    for i in 0..2 {
        let msg = smtp_client::Message::builder()
            .from("sender@example.com")
            .to("rcpt@example.com")
            .subject(&format!("{marker}-{i}"))
            .text_body("through TLS in TLS\n")
            .build()
            .unwrap();
        client.send(&msg).unwrap();
    }
    let stats = client.stats();
    assert_eq!((stats.opened, stats.reused), (1, 1), "{stats:?}");
}

#[test]
fn a_connect_reply_read_halfway_is_never_pooled() {
    // Half a reply head, then silence: the tunnel times out in the reply
    // phase, the pool counts a failed open and holds no connection, so
    // nothing of that proxy connection can reach a later borrower.
    let (proxy, _requests) = hostile(|sock| {
        sock.write_all(b"HTTP/1.1 200 Connection est").unwrap();
        let mut buf = [0u8; 1];
        let _ = sock.read(&mut buf);
    });
    let endpoint = Endpoint::new("x.example", 443).unwrap();
    let pool: Pool<()> = Pool::new(PoolConfig::default()).unwrap();
    let key = PoolKey::new("https", "x.example", 443).via(proxy.identity());
    let tunnels = pool.key_pool(&key);
    let connector = proxy.connector();
    let err = tunnels
        .checkout(|| -> transport::Result<_> {
            Ok((open(&endpoint, &*connector, &short_opts())?, ()))
        })
        .expect_err("the CONNECT reply never completes");
    assert!(
        matches!(
            Error::find(&err),
            Some(Error::Timeout {
                phase: TunnelPhase::ConnectReply,
                ..
            })
        ),
        "{err:?}"
    );
    let stats = tunnels.stats();
    assert_eq!(
        (
            stats.opened,
            stats.open_failures,
            stats.open_now,
            stats.idle_now
        ),
        (0, 1, 0, 0),
        "{}",
        stats.to_json()
    );
}
