//! The health checker of the background material, rebuilt on persistent
//! connections: each round checks every target over its pooled connection,
//! opening a new one only when the liveness probe says the old one is gone.
//!
//! ```text
//! cargo run -q -p transport --example monitor -- [--rounds N] [--interval MS] [--stats] NAME=HOST:PORT ...
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use transport::{
    open, registry, Conn, ConnectOptions, Direct, Endpoint, Pool, PoolConfig, PoolKey,
};

struct Target {
    name: String,
    endpoint: Endpoint,
    key: PoolKey,
}

struct Args {
    rounds: u32,
    interval: Duration,
    stats: bool,
    targets: Vec<Target>,
}

fn usage() -> String {
    "usage: monitor [--rounds N] [--interval MS] [--stats] NAME=HOST:PORT ...".to_string()
}

fn parse_target(spec: &str) -> Result<Target, String> {
    let (name, addr) = spec
        .split_once('=')
        .ok_or_else(|| format!("{spec:?}: expected NAME=HOST:PORT"))?;
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("{spec:?}: missing :PORT"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{spec:?}: invalid port {port:?}"))?;
    let endpoint = Endpoint::new(host, port).map_err(|e| format!("{spec:?}: {e}"))?;
    let key = PoolKey::new("tcp", endpoint.host(), port);
    Ok(Target {
        name: name.to_string(),
        endpoint,
        key,
    })
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rounds: 1,
        interval: Duration::from_millis(1000),
        stats: false,
        targets: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--rounds" => {
                args.rounds = value("--rounds")?
                    .parse()
                    .map_err(|e| format!("--rounds: {e}"))?
            }
            "--interval" => {
                let ms: u64 = value("--interval")?
                    .parse()
                    .map_err(|e| format!("--interval: {e}"))?;
                args.interval = Duration::from_millis(ms);
            }
            "--stats" => args.stats = true,
            "-h" | "--help" => return Err(usage()),
            spec if !spec.starts_with("--") => args.targets.push(parse_target(spec)?),
            other => return Err(format!("unknown option {other}\n{}", usage())),
        }
    }
    if args.targets.is_empty() {
        return Err(usage());
    }
    Ok(args)
}

/// Opens a connection and takes in a server's greeting banner (SMTP, SSH,
/// ...) so it is not mistaken for unexpected data by the next probe.
/// `connected_in` gets the connect time, which the banner wait must not inflate.
fn open_target(
    endpoint: &Endpoint,
    connected_in: &mut Option<Duration>,
) -> transport::Result<(Conn, ())> {
    let opts = ConnectOptions {
        connect_timeout: Duration::from_secs(3),
        ..ConnectOptions::default()
    };
    let started = Instant::now();
    let mut conn = open(endpoint, &Direct, &opts)?;
    *connected_in = Some(started.elapsed());
    conn.socket()
        .set_read_timeout(Some(Duration::from_millis(150)))?;
    let mut byte = [0u8; 1];
    if matches!(conn.socket().peek(&mut byte), Ok(n) if n > 0) {
        conn.fill()?;
        let banner = conn.read_buf().len();
        conn.consume(banner);
    }
    Ok((conn, ()))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
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
            return ExitCode::FAILURE;
        }
    };
    let mut any_down = false;
    println!(
        "{:<5} {:<12} {:<22} {:<5} {:>10}  {:<11} error",
        "round", "name", "address", "state", "latency", "connection"
    );
    for round in 1..=args.rounds {
        for target in &args.targets {
            let started = Instant::now();
            let mut connected_in = None;
            let result = pool.checkout(&target.key, || {
                open_target(&target.endpoint, &mut connected_in)
            });
            let latency = connected_in.unwrap_or_else(|| started.elapsed());
            let address = target.endpoint.authority();
            match result {
                Ok(guard) => {
                    let how = if guard.is_reused() {
                        "reused"
                    } else {
                        "reconnected"
                    };
                    println!(
                        "{round:<5} {:<12} {address:<22} {:<5} {:>8.3}ms  {how:<11} -",
                        target.name,
                        "up",
                        latency.as_secs_f64() * 1000.0
                    );
                }
                Err(e) => {
                    any_down = true;
                    println!(
                        "{round:<5} {:<12} {address:<22} {:<5} {:>10}  {:<11} {e}",
                        target.name, "down", "-", "-"
                    );
                }
            }
        }
        if round < args.rounds {
            std::thread::sleep(args.interval);
        }
    }
    if args.stats {
        println!("{}", pool.stats().to_json());
    }
    if any_down {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
