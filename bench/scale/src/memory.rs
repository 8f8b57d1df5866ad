//! Resident memory per idle pooled connection: one client made to hold 1,000
//! connections at once (1,000 threads each GET a slow URL at the same
//! moment), all then idle in its pool; RSS before and after, divided by the
//! sockets the process holds. Each client runs in a child process of
//! its own, so one client's heap cannot hide in another's figure.

use std::sync::{Arc, Barrier};

use serde::{Deserialize, Serialize};

use crate::clients::{self, HttpTarget};

#[derive(Serialize, Deserialize, Debug)]
pub struct Row {
    pub client: String,
    pub tls: bool,
    pub connections: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub kib_per_connection: f64,
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .map(|l| l.to_string_lossy().starts_with("socket:"))
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0)
}

/// Runs `n` threads that each make one request at the same moment; the
/// server takes a while to answer (`/slow`), so the client must open `n`
/// connections, and each goes back to its pool idle when its body is read.
fn all_at_once<F>(n: usize, request: F)
where
    F: Fn() + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (request, barrier) = (request.clone(), barrier.clone());
            std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || {
                    barrier.wait();
                    request();
                })
                .expect("thread")
        })
        .collect();
    for t in threads {
        t.join().expect("request panicked");
    }
}

/// The child's side: hold `n` connections with `client`, print one JSON row.
pub fn child(client: &str, t: &HttpTarget, n: usize) {
    let t = &HttpTarget {
        path: "/slow".into(),
        ..t.clone()
    };
    let url = t.url();
    // The same threads once with nothing held, so thread stacks that the C
    // library caches count in the "before" figure too.
    all_at_once(n, || ());
    // Each arm keeps its client alive until the figures are taken.
    let (before, after, conns) = match client {
        "ours" => {
            let c = Arc::new(clients::ours_http(t, true, n + 8));
            clients::ours_get(&c, &url);
            let before = rss_kib();
            let (c2, u) = (c.clone(), url.clone());
            all_at_once(n, move || clients::ours_get(&c2, &u));
            (before, rss_kib(), sockets())
        }
        "ureq" => {
            let a = clients::ureq_http(t, true, n + 8);
            clients::ureq_get(&a, &url);
            let before = rss_kib();
            let (a2, u) = (a.clone(), url.clone());
            all_at_once(n, move || clients::ureq_get(&a2, &u));
            (before, rss_kib(), sockets())
        }
        "reqwest" => {
            let c = clients::reqwest_http(t, true, n + 8);
            clients::reqwest_get(&c, &url);
            let before = rss_kib();
            let (c2, u) = (c.clone(), url.clone());
            all_at_once(n, move || clients::reqwest_get(&c2, &u));
            (before, rss_kib(), sockets())
        }
        other => panic!("unknown client {other}"),
    };
    let row = Row {
        client: client.to_string(),
        tls: t.https,
        connections: conns,
        rss_before_kib: before,
        rss_after_kib: after,
        kib_per_connection: (after.saturating_sub(before)) as f64 / conns.max(1) as f64,
    };
    println!("{}", serde_json::to_string(&row).unwrap());
}

/// The parent's side: one child per client and scheme.
pub fn run(args_for_child: impl Fn(&str, bool) -> Vec<String>) -> Vec<Row> {
    let exe = std::env::current_exe().expect("own path");
    let mut rows = Vec::new();
    for tls in [false, true] {
        for client in ["ours", "ureq", "reqwest"] {
            let out = std::process::Command::new(&exe)
                .args(args_for_child(client, tls))
                .output()
                .expect("child");
            assert!(
                out.status.success(),
                "{client}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8_lossy(&out.stdout);
            let row: Row = serde_json::from_str(line.trim()).expect("child row");
            eprintln!(
                "{:<8} {:<5} {:>5} connections held idle: {:>7.1} KiB each (RSS {} -> {} KiB)",
                row.client,
                if tls { "TLS" } else { "plain" },
                row.connections,
                row.kib_per_connection,
                row.rss_before_kib,
                row.rss_after_kib
            );
            rows.push(row);
        }
    }
    rows
}
