//! The server monitor people built on PHP's persistent sockets, as a tool:
//! each round checks every target over its pooled connection (the pool's
//! liveness probe decides reuse; a new connection only when the old one is
//! gone), optionally with a protocol-level check written inline over the
//! `Conn`: `PING` for `redis://`, `HEAD /` for `http://`, `NOOP` for
//! `smtp://`.
//!
//! ```text
//! cargo run -q -p pconn-transport --example monitor -- --help
//! cargo run -q -p pconn-transport --example monitor -- web=127.0.0.1:80 redis://127.0.0.1:6379
//! cargo run -q -p pconn-transport --example monitor -- --targets hosts.txt --json --rounds 3
//! ```

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use pconn_transport::{
    open, registry, Conn, ConnectOptions, Direct, Endpoint, Pool, PoolConfig, PoolKey,
};

const HELP: &str = "\
monitor: checks servers every round over persistent, probed connections

usage: monitor [OPTIONS] TARGET ...

TARGET is NAME=HOST:PORT (TCP connect only), or a URL for a protocol-level
check: redis://HOST:PORT (PING), http://HOST:PORT (HEAD /), smtp://HOST:PORT
(NOOP); NAME=URL names it. IPv6 hosts in brackets: [::1]:6379.

options:
  --targets FILE   more targets, one per line (# starts a comment)
  --interval T     time between rounds: 500ms, 2s, or milliseconds (default 1s)
  --rounds N       stop after N rounds (default: forever on a terminal, else 1)
  --json           one JSON object per target per round (JSON lines)
  --stats          after the last round, the pool's counters as JSON
  -h, --help       this text

On a terminal the table is redrawn in place each round.
exit codes: 0 every check up in every round; 1 some check was down;
2 usage error (bad flag, target or file).

examples:
  monitor --rounds 5 cache=redis://127.0.0.1:6379 web=http://127.0.0.1:80
  monitor --json --rounds 1 mail=smtp://127.0.0.1:2525 db=10.0.0.5:5432
  monitor --targets /etc/monitor.txt --interval 10s";

#[derive(Clone, Copy, PartialEq)]
enum Check {
    Tcp,
    Redis,
    Http,
    Smtp,
}

impl Check {
    fn name(self) -> &'static str {
        match self {
            Check::Tcp => "tcp",
            Check::Redis => "redis",
            Check::Http => "http",
            Check::Smtp => "smtp",
        }
    }
}

struct Target {
    name: String,
    check: Check,
    endpoint: Endpoint,
    key: PoolKey,
    opened: u64,
    reused: u64,
}

struct Args {
    rounds: Option<u64>,
    interval: Duration,
    json: bool,
    stats: bool,
    targets: Vec<Target>,
}

