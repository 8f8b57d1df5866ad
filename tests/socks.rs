//! SOCKS5 through a real server: danted on 1080 (no auth) and 1081
//! (username/password), for proxy-tunnel itself and for the HTTP, Redis and
//! SMTP clients, plain and TLS targets, pooled: many requests over one kept
//! tunnel, counted by the server (nginx's connection serial, Redis's client
//! id, danted's log of tunnels). Scripted hostile SOCKS peers are in
//! `socks_peers.rs`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use integration_tests::{env_or, host_port, test_ca, unique};
use proxy_tunnel::proto::SocksReply;
use proxy_tunnel::{Error, Proxy};
use transport::{open, Conn, ConnectOptions, Endpoint, Pool, PoolConfig, PoolKey, TlsConfig};

fn socks_url() -> String {
    env_or("PCONN_SOCKS_URL", "socks5h://127.0.0.1:1080")
}

fn socks_auth_url() -> String {
    env_or(
        "PCONN_SOCKS_AUTH_URL",
        "socks5h://pconn-socks:pconn-secret@127.0.0.1:1081",
    )
}

/// The no-auth URL with another scheme (`socks5`: the client resolves).
fn with_scheme(url: &str, scheme: &str) -> String {
    let (_, rest) = url.split_once("://").expect("scheme");
    format!("{scheme}://{rest}")
}

/// The auth URL with another password.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (userinfo, hostport) = rest.rsplit_once('@').expect("credentials");
    let user = userinfo.split(':').next().unwrap();
    format!("{scheme}://{user}:{password}@{hostport}")
}

fn tls() -> TlsConfig {
    TlsConfig::builder()
        .add_ca_file(test_ca())
        .build()
        .expect("test CA")
}

fn opts() -> ConnectOptions {
    ConnectOptions {
        read_timeout: Some(Duration::from_secs(10)),
        write_timeout: Some(Duration::from_secs(10)),
        ..ConnectOptions::default()
    }
}

fn tunnel_error(result: transport::Result<Conn>) -> Error {
    match result.expect_err("tunnel should fail") {
        transport::Error::Tunnel(inner) => *inner.downcast::<Error>().expect("proxy_tunnel::Error"),
        other => panic!("expected a tunnel error, got {other:?}"),
    }
}

/// The tests take turns on danted, so that its log counts one test's tunnels.
static COUNTING: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    COUNTING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tunnels danted (1080) has opened to `target_port` so far, from its log.
fn danted_tunnels(target_port: u16) -> usize {
    let log = env_or(
        "PCONN_SOCKS_LOG",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../.servers/logs/danted-1080.log"
        ),
    );
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{log}: {e}"));
    let suffix = format!(".{target_port}");
    text.lines()
        .filter(|l| l.contains("tcp/connect [:") && l.trim_end().ends_with(&suffix))
        .count()
}

/// Waits (bounded) until danted has logged `want` more tunnels to
/// `target_port` than `before`, then returns the count it settled on.
fn tunnels_since(before: usize, target_port: u16, want: usize) -> usize {
    for _ in 0..40 {
        if danted_tunnels(target_port) - before >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    danted_tunnels(target_port) - before
}

fn read_line(conn: &mut Conn) -> String {
    conn.read_frame(4096, |buf: &[u8]| -> transport::Result<_> {
        Ok(buf
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|i| (String::from_utf8_lossy(&buf[..i]).into_owned(), i + 2)))
    })
    .expect("line")
}

/// One HTTP/1.1 response: status, `X-Connection`, body (Content-Length).
fn get(conn: &mut Conn, host: &str, path: &str) -> (u16, String, Vec<u8>) {
    conn.begin_exchange().unwrap();
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    let reply = conn
        .read_frame(1 << 20, |buf: &[u8]| -> transport::Result<_> {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut headers);
            let head = match resp.parse(buf).expect("HTTP response head") {
                httparse::Status::Complete(n) => n,
                httparse::Status::Partial => return Ok(None),
            };
            let value = |name: &str| {
                resp.headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).into_owned())
            };
            let len: usize = value("content-length").unwrap().trim().parse().unwrap();
            if buf.len() < head + len {
                return Ok(None);
            }
            let serial = value("x-connection").unwrap_or_default();
            let body = buf[head..head + len].to_vec();
            Ok(Some(((resp.code.unwrap(), serial, body), head + len)))
        })
        .expect("response");
    conn.end_exchange();
    reply
}

