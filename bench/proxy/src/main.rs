//! HTTPS GET through a proxy tunnel, side by side, for each proxy in one run:
//! a CONNECT tunnel through tinyproxy (`PCONN_PROXY_URL`) and a SOCKS5
//! tunnel through danted (`PCONN_SOCKS_URL`, `socks5h://`). For each: the
//! raw-socket floor (std TcpStream, the CONNECT or SOCKS5 handshake and
//! rustls by hand), proxy-tunnel on the transport pool, and ureq with its
//! proxy option (`socks-proxy` feature for SOCKS); plus direct connections
//! through the transport, for what the extra hop costs.
//! `BENCH_PROXIES=connect` or `=socks` runs one of them.
//!
//! Run pinned (see BENCHMARKING.md): `taskset -c 0 cargo run --release`.
//! Every operation is a full round trip with the body read and checked.
//! Connections are counted from /proc/net/snmp (ActiveOpens), so a
//! "keep-alive" figure that silently reconnects shows up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proxy_tunnel::Proxy;
use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use transport::{
    open, Conn, ConnectOptions, Direct, Endpoint, Pool, PoolConfig, PoolKey, TlsConfig,
};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

struct Setup {
    proxy_url: String,
    proxy_addr: String,
    socks: bool,
    ca: String,
    host: String,
    port: u16,
}

fn active_opens() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut lines = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "ActiveOpens")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

// ---- a minimal HTTP/1.1 response reader shared by the raw and transport paths

