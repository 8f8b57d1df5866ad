//! The three ways of running besides one-shot: the interactive prompt,
//! `--pipe` (many commands from stdin, pipelined) and `--stat`.

use std::io::BufRead;
use std::time::Duration;

use pconn_redis::{cmd, Cmd, Error, Pipeline, Value};
use rustyline::error::ReadlineError;

use crate::args::{split_line, Args};
use crate::target::Target;

/// Builds a command from split words.
pub fn to_cmd(words: &[Vec<u8>]) -> Cmd {
    let mut c = cmd(&String::from_utf8_lossy(&words[0]));
    for w in &words[1..] {
        c = c.arg(w.as_slice());
    }
    c
}

/// A reply or a server error, as redis-cli prints it.
pub fn render(r: &Result<Value, Error>) -> Option<String> {
    match r {
        Ok(v) => Some(v.to_cli_string()),
        Err(Error::Server(e)) => Some(format!("(error) {e}")),
        Err(_) => None,
    }
}

/// `host:port` (or the socket path) of the URL, for the prompt; and the db.
fn prompt_base(url: &str) -> (String, i64) {
    let first = url.split(',').next().unwrap_or(url);
    match url::Url::parse(first) {
        Ok(u) if u.scheme().contains("unix") => (format!("redis {}", u.path()), 0),
        Ok(u) => {
            let db = u.path().trim_start_matches('/').parse().unwrap_or(0);
            let host = u.host_str().unwrap_or("127.0.0.1").to_string();
            (format!("{host}:{}", u.port().unwrap_or(6379)), db)
        }
        Err(_) => (first.to_string(), 0),
    }
}

/// The interactive prompt. Returns the exit code.
pub fn interactive(target: &mut Target, args: &Args) -> u8 {
    let (base, mut db) = prompt_base(&args.url);
    let history = std::env::var("PCONN_REDIS_HISTORY")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::env::var("HOME")
                .ok()
                .map(|h| format!("{h}/.pconn_redis_history"))
        });
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("redis-cli: cannot set up the terminal: {e}");
            return 2;
        }
    };
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    loop {
        let prompt = if db != 0 {
            format!("{base}[{db}]> ")
        } else {
            format!("{base}> ")
        };
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("redis-cli: reading the terminal failed: {e}");
                return 2;
            }
        };
        let words = match split_line(&line) {
            Ok(w) if w.is_empty() => continue,
            Ok(w) => w,
            Err(e) => {
                println!("Invalid argument(s): {e}");
                continue;
            }
        };
        let _ = editor.add_history_entry(line.as_str());
        if let Some(h) = &history {
            let _ = editor.save_history(h);
        }
        let name = String::from_utf8_lossy(&words[0]).to_ascii_lowercase();
        if name == "quit" || name == "exit" {
            break;
        }
        let r = target.query(&to_cmd(&words));
        if name == "select" && r.is_ok() && words.len() == 2 {
            db = String::from_utf8_lossy(&words[1]).parse().unwrap_or(db);
        }
        match render(&r) {
            Some(out) => println!("{out}"),
            None => println!(
                "Could not connect to Redis at {base}: {}",
                r.err().map(|e| e.to_string()).unwrap_or_default()
            ),
        }
    }
    0
}

/// `--pipe`: one command per line from stdin, sent pipelined in batches.
pub fn pipe(target: &mut Target) -> u8 {
    const BATCH: usize = 1000;
    let (mut errors, mut replies) = (0u64, 0u64);
    let mut batch: Vec<Cmd> = Vec::new();
    let mut lines = std::io::stdin().lock().lines();
    let mut done = false;
    while !done {
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            match split_line(&line) {
                Ok(w) if w.is_empty() => {}
                Ok(w) => {
                    batch.push(to_cmd(&w));
                }
                Err(e) => {
                    eprintln!("redis-cli: skipped a line: {e}: {line}");
                    errors += 1;
                }
            }
            if batch.len() >= BATCH {
                break;
            }
        }
        done = batch.len() < BATCH;
        let results = match &mut *target {
            Target::Single(client, held) => {
                let conn = match held {
                    Some(c) => Ok(c),
                    None => client.get().map(|c| held.insert(c)),
                };
                let mut p = Pipeline::new();
                for c in &batch {
                    p.add(c.clone());
                }
                conn.and_then(|c| c.pipeline(&p))
            }
            other => Ok(batch_one_by_one(other, &batch)),
        };
        match results {
            Ok(results) => {
                for r in results {
                    replies += 1;
                    if let Err(e) = r {
                        errors += 1;
                        eprintln!("{e}");
                    }
                }
            }
            Err(e) => {
                eprintln!("redis-cli: the pipeline failed: {e}; check the server and the URL");
                return 2;
            }
        }
        batch.clear();
    }
    println!("All data transferred. Waiting for the last reply...");
    println!("Last reply received from server.");
    println!("errors: {errors}, replies: {replies}");
    u8::from(errors > 0)
}

fn batch_one_by_one(
    target: &mut Target,
    batch: &[Cmd],
) -> Vec<Result<Value, pconn_redis::ServerError>> {
    batch
        .iter()
        .map(|c| match target.query(c) {
            Ok(v) => Ok(v),
            Err(Error::Server(e)) => Err(e),
            Err(e) => Ok(Value::Error(pconn_redis::ServerError::parse(
                &e.to_string(),
            ))),
        })
        .collect()
}

/// `--stat`: a line per interval from INFO, `lines` of them (unbounded
/// without `-r`).
pub fn stat(target: &mut Target, lines: Option<u64>, interval: Duration) -> u8 {
    let interval = if interval.is_zero() {
        Duration::from_secs(1)
    } else {
        interval
    };
    let mut last_requests: Option<u64> = None;
    let mut i = 0u64;
    while lines.is_none_or(|n| i < n) {
        if i > 0 {
            std::thread::sleep(interval);
        }
        if i % 20 == 0 {
            println!(
                "------- data ------ --------------------- load -------------------- - child -"
            );
            println!(
                "keys       mem      clients blocked requests            connections          "
            );
        }
        let info = match target.query(&cmd("INFO")) {
            Ok(Value::Bulk(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(Value::Verbatim { text, .. }) => text,
            Ok(other) => other.to_cli_string(),
            Err(e) => {
                eprintln!("redis-cli: INFO failed: {e}; check the server and the URL");
                return 2;
            }
        };
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let keys: u64 = info
            .lines()
            .filter(|l| l.starts_with("db"))
            .filter_map(|l| {
                l.split("keys=")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum();
        let requests: u64 = field("total_commands_processed").parse().unwrap_or(0);
        let delta = last_requests.map_or(String::new(), |l| {
            format!(" (+{})", requests.saturating_sub(l))
        });
        last_requests = Some(requests);
        println!(
            "{:<10} {:<8} {:<7} {:<7} {:<19} {}",
            keys,
            field("used_memory_human"),
            field("connected_clients"),
            field("blocked_clients"),
            format!("{requests}{delta}"),
            field("total_connections_received"),
        );
        i += 1;
    }
    0
}