fn https_endpoint() -> Endpoint {
    let (host, port) = host_port(&env_or("PCONN_HTTPS_URL", "https://localhost:8443"), 443);
    Endpoint::new(&host, port).unwrap().with_tls(tls())
}

// ---- proxy-tunnel on its own ----------------------------------------------------

#[test]
fn https_through_each_socks_form_verifies_the_target_on_one_kept_tunnel() {
    let _turn = turn();
    let endpoint = https_endpoint();
    for url in [
        socks_url(),
        with_scheme(&socks_url(), "socks5"),
        socks_auth_url(),
    ] {
        let proxy = Proxy::parse(&url).unwrap();
        let connector = proxy.connector();
        let pool: Pool<()> = Pool::new(PoolConfig::default()).unwrap();
        let key = PoolKey::new("https", endpoint.host(), endpoint.port())
            .tls(endpoint.tls().unwrap().fingerprint())
            .via(connector.identity().unwrap());
        let tunnels = pool.key_pool(&key);
        let mut serials = Vec::new();
        for _ in 0..20 {
            let mut guard = tunnels
                .checkout(|| -> transport::Result<_> {
                    Ok((open(&endpoint, &*connector, &opts())?, ()))
                })
                .unwrap();
            assert!(guard.conn().is_tls());
            assert_eq!(guard.conn().server_name(), endpoint.host());
            let (status, serial, body) = get(guard.conn(), &endpoint.authority(), "/small");
            assert_eq!((status, body.as_slice()), (200, &b"hello\n"[..]), "{url}");
            serials.push(serial);
        }
        let stats = tunnels.stats();
        assert_eq!(
            (stats.opened, stats.reused),
            (1, 19),
            "{url}: {}",
            stats.to_json()
        );
        serials.dedup();
        assert_eq!(serials.len(), 1, "nginx saw one connection: {serials:?}");
    }
}

#[test]
fn tls_inside_the_tunnel_verifies_the_targets_name() {
    let _turn = turn();
    let proxy = Proxy::parse(&socks_url()).unwrap();
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
fn smtp_greeting_arrives_through_the_tunnel() {
    let _turn = turn();
    let (host, port) = host_port(&env_or("PCONN_SMTP_URL", "smtp://127.0.0.1:2525"), 2525);
    for url in [socks_url(), socks_auth_url()] {
        let proxy = Proxy::parse(&url).unwrap();
        let endpoint = Endpoint::new(&host, port).unwrap();
        let mut conn = open(&endpoint, &*proxy.connector(), &opts()).unwrap();
        // The server speaks first: nothing of its greeting may be lost.
        let greeting = read_line(&mut conn);
        assert!(greeting.starts_with("220"), "via {proxy}: {greeting}");
        conn.write_all(b"QUIT\r\n").unwrap();
        let mut last = read_line(&mut conn);
        while last.as_bytes().get(3) == Some(&b'-') {
            last = read_line(&mut conn);
        }
        assert!(last.starts_with("221"), "{last}");
    }
}

#[test]
fn the_auth_port_refuses_missing_and_wrong_credentials() {
    let _turn = turn();
    let url = socks_auth_url();
    let (host, port) = host_port(&url, 1081);
    let endpoint = https_endpoint();
    let none = Proxy::parse(&format!("socks5h://{host}:{port}")).unwrap();
    let err = tunnel_error(open(&endpoint, &*none.connector(), &opts()));
    assert!(
        matches!(
            err,
            Error::SocksMethodRefused {
                credentials_offered: false,
                ..
            }
        ),
        "{err:?}"
    );
    let wrong = Proxy::parse(&with_password(&url, "wrong-secret")).unwrap();
    let err = tunnel_error(open(&endpoint, &*wrong.connector(), &opts()));
    assert!(matches!(err, Error::SocksAuthFailed { .. }), "{err:?}");
    assert!(!err.to_string().contains("wrong-secret"), "{err}");
}

#[test]
fn danteds_refusals_are_typed() {
    let _turn = turn();
    let proxy = Proxy::parse(&socks_url()).unwrap();
    // Port 9 is blocked by the ruleset.
    let err = tunnel_error(open(
        &Endpoint::new("127.0.0.1", 9).unwrap(),
        &*proxy.connector(),
        &opts(),
    ));
    assert!(
        matches!(
            err,
            Error::SocksRefused {
                reply: SocksReply::NotAllowed,
                ..
            }
        ),
        "{err:?}"
    );
    // Nothing listens on a port just released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = tunnel_error(open(
        &Endpoint::new("127.0.0.1", closed).unwrap(),
        &*proxy.connector(),
        &opts(),
    ));
    assert!(
        matches!(
            err,
            Error::SocksRefused {
                reply: SocksReply::ConnectionRefused,
                ..
            }
        ),
        "{err:?}"
    );
}

