//! Acceptance tests of the `transport` crate against real sockets: the
//! probe's classifications, reset-on-release, limits under concurrency,
//! expiry with injected time, identity isolation, stats and bad input.
//! Real servers (redis-server, nginx) where the behaviour is theirs; an
//! in-test `TcpListener` where a peer must misbehave on cue.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use integration_tests::{env_or, host_port, test_ca, test_client_cert, unique};
use transport::{
    open, BoxError, Conn, ConnectOptions, Direct, Discard, Endpoint, Error, ManualClock, Phase,
    Pool, PoolConfig, PoolKey, Probe, Recycle, Reuse, SecretHash, Status, TlsConfig,
};

// ---- helpers ---------------------------------------------------------------

fn redis_endpoint() -> Endpoint {
    let (host, port) = host_port(&env_or("PCONN_REDIS_URL", "redis://127.0.0.1:6379"), 6379);
    Endpoint::new(&host, port).unwrap()
}

fn https_endpoint() -> Endpoint {
    let (host, port) = host_port(&env_or("PCONN_HTTPS_URL", "https://localhost:8443"), 443);
    let tls = TlsConfig::builder().add_ca_file(test_ca()).build().unwrap();
    Endpoint::new(&host, port).unwrap().with_tls(tls)
}

fn connect(endpoint: &Endpoint) -> Conn {
    open(endpoint, &Direct, &ConnectOptions::default()).unwrap()
}

/// Reads one RESP reply as text: enough for the commands these tests send.
fn resp_reply(conn: &mut Conn) -> transport::Result<String> {
    conn.read_frame(1 << 20, |buf: &[u8]| -> transport::Result<_> {
        let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&buf[..eol]).into_owned();
        if let Some(len) = line.strip_prefix('$') {
            let len: i64 = len.parse().unwrap();
            if len < 0 {
                return Ok(Some(("(nil)".to_string(), eol + 2)));
            }
            let end = eol + 2 + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            return Ok(Some((
                String::from_utf8_lossy(&buf[eol + 2..end]).into_owned(),
                end + 2,
            )));
        }
        Ok(Some((line, eol + 2)))
    })
}

/// Sends one Redis command and reads its reply, as one exchange.
fn redis(conn: &mut Conn, args: &[&str]) -> transport::Result<String> {
    let mut frame = format!("*{}\r\n", args.len());
    for a in args {
        frame.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.begin_exchange()?;
    conn.write_all(frame.as_bytes())?;
    let reply = resp_reply(conn)?;
    conn.end_exchange();
    Ok(reply)
}

/// Sends a GET and reads a Content-Length response; returns status line and body.
fn http_get(conn: &mut Conn, path: &str, host: &str) -> transport::Result<(String, Vec<u8>)> {
    conn.begin_exchange()?;
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())?;
    let (status, len) = conn.read_frame(64 * 1024, |buf: &[u8]| -> transport::Result<_> {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Ok(None);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let status = head.lines().next().unwrap_or_default().to_string();
        let len = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        Ok(Some(((status, len), end + 4)))
    })?;
    let mut body = vec![0; len];
    let mut got = 0;
    while got < len {
        let n = conn.read_into(&mut body[got..])?;
        assert!(n > 0, "EOF in body");
        got += n;
    }
    conn.end_exchange();
    Ok((status, body))
}

/// A local server that accepts connections and hands them to the test.
fn listener() -> (Endpoint, mpsc::Receiver<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for sock in listener.incoming() {
            if tx.send(sock.unwrap()).is_err() {
                return;
            }
        }
    });
    (Endpoint::new("127.0.0.1", port).unwrap(), rx)
}

fn accept(rx: &mpsc::Receiver<TcpStream>) -> TcpStream {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("connection accepted")
}

/// Probes until the answer is not `Alive` (the peer's FIN or RST crosses
/// loopback asynchronously), or gives up after a while.
fn probe_until_not_alive(conn: &mut Conn) -> Probe {
    for _ in 0..500 {
        let p = conn.probe();
        if p != Probe::Alive {
            return p;
        }
        thread::sleep(Duration::from_millis(10));
    }
    Probe::Alive
}

fn pool<S: Recycle>(config: PoolConfig) -> Pool<S> {
    Pool::new(config).unwrap()
}

// ---- probe -------------------------------------------------------------------

#[test]
fn probe_alive_idle_connection() {
    let (endpoint, rx) = listener();
    let mut conn = connect(&endpoint);
    let _server = accept(&rx);
    assert_eq!(conn.probe(), Probe::Alive);
    assert_eq!(
        conn.probe(),
        Probe::Alive,
        "probing does not disturb an idle connection"
    );
    assert!(!conn.is_broken());
}

#[test]
fn probe_peer_closed_with_fin() {
    let (endpoint, rx) = listener();
    let mut conn = connect(&endpoint);
    drop(accept(&rx));
    assert_eq!(probe_until_not_alive(&mut conn), Probe::Closed);
    assert!(conn.is_broken());
}

