//! Sequential small GETs against one nginx, side by side in one run:
//! the raw-socket floor (std TcpStream + rustls by hand), http-client,
//! ureq 3, and reqwest::blocking; over keep-alive and with a new
//! connection per request; HTTP and HTTPS (TLS 1.3, sessions resumed).
//!
//! Run it with `bench/http/run.sh`, which starts a dedicated nginx pinned
//! to CPU 0 and runs this pinned to the same CPU (see BENCHMARKING.md).
//! Clients are interleaved (a b c d, a b c d, ...) and the best round is
//! kept. Every request reads and checks the whole body. TCP connections
//! opened are counted from /proc/net/snmp (ActiveOpens), so a keep-alive
//! figure that silently reconnects shows up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

const BODY: &[u8] = b"hello\n";

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

struct Target {
    https: bool,
    host: String,
    port: u16,
    path: String,
    url: String,
    ca_pem: Vec<u8>,
}

// ---- the raw floor -------------------------------------------------------------

/// What the floor does and nothing more: one write of a fixed request,
/// reads until httparse and Content-Length say the response is complete.
struct Raw {
    request: Vec<u8>,
    buf: Vec<u8>,
    tls: Option<Arc<ClientConfig>>,
    host: String,
    addr: String,
    keepalive: bool,
    conn: Option<Box<dyn ReadWrite>>,
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// The head http-client sends for a plain GET of `t` with its defaults
/// (Host, then its User-Agent): the raw loop and "transport only" send the
/// same bytes, so every client but the peers asks nginx for the same work
/// and the ratios measure client code, not request size. `main` checks the
/// claim against what http-client really sends.
fn client_head(t: &Target) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: {}\r\n\r\n",
        t.path,
        t.host,
        t.port,
        http_client::DEFAULT_USER_AGENT
    )
    .into_bytes()
}

/// The smallest valid head: Host only (the "Host only" raw loop).
fn minimal_head(t: &Target) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}:{}\r\n\r\n",
        t.path, t.host, t.port
    )
    .into_bytes()
}

/// http-client as every run sets it up: no proxy from the environment, and
/// with the compression features compiled in (`--features full`) not asked
/// to decompress, so it sends the same head as the default build: the
/// features are compiled in and unused.
fn ours_builder() -> http_client::ClientBuilder {
    http_client::Client::builder()
        .proxy_from_env(false)
        .decompress(false)
}

/// Panics unless [`client_head`] is byte for byte what http-client sends:
/// one request to a listener of our own, its head captured.
fn check_client_head() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            sock.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
            .unwrap();
        head
    });
    let url = format!("http://127.0.0.1:{port}/small");
    let client = ours_builder().build().unwrap();
    assert_eq!(client.get(&url).call().unwrap().bytes().unwrap(), BODY);
    let sent = server.join().unwrap();
    let expected = client_head(&target(&url, b""));
    assert_eq!(
        String::from_utf8_lossy(&sent),
        String::from_utf8_lossy(&expected),
        "the raw loop's request must be the one http-client sends"
    );
}

impl Raw {
    fn new(t: &Target, keepalive: bool, request: Vec<u8>) -> Raw {
        let tls = t.https.then(|| {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&t.ca_pem) {
                roots.add(cert.unwrap()).unwrap();
            }
            Arc::new(
                ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
            )
        });
        Raw {
            request,
            buf: vec![0; 16 * 1024],
            tls,
            host: t.host.clone(),
            addr: format!("{}:{}", t.host, t.port),
            keepalive,
            conn: None,
        }
    }

    fn connect(&self) -> Box<dyn ReadWrite> {
        let sock = TcpStream::connect(&self.addr).unwrap();
        sock.set_nodelay(true).unwrap();
        match &self.tls {
            None => Box::new(sock),
            Some(cfg) => {
                let name = ServerName::try_from(self.host.clone()).unwrap();
                let conn = ClientConnection::new(Arc::clone(cfg), name).unwrap();
                Box::new(StreamOwned::new(conn, sock))
            }
        }
    }

    fn get(&mut self) {
        if self.conn.is_none() || !self.keepalive {
            self.conn = Some(self.connect());
        }
        let conn = self.conn.as_mut().unwrap();
        conn.write_all(&self.request).unwrap();
        let mut have = 0;
        loop {
            let n = conn.read(&mut self.buf[have..]).unwrap();
            assert!(n > 0, "server closed");
            have += n;
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut resp = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = resp.parse(&self.buf[..have]).unwrap() {
                let len: usize = resp
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                    .unwrap();
                if have >= head + len {
                    assert_eq!(resp.code, Some(200));
                    assert_eq!(&self.buf[head..head + len], BODY);
                    return;
                }
            }
        }
    }
}

