//! A tiny `redis-cli` on the pooled client.
//!
//! ```text
//! cargo run -q -p redis-client --example redis-cli -- [--url URL] [--cluster] [--replicas] \
//!     [--cacert PEM] [--repeat N] [--interval MS] [--stats] CMD [ARG ...]
//! ```
//!
//! Runs the command N times over the pool (sleeping between repetitions
//! when asked) and prints the last reply the way `redis-cli` does. With
//! `--stats` the last stdout line is the pool's counters as one JSON object.
//! `--url` takes `redis://`, `rediss://`, `unix:///path/to/redis.sock` and
//! `redis+unix://` URLs. With `RUST_LOG` set (e.g. `RUST_LOG=debug`) the
//! client's events (connect, reuse, reset, discard, retry) go to stderr.
//!
//! `--cluster`: the URL is a Redis Cluster URL (`redis://host:port,host:port`,
//! default `$PCONN_REDIS_CLUSTER_URL`); each command goes to the node
//! serving its keys, following redirects. A `redis+sentinel://` URL (for
//! example `$PCONN_REDIS_SENTINEL_URL`) finds the master through the
//! Sentinels. `--replicas` sends read-only commands to replicas (cluster or
//! Sentinel). With `--repeat` and `--interval`, a failover can be watched
//! from the outside: the client follows the new master.

use std::process::ExitCode;
use std::time::Duration;

use redis_client::{cmd, Client, ClusterClient, Cmd, Error, SentinelClient, Value};

struct Args {
    url: String,
    cacert: Option<String>,
    cluster: bool,
    replicas: bool,
    url_given: bool,
    repeat: u64,
    interval: Duration,
    stats: bool,
    command: Vec<String>,
}

const USAGE: &str = "usage: redis-cli [--url URL] [--cluster] [--replicas] [--cacert PEM] [--repeat N] [--interval MS] [--stats] CMD [ARG ...]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: std::env::var("PCONN_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
        cacert: std::env::var("PCONN_TEST_CA")
            .ok()
            .filter(|c| !c.is_empty()),
        cluster: false,
        replicas: false,
        url_given: false,
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
            "--url" => {
                args.url = value("--url")?;
                args.url_given = true;
            }
            "--cluster" => args.cluster = true,
            "--replicas" => args.replicas = true,
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
    if args.cluster && !args.url_given {
        args.url = std::env::var("PCONN_REDIS_CLUSTER_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "redis://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002".into());
    }
    Ok(args)
}

/// Where the commands go: one server, a cluster, or a Sentinel-watched master.
enum Target {
    Single(Client),
    Cluster(ClusterClient),
    Sentinel(SentinelClient),
}

impl Target {
    fn query(&self, c: &Cmd) -> Result<Value, Error> {
        match self {
            Target::Single(client) => client.get()?.query_value(c),
            // Whole-keyspace commands ask every master and add up.
            Target::Cluster(cluster) => match c.name().as_str() {
                "DBSIZE" => Ok(Value::Int(cluster.dbsize()? as i64)),
                "KEYS" if c.len() == 2 => {
                    let pattern = String::from_utf8_lossy(c.part(1).unwrap_or_default());
                    Ok(Value::Array(cluster.keys(&pattern)?))
                }
                _ => cluster.query_value(c),
            },
            Target::Sentinel(s) => s.query_value(c),
        }
    }

    fn stats_json(&self) -> String {
        match self {
            Target::Single(client) => client.stats().to_json(),
            Target::Cluster(cluster) => cluster.pool().stats().to_json(),
            Target::Sentinel(s) => s
                .master_client()
                .map(|c| c.stats().to_json())
                .unwrap_or_default(),
        }
    }
}

fn target(args: &Args) -> Result<Target, Error> {
    let tls = args.url.starts_with("rediss");
    let with_ca = |mut b: redis_client::ClientBuilder| {
        if tls {
            if let Some(ca) = &args.cacert {
                b = b.ca_file(ca);
            }
        }
        b
    };
    if args.url.starts_with("redis+sentinel://") || args.url.starts_with("rediss+sentinel://") {
        let mut b = SentinelClient::builder()
            .url(&args.url)?
            .read_from_replicas(args.replicas);
        if let (true, Some(ca)) = (tls, &args.cacert) {
            b = b.ca_file(ca);
        }
        return Ok(Target::Sentinel(b.build()?));
    }
    if args.cluster {
        let mut b = ClusterClient::builder()
            .url(&args.url)?
            .read_from_replicas(args.replicas);
        if let (true, Some(ca)) = (tls, &args.cacert) {
            b = b.ca_file(ca);
        }
        return Ok(Target::Cluster(b.build()?));
    }
    Ok(Target::Single(
        with_ca(Client::builder().url(&args.url)?).build()?,
    ))
}

fn run(args: &Args) -> Result<String, Error> {
    let client = target(args)?;
    let mut command = cmd(&args.command[0]);
    for a in &args.command[1..] {
        command = command.arg(a);
    }
    let mut last = String::new();
    for i in 0..args.repeat {
        if i > 0 && !args.interval.is_zero() {
            std::thread::sleep(args.interval);
        }
        last = match client.query(&command) {
            Ok(v) => v.to_cli_string(),
            Err(Error::Server(e)) => format!("(error) {e}"),
            Err(e) => return Err(e),
        };
    }
    if args.stats {
        last.push('\n');
        last.push_str(&client.stats_json());
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
