//! Command-line flags and the `redis-cli` way of splitting a typed line
//! into arguments (double quotes with escapes, single quotes).

use std::time::Duration;

/// What the command line asked for.
pub struct Args {
    pub url: String,
    pub cacert: Option<String>,
    pub cluster: bool,
    pub replicas: bool,
    pub url_given: bool,
    /// `-r N`: run the command N times (`--stat`: N lines).
    pub repeat: Option<u64>,
    /// `-i S`: wait this long between repetitions.
    pub interval: Duration,
    pub stats: bool,
    pub pipe: bool,
    pub stat: bool,
    pub command: Vec<String>,
}

pub const HELP: &str = "\
redis-cli: a Redis command-line client on the pooled, persistent connections

usage: redis-cli [OPTIONS] [CMD [ARG ...]]

With a command: runs it and prints the reply as Redis's redis-cli does.
Without one, on a terminal: an interactive prompt with line editing and
history (~/.pconn_redis_history, or $PCONN_REDIS_HISTORY).
Without one and stdin not a terminal (or with --pipe): reads one command per
line from stdin, sends them pipelined, prints `errors: N, replies: M`.

options:
  --url URL        redis://, rediss://, unix:///path.sock, redis+unix://,
                   redis+sentinel:// (default $PCONN_REDIS_URL or
                   redis://127.0.0.1:6379)
  --cluster        the URL lists Redis Cluster nodes (default
                   $PCONN_REDIS_CLUSTER_URL)
  --replicas       read-only commands go to replicas (cluster, Sentinel)
  --cacert PEM     CA file for rediss:// (default $PCONN_TEST_CA)
  -r N             repeat the command N times (--stat: N lines)
  -i SECONDS       wait between repetitions (decimals allowed: -i 0.1)
  --interval MS    the same in milliseconds; --repeat N is -r N
  --pipe           read commands from stdin even on a terminal
  --stat           a line per interval (default 1 s) of keys, memory,
                   clients, requests and connections from INFO
  --stats          after the reply, the pool's counters as a JSON line
  -h, --help       this text

exit codes: 0 ok; 1 a command got an error reply (one-shot) or --pipe saw
errors; 2 usage or connection error.

examples:
  redis-cli PING
  redis-cli --url redis://127.0.0.1:6379/2 SET greeting \"hello world\"
  redis-cli -r 5 -i 0.5 INCR counter
  printf 'SET a 1\\nINCR a\\n' | redis-cli --pipe
  redis-cli --stat -r 10
  redis-cli --cluster --url redis://127.0.0.1:7000 GET k
  redis-cli --url redis+sentinel://127.0.0.1:26390/mymaster
  RUST_LOG=debug redis-cli GET k    # connect/reuse/reset events on stderr";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Parses the process arguments; `Err` is the message for stderr (exit 2).
pub fn parse() -> Result<Args, String> {
    let mut args = Args {
        url: env("PCONN_REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
        cacert: env("PCONN_TEST_CA"),
        cluster: false,
        replicas: false,
        url_given: false,
        repeat: None,
        interval: Duration::ZERO,
        stats: false,
        pipe: false,
        stat: false,
        command: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if !args.command.is_empty() {
            args.command.push(arg);
            continue;
        }
        let mut value = |name: &str| {
            it.next()
                .ok_or(format!("{name} needs a value (see --help)"))
        };
        match arg.as_str() {
            "--url" | "-u" => {
                args.url = value("--url")?;
                args.url_given = true;
            }
            "--cluster" => args.cluster = true,
            "--replicas" => args.replicas = true,
            "--cacert" => args.cacert = Some(value("--cacert")?),
            "-r" | "--repeat" => {
                args.repeat = Some(
                    value(&arg)?
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or(format!("{arg} needs a positive whole number, e.g. -r 5"))?,
                )
            }
            "-i" => {
                let s: f64 = value("-i")?
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or("-i needs seconds, e.g. -i 1 or -i 0.25")?;
                args.interval = Duration::from_secs_f64(s);
            }
            "--interval" => {
                args.interval = Duration::from_millis(
                    value("--interval")?
                        .parse()
                        .map_err(|_| "--interval needs milliseconds, e.g. --interval 500")?,
                )
            }
            "--stats" => args.stats = true,
            "--pipe" => args.pipe = true,
            "--stat" => args.stat = true,
            "-h" | "--help" => return Err(HELP.into()),
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(format!("unknown option {s}; try redis-cli --help"))
            }
            _ => args.command.push(arg),
        }
    }
    if args.cluster && !args.url_given {
        args.url = env("PCONN_REDIS_CLUSTER_URL")
            .unwrap_or_else(|| "redis://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002".into());
    }
    Ok(args)
}

/// Splits a typed line the way `redis-cli` does: words separated by
/// spaces; `"..."` with `\n \r \t \b \a \\ \" \xHH` escapes; `'...'` with
/// only `\'`. `Err` names what is wrong (an unbalanced quote).
pub fn split_line(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(out);
        };
        let mut word = Vec::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                let c = chars.next().ok_or("unbalanced quotes in the line")?;
                match (first, c) {
                    (q, c) if c == q => break,
                    ('"', '\\') => {
                        let e = chars.next().ok_or("unbalanced quotes in the line")?;
                        let b = match e {
                            'n' => b'\n',
                            'r' => b'\r',
                            't' => b'\t',
                            'b' => 8,
                            'a' => 7,
                            'x' => {
                                let hex: String = chars.by_ref().take(2).collect();
                                u8::from_str_radix(&hex, 16)
                                    .map_err(|_| format!("bad escape \\x{hex}"))?
                            }
                            other => {
                                push_char(&mut word, other);
                                continue;
                            }
                        };
                        word.push(b);
                    }
                    ('\'', '\\') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        word.push(b'\'');
                    }
                    (_, c) => push_char(&mut word, c),
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return Err("a closing quote must be followed by a space".into());
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                push_char(&mut word, c);
            }
        }
        out.push(word);
    }
}

fn push_char(word: &mut Vec<u8>, c: char) {
    word.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
}