// ---- the clients through danted ------------------------------------------------

#[test]
fn http_client_plain_and_https_over_one_tunnel_each() {
    let _turn = turn();
    let http = env_or("PCONN_HTTP_URL", "http://127.0.0.1:8080");
    let https = env_or("PCONN_HTTPS_URL", "https://localhost:8443");
    for base in [&http, &https] {
        let port = host_port(base, 0).1;
        let before = danted_tunnels(port);
        let client = http_client::Client::builder()
            .proxy_from_env(false)
            .add_ca_file(test_ca())
            .proxy(&socks_url())
            .build()
            .unwrap();
        let mut serials = Vec::new();
        for _ in 0..10 {
            let resp = client.get(&format!("{base}/echo")).call().unwrap();
            serials.push(resp.header("x-connection").unwrap().to_string());
            let text = resp.text().unwrap();
            // Plain http goes through the tunnel in origin form, not to
            // the proxy in absolute form (SOCKS cannot take that).
            assert!(text.starts_with("GET /echo\n"), "{text}");
        }
        let stats = client.stats();
        assert_eq!((stats.opened, stats.reused), (1, 9), "{base}: {stats:?}");
        serials.dedup();
        assert_eq!(serials.len(), 1, "{base}: {serials:?}");
        assert_eq!(
            tunnels_since(before, port, 1),
            1,
            "{base}: danted's tunnels"
        );
    }
}

#[test]
fn redis_client_plain_and_tls_over_one_tunnel_each() {
    let _turn = turn();
    for (url, tls) in [
        (env_or("PCONN_REDIS_URL", "redis://127.0.0.1:6379"), false),
        (
            env_or("PCONN_REDIS_TLS_URL", "rediss://localhost:6380"),
            true,
        ),
    ] {
        let port = host_port(&url, 6379).1;
        let before = danted_tunnels(port);
        let mut builder = redis_client::Client::builder().url(&url).unwrap();
        if tls {
            builder = builder.ca_file(test_ca());
        }
        let client = builder.proxy(&socks_url()).unwrap().build().unwrap();
        assert!(
            client.key().to_string().contains("socks5h://"),
            "{}",
            client.key()
        );
        let mut ids = Vec::new();
        for i in 0..10 {
            let mut c = client.get().unwrap();
            let id: i64 = c.query(&redis_client::cmd("CLIENT").arg("ID")).unwrap();
            ids.push(id);
            let echoed: String = c
                .query(&redis_client::cmd("ECHO").arg(format!("m{i}")))
                .unwrap();
            assert_eq!(echoed, format!("m{i}"));
        }
        let stats = client.stats();
        assert_eq!((stats.opened, stats.reused), (1, 9), "{url}: {stats:?}");
        ids.dedup();
        assert_eq!(ids.len(), 1, "{url}: the server saw {ids:?}");
        assert_eq!(tunnels_since(before, port, 1), 1, "{url}: danted's tunnels");
    }
}

