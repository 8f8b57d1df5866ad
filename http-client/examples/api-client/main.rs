//! A small curl on the pooled client: the flags people type every day, and
//! repeated requests that share connections.
//!
//! ```text
//! cargo run -q -p pconn-http --features gzip,cookies --example api-client -- [options] URL
//! ```
//!
//! Options (curl's meaning unless said otherwise):
//!
//! ```text
//!   -X, --request METHOD        method (default GET, POST with a body)
//!   -H, --header 'Name: value'  a header field (repeatable)
//!   -d, --data DATA             a body; @FILE reads it from FILE (newlines kept)
//!       --data-binary DATA      the same (@FILE read as bytes)
//!       --json DATA             a JSON body, with Content-Type and Accept set
//!   -F, --form NAME=VALUE|NAME=@FILE  a multipart/form-data field or file (repeatable)
//!   -u, --user USER:PASSWORD    Basic authentication (Digest with --digest)
//!       --digest                answer the server's Digest challenge with -u's
//!                               credentials (RFC 7616; needs --features digest)
//!   -L, --location              follow redirects (default: return them)
//!       --max-redirs N          at most N redirects with -L (default 50)
//!   -b, --cookie FILE|N=V       send cookies: a jar saved by -c, or literal pairs
//!   -c, --cookie-jar FILE       keep cookies in a jar and save it to FILE (JSON)
//!       --compressed            ask for gzip/deflate and decode the body
//!   -o, --output FILE           write the body to FILE (a progress line on stderr
//!                               when it is a terminal)
//!   -s, --silent                no progress line
//!   -i, --include               print the status line and headers first
//!   -v, --verbose               the request and response heads on stderr
//!       --connect-timeout SECS  the connect phase (DNS, TCP, TLS)
//!   -m, --max-time SECS         the whole request
//!       --cacert PEM            trust this CA too
//!   -k, --insecure              refused: give --cacert with the server's CA instead
//!       --proxy URL             through this proxy
//!       --unix-socket PATH      connect to this Unix socket (the URL names the Host)
//!       --retry N               try again up to N times (connect errors, timeouts, 429, 503)
//!       --repeat N              send N times (connections are reused)
//!       --interval MS           pause between repeats
//!       --stats                 the pool's counters as one JSON line at the end
//! ```
//!
//! With `RUST_LOG` set (`RUST_LOG=debug`), the client's and the pool's
//! events go to stderr.
//!
//! Exit codes: 0 done, 2 bad usage, 1 the request failed (the message says
//! what and what to try), 22 an HTTP error status with `--fail`.

mod output;
mod progress;

use std::process::ExitCode;
use std::time::Duration;

use pconn_http::Client;

use output::write_response;

#[derive(Default)]
struct Args {
    method: Option<String>,
    headers: Vec<(String, String)>,
    data: Option<Vec<u8>>,
    json: bool,
    form: Vec<(String, String)>,
    user: Option<String>,
    digest: bool,
    location: bool,
    max_redirs: u32,
    cookie: Option<String>,
    cookie_jar: Option<String>,
    compressed: bool,
    output: Option<String>,
    silent: bool,
    include: bool,
    verbose: bool,
    fail: bool,
    connect_timeout: Option<Duration>,
    max_time: Option<Duration>,
    cacert: Option<String>,
    proxy: Option<String>,
    unix_socket: Option<String>,
    retry: u32,
    repeat: u32,
    interval: Duration,
    stats: bool,
    url: String,
}

const USAGE: &str = "usage: api-client [-X METHOD] [-H 'Name: value']... [-d DATA|@FILE] \
[--data-binary DATA|@FILE] [--json DATA] [-F NAME=VALUE|NAME=@FILE]... [-u USER:PASS] [-L] [--max-redirs N] [-b FILE|N=V] \
[-c FILE] [--compressed] [-o FILE] [-s] [-i] [-v] [-f] [--connect-timeout S] [-m S] [--cacert PEM] \
[--proxy URL] [--unix-socket PATH] [--retry N] [--repeat N] [--interval MS] [--stats] URL
  (see the top of examples/api-client/main.rs for what each does)";

/// Reads `@FILE` data, or takes the text as it is.
fn data(value: String) -> Result<Vec<u8>, String> {
    match value.strip_prefix('@') {
        Some(path) => std::fs::read(path).map_err(|e| format!("reading {path}: {e}")),
        None => Ok(value.into_bytes()),
    }
}

