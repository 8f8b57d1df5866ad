//! `redis-cli` on the pooled client: one-shot commands, an interactive
//! prompt, `--pipe` and `--stat`, formatted as Redis's own `redis-cli`.
//!
//! ```text
//! cargo run -q -p pconn-redis --example redis-cli -- --help
//! cargo run -q -p pconn-redis --example redis-cli -- SET k v
//! cargo run -q -p pconn-redis --example redis-cli            # prompt
//! printf 'SET a 1\nINCR a\n' | cargo run -q -p pconn-redis --example redis-cli -- --pipe
//! ```
//!
//! `--url` takes `redis://`, `rediss://`, `unix:///path/to/redis.sock`,
//! `redis+unix://` and `redis+sentinel://` URLs; `--cluster` a Redis Cluster
//! URL (`redis://host:port,host:port`). With `RUST_LOG` set the client's
//! events (connect, reuse, reset, discard, retry) go to stderr.
//! Exit codes: 0 ok, 1 an error reply (one-shot) or errors in `--pipe`,
//! 2 usage or connection errors.

mod args;
mod modes;
mod target;

use std::io::IsTerminal;
use std::process::ExitCode;

use pconn_redis::Error;

fn main() -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let args = match args::parse() {
        Ok(a) => a,
        Err(msg) if msg == args::HELP => {
            println!("{msg}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("redis-cli: {msg}");
            return ExitCode::from(2);
        }
    };
    let mut target = match target::target(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("redis-cli: {e}; check --url (see --help)");
            return ExitCode::from(2);
        }
    };
    let code = if args.stat {
        modes::stat(&mut target, args.repeat, args.interval)
    } else if args.pipe || (args.command.is_empty() && !std::io::stdin().is_terminal()) {
        modes::pipe(&mut target)
    } else if args.command.is_empty() {
        modes::interactive(&mut target, &args)
    } else {
        one_shot(&mut target, &args)
    };
    ExitCode::from(code)
}

/// Runs the command `-r` times and prints each reply as redis-cli does.
fn one_shot(target: &mut target::Target, args: &args::Args) -> u8 {
    let words: Vec<Vec<u8>> = args.command.iter().map(|a| a.as_bytes().to_vec()).collect();
    let command = modes::to_cmd(&words);
    let mut code = 0;
    for i in 0..args.repeat.unwrap_or(1) {
        if i > 0 && !args.interval.is_zero() {
            std::thread::sleep(args.interval);
        }
        let r = target.query(&command);
        match modes::render(&r) {
            Some(out) => println!("{out}"),
            None => {
                let e = r.err().map(|e| e.to_string()).unwrap_or_default();
                eprintln!("redis-cli: {e}; is the server at {} up?", args.url);
                return 2;
            }
        }
        if matches!(r, Err(Error::Server(_))) {
            code = 1;
        }
    }
    if args.stats {
        println!("{}", target.stats_json());
    }
    code
}