#[test]
fn probe_peer_reset_with_rst() {
    let (endpoint, rx) = listener();
    let mut conn = connect(&endpoint);
    let server = socket2::Socket::from(accept(&rx));
    server.set_linger(Some(Duration::ZERO)).unwrap();
    drop(server);
    assert_eq!(
        probe_until_not_alive(&mut conn),
        Probe::Error(std::io::ErrorKind::ConnectionReset)
    );
}

#[test]
fn probe_unexpected_bytes_pending() {
    let (endpoint, rx) = listener();
    let mut conn = connect(&endpoint);
    let mut server = accept(&rx);
    server.write_all(b"+OK\r\n").unwrap();
    assert_eq!(probe_until_not_alive(&mut conn), Probe::Unexpected);
}

#[test]
fn probe_reports_eof_as_closed_even_with_stale_ewouldblock() {
    let (endpoint, rx) = listener();
    let mut closed = connect(&endpoint);
    drop(accept(&rx));
    // Wait until the FIN is there without consuming it (a blocking peek).
    let mut byte = [0u8; 1];
    assert_eq!(closed.socket().peek(&mut byte).unwrap(), 0);

    // Leave EWOULDBLOCK in errno with a failing non-blocking read elsewhere...
    let idle = connect(&endpoint);
    let _keep = accept(&rx);
    idle.socket().set_nonblocking(true).unwrap();
    let err = idle.socket().read(&mut byte).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EWOULDBLOCK)
    );
    // ...then probe the closed one: recv returns 0, errno still says
    // EWOULDBLOCK, and phpredis would call this socket alive.
    assert_eq!(closed.probe(), Probe::Closed);
}

#[test]
fn probe_sees_real_nginx_close_idle_keepalive() {
    // The limited server closes idle keep-alive connections after 1 s.
    let (host, port) = host_port(
        &env_or("PCONN_HTTP_LIMITED_URL", "http://127.0.0.1:8081"),
        80,
    );
    let mut conn = connect(&Endpoint::new(&host, port).unwrap());
    let (status, _) = http_get(&mut conn, "/small", &host).unwrap();
    assert!(status.contains(" 200 "), "{status}");
    assert_eq!(conn.probe(), Probe::Alive);
    assert_eq!(probe_until_not_alive(&mut conn), Probe::Closed);
}