// ---- the clients -----------------------------------------------------------------

type Get = Box<dyn FnMut()>;

fn raw(t: &Target, keepalive: bool) -> Get {
    let mut raw = Raw::new(t, keepalive, client_head(t));
    Box::new(move || raw.get())
}

/// The raw loop with the smallest head, to show what the extra field costs.
fn raw_minimal(t: &Target, keepalive: bool) -> Get {
    let mut raw = Raw::new(t, keepalive, minimal_head(t));
    Box::new(move || raw.get())
}

fn ours(t: &Target, keepalive: bool) -> Get {
    ours_with(t, keepalive, |b| b)
}

/// http-client set up by [`ours_builder`] and then `configure`, with the
/// target's CA, and no idle connection kept when `keepalive` is off.
fn ours_with(
    t: &Target,
    keepalive: bool,
    configure: impl FnOnce(http_client::ClientBuilder) -> http_client::ClientBuilder,
) -> Get {
    let ca = std::env::temp_dir().join(format!("bench-http-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &t.ca_pem).unwrap();
    let mut b = configure(ours_builder().add_ca_file(&ca));
    if !keepalive {
        b = b.max_idle_per_host(0);
    }
    let client = b.build().unwrap();
    let _ = std::fs::remove_file(&ca);
    let url = t.url.clone();
    Box::new(move || {
        let body = client.get(&url).call().unwrap().bytes().unwrap();
        assert_eq!(body, BODY);
    })
}

fn ureq_client(t: &Target, keepalive: bool) -> Get {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let cert = Certificate::from_pem(&t.ca_pem).unwrap().to_owned();
    let mut cfg = ureq::Agent::config_builder().proxy(None).tls_config(
        TlsConfig::builder()
            .root_certs(RootCerts::Specific(Arc::new(vec![cert])))
            .build(),
    );
    if !keepalive {
        cfg = cfg.max_idle_connections(0).max_idle_connections_per_host(0);
    }
    let agent: ureq::Agent = cfg.build().into();
    let url = t.url.clone();
    Box::new(move || {
        let body = agent
            .get(&url)
            .call()
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap();
        assert_eq!(body, BODY);
    })
}

fn reqwest_client(t: &Target, keepalive: bool) -> Get {
    let mut b = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(&t.ca_pem).unwrap());
    if !keepalive {
        b = b.pool_max_idle_per_host(0);
    }
    let client = b.build().unwrap();
    let url = t.url.clone();
    Box::new(move || {
        let body = client.get(&url).send().unwrap().bytes().unwrap();
        assert_eq!(&body[..], BODY);
    })
}

/// The transport alone (pool checkout with its probe, one write, framed
/// read): the floor under http-client, to show where the overhead sits.
fn transport_only(t: &Target, keepalive: bool) -> Get {
    use http_client::transport::{
        open, ConnectOptions, Direct, Endpoint, Pool, PoolConfig, PoolKey, TlsConfig,
    };
    let ca = std::env::temp_dir().join(format!("bench-http-ca2-{}.pem", std::process::id()));
    std::fs::write(&ca, &t.ca_pem).unwrap();
    let mut endpoint = Endpoint::new(&t.host, t.port).unwrap();
    let mut key = PoolKey::new("bench", &t.host, t.port);
    if t.https {
        let tls = TlsConfig::builder().add_ca_file(&ca).build().unwrap();
        let _ = std::fs::remove_file(&ca);
        key = key.tls(tls.fingerprint());
        endpoint = endpoint.with_tls(tls);
    }
    let pool: Pool<()> = Pool::new(PoolConfig {
        max_idle: if keepalive { 4 } else { 0 },
        ..PoolConfig::default()
    })
    .unwrap();
    let kp = pool.key_pool(&key);
    let request = client_head(t);
    Box::new(move || {
        let mut g = kp
            .checkout(|| -> http_client::transport::Result<_> {
                Ok((open(&endpoint, &Direct, &ConnectOptions::default())?, ()))
            })
            .unwrap();
        let conn = g.conn();
        conn.begin_exchange().unwrap();
        conn.write_all(&request).unwrap();
        let len = conn
            .read_frame(65536, |buf: &[u8]| -> http_client::transport::Result<_> {
                let mut headers = [httparse::EMPTY_HEADER; 16];
                let mut resp = httparse::Response::new(&mut headers);
                Ok(match resp.parse(buf).unwrap() {
                    httparse::Status::Complete(head) => {
                        let len: usize = resp
                            .headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                            .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                            .unwrap();
                        (buf.len() >= head + len).then(|| {
                            assert_eq!(&buf[head..head + len], BODY);
                            (len, head + len)
                        })
                    }
                    httparse::Status::Partial => None,
                })
            })
            .unwrap();
        assert_eq!(len, BODY.len());
        conn.end_exchange();
    })
}

/// http-client with a cookie jar and a pass-through middleware on (built
/// with `--features full`, every pconn-http feature compiled in): what the
/// opt-in features cost a keep-alive request when they are used.
#[cfg(feature = "full")]
fn ours_with_jar_and_middleware(t: &Target, keepalive: bool) -> Get {
    use http_client::{MiddlewareNext, MiddlewareRequest};
    ours_with(t, keepalive, |b| {
        b.cookie_jar(http_client::CookieJar::new()).middleware(
            |req: &mut MiddlewareRequest<'_>, next: MiddlewareNext<'_>| next.handle(req),
        )
    })
}

type Make = fn(&Target, bool) -> Get;

/// The first is the floor the ratios divide by; the third is http-client.
const BASE_CLIENTS: [(&str, Make); 6] = [
    ("raw socket", raw),
    ("transport only", transport_only),
    ("http-client", ours),
    ("ureq 3", ureq_client),
    ("reqwest blocking", reqwest_client),
    ("raw (Host only)", raw_minimal),
];

#[cfg(feature = "full")]
const EXTRA_CLIENTS: &[(&str, Make)] = &[("http-client+jar+mw", ours_with_jar_and_middleware)];
#[cfg(not(feature = "full"))]
const EXTRA_CLIENTS: &[(&str, Make)] = &[];

// ---- the run -----------------------------------------------------------------------

fn target(url: &str, ca_pem: &[u8]) -> Target {
    let https = url.starts_with("https://");
    let rest = url.split_once("://").unwrap().1;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = authority.rsplit_once(':').unwrap();
    Target {
        https,
        host: host.to_string(),
        port: port.parse().unwrap(),
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
        url: url.to_string(),
        ca_pem: ca_pem.to_vec(),
    }
}

struct Best {
    rate: f64,
    opens_per_req: f64,
}

fn main() {
    let mut http = "http://127.0.0.1:18080/small".to_string();
    let mut https = "https://localhost:18443/small".to_string();
    let mut ca = "../../.servers/certs/ca.pem".to_string();
    let mut keepalive_n = 20_000u32;
    let mut fresh_n = 2_000u32;
    let mut rounds = 3u32;
    let mut only: Option<String> = None;
    let mut scenario: Option<usize> = None;
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    if std::env::args().nth(1).as_deref() == Some("--check-head") {
        check_client_head();
        return;
    }
    while let Some(a) = args.next() {
        let mut v = || args.next().expect("option needs a value");
        match a.as_str() {
            "--http" => http = v(),
            "--https" => https = v(),
            "--ca" => ca = v(),
            "--requests" => keepalive_n = v().parse().unwrap(),
            "--fresh-requests" => fresh_n = v().parse().unwrap(),
            "--rounds" => rounds = v().parse().unwrap(),
            "--only" => only = Some(v()),
            "--scenario" => scenario = Some(v().parse().unwrap()),
            "--verbose" => verbose = true,
            other => panic!("unknown option {other}"),
        }
    }
    let clients: Vec<(&str, Make)> = BASE_CLIENTS.iter().chain(EXTRA_CLIENTS).copied().collect();
    let ca_pem = std::fs::read(&ca).unwrap_or_else(|e| panic!("{ca}: {e}"));
    // In a child process: the check's listener thread would leave this one
    // multi-threaded, and glibc's socket calls then pay for cancellation
    // points in every client's loop (~140 instructions per request), which
    // would skew instruction counts of single-client runs.
    let checked = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--check-head")
        .status()
        .unwrap();
    assert!(checked.success(), "the raw loop's head check failed");
    let scenarios = [
        (
            "HTTP GET, keep-alive",
            target(&http, &ca_pem),
            true,
            keepalive_n,
        ),
        (
            "HTTPS GET, keep-alive (TLS 1.3)",
            target(&https, &ca_pem),
            true,
            keepalive_n,
        ),
        (
            "HTTP GET, new connection each",
            target(&http, &ca_pem),
            false,
            fresh_n,
        ),
        (
            "HTTPS GET, new connection each (resumed sessions)",
            target(&https, &ca_pem),
            false,
            (fresh_n / 4).max(100),
        ),
    ];
    println!(
        "pconn-http features compiled in: {}",
        if cfg!(feature = "full") {
            "all"
        } else {
            "none (defaults)"
        }
    );
    println!(
        "{} rounds, clients taking turns every 1% of the requests, best round kept; keep-alive {keepalive_n} requests, new-connection {fresh_n} (HTTPS: {})",
        rounds,
        (fresh_n / 4).max(100)
    );
    for (k, (title, t, keepalive, n)) in scenarios.iter().enumerate() {
        if scenario.is_some_and(|s| s != k) {
            continue;
        }
        let mut best: Vec<Best> = clients
            .iter()
            .map(|_| Best {
                rate: 0.0,
                opens_per_req: 0.0,
            })
            .collect();
        // Every client is set up once, connected and warmed (allocator,
        // caches, TLS session) outside the timing; the rounds then time the
        // requests alone, interleaved, many and short so that each client
        // meets the machine's quiet moments as often as the others.
        let mut gets: Vec<Option<Get>> = clients
            .iter()
            .map(|(name, make)| {
                let wanted = only
                    .as_deref()
                    .is_none_or(|o| o.split(',').any(|o| o == *name));
                wanted.then(|| {
                    let mut get = make(t, *keepalive);
                    for _ in 0..(n / 10).max(1) {
                        get();
                    }
                    get
                })
            })
            .collect();
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); clients.len()];
        // Per slice, each client's time over the raw loop's in the same
        // slice: a paired ratio, which a slow moment of the machine moves
        // little since it lands on neighbours alike.
        let mut paired: Vec<Vec<f64>> = vec![Vec::new(); clients.len()];
        // Within a round the clients take turns every `slice` requests, so
        // a noisy moment of the machine lands on all of them alike; each
        // one's rate is its requests over the sum of its own slices.
        let slice = (*n / 100).clamp(1, 200);
        for _ in 0..rounds {
            let mut secs = vec![0f64; clients.len()];
            let mut opened = vec![0u64; clients.len()];
            let mut done = 0;
            while done < *n {
                let k = slice.min(*n - done);
                let mut slice_secs = vec![0f64; clients.len()];
                for (i, get) in gets.iter_mut().enumerate() {
                    let Some(get) = get else { continue };
                    let opens = active_opens();
                    let start = Instant::now();
                    for _ in 0..k {
                        get();
                    }
                    slice_secs[i] = start.elapsed().as_secs_f64();
                    secs[i] += slice_secs[i];
                    opened[i] += active_opens() - opens;
                }
                if gets[0].is_some() {
                    for (i, t) in slice_secs.iter().enumerate() {
                        if *t > 0.0 {
                            paired[i].push(slice_secs[0] / t);
                        }
                    }
                }
                done += k;
            }
            for i in 0..clients.len() {
                if gets[i].is_none() {
                    continue;
                }
                let rate = f64::from(*n) / secs[i];
                if verbose {
                    eprintln!("  round: {:<18} {rate:>10.0}", clients[i].0);
                }
                rates[i].push(rate);
                if rate > best[i].rate {
                    best[i] = Best {
                        rate,
                        opens_per_req: opened[i] as f64 / f64::from(*n),
                    };
                }
            }
        }
        let median = medians(&mut rates);
        let paired = medians(&mut paired);
        println!("\n{title} ({n} sequential requests)");
        println!(
            "  {:<18} {:>10} {:>9} {:>14} {:>12} {:>14} {:>14}",
            "client",
            "req/s",
            "vs raw",
            "http-client/x",
            "TCP opens/req",
            "median vs raw",
            "paired vs raw"
        );
        for (i, (name, _)) in clients.iter().enumerate() {
            if best[i].rate == 0.0 {
                continue;
            }
            println!(
                "  {:<18} {:>10.0} {:>9.2} {:>14.2} {:>12.3} {:>14.2} {:>14.3}",
                name,
                best[i].rate,
                best[i].rate / best[0].rate,
                best[2].rate / best[i].rate,
                best[i].opens_per_req,
                median[i] / median[0],
                paired[i]
            );
        }
    }
}

/// The median of each client's figures (0 for a client not run).
fn medians(per_client: &mut [Vec<f64>]) -> Vec<f64> {
    per_client
        .iter_mut()
        .map(|r| {
            r.sort_by(f64::total_cmp);
            r.get(r.len() / 2).copied().unwrap_or(0.0)
        })
        .collect()
}