#[test]
fn smtp_client_starttls_and_implicit_tls_over_one_tunnel_each() {
    let _turn = turn();
    for url in [
        env_or("PCONN_SMTP_URL", "smtp://127.0.0.1:2525"),
        env_or("PCONN_SMTPS_URL", "smtps://localhost:2465"),
    ] {
        let port = host_port(&url, 25).1;
        let before = danted_tunnels(port);
        let client = smtp_client::SmtpClient::from_url(&url)
            .unwrap()
            .tls_config(tls())
            .credentials(smtp_client::Credentials::password("pconn", "pconn-secret"))
            .proxy(&socks_url())
            .unwrap()
            .build()
            .unwrap();
        let marker = unique("socks-mail");
        for i in 0..5 {
            let msg = smtp_client::Message::builder()
                .from("sender@example.com")
                .to("rcpt@example.com")
                .subject(&format!("{marker}-{i}"))
                .text_body("through danted\n")
                .build()
                .unwrap();
            let sent = client.send(&msg).unwrap();
            assert_eq!(sent.reply.code, 250);
            assert_eq!(sent.reused, i > 0);
        }
        let stats = client.stats();
        assert_eq!((stats.opened, stats.reused), (1, 4), "{url}: {stats:?}");
        assert_eq!(tunnels_since(before, port, 1), 1, "{url}: danted's tunnels");
    }
}

// ---- a failed exchange inside a tunnel -----------------------------------------

/// Through a tunnel from `connector`, a Redis BLPOP whose reply the borrower
/// stops waiting for: the tunnel is broken, refuses further use, and the
/// pool closes it instead of handing BLPOP's late reply to the next borrower.
fn late_reply_never_reaches_the_next_borrower(connector: &dyn transport::Connector) {
    let (host, port) = host_port(&env_or("PCONN_REDIS_URL", "redis://127.0.0.1:6379"), 6379);
    let endpoint = Endpoint::new(&host, port).unwrap();
    let pool: Pool<()> = Pool::new(PoolConfig::default()).unwrap();
    let key = PoolKey::new("redis", &host, port).via(connector.identity().unwrap());
    let tunnels = pool.key_pool(&key);
    let checkout = || {
        tunnels
            .checkout(|| -> transport::Result<_> { Ok((open(&endpoint, connector, &opts())?, ())) })
            .unwrap()
    };
    let mut guard = checkout();
    let conn = guard.conn();
    conn.begin_exchange().unwrap();
    let list = unique("socks-blpop");
    let blpop = format!(
        "*3\r\n$5\r\nBLPOP\r\n${}\r\n{list}\r\n$3\r\n0.5\r\n",
        list.len()
    );
    conn.write_all(blpop.as_bytes()).unwrap();
    conn.set_read_timeout(Some(Duration::from_millis(2)));
    let err = conn.fill().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(conn.is_broken());
    // BLPOP's nil arrives meanwhile; a new command on this connection would
    // read it as its own reply. The connection refuses instead, typed.
    std::thread::sleep(Duration::from_millis(600));
    conn.set_read_timeout(Some(Duration::from_secs(1)));
    let err = conn
        .write_all(b"*2\r\n$4\r\nECHO\r\n$4\r\nmine\r\n")
        .unwrap_err();
    assert!(err.is_broken(), "{err:?}");
    assert!(
        matches!(
            err,
            transport::Error::Broken {
                cause: transport::BrokenCause::Timeout(_)
            }
        ),
        "{err:?}"
    );
    let err = conn.fill().unwrap_err();
    assert!(err.is_broken(), "{err:?}");
    assert!(conn.read_buf().is_empty());
    drop(guard);
    let mut next = checkout();
    assert!(!next.is_reused(), "a broken tunnel was handed out again");
    next.conn()
        .write_all(b"*2\r\n$4\r\nECHO\r\n$4\r\nmine\r\n")
        .unwrap();
    assert_eq!(read_line(next.conn()), "$4");
    assert_eq!(read_line(next.conn()), "mine");
    let stats = tunnels.stats();
    assert_eq!(stats.opened, 2, "{}", stats.to_json());
    assert!(stats.discarded_total() >= 1, "{}", stats.to_json());
}