#[test]
fn tls13_idle_connection_with_session_tickets_stays_alive_and_is_reused() {
    let endpoint = https_endpoint();
    let pool: Pool<()> = pool(PoolConfig::default());
    let key = PoolKey::new("https", endpoint.host(), endpoint.port())
        .tls(endpoint.tls().unwrap().fingerprint());
    let open_it = || -> transport::Result<_> { Ok((connect(&endpoint), ())) };
    {
        let mut guard = pool.checkout(&key, open_it).unwrap();
        assert_eq!(
            guard.conn().tls_version(),
            Some(transport::rustls::ProtocolVersion::TLSv1_3)
        );
        // nginx sends its NewSessionTicket records right after the handshake:
        // wait until they sit unread in the socket.
        let mut buf = [0u8; 1];
        let mut pending = 0;
        for _ in 0..200 {
            // SAFETY: valid fd and buffer; MSG_PEEK leaves the records in place.
            pending = unsafe {
                use std::os::fd::AsRawFd;
                libc::recv(
                    guard.conn().socket().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    1,
                    libc::MSG_PEEK | libc::MSG_DONTWAIT,
                )
            };
            if pending > 0 {
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        assert!(pending > 0, "nginx sent no session ticket");
    }
    let mut guard = pool.checkout(&key, open_it).unwrap();
    assert!(
        guard.is_reused(),
        "the ticket records did not make the probe call it dirty"
    );
    let host = endpoint.host().to_string();
    let (status, body) = http_get(guard.conn(), "/small", &host).unwrap();
    assert!(status.contains(" 200 "), "{status}");
    assert!(!body.is_empty());
    drop(guard);
    let stats = pool.stats();
    assert_eq!(
        (stats.opened, stats.reused, stats.probe_failures()),
        (1, 1, 0)
    );
}

/// A TLS server played by rustls in-test, driven step by step.
struct TlsPeer {
    tls: transport::rustls::ServerConnection,
    sock: TcpStream,
}

impl TlsPeer {
    fn accept(rx: &mpsc::Receiver<TcpStream>) -> TlsPeer {
        use rustls_pki_types::pem::PemObject;
        let dir = test_ca().parent().unwrap().to_path_buf();
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(dir.join("server.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls_pki_types::PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
        let provider = Arc::new(transport::rustls::crypto::ring::default_provider());
        let config = transport::rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&transport::rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let tls = transport::rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut peer = TlsPeer {
            tls,
            sock: accept(rx),
        };
        while peer.tls.is_handshaking() {
            peer.tls.complete_io(&mut peer.sock).unwrap();
        }
        peer.flush();
        peer
    }

    fn flush(&mut self) {
        while self.tls.wants_write() {
            self.tls.write_tls(&mut self.sock).unwrap();
        }
    }
}

fn tls_client_to(endpoint: &Endpoint) -> Conn {
    let tls = TlsConfig::builder().add_ca_file(test_ca()).build().unwrap();
    let plain = Endpoint::new(endpoint.host(), endpoint.port()).unwrap();
    let conn = connect(&plain);
    conn.start_tls(&tls, "localhost", Instant::now() + Duration::from_secs(5))
        .unwrap()
}

#[test]
fn tls_key_update_on_idle_connection_is_alive() {
    let (endpoint, rx) = listener();
    let client = thread::spawn(move || tls_client_to(&endpoint));
    let mut peer = TlsPeer::accept(&rx);
    let mut conn = client.join().unwrap();
    peer.tls.refresh_traffic_keys().unwrap();
    peer.flush();
    thread::sleep(Duration::from_millis(50));
    assert_eq!(conn.probe(), Probe::Alive);
    // The connection still works under the new keys, both ways.
    conn.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    while peer.tls.reader().read(&mut buf).is_err() {
        peer.tls.read_tls(&mut peer.sock).unwrap();
        peer.tls.process_new_packets().unwrap();
    }
    assert_eq!(&buf, b"ping");
    peer.tls.writer().write_all(b"pong").unwrap();
    peer.flush();
    let mut out = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        got += conn.read_into(&mut out[got..]).unwrap();
    }
    assert_eq!(&out, b"pong");
}

#[test]
fn tls_close_notify_is_closed_and_plaintext_is_unexpected() {
    let (endpoint, rx) = listener();
    let ep = endpoint.clone();
    let client = thread::spawn(move || tls_client_to(&ep));
    let mut peer = TlsPeer::accept(&rx);
    let mut conn = client.join().unwrap();
    peer.tls.send_close_notify();
    peer.flush();
    assert_eq!(probe_until_not_alive(&mut conn), Probe::Closed);

    let client = thread::spawn(move || tls_client_to(&endpoint));
    let mut peer = TlsPeer::accept(&rx);
    let mut conn = client.join().unwrap();
    peer.tls.writer().write_all(b"surprise").unwrap();
    peer.flush();
    assert_eq!(probe_until_not_alive(&mut conn), Probe::Unexpected);
}

#[test]
fn tls_client_certificate_is_presented() {
    let (host, port) = host_port(
        &env_or("PCONN_HTTPS_CLIENT_CERT_URL", "https://localhost:8444"),
        443,
    );
    let (cert, key) = test_client_cert();
    let tls = TlsConfig::builder()
        .add_ca_file(test_ca())
        .client_cert_files(cert, key)
        .build()
        .unwrap();
    let mut conn = connect(&Endpoint::new(&host, port).unwrap().with_tls(tls));
    let (status, body) = http_get(&mut conn, "/", &host).unwrap();
    assert!(status.contains(" 200 "), "{status}");
    assert_eq!(String::from_utf8_lossy(&body).trim(), "client cert ok");

    let without = TlsConfig::builder().add_ca_file(test_ca()).build().unwrap();
    let mut conn = connect(&Endpoint::new(&host, port).unwrap().with_tls(without));
    let (status, _) = http_get(&mut conn, "/", &host).unwrap();
    assert!(
        status.contains(" 400 "),
        "nginx must refuse a client without certificate: {status}"
    );
}

#[test]
fn tls_verifies_the_server_name() {
    // The test certificate is for localhost and 127.0.0.1, not for this name.
    let (_, port) = host_port(&env_or("PCONN_HTTPS_URL", "https://localhost:8443"), 443);
    let tls = TlsConfig::builder().add_ca_file(test_ca()).build().unwrap();
    let plain = connect(&Endpoint::new("127.0.0.1", port).unwrap());
    let err = plain
        .start_tls(
            &tls,
            "not-the-server.test",
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    // Default roots do not trust the test CA.
    let system = Endpoint::new("localhost", port)
        .unwrap()
        .with_tls(TlsConfig::system().unwrap());
    let err = open(&system, &Direct, &ConnectOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
}

#[test]
fn tls_writes_larger_than_rustls_buffer_go_out_whole() {
    let (endpoint, rx) = listener();
    let client = thread::spawn(move || tls_client_to(&endpoint));
    let mut peer = TlsPeer::accept(&rx);
    let mut conn = client.join().unwrap();
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let expected = big.clone();
    let writer = thread::spawn(move || {
        conn.write_all(&big).unwrap();
        conn
    });
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got.len() < expected.len() {
        match peer.tls.reader().read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {
                peer.tls.read_tls(&mut peer.sock).unwrap();
                peer.tls.process_new_packets().unwrap();
            }
        }
    }
    writer.join().unwrap();
    assert!(got == expected, "1 MB over TLS arrived intact");
}

// ---- connect -----------------------------------------------------------------

#[test]
fn connect_tries_every_address_of_a_name() {
    // Only 127.0.0.1 listens; "localhost" may resolve to ::1 first.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let conn = connect(&Endpoint::new("localhost", port).unwrap());
    assert_eq!(conn.peer_addr().unwrap().ip().to_string(), "127.0.0.1");
    assert!(conn.socket().nodelay().unwrap(), "TCP_NODELAY is on");
}

#[test]
fn connect_ipv6_literal_and_refused_port() {
    if let Ok(listener) = TcpListener::bind("[::1]:0") {
        let port = listener.local_addr().unwrap().port();
        for host in ["::1", "[::1]"] {
            let conn = connect(&Endpoint::new(host, port).unwrap());
            assert!(conn.peer_addr().unwrap().is_ipv6());
        }
    }
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = open(
        &Endpoint::new("127.0.0.1", closed_port).unwrap(),
        &Direct,
        &ConnectOptions::default(),
    )
    .unwrap_err();
    match err {
        Error::Connect { addr, .. } => assert!(addr.contains(&closed_port.to_string()), "{addr}"),
        other => panic!("expected a connect error, got {other}"),
    }
}

// ---- reset-on-release ----------------------------------------------------------

/// A protocol session whose answers the test chooses.
struct Scripted {
    reuse: Reuse,
    reset_works: bool,
    resets: Arc<AtomicUsize>,
}

impl Recycle for Scripted {
    fn reuse(&self) -> Reuse {
        self.reuse
    }
    fn reset(&mut self, _conn: &mut Conn, _deadline: Instant) -> Result<(), BoxError> {
        self.resets.fetch_add(1, Ordering::SeqCst);
        if self.reset_works {
            self.reuse = Reuse::Clean;
            Ok(())
        } else {
            Err("scripted reset failure".into())
        }
    }
}

fn redis_pool_key(name: &str) -> PoolKey {
    let ep = redis_endpoint();
    PoolKey::new("redis", ep.host(), ep.port()).persistent_id(unique(name))
}

#[test]
fn guard_dropped_mid_exchange_is_aborted_and_never_reused() {
    let ep = redis_endpoint();
    let pool: Pool<()> = pool(PoolConfig::default());
    let key = redis_pool_key("abort");
    let open_it = || -> transport::Result<_> { Ok((connect(&ep), ())) };
    {
        let mut guard = pool.checkout(&key, open_it).unwrap();
        let conn = guard.conn();
        conn.begin_exchange().unwrap();
        conn.write_all(b"*2\r\n$4\r\nECHO\r\n$9\r\nleftover!\r\n")
            .unwrap();
        // Dropped without reading the reply that is owed.
    }
    let mut guard = pool.checkout(&key, open_it).unwrap();
    assert!(!guard.is_reused());
    assert_eq!(redis(guard.conn(), &["ECHO", "mine"]).unwrap(), "mine");
    drop(guard);
    let stats = pool.stats();
    assert_eq!(stats.discarded(Discard::Aborted), 1);
    assert_eq!((stats.opened, stats.reused), (2, 0));
}

#[test]
fn panic_inside_a_borrow_closes_that_connection_and_pool_stays_usable() {
    let ep = redis_endpoint();
    let pool: Pool<()> = pool(PoolConfig {
        max_open: 1,
        ..PoolConfig::default()
    });
    let key = redis_pool_key("panic");
    let open_it = || -> transport::Result<_> { Ok((connect(&ep), ())) };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut guard = pool.checkout(&key, open_it).unwrap();
        redis(guard.conn(), &["PING"]).unwrap();
        panic!("borrower failed");
    }));
    assert!(result.is_err());
    // max_open = 1: the panicked borrow must have given its place back.
    let mut guard = pool.checkout(&key, open_it).unwrap();
    assert!(!guard.is_reused());
    assert_eq!(redis(guard.conn(), &["PING"]).unwrap(), "+PONG");
    drop(guard);
    assert_eq!(pool.stats().discarded(Discard::Aborted), 1);
    assert_eq!(pool.stats().idle_now, 1);
}

#[test]
fn failing_or_panicking_open_gives_its_place_back() {
    let (pool, _clock, key, opener, _rx) = clocked(PoolConfig {
        max_open: 1,
        ..PoolConfig::default()
    });
    let err = pool
        .checkout(&key, || -> transport::Result<(Conn, ())> {
            Err(Error::InvalidInput("handshake refused".into()))
        })
        .unwrap_err();
    assert!(err.to_string().contains("handshake refused"));
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let _ = pool.checkout(&key, || -> transport::Result<(Conn, ())> {
            panic!("open panicked")
        });
    }));
    assert!(panicked.is_err());
    // max_open = 1: both attempts must have released their place.
    assert!(pool.checkout(&key, opener).is_ok());
    let stats = pool.stats();
    assert_eq!(
        (stats.open_failures, stats.opened, stats.open_now),
        (2, 1, 1)
    );
}