fn seconds(name: &str, value: String) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{name}: {value:?} is not a positive number of seconds"))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        repeat: 1,
        max_redirs: 50,
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
            "-d" | "--data" | "--data-binary" => args.data = Some(data(value(&arg)?)?),
            "--json" => {
                args.data = Some(data(value("--json")?)?);
                args.json = true;
            }
            "-F" | "--form" => {
                let f = value("-F")?;
                let (name, val) = f
                    .split_once('=')
                    .ok_or_else(|| format!("-F {f:?}: expected NAME=VALUE or NAME=@FILE"))?;
                args.form.push((name.to_string(), val.to_string()));
            }
            "-u" | "--user" => args.user = Some(value("-u")?),
            "--digest" => args.digest = true,
            "-L" | "--location" => args.location = true,
            "--max-redirs" => {
                args.max_redirs = value("--max-redirs")?
                    .parse()
                    .map_err(|e| format!("--max-redirs: {e}"))?
            }
            "-b" | "--cookie" => args.cookie = Some(value("-b")?),
            "-c" | "--cookie-jar" => args.cookie_jar = Some(value("-c")?),
            "--compressed" => args.compressed = true,
            "-o" | "--output" => args.output = Some(value("-o")?),
            "-s" | "--silent" => args.silent = true,
            "-i" | "--include" => args.include = true,
            "-v" | "--verbose" => args.verbose = true,
            "-f" | "--fail" => args.fail = true,
            "--connect-timeout" => args.connect_timeout = Some(seconds(&arg, value(&arg)?)?),
            "-m" | "--max-time" => args.max_time = Some(seconds(&arg, value(&arg)?)?),
            "--cacert" => args.cacert = Some(value("--cacert")?),
            "-k" | "--insecure" => {
                return Err("-k/--insecure is refused: certificate checks stay on. \
                    Give the server's CA with --cacert FILE instead."
                    .to_string())
            }
            "--proxy" | "-x" => args.proxy = Some(value("--proxy")?),
            "--unix-socket" => args.unix_socket = Some(value("--unix-socket")?),
            "--retry" => {
                args.retry = value("--retry")?
                    .parse()
                    .map_err(|e| format!("--retry: {e}"))?
            }
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
            "--stats" => args.stats = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other if other.starts_with('-') && other.len() > 1 => {
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
    if args.digest && args.user.is_none() {
        return Err("--digest answers with -u's credentials: give -u USER:PASSWORD".into());
    }
    Ok(args)
}

/// The cookie jar for `-b FILE` / `-c FILE`, and literal `-b` pairs.
#[cfg(feature = "cookies")]
fn cookie_jar(args: &Args) -> Result<(Option<pconn_http::CookieJar>, Option<String>), String> {
    use pconn_http::CookieJar;
    let literal = args.cookie.clone().filter(|c| c.contains('='));
    let file = args.cookie.clone().filter(|c| !c.contains('='));
    let jar = match (&file, &args.cookie_jar) {
        (Some(path), _) => {
            let f = std::fs::File::open(path).map_err(|e| format!("-b {path}: {e}"))?;
            Some(CookieJar::load_json(std::io::BufReader::new(f)).map_err(|e| e.to_string())?)
        }
        (None, Some(_)) => Some(CookieJar::new()),
        (None, None) => None,
    };
    Ok((jar, literal))
}

/// `--digest`: the request answers a Digest challenge with these credentials.
#[cfg(feature = "digest")]
fn digest_auth<'c>(
    req: pconn_http::RequestBuilder<'c>,
    name: &str,
    password: &str,
) -> Result<pconn_http::RequestBuilder<'c>, String> {
    Ok(req.digest_auth(name, password))
}

#[cfg(not(feature = "digest"))]
fn digest_auth<'c>(
    _: pconn_http::RequestBuilder<'c>,
    _: &str,
    _: &str,
) -> Result<pconn_http::RequestBuilder<'c>, String> {
    Err("--digest needs the digest feature (--features digest)".into())
}

