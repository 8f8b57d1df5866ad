//! A small curl on the pooled client: repeated requests share connections.
//!
//! ```text
//! cargo run -q -p http-client --example api-client -- [-X METHOD] [-H 'Name: value' ...]
//!     [--data BODY] [--json] [--cacert PEM] [--proxy URL] [--repeat N] [--interval MS]
//!     [-i] [--stats] URL
//! ```
//!
//! Prints the status line, the headers with `-i`, and the body of each
//! response. With `--stats` the last stdout line is the pool's counters as
//! one JSON object (`opened`, `reused`, `discarded`, ...).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use http_client::Client;

#[derive(Default)]
struct Args {
    method: Option<String>,
    headers: Vec<(String, String)>,
    data: Option<String>,
    json: bool,
    cacert: Option<String>,
    proxy: Option<String>,
    repeat: u32,
    interval: Duration,
    include: bool,
    stats: bool,
    url: String,
}

const USAGE: &str = "usage: api-client [-X METHOD] [-H 'Name: value' ...] [--data BODY] [--json] \
[--cacert PEM] [--proxy URL] [--repeat N] [--interval MS] [-i] [--stats] URL";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        repeat: 1,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    let mut url = None;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-X" | "--request" => args.method = Some(value("-X")?),
            "-H" | "--header" => {
                let h = value("-H")?;
                let (name, val) = h
                    .split_once(':')
                    .ok_or_else(|| format!("header {h:?}: expected 'Name: value'"))?;
                args.headers
                    .push((name.trim().to_string(), val.trim().to_string()));
            }
            "-d" | "--data" => args.data = Some(value("--data")?),
            "--json" => args.json = true,
            "--cacert" => args.cacert = Some(value("--cacert")?),
            "--proxy" => args.proxy = Some(value("--proxy")?),
            "--repeat" => {
                args.repeat = value("--repeat")?
                    .parse()
                    .map_err(|e| format!("--repeat: {e}"))?
            }
            "--interval" => {
                let ms: u64 = value("--interval")?
                    .parse()
                    .map_err(|e| format!("--interval: {e}"))?;
                args.interval = Duration::from_millis(ms);
            }
            "-i" | "--include" => args.include = true,
            "--stats" => args.stats = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other}\n{USAGE}"))
            }
            other => {
                if url.replace(other.to_string()).is_some() {
                    return Err(format!("more than one URL\n{USAGE}"));
                }
            }
        }
    }
    args.url = url.ok_or_else(|| USAGE.to_string())?;
    Ok(args)
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Client::builder();
    if let Some(ca) = &args.cacert {
        builder = builder.add_ca_file(ca);
    }
    if let Some(proxy) = &args.proxy {
        builder = builder.proxy(proxy);
    }
    let client = builder.build()?;
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if args.data.is_some() { "POST" } else { "GET" }.to_string());
    let stdout = std::io::stdout();
    for i in 0..args.repeat {
        if i > 0 && !args.interval.is_zero() {
            std::thread::sleep(args.interval);
        }
        let mut req = client.request(&method, &args.url);
        for (name, value) in &args.headers {
            req = req.header(name, value);
        }
        if args.json {
            if !args
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                req = req.header("Content-Type", "application/json");
            }
            if !args
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
            {
                req = req.header("Accept", "application/json");
            }
        }
        let resp = match &args.data {
            Some(body) => req.send_string(body)?,
            None => req.call()?,
        };
        let mut out = stdout.lock();
        writeln!(
            out,
            "{} {} {}",
            resp.version(),
            resp.status(),
            resp.reason()
        )?;
        if args.include {
            for (name, value) in resp.headers().iter() {
                writeln!(out, "{name}: {}", String::from_utf8_lossy(value))?;
            }
            writeln!(out)?;
        }
        let body = resp.bytes()?;
        out.write_all(&body)?;
        if !body.ends_with(b"\n") && !body.is_empty() {
            writeln!(out)?;
        }
    }
    if args.stats {
        println!("{}", client.stats().to_json());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("api-client: {e}");
            ExitCode::FAILURE
        }
    }
}