#[test]
fn deadline_hit_sets_timeout_and_closes() {
    let (endpoint, rx) = listener();
    let pool: Pool<()> = pool(PoolConfig::default());
    let key = PoolKey::new("silent", endpoint.host(), endpoint.port());
    let mut guard = pool
        .checkout(&key, || -> transport::Result<_> {
            Ok((connect(&endpoint), ()))
        })
        .unwrap();
    let _server = accept(&rx); // accepts, never answers
    let conn = guard.conn();
    conn.set_deadline(Some(Instant::now() + Duration::from_millis(100)));
    let err = redis(conn, &["PING"]).unwrap_err();
    assert!(matches!(err, Error::Timeout(Phase::Read)), "{err}");
    assert!(guard.status().contains(Status::TIMEOUT));
    drop(guard);
    let stats = pool.stats();
    assert_eq!(stats.discarded(Discard::Timeout), 1);
    assert_eq!(stats.idle_now, 0);
}

#[test]
fn reset_runs_on_release_and_failed_reset_or_must_close_closes() {
    let (endpoint, rx) = listener();
    let resets = Arc::new(AtomicUsize::new(0));
    let pool: Pool<Scripted> = pool(PoolConfig::default());
    let key = PoolKey::new("scripted", endpoint.host(), endpoint.port());
    let open_with = |reset_works| {
        let resets = Arc::clone(&resets);
        let endpoint = endpoint.clone();
        move || -> transport::Result<_> {
            Ok((
                connect(&endpoint),
                Scripted {
                    reuse: Reuse::Clean,
                    reset_works,
                    resets,
                },
            ))
        }
    };
    // NeedsReset with a working reset: parked, and reused clean.
    let mut g = pool.checkout(&key, open_with(true)).unwrap();
    let _s1 = accept(&rx);
    g.session().reuse = Reuse::NeedsReset;
    drop(g);
    assert_eq!(resets.load(Ordering::SeqCst), 1);
    let mut g = pool.checkout(&key, open_with(true)).unwrap();
    assert!(g.is_reused());
    assert_eq!(g.session_ref().reuse, Reuse::Clean);

    // NeedsReset with a failing reset: closed.
    g.session().reset_works = false;
    g.session().reuse = Reuse::NeedsReset;
    drop(g);
    assert_eq!(resets.load(Ordering::SeqCst), 2);
    assert_eq!(pool.stats().discarded(Discard::ResetFailed), 1);
    assert_eq!(pool.stats().idle_now, 0);

    // MustClose: closed without a reset attempt.
    let mut g = pool.checkout(&key, open_with(true)).unwrap();
    let _s2 = accept(&rx);
    assert!(!g.is_reused());
    g.session().reuse = Reuse::MustClose;
    drop(g);
    assert_eq!(resets.load(Ordering::SeqCst), 2);
    let stats = pool.stats();
    assert_eq!(stats.discarded(Discard::MustClose), 1);
    assert_eq!((stats.opened, stats.reused, stats.open_now), (2, 1, 0));
}