fn run(args: &Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut builder = Client::builder()
        .decompress(args.compressed)
        .max_redirects(if args.location { args.max_redirs } else { 0 });
    if args.compressed && !cfg!(feature = "gzip") {
        return Err("--compressed needs the gzip feature (--features gzip)".into());
    }
    if let Some(ca) = &args.cacert {
        builder = builder.add_ca_file(ca);
    }
    if args.retry > 0 {
        builder = builder.retry(pconn_http::RetryPolicy::new(args.retry));
    }
    if let Some(proxy) = &args.proxy {
        builder = builder.proxy(proxy);
    }
    if let Some(path) = &args.unix_socket {
        builder = builder.unix_socket(path).proxy_from_env(false);
    }
    if let Some(t) = args.connect_timeout {
        builder = builder.connect_timeout(t);
    }
    if let Some(t) = args.max_time {
        builder = builder.timeout(Some(t));
    }
    #[cfg(feature = "cookies")]
    let (jar, literal_cookie) = cookie_jar(args)?;
    #[cfg(feature = "cookies")]
    if let Some(jar) = &jar {
        builder = builder.cookie_jar(jar.clone());
    }
    #[cfg(not(feature = "cookies"))]
    let literal_cookie = match (&args.cookie, &args.cookie_jar) {
        (Some(c), None) if c.contains('=') => Some(c.clone()),
        (None, None) => None,
        _ => return Err("a cookie jar file needs the cookies feature (--features cookies)".into()),
    };
    let client = builder.build()?;
    let method = args.method.clone().unwrap_or_else(|| {
        if args.data.is_some() || !args.form.is_empty() {
            "POST"
        } else {
            "GET"
        }
        .to_string()
    });
    let mut code = ExitCode::SUCCESS;
    for i in 0..args.repeat {
        if i > 0 && !args.interval.is_zero() {
            std::thread::sleep(args.interval);
        }
        let mut req = client.request(&method, &args.url);
        for (name, value) in &args.headers {
            req = req.header(name, value);
        }
        if let Some(cookie) = &literal_cookie {
            req = req.header("Cookie", cookie);
        }
        if let Some(user) = &args.user {
            let (name, password) = user.split_once(':').unwrap_or((user, ""));
            req = if args.digest {
                digest_auth(req, name, password)?
            } else {
                req.basic_auth(name, password)
            };
        }
        let has = |name: &str| {
            args.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if args.json {
            if !has("content-type") {
                req = req.header("Content-Type", "application/json");
            }
            if !has("accept") {
                req = req.header("Accept", "application/json");
            }
        } else if args.data.is_some() && !has("content-type") {
            req = req.header("Content-Type", "application/x-www-form-urlencoded");
        }
        if args.verbose {
            eprintln!("> {method} {}", args.url);
            for (name, value) in &args.headers {
                eprintln!("> {name}: {value}");
            }
        }
        let resp = match &args.data {
            Some(body) => req.send_bytes(body)?,
            None if !args.form.is_empty() => req.send_multipart(form(&args.form)?)?,
            None => req.call()?,
        };
        if args.fail && resp.status() >= 400 {
            eprintln!(
                "api-client: the server answered {} {}",
                resp.status(),
                resp.reason()
            );
            code = ExitCode::from(22);
            continue;
        }
        write_response(args, resp)?;
    }
    #[cfg(feature = "cookies")]
    if let (Some(jar), Some(path)) = (&jar, &args.cookie_jar) {
        let mut f = std::fs::File::create(path).map_err(|e| format!("-c {path}: {e}"))?;
        jar.save_json(&mut f)?;
    }
    if args.stats {
        println!("{}", client.stats().to_json());
    }
    Ok(code)
}

/// The `-F` fields as a form; `@FILE` values are streamed from the file.
fn form(fields: &[(String, String)]) -> Result<pconn_http::Multipart, String> {
    let mut form = pconn_http::Multipart::new();
    for (name, value) in fields {
        form = match value.strip_prefix('@') {
            Some(path) => {
                let file =
                    std::fs::File::open(path).map_err(|e| format!("-F {name}=@{path}: {e}"))?;
                let file_name = std::path::Path::new(path)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(path);
                form.file(name, file_name, "application/octet-stream", file)
            }
            None => form.text(name, value),
        };
    }
    Ok(form)
}

fn main() -> ExitCode {
    // Events of the client and its pool (connect, reuse, redirects, ...)
    // on stderr with RUST_LOG set, e.g. RUST_LOG=debug.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
        Ok(code) => code,
        Err(e) => {
            eprintln!("api-client: {e}");
            ExitCode::FAILURE
        }
    }
}