/// Status and body length of a complete response at the front of `buf`, and
/// how many bytes it used; None when more bytes are needed.
fn parse_response(buf: &[u8]) -> Option<((u16, usize), usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let head = match resp.parse(buf).expect("HTTP head") {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return None,
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
    (buf.len() >= head + len).then(|| ((resp.code.unwrap(), len), head + len))
}

const REQUEST: &[u8] = b"GET /small HTTP/1.1\r\nHost: localhost:8443\r\n\r\n";

/// For one-request connections, as ureq sends when it will not pool the
/// connection. It matters through tinyproxy: the proxy relays without
/// TCP_NODELAY, so the first response of a keep-alive TLS connection (after
/// the session-ticket record, a separate write) waits for our delayed ACK,
/// ~40 ms; on close the proxy flushes at once.
const REQUEST_CLOSE: &[u8] =
    b"GET /small HTTP/1.1\r\nHost: localhost:8443\r\nConnection: close\r\n\r\n";

// ---- raw floor -----------------------------------------------------------------

fn raw_tls_config(ca: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn raw_tunnel(s: &Setup, tls: &Arc<ClientConfig>) -> StreamOwned<ClientConnection, TcpStream> {
    let mut sock = TcpStream::connect(&s.proxy_addr).unwrap();
    sock.set_nodelay(true).unwrap();
    if s.socks {
        raw_socks5(&mut sock, &s.host, s.port);
    } else {
        raw_connect(&mut sock, &s.host, s.port);
    }
    let conn =
        ClientConnection::new(tls.clone(), ServerName::try_from(s.host.clone()).unwrap()).unwrap();
    StreamOwned::new(conn, sock)
}

/// The SOCKS5 handshake, no auth, the proxy resolving the name; reads
/// exactly the reply (nothing may follow it before our ClientHello).
fn raw_socks5(sock: &mut TcpStream, host: &str, port: u16) {
    sock.write_all(&[5, 1, 0]).unwrap();
    let mut choice = [0u8; 2];
    sock.read_exact(&mut choice).unwrap();
    assert_eq!(choice, [5, 0]);
    let mut req = vec![5, 1, 0, 3, host.len() as u8];
    req.extend_from_slice(host.as_bytes());
    req.extend_from_slice(&port.to_be_bytes());
    sock.write_all(&req).unwrap();
    let mut head = [0u8; 4];
    sock.read_exact(&mut head).unwrap();
    assert_eq!(head[..2], [5, 0], "SOCKS reply");
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        other => panic!("bound address type {other}"),
    };
    let mut bound = [0u8; 18];
    sock.read_exact(&mut bound[..rest]).unwrap();
}

fn raw_connect(sock: &mut TcpStream, host: &str, port: u16) {
    sock.write_all(
        format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n").as_bytes(),
    )
    .unwrap();
    // The floor reads the head byte by byte only because nothing may follow
    // it before our ClientHello; it is a few dozen bytes.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(sock.read(&mut byte).unwrap(), 1);
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.0 200") || head.starts_with(b"HTTP/1.1 200"));
}

fn raw_get(
    stream: &mut StreamOwned<ClientConnection, TcpStream>,
    buf: &mut Vec<u8>,
    request: &[u8],
) {
    stream.write_all(request).unwrap();
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(((status, len), used)) = parse_response(buf) {
            assert_eq!((status, len, used), (200, 6, buf.len()));
            return;
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

// ---- transport / proxy-tunnel ------------------------------------------------------

fn conn_get(conn: &mut Conn, request: &[u8]) {
    conn.begin_exchange().unwrap();
    conn.write_all(request).unwrap();
    let (status, len) = conn
        .read_frame(1 << 16, |buf: &[u8]| -> transport::Result<_> {
            Ok(parse_response(buf))
        })
        .unwrap();
    assert_eq!((status, len), (200, 6));
    conn.end_exchange();
}

// ---- workloads ----------------------------------------------------------------

type Run<'a> = Box<dyn FnMut(usize) + 'a>;

fn main() {
    let ca = env_or(
        "PCONN_TEST_CA",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../.servers/certs/ca.pem"),
    );
    let which = env_or("BENCH_PROXIES", "connect,socks");
    for (kind, var, default) in [
        ("connect", "PCONN_PROXY_URL", "http://127.0.0.1:3128"),
        ("socks", "PCONN_SOCKS_URL", "socks5h://127.0.0.1:1080"),
    ] {
        if !which.split(',').any(|w| w == kind) {
            continue;
        }
        let proxy_url = env_or(var, default);
        let proxy_addr = proxy_url
            .split_once("://")
            .map_or(proxy_url.as_str(), |(_, rest)| rest)
            .trim_end_matches('/')
            .to_string();
        println!("\n=== through {proxy_url} ===");
        bench(&Setup {
            socks: kind == "socks",
            proxy_url,
            proxy_addr,
            ca: ca.clone(),
            host: "localhost".into(),
            port: 8443,
        });
    }
    std::thread::sleep(Duration::from_millis(10));
}

fn bench(s: &Setup) {
    let keepalive_n: usize = env_or("BENCH_KEEPALIVE_N", "3000").parse().unwrap();
    let fresh_n: usize = env_or("BENCH_FRESH_N", "300").parse().unwrap();
    let reps: usize = env_or("BENCH_REPS", "3").parse().unwrap();

    let raw_tls = raw_tls_config(&s.ca);
    let s = &s;
    let tls = TlsConfig::builder().add_ca_file(&s.ca).build().unwrap();
    let endpoint = Endpoint::new(&s.host, s.port)
        .unwrap()
        .with_tls(tls.clone());
    let proxy = Proxy::parse(&s.proxy_url).unwrap();
    let connector = proxy.connector();
    let opts = ConnectOptions::default();
    let pool: Pool<()> = Pool::new(PoolConfig::default()).unwrap();
    let direct_key = PoolKey::new("https", &s.host, s.port).tls(tls.fingerprint());
    let tunnel_pool = pool.key_pool(&direct_key.clone().via(connector.identity().unwrap()));
    let direct_pool = pool.key_pool(&direct_key);

    let certs: Vec<_> = ureq::tls::parse_pem(&std::fs::read(&s.ca).unwrap())
        .filter_map(|item| match item.unwrap() {
            ureq::tls::PemItem::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    let ureq_agent = |max_idle: usize| -> ureq::Agent {
        ureq::Agent::config_builder()
            .proxy(Some(ureq::Proxy::new(&s.proxy_url).unwrap()))
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            )
            .max_idle_connections(max_idle)
            .max_idle_connections_per_host(max_idle)
            .build()
            .into()
    };
    let url = format!("https://{}:{}/small", s.host, s.port);
    let ureq_get = |agent: &ureq::Agent| {
        let mut resp = agent.get(&url).call().unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.body_mut().read_to_vec().unwrap(), b"hello\n");
    };

    // Keep-alive: one connection (tunnel) for all requests.
    let mut raw_stream = raw_tunnel(s, &raw_tls);
    let mut raw_buf = Vec::with_capacity(4096);
    let ureq_keep = ureq_agent(10);
    let ureq_fresh = ureq_agent(0);
    let mut fresh_buf = Vec::with_capacity(4096);
    let mut keepalive: Vec<(&str, Run<'_>)> = vec![
        (
            "raw socket + rustls, same proxy",
            Box::new(|n| {
                for _ in 0..n {
                    raw_get(&mut raw_stream, &mut raw_buf, REQUEST);
                }
            }),
        ),
        (
            "proxy-tunnel (transport pool)",
            Box::new(|n| {
                for _ in 0..n {
                    let mut g = tunnel_pool
                        .checkout(|| -> transport::Result<_> {
                            Ok((open(&endpoint, &*connector, &opts)?, ()))
                        })
                        .unwrap();
                    conn_get(g.conn(), REQUEST);
                }
            }),
        ),
        (
            "ureq 3 with proxy",
            Box::new(|n| {
                for _ in 0..n {
                    ureq_get(&ureq_keep);
                }
            }),
        ),
        (
            "direct, transport pool (no proxy)",
            Box::new(|n| {
                for _ in 0..n {
                    let mut g = direct_pool
                        .checkout(|| -> transport::Result<_> {
                            Ok((open(&endpoint, &Direct, &opts)?, ()))
                        })
                        .unwrap();
                    conn_get(g.conn(), REQUEST);
                }
            }),
        ),
    ];
    let mut fresh: Vec<(&str, Run<'_>)> = vec![
        (
            "raw socket + rustls, same proxy",
            Box::new(|n| {
                for _ in 0..n {
                    let mut st = raw_tunnel(s, &raw_tls);
                    raw_get(&mut st, &mut fresh_buf, REQUEST_CLOSE);
                }
            }),
        ),
        (
            "proxy-tunnel (new tunnel each)",
            Box::new(|n| {
                for _ in 0..n {
                    let mut c = open(&endpoint, &*connector, &opts).unwrap();
                    conn_get(&mut c, REQUEST_CLOSE);
                }
            }),
        ),
        (
            "ureq 3 with proxy, no idle pool",
            Box::new(|n| {
                for _ in 0..n {
                    ureq_get(&ureq_fresh);
                }
            }),
        ),
        (
            "direct, transport (no proxy)",
            Box::new(|n| {
                for _ in 0..n {
                    let mut c = open(&endpoint, &Direct, &opts).unwrap();
                    conn_get(&mut c, REQUEST_CLOSE);
                }
            }),
        ),
    ];

    for (title, n, runs) in [
        (
            "HTTPS GET /small, keep-alive (one tunnel)",
            keepalive_n,
            &mut keepalive,
        ),
        (
            "HTTPS GET /small, new tunnel per request (TLS resumed)",
            fresh_n,
            &mut fresh,
        ),
    ] {
        // Warm up each client (connections, TLS sessions) outside the timing.
        for (_, run) in runs.iter_mut() {
            run(20);
        }
        let mut best = vec![f64::MAX; runs.len()];
        let mut opens = vec![0u64; runs.len()];
        for _ in 0..reps {
            for (i, (_, run)) in runs.iter_mut().enumerate() {
                let before = active_opens();
                let t = Instant::now();
                run(n);
                let secs = t.elapsed().as_secs_f64();
                opens[i] = active_opens() - before;
                best[i] = best[i].min(secs);
            }
        }
        let floor = n as f64 / best[0];
        println!("\n{title}: {n} requests, best of {reps} interleaved runs");
        println!(
            "{:<42} {:>10} {:>9} {:>18}",
            "client", "req/s", "vs raw", "TCP opens/request"
        );
        for (i, (name, _)) in runs.iter().enumerate() {
            let rate = n as f64 / best[i];
            println!(
                "{:<42} {:>10.0} {:>9.2} {:>18.2}",
                name,
                rate,
                rate / floor,
                opens[i] as f64 / n as f64
            );
        }
    }
    std::thread::sleep(Duration::from_millis(10));
}