#[test]
fn a_borrowers_deadline_and_timeouts_do_not_reach_the_next_borrower() {
    let (pool, _clock, key, opener, rx) = clocked(PoolConfig::default());
    {
        let mut g = pool.checkout(&key, opener.clone()).unwrap();
        g.conn()
            .set_deadline(Some(Instant::now() + Duration::from_millis(1)));
        g.conn().set_read_timeout(Some(Duration::from_millis(5)));
    }
    let mut server = accept(&rx);
    let mut g = pool.checkout(&key, opener).unwrap();
    assert!(g.is_reused());
    assert_eq!(
        g.conn().deadline(),
        None,
        "the old borrower's deadline is gone"
    );
    // A reply 200 ms late is fine under the fresh 30 s read timeout; under
    // the old borrower's 5 ms (or its deadline) this read would time out.
    let late = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        server.write_all(b"late").unwrap();
        server
    });
    assert_eq!(g.conn().fill().unwrap(), 4);
    assert_eq!(g.conn().read_buf(), b"late");
    g.conn().consume(4);
    late.join().unwrap();
}

#[test]
fn unsent_bytes_at_release_close_the_connection() {
    let ep = redis_endpoint();
    let pool: Pool<()> = pool(PoolConfig::default());
    let key = redis_pool_key("unsent");
    let opener = || -> transport::Result<_> { Ok((connect(&ep), ())) };
    {
        let mut g = pool.checkout(&key, opener).unwrap();
        // Encoded, never flushed: must not ride along with the next borrower.
        g.conn()
            .write_buf()
            .extend_from_slice(b"*2\r\n$4\r\nECHO\r\n$6\r\nleaked\r\n");
    }
    assert_eq!(pool.stats().discarded(Discard::Unsent), 1);
    let mut g = pool.checkout(&key, opener).unwrap();
    assert!(!g.is_reused());
    assert_eq!(g.conn().unsent(), 0);
    assert_eq!(redis(g.conn(), &["ECHO", "clean"]).unwrap(), "clean");
}

