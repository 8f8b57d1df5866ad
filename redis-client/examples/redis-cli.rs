//! A tiny `redis-cli` on the pooled client.
//!
//! ```text
//! cargo run -q -p redis-client --example redis-cli -- [--url URL] [--cacert PEM] \
//!     [--repeat N] [--interval MS] [--stats] CMD [ARG ...]
//! ```
//!
//! Runs the command N times over the pool (sleeping between repetitions
//! when asked) and prints the last reply the way `redis-cli` does. With
//! `--stats` the last stdout line is the pool's counters as one JSON object.
//! `--url` takes `redis://`, `rediss://`, `unix:///path/to/redis.sock` and
//! `redis+unix://` URLs. With `RUST_LOG` set (e.g. `RUST_LOG=debug`) the
//! client's events (connect, reuse, reset, discard, retry) go to stderr.

use std::process::ExitCode;
use std::time::Duration;

use redis_client::{cmd, Client, Error};

struct Args {
    url: String,
    cacert: Option<String>,
    repeat: u64,
    interval: Duration,
    stats: bool,
    command: Vec<String>,
}

const USAGE: &str = "usage: redis-cli [--url URL] [--cacert PEM] [--repeat N] [--interval MS] [--stats] CMD [ARG ...]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: std::env::var("PCONN_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
        cacert: std::env::var("PCONN_TEST_CA")
            .ok()
            .filter(|c| !c.is_empty()),
        repeat: 1,
        interval: Duration::ZERO,
        stats: false,
        command: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if !args.command.is_empty() {
            args.command.push(arg);
            continue;
        }
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--url" => args.url = value("--url")?,
            "--cacert" => args.cacert = Some(value("--cacert")?),
            "--repeat" => {
                args.repeat = value("--repeat")?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--repeat needs a positive number")?
            }
            "--interval" => {
                args.interval = Duration::from_millis(
                    value("--interval")?
                        .parse()
                        .map_err(|_| "--interval needs milliseconds")?,
                )
            }
            "--stats" => args.stats = true,
            "-h" | "--help" => return Err(USAGE.into()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{USAGE}")),
            _ => args.command.push(arg),
        }
    }
    if args.command.is_empty() {
        return Err(format!("no command given\n{USAGE}"));
    }
    Ok(args)
}

fn run(args: &Args) -> Result<String, Error> {
    let mut builder = Client::builder().url(&args.url)?;
    if args.url.starts_with("rediss://") {
        if let Some(ca) = &args.cacert {
            builder = builder.ca_file(ca);
        }
    }
    let client = builder.build()?;
    let mut command = cmd(&args.command[0]);
    for a in &args.command[1..] {
        command = command.arg(a);
    }
    let mut last = String::new();
    for i in 0..args.repeat {
        if i > 0 && !args.interval.is_zero() {
            std::thread::sleep(args.interval);
        }
        let mut conn = client.get()?;
        last = match conn.query_value(&command) {
            Ok(v) => v.to_cli_string(),
            Err(Error::Server(e)) => format!("(error) {e}"),
            Err(e) => return Err(e),
        };
    }
    if args.stats {
        last.push('\n');
        last.push_str(&client.stats().to_json());
    }
    Ok(last)
}

fn main() -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("redis-cli: {e}");
            ExitCode::FAILURE
        }
    }
}