fn parse_target(spec: &str) -> Result<Target, String> {
    let (name, rest) = match spec.split_once('=') {
        Some((n, r)) if !n.contains("://") => (Some(n.to_string()), r),
        _ => (None, spec),
    };
    let (check, addr) = match rest.split_once("://") {
        Some(("redis", a)) => (Check::Redis, a),
        Some(("http", a)) => (Check::Http, a),
        Some(("smtp", a)) => (Check::Smtp, a),
        Some((s, _)) => {
            return Err(format!(
                "{spec:?}: unsupported scheme {s}:// (redis, http, smtp)"
            ))
        }
        None => (Check::Tcp, rest),
    };
    let addr = addr.trim_end_matches('/');
    let default_port = match check {
        Check::Redis => Some(6379),
        Check::Http => Some(80),
        Check::Smtp => Some(25),
        Check::Tcp => None,
    };
    let (host, port) = match addr.rsplit_once(':') {
        Some((h, p)) if !p.ends_with(']') => (
            h,
            p.parse()
                .map_err(|_| format!("{spec:?}: invalid port {p:?}"))?,
        ),
        _ => (
            addr,
            default_port.ok_or(format!("{spec:?}: expected NAME=HOST:PORT"))?,
        ),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let endpoint = Endpoint::new(host, port).map_err(|e| format!("{spec:?}: {e}"))?;
    let key = PoolKey::new(check.name(), endpoint.host(), port);
    Ok(Target {
        name: name.unwrap_or_else(|| addr.to_string()),
        check,
        endpoint,
        key,
        opened: 0,
        reused: 0,
    })
}

fn parse_interval(s: &str) -> Option<Duration> {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    if let Some(secs) = s.strip_suffix('s') {
        return secs
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
    }
    s.parse().ok().map(Duration::from_millis)
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rounds: None,
        interval: Duration::from_secs(1),
        json: false,
        stats: false,
        targets: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value (see --help)"))
        };
        match arg.as_str() {
            "--rounds" => {
                args.rounds = Some(
                    value("--rounds")?
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or("--rounds needs a positive number, e.g. --rounds 3")?,
                )
            }
            "--interval" => {
                args.interval = parse_interval(&value("--interval")?)
                    .ok_or("--interval needs a time, e.g. 500ms or 2s")?
            }
            "--targets" => {
                let file = value("--targets")?;
                let text =
                    std::fs::read_to_string(&file).map_err(|e| format!("--targets {file}: {e}"))?;
                for line in text.lines() {
                    let line = line.split('#').next().unwrap_or("").trim();
                    if !line.is_empty() {
                        args.targets.push(parse_target(line)?);
                    }
                }
            }
            "--json" => args.json = true,
            "--stats" => args.stats = true,
            "-h" | "--help" => return Err(HELP.into()),
            spec if !spec.starts_with('-') => args.targets.push(parse_target(spec)?),
            other => return Err(format!("unknown option {other}; try monitor --help")),
        }
    }
    if args.targets.is_empty() {
        return Err("no targets given; try monitor --help".into());
    }
    Ok(args)
}

/// Why a check failed, as shown in the table.
struct Failure(String);

impl From<pconn_transport::Error> for Failure {
    fn from(e: pconn_transport::Error) -> Failure {
        Failure(e.to_string())
    }
}

/// Opens a connection; for SMTP takes in the greeting (so the next probe
/// does not see it as unexpected data) and checks it is a 220.
fn open_target(target: &Target) -> Result<(Conn, ()), Failure> {
    let opts = ConnectOptions {
        connect_timeout: Duration::from_secs(3),
        ..ConnectOptions::default()
    };
    let mut conn = open(&target.endpoint, &Direct, &opts)?;
    conn.socket()
        .set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| Failure(e.to_string()))?;
    if target.check == Check::Smtp {
        let greeting = read_until(&mut conn, b"\r\n").map_err(Failure)?;
        if !greeting.starts_with("220") {
            return Err(Failure(format!("greeting {greeting:?}")));
        }
    }
    Ok((conn, ()))
}

/// Reads until `end` (bounded to 64 KiB), returns the text and consumes it.
fn read_until(conn: &mut Conn, end: &[u8]) -> Result<String, String> {
    loop {
        let buf = conn.read_buf();
        if let Some(at) = buf.windows(end.len()).position(|w| w == end) {
            let text = String::from_utf8_lossy(&buf[..at]).into_owned();
            conn.consume(at + end.len());
            return Ok(text);
        }
        if buf.len() > 64 * 1024 {
            return Err("reply over 64 KiB without an end".into());
        }
        if conn.fill().map_err(|e| e.to_string())? == 0 {
            return Err("the server closed the connection".into());
        }
    }
}

/// The protocol-level check. `Ok(keep)`: up, and whether the connection
/// may be pooled again.
fn protocol_check(conn: &mut Conn, target: &Target) -> Result<bool, String> {
    let (request, end, ok): (String, &[u8], &str) = match target.check {
        Check::Tcp => return Ok(true),
        Check::Redis => ("PING\r\n".into(), b"\r\n", "+PONG"),
        Check::Smtp => ("NOOP\r\n".into(), b"\r\n", "250"),
        Check::Http => (
            format!(
                "HEAD / HTTP/1.1\r\nHost: {}\r\n\r\n",
                target.endpoint.authority()
            ),
            b"\r\n\r\n",
            "HTTP/1.",
        ),
    };
    conn.begin_exchange().map_err(|e| e.to_string())?;
    conn.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let reply = read_until(conn, end)?;
    conn.end_exchange();
    let first = reply.lines().next().unwrap_or("");
    if !first.starts_with(ok) {
        return Err(format!("unexpected reply {first:?}"));
    }
    if target.check == Check::Http && first.split(' ').nth(1).is_some_and(|c| c.starts_with('5')) {
        return Err(format!("server error {first:?}"));
    }
    let close = reply.to_ascii_lowercase().contains("\r\nconnection: close");
    Ok(!close)
}