#[test]
fn a_timed_out_reply_breaks_the_socks_tunnel() {
    let _turn = turn();
    let proxy = Proxy::parse(&socks_url()).unwrap();
    late_reply_never_reaches_the_next_borrower(&*proxy.connector());
}

#[test]
fn a_timed_out_reply_breaks_the_connect_tunnel() {
    let proxy = Proxy::parse(&env_or("PCONN_PROXY_URL", "http://127.0.0.1:3128")).unwrap();
    late_reply_never_reaches_the_next_borrower(&*proxy.connector());
}

// ---- the proxy environment variables --------------------------------------------

/// The variables the child must not inherit: only what the test sets counts.
const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Runs `env_child` in a child process of this test binary with `vars` as
/// its only proxy variables (the process environment is not the place to
/// change under threads), and returns its danted tunnel count to 8443.
fn run_env_child(vars: &[(&str, &str)]) -> usize {
    let before = danted_tunnels(8443);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.args([
        "--exact",
        "env_child",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for var in PROXY_VARS {
        child.env_remove(var);
    }
    child
        .envs(vars.iter().copied())
        .env("PCONN_SOCKS_ENV_CHILD", "1");
    let out = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("env child: 3 requests, opened 1"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tunnels_since(before, 8443, 1)
}

#[test]
fn http_client_takes_socks_from_all_proxy_and_https_proxy_and_honours_no_proxy() {
    let _turn = turn();
    let url = socks_url();
    assert_eq!(run_env_child(&[("ALL_PROXY", &url)]), 1, "ALL_PROXY");
    assert_eq!(run_env_child(&[("HTTPS_PROXY", &url)]), 1, "HTTPS_PROXY");
    assert_eq!(
        run_env_child(&[("ALL_PROXY", &url), ("NO_PROXY", "localhost")]),
        0,
        "NO_PROXY=localhost goes direct"
    );
}

/// The child of the test above: three https requests with the proxy taken
/// from the environment (http-client's default).
#[test]
#[ignore = "run by http_client_takes_socks_from_all_proxy_and_https_proxy_and_honours_no_proxy"]
fn env_child() {
    if std::env::var_os("PCONN_SOCKS_ENV_CHILD").is_none() {
        return;
    }
    let client = http_client::Client::builder()
        .add_ca_file(test_ca())
        .build()
        .unwrap();
    let https = env_or("PCONN_HTTPS_URL", "https://localhost:8443");
    for _ in 0..3 {
        let text = client
            .get(&format!("{https}/small"))
            .call()
            .unwrap()
            .text()
            .unwrap();
        assert_eq!(text, "hello\n");
    }
    println!("env child: 3 requests, opened {}", client.stats().opened);
}

#[test]
fn socks4_through_danted_with_the_client_resolving() {
    let _turn = turn();
    let (host, port) = host_port(&socks_url(), 1080);
    let proxy = Proxy::parse(&format!("socks4://{host}:{port}")).unwrap();
    // "localhost" is resolved here, to IPv4 (SOCKS4 carries nothing else).
    let endpoint = https_endpoint();
    let mut conn = open(&endpoint, &*proxy.connector(), &opts()).unwrap();
    assert!(conn.is_tls());
    let (status, _, body) = get(&mut conn, &endpoint.authority(), "/small");
    assert_eq!((status, body.as_slice()), (200, &b"hello\n"[..]));
}