#[test]
fn unread_bytes_at_release_close_the_connection() {
    let ep = redis_endpoint();
    let pool: Pool<()> = pool(PoolConfig::default());
    let key = redis_pool_key("unread");
    let mut g = pool
        .checkout(&key, || -> transport::Result<_> { Ok((connect(&ep), ())) })
        .unwrap();
    let conn = g.conn();
    // Two replies arrive; the borrower reads the first and claims to be done.
    conn.write_all(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n")
        .unwrap();
    while conn.read_buf().len() < 14 {
        conn.fill().unwrap();
    }
    conn.consume(7);
    drop(g);
    assert_eq!(pool.stats().discarded(Discard::UnexpectedData), 1);
}

// ---- limits ------------------------------------------------------------------

fn redis_clients_named(name: &str) -> usize {
    let mut admin = connect(&redis_endpoint());
    let list = redis(&mut admin, &["CLIENT", "LIST"]).unwrap();
    list.lines()
        .filter(|l| l.contains(&format!("name={name} ")))
        .count()
}

#[test]
fn max_open_holds_under_32_threads_and_waiters_time_out() {
    let ep = redis_endpoint();
    let name = unique("maxopen").replace('-', "_");
    let pool: Pool<()> = pool(PoolConfig {
        max_open: 4,
        checkout_timeout: Duration::from_secs(20),
        ..PoolConfig::default()
    });
    let key = PoolKey::new("redis", ep.host(), ep.port()).persistent_id(name.clone());
    let opener = {
        let ep = ep.clone();
        let name = name.clone();
        move || -> transport::Result<_> {
            let mut conn = connect(&ep);
            assert_eq!(redis(&mut conn, &["CLIENT", "SETNAME", &name])?, "+OK");
            Ok((conn, ()))
        }
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (stop, max_seen, name) = (Arc::clone(&stop), Arc::clone(&max_seen), name.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                max_seen.fetch_max(redis_clients_named(&name), Ordering::SeqCst);
                thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let key_pool = pool.key_pool(&key);
    let workers: Vec<_> = (0..32)
        .map(|i| {
            let (key_pool, opener) = (key_pool.clone(), opener.clone());
            thread::spawn(move || {
                for j in 0..25 {
                    let mut g = key_pool.checkout(opener.clone()).unwrap();
                    let word = format!("t{i}-{j}");
                    assert_eq!(redis(g.conn(), &["ECHO", &word]).unwrap(), word);
                    assert!(g.key().to_string().contains("redis://"));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("no worker deadlocked or failed");
    }
    stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    let seen = max_seen.load(Ordering::SeqCst);
    assert!(
        (1..=4).contains(&seen),
        "server saw {seen} connections at once"
    );
    let stats = pool.stats();
    assert!(stats.opened <= 4 && stats.opened >= 1, "{stats:?}");
    assert_eq!(stats.opened + stats.reused, 32 * 25);
    assert!(
        stats.waits > 0,
        "32 threads on 4 connections must have waited"
    );

    // Hold all four; waiters past the checkout timeout get a clear error.
    let short: Pool<()> = pool_with_timeout(4, Duration::from_millis(100));
    let held: Vec<_> = (0..4)
        .map(|_| short.checkout(&key, opener.clone()).unwrap())
        .collect();
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let (short, key, opener) = (short.clone(), key.clone(), opener.clone());
            thread::spawn(move || short.checkout(&key, opener).map(|_| ()))
        })
        .collect();
    for w in waiters {
        match w.join().unwrap() {
            Err(Error::PoolExhausted {
                key: shown,
                max_open,
                ..
            }) => {
                assert_eq!(max_open, 4);
                assert!(shown.contains(&name), "error names the key: {shown}");
            }
            other => panic!("expected PoolExhausted, got {other:?}"),
        }
    }
    assert_eq!(short.stats().wait_timeouts, 8);
    drop(held);
    assert_eq!(short.stats().idle_now, 4);
}

fn pool_with_timeout(max_open: usize, checkout_timeout: Duration) -> Pool<()> {
    pool(PoolConfig {
        max_open,
        checkout_timeout,
        ..PoolConfig::default()
    })
}

/// A pool on a manual clock over an in-test server, for the expiry rules.
#[allow(
    clippy::type_complexity,
    reason = "the opener is an unnameable closure; tests destructure the tuple"
)]
fn clocked(
    config: PoolConfig,
) -> (
    Pool<()>,
    Arc<ManualClock>,
    PoolKey,
    impl Fn() -> transport::Result<(Conn, ())> + Clone,
    mpsc::Receiver<TcpStream>,
) {
    let clock = Arc::new(ManualClock::new());
    let pool = Pool::with_clock(config, clock.clone()).unwrap();
    let (endpoint, rx) = listener();
    let key = PoolKey::new("clocked", endpoint.host(), endpoint.port());
    let opener = move || -> transport::Result<_> { Ok((connect(&endpoint), ())) };
    (pool, clock, key, opener, rx)
}

#[test]
fn idle_timeout_closes_when_due() {
    let (pool, clock, key, opener, _rx) = clocked(PoolConfig {
        idle_timeout: Some(Duration::from_secs(10)),
        ..PoolConfig::default()
    });
    drop(pool.checkout(&key, opener.clone()).unwrap());
    clock.advance(Duration::from_secs(9));
    assert!(
        pool.checkout(&key, opener.clone()).unwrap().is_reused(),
        "not yet due"
    );
    clock.advance(Duration::from_secs(10));
    assert!(
        !pool.checkout(&key, opener.clone()).unwrap().is_reused(),
        "due: closed"
    );
    let stats = pool.stats();
    assert_eq!(stats.discarded(Discard::IdleTimeout), 1);
    assert_eq!(stats.opened, 2);
}

#[test]
fn a_long_borrow_is_not_idle_time() {
    // The idle timeout counts from the release: a connection busy for
    // longer than it goes back to the pool, and its idle time starts then.
    let (pool, clock, key, opener, _rx) = clocked(PoolConfig {
        idle_timeout: Some(Duration::from_secs(10)),
        ..PoolConfig::default()
    });
    let held = pool.checkout(&key, opener.clone()).unwrap();
    clock.advance(Duration::from_secs(60));
    drop(held);
    assert_eq!(pool.stats().idle_now, 1, "parked, not discarded");
    clock.advance(Duration::from_secs(9));
    assert!(pool.checkout(&key, opener.clone()).unwrap().is_reused());
    assert_eq!(pool.stats().discarded(Discard::IdleTimeout), 0);
}

#[test]
fn expired_idle_connections_close_on_the_next_pool_operation_of_any_key() {
    let (pool, clock, key, opener, _rx) = clocked(PoolConfig {
        idle_timeout: Some(Duration::from_secs(10)),
        ..PoolConfig::default()
    });
    drop(pool.checkout(&key, opener.clone()).unwrap());
    assert_eq!(pool.key_stats(&key).idle_now, 1);
    clock.advance(Duration::from_secs(30));
    let other = key.clone().persistent_id("other");
    drop(pool.checkout(&other, opener.clone()).unwrap());
    let stats = pool.key_stats(&key);
    assert_eq!(
        (
            stats.idle_now,
            stats.open_now,
            stats.discarded(Discard::IdleTimeout)
        ),
        (0, 0, 1)
    );
}

#[test]
fn max_lifetime_closes_when_due_with_jitter_below_it() {
    let (pool, clock, key, opener, _rx) = clocked(PoolConfig {
        max_lifetime: Some(Duration::from_secs(60)),
        idle_timeout: None,
        ..PoolConfig::default()
    });
    drop(pool.checkout(&key, opener.clone()).unwrap());
    // The default jitter takes up to a tenth off: still alive at 53 s.
    clock.advance(Duration::from_secs(53));
    let g = pool.checkout(&key, opener.clone()).unwrap();
    assert!(g.is_reused());
    drop(g);
    clock.advance(Duration::from_secs(7));
    assert!(!pool.checkout(&key, opener.clone()).unwrap().is_reused());
    assert_eq!(pool.stats().discarded(Discard::Lifetime), 1);
}

#[test]
fn max_uses_closes_when_due() {
    let (pool, _clock, key, opener, _rx) = clocked(PoolConfig {
        max_uses: Some(3),
        ..PoolConfig::default()
    });
    let reused: Vec<bool> = (0..4)
        .map(|_| pool.checkout(&key, opener.clone()).unwrap().is_reused())
        .collect();
    assert_eq!(reused, [false, true, true, false]);
    let stats = pool.stats();
    assert_eq!(
        (
            stats.discarded(Discard::MaxUses),
            stats.opened,
            stats.reused
        ),
        (1, 2, 2)
    );
}

#[test]
fn idle_reuse_is_lifo_and_max_idle_is_kept() {
    let (pool, _clock, key, opener, _rx) = clocked(PoolConfig {
        max_idle: 2,
        ..PoolConfig::default()
    });
    let mut guards: Vec<_> = (0..3)
        .map(|_| pool.checkout(&key, opener.clone()).unwrap())
        .collect();
    let ports: Vec<u16> = guards.iter_mut().map(|g| local_port(g.conn())).collect();
    let last = guards.pop().unwrap();
    drop(guards); // the first, then the second released: the second is on top
    drop(last); // over max_idle: closed
    let stats = pool.stats();
    assert_eq!((stats.idle_now, stats.discarded(Discard::IdleFull)), (2, 1));
    let mut g = pool.checkout(&key, opener.clone()).unwrap();
    assert_eq!(
        local_port(g.conn()),
        ports[1],
        "the most recently released one comes first"
    );
}

fn local_port(conn: &Conn) -> u16 {
    conn.socket().local_addr().unwrap().port()
}

// ---- identity ------------------------------------------------------------------

#[test]
fn keys_differing_only_in_credentials_or_persistent_id_never_share() {
    let (pool, _clock, base, opener, _rx) = clocked(PoolConfig::default());
    let alice = base.clone().credentials(SecretHash::of(["alice", "pw"]));
    let bob = base.clone().credentials(SecretHash::of(["bob", "pw"]));
    let id_a = base.clone().persistent_id("a");
    let id_b = base.clone().persistent_id("b");
    for key in [&alice, &bob, &id_a, &id_b, &base] {
        drop(pool.checkout(key, opener.clone()).unwrap());
    }
    for key in [&alice, &bob, &id_a, &id_b, &base] {
        let stats = pool.key_stats(key);
        assert_eq!((stats.opened, stats.idle_now), (1, 1), "{key}");
        assert!(!format!("{key:?}").contains("pw"));
        let g = pool.checkout(key, opener.clone()).unwrap();
        assert!(g.is_reused());
        assert_eq!(g.key(), key);
    }
    assert_eq!(pool.stats().opened, 5);
}

// ---- stats, registry, bad input ---------------------------------------------------

#[test]
fn stats_match_what_happened_and_registry_shares_the_pool() {
    let ep = redis_endpoint();
    let id = unique("registry");
    let make = || Pool::new(PoolConfig::default());
    let a: Pool<()> = transport::registry::pool(&id, make).unwrap();
    let b: Pool<()> =
        transport::registry::pool(&id, || panic!("must not build a second pool")).unwrap();
    let key = redis_pool_key("stats");
    let opener = || -> transport::Result<_> { Ok((connect(&ep), ())) };
    for _ in 0..5 {
        let mut g = a.checkout(&key, opener).unwrap();
        redis(g.conn(), &["PING"]).unwrap();
    }
    let g = b.checkout(&key, opener).unwrap();
    assert!(g.is_reused(), "the registry handed out the same pool");
    g.discard();
    let stats = a.stats();
    assert_eq!(stats.opened, 1);
    assert_eq!(stats.reused, 5);
    assert_eq!(stats.discarded_total(), 1);
    assert_eq!((stats.open_now, stats.idle_now), (0, 0));
    let json = stats.to_json();
    assert!(
        json.starts_with("{\"opened\":1,\"reused\":5,\"discarded\":1"),
        "{json}"
    );
    assert!(transport::registry::remove::<()>(&id).is_some());
}

#[test]
fn bad_input_is_a_clear_error_at_construction() {
    let err = Endpoint::new("bad host\r\n", 80).unwrap_err();
    assert!(err.to_string().contains("not allowed in host"), "{err}");
    let err = Endpoint::new("localhost", 0).unwrap_err();
    assert!(err.to_string().contains("port 0"), "{err}");
    let err = TlsConfig::builder()
        .add_ca_file("/nonexistent/ca.pem")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    let err = Pool::<()>::new(PoolConfig {
        max_open: 0,
        ..PoolConfig::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("max_open"), "{err}");
    let err = open(
        &Endpoint::new("no-such-host.invalid", 80).unwrap(),
        &Direct,
        &ConnectOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Resolve { .. }), "{err}");
}

#[allow(dead_code)]
#[test]
fn a_fresh_connection_carries_only_its_own_timeouts() {
    // The connect is bounded by a send timeout on the socket (Linux); what
    // the caller asked for must replace it before the first write.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let endpoint = Endpoint::new("127.0.0.1", addr.port()).unwrap();
    for write_timeout in [None, Some(Duration::from_secs(7))] {
        let opts = ConnectOptions {
            connect_timeout: Duration::from_secs(3),
            write_timeout,
            ..ConnectOptions::default()
        };
        let mut conn = open(&endpoint, &Direct, &opts).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert_eq!(conn.peer_addr(), Some(addr));
        conn.write_all(b"ping").unwrap();
        let mut got = [0; 4];
        server.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        assert_eq!(conn.socket().write_timeout().unwrap(), write_timeout);
    }
    // The plain-socket entry point hands back a socket with no timeouts.
    let stream = transport::tcp_connect(
        "127.0.0.1",
        addr.port(),
        &ConnectOptions::default(),
        Instant::now() + Duration::from_secs(3),
    )
    .unwrap();
    assert_eq!(stream.write_timeout().unwrap(), None);
    assert_eq!(stream.read_timeout().unwrap(), None);
}

#[test]
fn connect_gives_up_at_its_timeout_when_the_server_never_answers() {
    // A listener that never accepts, with a backlog of one: once its queue
    // is full the kernel drops further SYNs, so a connect can only time out.
    let listener =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    let full =
        (0..16).any(
            |_| match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => {
                    queued.push(s);
                    false
                }
                Err(_) => true,
            },
        );
    assert!(full, "the backlog never filled");
    let endpoint = Endpoint::new("127.0.0.1", addr.port()).unwrap();
    let opts = ConnectOptions {
        connect_timeout: Duration::from_millis(300),
        ..ConnectOptions::default()
    };
    let started = Instant::now();
    let err = open(&endpoint, &Direct, &opts).unwrap_err();
    assert!(matches!(err, Error::Timeout(Phase::Connect)), "{err}");
    // Not the kernel giving up on its SYN retries (minutes), nor at once.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(20),
        "{took:?}"
    );
}

fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Pool<()>>();
    is::<Mutex<Conn>>();
}
