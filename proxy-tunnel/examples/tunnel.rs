//! Opens a tunnel (HTTP `CONNECT` or SOCKS) through a proxy, optionally TLS to the target
//! inside it, sends some text and prints what the target says until it goes
//! quiet.
//!
//! ```text
//! cargo run -q -p pconn-proxy --example tunnel -- --proxy URL --target HOST:PORT \
//!     [--tls] [--cacert PEM] [--send TEXT] [--stats]
//! cargo run -q -p pconn-proxy --example tunnel -- --proxy URL --target HOST:PORT \
//!     [--tls] [--cacert PEM] --stdio          # netcat-like
//! ```
//!
//! With `--stdio` stdin goes to the target and the target's bytes to
//! stdout, as `nc` does, until the target closes (or, once stdin has
//! ended, the target stays quiet for a second), e.g.
//! `printf 'PING\r\n' | tunnel --proxy socks5h://127.0.0.1:1080 --target 127.0.0.1:6379 --stdio`.
//!
//! `URL` is any proxy URL proxy-tunnel takes: `http://`, `https://`,
//! `socks5h://[user:pw@]host:port` (the proxy resolves the target),
//! `socks5://`, `socks4a://`, `socks4://`. With `RUST_LOG=pconn_proxy=debug`
//! (or `trace`) the tunnel's events go to stderr.
//!
//! `TEXT` may use `\r`, `\n`, `\t` and `\\` escapes. `--cacert` is trusted
//! for TLS to the target and, for an `https://` proxy, to the proxy. With
//! `--stats` the last line of stdout is the pool's statistics as one JSON
//! object (`opened`, `reused`, `discarded`, ...).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use pconn_proxy::Proxy;
use transport::{open, ConnectOptions, Endpoint, Pool, PoolConfig, PoolKey, TlsConfig};

/// How long the target may stay silent before we stop listening.
const QUIET: Duration = Duration::from_secs(1);

struct Args {
    proxy: String,
    target: String,
    tls: bool,
    cacert: Option<String>,
    send: Option<String>,
    stats: bool,
    stdio: bool,
}

const USAGE: &str = "usage: tunnel --proxy URL --target HOST:PORT [--tls] [--cacert PEM] [--send TEXT] [--stats] [--stdio]
  URL: http://, https://, socks5h://, socks5://, socks4a://, socks4:// with optional user:password@
  --stdio: join stdin/stdout to the target (netcat-like)
  exit codes: 0 done, 1 the tunnel or the target failed, 2 bad arguments";

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut proxy, mut target, mut cacert, mut send) = (None, None, None, None);
    let (mut tls, mut stats, mut stdio) = (false, false, false);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--proxy" => proxy = Some(value("--proxy")?),
            "--target" => target = Some(value("--target")?),
            "--cacert" => cacert = Some(value("--cacert")?),
            "--send" => send = Some(unescape(&value("--send")?)),
            "--tls" => tls = true,
            "--stats" => stats = true,
            "--stdio" => stdio = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        proxy: proxy.ok_or(format!("--proxy is required\n{USAGE}"))?,
        target: target.ok_or(format!("--target is required\n{USAGE}"))?,
        tls,
        cacert,
        send,
        stats,
        stdio,
    })
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// `host:port` or `[v6]:port`.
fn split_target(target: &str) -> Result<(String, u16), String> {
    let (host, port) = target
        .rsplit_once(':')
        .ok_or(format!("--target {target:?} is not HOST:PORT"))?;
    let port = port
        .parse()
        .map_err(|_| format!("invalid port in --target {target:?}"))?;
    Ok((host.to_string(), port))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let tls = match &args.cacert {
        Some(pem) => TlsConfig::builder().add_ca_file(pem).build()?,
        None => TlsConfig::system()?,
    };
    let proxy = Proxy::parse(&args.proxy)?.with_tls_config(tls.clone());
    let connector = proxy.connector();
    let (host, port) = split_target(&args.target)?;
    let mut endpoint = Endpoint::new(&host, port)?;
    let mut key = PoolKey::new("tunnel", endpoint.host(), endpoint.port());
    if args.tls {
        key = key.tls(tls.fingerprint());
        endpoint = endpoint.with_tls(tls);
    }
    if let Some(id) = connector.identity() {
        key = key.via(id);
    }
    let opts = ConnectOptions {
        read_timeout: Some(QUIET),
        ..ConnectOptions::default()
    };
    let pool: Pool<()> = Pool::new(PoolConfig::default())?;
    {
        let mut guard = pool.checkout(&key, || -> transport::Result<_> {
            Ok((open(&endpoint, &*connector, &opts)?, ()))
        })?;
        let conn = guard.conn();
        eprintln!(
            "tunnel: {} -> {} via {proxy}{}",
            conn.peer_addr().map(|a| a.to_string()).unwrap_or_default(),
            endpoint.authority(),
            if conn.is_tls() {
                " (TLS to the target)"
            } else {
                ""
            }
        );
        if let Some(text) = &args.send {
            conn.write_all(text.as_bytes())?;
        }
        if args.stdio {
            return join_stdio(conn);
        }
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut chunk = [0u8; 8192];
        let mut ends_in_newline = true;
        loop {
            match conn.read_into(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    out.write_all(&chunk[..n])?;
                    out.flush()?;
                    ends_in_newline = chunk[n - 1] == b'\n';
                }
                // Quiet for QUIET: the target has said what it had to say.
                Err(e) if e.is_timeout() => break,
                Err(e) => return Err(e.into()),
            }
        }
        if !ends_in_newline {
            // So the stats line, if any, starts on its own line.
            writeln!(out)?;
        }
    }
    if args.stats {
        println!("{}", pool.stats().to_json());
    }
    Ok(())
}

/// Copies stdin to the target and the target to stdout until the target
/// closes, or stdin has ended and the target stays quiet for [`QUIET`].
/// stdin is read on a thread of its own; the connection stays on this one.
fn join_stdio(conn: &mut transport::Conn) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Read;
    use std::sync::mpsc::{self, TryRecvError};
    use std::time::Instant;

    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut chunk = vec![0u8; 16 * 1024];
        while let Ok(n @ 1..) = stdin.read(&mut chunk) {
            if tx.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut chunk = [0u8; 16 * 1024];
    let (mut stdin_open, mut quiet_since) = (true, Instant::now());
    loop {
        while stdin_open {
            match rx.try_recv() {
                Ok(data) => conn.write_all(&data)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    stdin_open = false;
                    quiet_since = Instant::now();
                }
            }
        }
        match conn.wait_readable(Duration::from_millis(20)) {
            Ok(true) => {
                let n = conn.read_into(&mut chunk)?;
                if n == 0 {
                    return Ok(());
                }
                out.write_all(&chunk[..n])?;
                out.flush()?;
                quiet_since = Instant::now();
            }
            Ok(false) if !stdin_open && quiet_since.elapsed() >= QUIET => return Ok(()),
            Ok(false) => {}
            Err(transport::Error::Closed { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

fn main() -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut msg = format!("tunnel: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                // Wrappers that display their source would repeat it.
                let shown = s.to_string();
                if !msg.contains(&shown) {
                    msg.push_str(&format!(": {shown}"));
                }
                source = s.source();
            }
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}
