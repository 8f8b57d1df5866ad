//! The connection-limit trap (issue 11 §6): PHP's manual warns that many
//! worker processes, each keeping its own persistent connections, exceed a
//! server's connection limit. 20 worker processes (this test binary run
//! again as `limits_worker`), each with its own pool, against a private
//! redis-server with `maxclients 64` and a private nginx with
//! `worker_connections 64`:
//!
//! * over budget (20 × `max_open` 4 = 80 > 64): the server's refusal is a
//!   typed error naming the limit (redis: `ServerErrorKind::MaxClients`;
//!   nginx: the connection closed or reset before any reply, or no reply at
//!   all: an accept that never came), every worker retries at most 3 times
//!   per operation with growing backoff (counted), and no worker process
//!   outlives its work by more than its timeouts;
//! * within budget (20 × 3 = 60 <= 64): no refusal at all.
//!
//! The README's "Connection budget" section gives the rule and these
//! figures.

#[path = "chaos_support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis_client::{cmd, Client, ServerErrorKind};
use support::private;
use support::Rng;
use transport::{Phase, PoolConfig};

const WORKERS: usize = 20;
const LIMIT: usize = 64;
const RETRIES: u32 = 3;
const WORK: Duration = Duration::from_millis(1500);
const CHECKOUT_TIMEOUT: Duration = Duration::from_millis(800);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// What one worker process reports (one line on stdout).
#[derive(Debug, Default)]
struct Report {
    ops: u64,
    failed_ops: u64,
    /// Connections the worker's pool opened (reconnects included).
    opened: u64,
    retries: u64,
    /// Refusals and other errors by typed kind.
    kinds: BTreeMap<String, u64>,
}

impl Report {
    fn line(&self) -> String {
        let kinds: Vec<String> = self.kinds.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "LIMITS ops={} failed_ops={} opened={} retries={} {}",
            self.ops,
            self.failed_ops,
            self.opened,
            self.retries,
            kinds.join(" ")
        )
    }

    fn parse(line: &str) -> Report {
        let mut r = Report::default();
        for field in line.trim_start_matches("LIMITS ").split_whitespace() {
            let (k, v) = field.split_once('=').unwrap();
            let v: u64 = v.parse().unwrap();
            match k {
                "ops" => r.ops = v,
                "failed_ops" => r.failed_ops = v,
                "opened" => r.opened = v,
                "retries" => r.retries = v,
                kind => {
                    r.kinds.insert(kind.to_string(), v);
                }
            }
        }
        r
    }
}

/// The typed kind of a redis failure: which limit it says was hit.
fn redis_kind(e: &redis_client::Error) -> String {
    match e {
        redis_client::Error::Server(s) if s.kind() == ServerErrorKind::MaxClients => {
            "server_maxclients".into()
        }
        redis_client::Error::Transport(t) => transport_kind(t),
        other => format!("other:{}", other.to_string().replace(' ', "_")),
    }
}

/// The typed kind of a transport failure.
fn transport_kind(t: &transport::Error) -> String {
    match t {
        transport::Error::PoolExhausted { .. } | transport::Error::Timeout(Phase::Checkout) => {
            "own_pool_max_open".into()
        }
        transport::Error::Timeout(Phase::Connect) => "server_backlog_connect_timeout".into(),
        transport::Error::Timeout(Phase::Read) => "server_no_reply_read_timeout".into(),
        transport::Error::Closed { .. } => "server_closed".into(),
        transport::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            "server_reset".into()
        }
        transport::Error::Connect { .. } => "server_refused_connect".into(),
        other => format!("other:{}", other.to_string().replace(' ', "_")),
    }
}

fn http_kind(e: &http_client::Error) -> String {
    match e {
        http_client::Error::Transport(t) => transport_kind(t),
        http_client::Error::NotReplayed { source, .. } => transport_kind(source),
        http_client::Error::Timeout(_) => "server_no_reply_read_timeout".into(),
        other => format!("other:{}", other.to_string().replace(' ', "_")),
    }
}

/// One operation with at most RETRIES retries, backoff 50, 100, 200 ms
/// (+ up to 50 % jitter): never a retry storm.
fn with_retries(rng: &mut Rng, report: &Mutex<Report>, mut op: impl FnMut() -> Result<(), String>) {
    for attempt in 0..=RETRIES {
        match op() {
            Ok(()) => {
                report.lock().unwrap().ops += 1;
                return;
            }
            Err(kind) => {
                let mut r = report.lock().unwrap();
                *r.kinds.entry(kind).or_insert(0) += 1;
                if attempt == RETRIES {
                    r.failed_ops += 1;
                    return;
                }
                r.retries += 1;
                drop(r);
                let backoff = 50u64 << attempt;
                std::thread::sleep(Duration::from_millis(backoff + rng.below(backoff / 2 + 1)));
            }
        }
    }
}

