//! Performance at scale, side by side in one run (see `bench/scale/run.sh`,
//! which starts a dedicated nginx and redis-server pinned to CPU 0):
//!
//! ```text
//! bench-scale threads  [--threads 1,4,16,64] [--slice-ms 300] [--rounds 3]
//! bench-scale latency  [--delays 0.5,2,10] [--rounds 3]
//! bench-scale memory   [--conns 1000]
//! bench-scale alloc
//! bench-scale keys     [--keys 1,100,1000,10000] [--ops 200000]
//! bench-scale chart    (SVG charts from the JSON files in --out)
//! ```
//! Common: `--http URL --https URL --ca FILE --redis URL --out DIR`.
//! Every command writes `DIR/<command>.json`; `chart` draws from them.

mod alloc;
mod chart;
mod clients;
mod harness;
mod keys;
mod latency;
mod memory;
mod raw;
mod relay;
mod threads;

use std::path::PathBuf;
use std::time::Duration;

use clients::HttpTarget;

#[global_allocator]
static COUNTING: alloc::Counting = alloc::Counting;

struct Args {
    cmd: String,
    flags: Vec<(String, String)>,
}

impl Args {
    fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_string()
    }
    fn list<T: std::str::FromStr>(&self, name: &str, default: &str) -> Vec<T> {
        self.or(name, default)
            .split(',')
            .map(|v| {
                v.trim()
                    .parse()
                    .ok()
                    .unwrap_or_else(|| panic!("--{name}: bad value {v}"))
            })
            .collect()
    }
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_else(|| "help".into());
    let mut flags = Vec::new();
    while let Some(k) = it.next() {
        let k = k.trim_start_matches("--").to_string();
        let v = it.next().unwrap_or_else(|| panic!("--{k} needs a value"));
        flags.push((k, v));
    }
    Args { cmd, flags }
}

fn target(a: &Args, key: &str, default: &str) -> HttpTarget {
    let url = url_parts(&a.or(key, default));
    let ca_file = PathBuf::from(a.or("ca", "../../.servers/certs/ca.pem"));
    HttpTarget {
        https: url.0 == "https",
        host: url.1,
        port: url.2,
        path: url.3,
        ca_pem: std::fs::read(&ca_file).expect("--ca: the test CA"),
        ca_file,
    }
}

/// scheme, host, port, path of a plain `scheme://host:port/path` URL.
fn url_parts(url: &str) -> (String, String, u16, String) {
    let (scheme, rest) = url.split_once("://").expect("URL with a scheme");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = authority.rsplit_once(':').expect("URL with a port");
    let path = if path.is_empty() { "/" } else { path };
    (
        scheme.into(),
        host.into(),
        port.parse().expect("port"),
        path.into(),
    )
}

fn write_json<T: serde::Serialize>(a: &Args, name: &str, rows: &T) {
    let dir = PathBuf::from(a.or("out", "results"));
    std::fs::create_dir_all(&dir).expect("--out dir");
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(rows).unwrap()).expect("write results");
    eprintln!("wrote {}", path.display());
}

fn main() {
    let a = args();
    let http = || target(&a, "http", "http://127.0.0.1:8080/small");
    let https = || target(&a, "https", "https://localhost:8443/small");
    let redis_url = a.or("redis", "redis://127.0.0.1:6379");
    match a.cmd.as_str() {
        "threads" => {
            let (_, host, port, _) = url_parts(&redis_url);
            let rows = threads::run(&threads::Opts {
                threads: a.list("threads", "1,4,16,64"),
                slice: Duration::from_millis(a.or("slice-ms", "300").parse().expect("--slice-ms")),
                rounds: a.or("rounds", "3").parse().expect("--rounds"),
                http: http(),
                https: https(),
                redis_host: host,
                redis_port: port,
            });
            write_json(&a, "threads", &rows);
        }
        "latency" => {
            let rows = latency::run(
                &http(),
                &https(),
                &a.list("delays", "0.5,2,10"),
                a.or("rounds", "3").parse().expect("--rounds"),
            );
            write_json(&a, "latency", &rows);
        }
        "memory" => {
            let n = a.or("conns", "1000");
            let rows = memory::run(|client, tls| {
                let mut v = vec![
                    "memory-child".to_string(),
                    "--client".into(),
                    client.into(),
                    "--conns".into(),
                    n.clone(),
                ];
                for (k, val) in &a.flags {
                    if k != "conns" {
                        v.push(format!("--{k}"));
                        v.push(val.clone());
                    }
                }
                v.push("--tls".into());
                v.push(tls.to_string());
                v
            });
            write_json(&a, "memory", &rows);
        }
        "memory-child" => {
            let t = if a.or("tls", "false") == "true" {
                https()
            } else {
                http()
            };
            memory::child(
                &a.or("client", "ours"),
                &t,
                a.or("conns", "1000").parse().expect("--conns"),
            );
        }
        "alloc" => write_json(&a, "alloc", &alloc::run(&http(), &redis_url)),
        "keys" => write_json(
            &a,
            "keys",
            &keys::run(
                http().port,
                &a.list("keys", "1,100,1000,10000"),
                a.or("ops", "200000").parse().expect("--ops"),
            ),
        ),
        "chart" => {
            chart::draw_all(&PathBuf::from(a.or("out", "results"))).expect("charts");
        }
        _ => {
            eprintln!("usage: bench-scale threads|latency|memory|alloc|keys|chart [--flag value ...] (see the source's first comment)");
            std::process::exit(2);
        }
    }
}