struct Outcome {
    up: bool,
    reused: bool,
    latency: Duration,
    error: Option<String>,
}

fn check(pool: &Pool<()>, target: &mut Target) -> Outcome {
    let started = Instant::now();
    let result = pool
        .checkout(&target.key, || open_target(target))
        .map_err(|Failure(e)| e)
        .and_then(|mut guard| {
            let reused = guard.is_reused();
            match protocol_check(guard.conn(), target) {
                Ok(true) => Ok(reused),
                Ok(false) => {
                    guard.discard();
                    Ok(reused)
                }
                Err(e) => {
                    guard.discard();
                    Err(e)
                }
            }
        });
    let latency = started.elapsed();
    match result {
        Ok(reused) => {
            if reused {
                target.reused += 1;
            } else {
                target.opened += 1;
            }
            Outcome {
                up: true,
                reused,
                latency,
                error: None,
            }
        }
        Err(e) => Outcome {
            up: false,
            reused: false,
            latency,
            error: Some(e),
        },
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn main() -> ExitCode {
    let mut args = match parse_args() {
        Ok(a) => a,
        Err(msg) if msg == HELP => {
            println!("{msg}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("monitor: {msg}");
            return ExitCode::from(2);
        }
    };
    let live = std::io::stdout().is_terminal() && !args.json;
    let rounds = args.rounds.unwrap_or(if live { u64::MAX } else { 1 });
    // The process-wide registry: the `pconnect` model, no pool object passed around.
    let pool: Pool<()> = match registry::pool("monitor", || {
        Pool::new(PoolConfig {
            max_open: 1,
            checkout_timeout: Duration::from_secs(5),
            ..PoolConfig::default()
        })
    }) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("monitor: {e}");
            return ExitCode::from(2);
        }
    };
    let mut any_down = false;
    for round in 1..=rounds {
        let mut table = String::new();
        if live {
            table.push_str("\x1b[H\x1b[2J");
        }
        table.push_str(&format!(
            "round {round}\n{:<16} {:<6} {:<5} {:>10} {:>7} {:>7}  last error\n",
            "name", "check", "state", "latency", "reused", "opened"
        ));
        for target in &mut args.targets {
            let o = check(&pool, target);
            any_down |= !o.up;
            let ms = o.latency.as_secs_f64() * 1000.0;
            if args.json {
                println!(
                    "{{\"round\":{round},\"name\":{},\"check\":\"{}\",\"address\":{},\"status\":\"{}\",\"latency_ms\":{ms:.3},\"reused\":{},\"reused_count\":{},\"opened_count\":{},\"error\":{}}}",
                    json_str(&target.name),
                    target.check.name(),
                    json_str(&target.endpoint.authority()),
                    if o.up { "up" } else { "down" },
                    o.reused,
                    target.reused,
                    target.opened,
                    o.error.as_deref().map_or("null".into(), json_str),
                );
            }
            table.push_str(&format!(
                "{:<16} {:<6} {:<5} {:>8.2}ms {:>7} {:>7}  {}\n",
                target.name,
                target.check.name(),
                if o.up { "up" } else { "down" },
                ms,
                target.reused,
                target.opened,
                o.error.as_deref().unwrap_or("-"),
            ));
        }
        if !args.json {
            print!("{table}");
        }
        if round < rounds {
            std::thread::sleep(args.interval);
        }
    }
    if args.stats {
        println!("{}", pool.stats().to_json());
    }
    ExitCode::from(u8::from(any_down))
}