/// The worker process: `max_open` threads on one client with its own pool,
/// each holding its connection a little per operation, for WORK.
#[test]
#[ignore = "run by the limit tests as a child process"]
fn limits_worker() {
    let Ok(server) = std::env::var("LIMITS_SERVER") else {
        return;
    };
    let port: u16 = std::env::var("LIMITS_PORT").unwrap().parse().unwrap();
    let max_open: usize = std::env::var("LIMITS_MAX_OPEN").unwrap().parse().unwrap();
    let seed: u64 = std::env::var("LIMITS_SEED").unwrap().parse().unwrap();
    let pool = PoolConfig {
        max_open,
        checkout_timeout: CHECKOUT_TIMEOUT,
        ..PoolConfig::default()
    };
    let report = Mutex::new(Report::default());
    // Start together: the parent creates this file once every worker runs,
    // so the fleet's connections overlap however slowly processes start.
    let go = std::path::PathBuf::from(std::env::var("LIMITS_GO").unwrap());
    for _ in 0..1000 {
        if go.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let end = Instant::now() + WORK;
    let redis = Client::builder()
        .address("127.0.0.1", port)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(Some(READ_TIMEOUT))
        .pool_config(pool.clone())
        .build()
        .unwrap();
    let http = http_client::Client::builder()
        .proxy_from_env(false)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(Some(READ_TIMEOUT))
        .pool_config(pool)
        .build()
        .unwrap();
    // Held 200 ms by nginx, so the connections are busy (nginx closes idle
    // keep-alive connections when it runs short, busy ones it cannot).
    let url = format!("http://127.0.0.1:{port}/hold");
    std::thread::scope(|s| {
        for t in 0..max_open {
            let (report, redis, http, url, server) = (&report, &redis, &http, &url, &server);
            s.spawn(move || {
                let mut rng = Rng::new(seed, t as u64);
                while Instant::now() < end {
                    with_retries(&mut rng, report, || match server.as_str() {
                        "redis" => redis
                            .get()
                            .and_then(|mut c| {
                                c.query_value(&cmd("PING"))?;
                                std::thread::sleep(Duration::from_millis(20));
                                c.query_value(&cmd("ECHO").arg("x"))
                            })
                            .map(drop)
                            .map_err(|e| redis_kind(&e)),
                        _ => http
                            .get(url)
                            .call()
                            .and_then(|r| r.text())
                            .map(drop)
                            .map_err(|e| http_kind(&e)),
                    });
                }
            });
        }
    });
    let mut r = report.lock().unwrap();
    let stats = if server == "redis" {
        redis.stats()
    } else {
        http.stats()
    };
    r.opened = stats.opened;
    println!("{}", r.line());
}

/// Runs WORKERS worker processes against `server` on `port`; returns their
/// reports summed. Every worker must exit within its work time plus the
/// longest a single operation may take with all its retries.
fn fleet(server: &str, port: u16, max_open: usize, seed: u64) -> (Report, usize) {
    let exe = std::env::current_exe().unwrap();
    let go = std::env::temp_dir().join(integration_tests::unique("limits-go"));
    let children: Vec<_> = (0..WORKERS)
        .map(|w| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "limits_worker",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("LIMITS_SERVER", server)
                .env("LIMITS_PORT", port.to_string())
                .env("LIMITS_MAX_OPEN", max_open.to_string())
                .env("LIMITS_SEED", (seed + w as u64).to_string())
                .env("LIMITS_GO", &go)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // One operation: checkout wait, connect, two reads, per attempt, plus
    // the backoffs; a worker may start one just before its work time ends.
    let per_attempt = CHECKOUT_TIMEOUT + CONNECT_TIMEOUT + READ_TIMEOUT * 2;
    let bound =
        WORK + per_attempt * (RETRIES + 1) + Duration::from_millis(700) + Duration::from_secs(5);
    std::fs::write(&go, b"go").unwrap();
    let deadline = Instant::now() + bound + Duration::from_secs(10);
    let mut total = Report::default();
    let mut hung = 0;
    for mut child in children {
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > deadline {
                hung += 1;
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        // The harness may print "test limits_worker ... " on the same line.
        let line = text
            .lines()
            .find_map(|l| l.find("LIMITS ").map(|at| &l[at..]))
            .unwrap_or_else(|| {
                panic!("a {server} worker printed no report: {text}");
            });
        let r = Report::parse(line);
        total.ops += r.ops;
        total.failed_ops += r.failed_ops;
        total.opened += r.opened;
        total.retries += r.retries;
        for (k, v) in r.kinds {
            *total.kinds.entry(k).or_insert(0) += v;
        }
    }
    let _ = std::fs::remove_file(&go);
    (total, hung)
}

fn check_over_budget(name: &str, total: &Report, hung: usize, refusal_kinds: &[&str]) {
    eprintln!(
        "{name} over budget ({WORKERS} x 4 > {LIMIT}): {}",
        total.line()
    );
    assert_eq!(hung, 0, "{name}: {hung} workers hung past their timeouts");
    assert!(total.ops > 0, "{name}: nothing got through");
    let refusals: u64 = refusal_kinds
        .iter()
        .map(|k| total.kinds.get(*k).copied().unwrap_or(0))
        .sum();
    assert!(
        refusals > 0,
        "{name}: the limit was never hit: {}",
        total.line()
    );
    let untyped: Vec<_> = total
        .kinds
        .keys()
        .filter(|k| k.starts_with("other:"))
        .collect();
    assert!(untyped.is_empty(), "{name}: untyped failures {untyped:?}");
    // Bounded retries: never more than RETRIES per operation.
    assert!(total.retries <= (total.ops + total.failed_ops) * u64::from(RETRIES));
}

#[test]
fn redis_maxclients_refusal_is_typed_and_bounded() {
    let seed = support::seed("redis_maxclients");
    let server = private::redis(&["--maxclients", &LIMIT.to_string(), "--appendonly", "no"]);
    let (over, hung) = fleet("redis", server.port, 4, seed);
    check_over_budget(
        "redis",
        &over,
        hung,
        &["server_maxclients", "server_closed", "server_reset"],
    );
    assert!(
        over.kinds.contains_key("server_maxclients"),
        "{}",
        over.line()
    );
    // The server's view: how many connections it refused.
    let admin = Client::builder()
        .address("127.0.0.1", server.port)
        .build()
        .unwrap();
    let mut c = admin.get().unwrap();
    let info: String = c.query(&cmd("INFO").arg("stats")).unwrap();
    let stat = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map_or(0, |v| v.trim().parse().unwrap())
    };
    let (received, rejected) = (
        stat("total_connections_received"),
        stat("rejected_connections"),
    );
    eprintln!(
        "redis server: total_connections_received={received} rejected_connections={rejected}"
    );
    assert!(rejected > 0);
    // No storm: every rejected connection is one counted attempt.
    let attempts = over.kinds.values().sum::<u64>();
    assert!(
        rejected <= attempts,
        "{rejected} rejections but only {attempts} failed attempts"
    );
    // The over-budget fleet is gone: wait (bounded) until the server has
    // closed its connections too, so the next fleet starts from zero.
    for _ in 0..100 {
        let clients: String = c.query(&cmd("INFO").arg("clients")).unwrap();
        if clients.lines().any(|l| l.trim() == "connected_clients:1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(c);
    drop(admin);

    // Within budget: 20 x 3 = 60 (+ this test's admin connection) <= 64.
    let (within, hung) = fleet("redis", server.port, 3, seed);
    eprintln!(
        "redis within budget ({WORKERS} x 3 <= {LIMIT}): {}",
        within.line()
    );
    assert_eq!(hung, 0);
    assert!(within.ops > 0);
    assert_eq!(within.failed_ops, 0, "{}", within.line());
    assert!(
        !within.kinds.contains_key("server_maxclients"),
        "{}",
        within.line()
    );
}

#[test]
fn nginx_worker_connections_refusal_is_typed_and_bounded() {
    let seed = support::seed("nginx_worker_connections");
    // One worker process, 64 connections: one is its listening socket.
    let server = private::nginx(LIMIT + 1, "");
    let (over, hung) = fleet("nginx", server.port, 4, seed);
    check_over_budget(
        "nginx",
        &over,
        hung,
        &[
            "server_closed",
            "server_reset",
            "server_no_reply_read_timeout",
            "server_backlog_connect_timeout",
        ],
    );
    let log = std::fs::read_to_string(server.dir.join("error.log")).unwrap_or_default();
    let alerts = log.matches("worker_connections are not enough").count();
    eprintln!("nginx error.log: {alerts} 'worker_connections are not enough' alerts");
    assert!(alerts > 0, "nginx never ran out of connections");
    // Wait (bounded) until nginx has closed the first fleet's connections.
    let status = http_client::Client::builder()
        .proxy_from_env(false)
        .max_open_per_host(1)
        .build()
        .unwrap();
    for _ in 0..100 {
        let text = status
            .get(&format!("http://127.0.0.1:{}/status", server.port))
            .call()
            .and_then(|r| r.text())
            .unwrap_or_default();
        if text.starts_with("Active connections: 1 ") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(status);

    let (within, hung) = fleet("nginx", server.port, 3, seed);
    eprintln!(
        "nginx within budget ({WORKERS} x 3 <= {LIMIT}): {}",
        within.line()
    );
    assert_eq!(hung, 0);
    assert!(within.ops > 0);
    assert_eq!(within.failed_ops, 0, "{}", within.line());
}
