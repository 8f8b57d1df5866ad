//! redis-client vs redis-rs (sync) vs a raw-socket loop, side by side in one
//! run against the same server (see docs/BENCHMARKING.md: pin everything
//! with `taskset -c 0`, interleave, keep the best, report ratios).
//!
//! ```text
//! taskset -c 0 cargo run --release -- [--url redis://127.0.0.1:6390] [--ops 20000] [--rounds 5]
//! ```
//!
//! Workloads: `ops` sequential commands alternating SET and GET (each a full
//! round trip, reply checked), and the same number of SETs in pipelines of
//! 100. Connections are counted from the server's side
//! (`total_connections_received`), so a client that silently reconnects shows.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use redis_client::{cmd, Commands, Pipeline};

mod cluster;
mod unix;

struct Opts {
    only: Option<String>,
    workload: Option<String>,
    clients: Option<String>,
    url: String,
    cluster_url: Option<String>,
    unix_url: Option<String>,
    ops: usize,
    rounds: usize,
}

fn opts() -> Opts {
    let mut o = Opts {
        only: None,
        workload: None,
        clients: None,
        url: "redis://127.0.0.1:6390".into(),
        cluster_url: None,
        unix_url: None,
        ops: 20_000,
        rounds: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().expect("value");
        match a.as_str() {
            "--url" => o.url = v,
            // Also the cluster workloads, against this cluster (seeds
            // separated by commas, as in a cluster URL).
            "--cluster-url" => o.cluster_url = Some(v),
            // Also SET/GET over this Unix socket (unix:///path) of the
            // same server, beside TCP.
            "--unix-url" => o.unix_url = Some(v),
            "--ops" => o.ops = v.parse().expect("--ops"),
            "--rounds" => o.rounds = v.parse().expect("--rounds"),
            // Run one client alone (for profiling): a substring of its name.
            "--only" => o.only = Some(v),
            // Measure one workload only: a substring of its title.
            "--workload" => o.workload = Some(v),
            // Measure only these clients (exact names separated by ';'); the
            // first is still the one the ratios divide by.
            "--clients" => o.clients = Some(v),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

pub(crate) const VALUE: &[u8] = b"0123456789abcdef0123456789abcdef";
pub(crate) const PIPE: usize = 100;

fn addr(url: &str) -> String {
    url.trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_string()
}

// ---- the floor: a raw socket with pre-encoded commands ---------------------

pub(crate) struct Raw {
    pub(crate) sock: TcpStream,
    buf: Vec<u8>,
    have: usize,
}

impl Raw {
    pub(crate) fn connect(url: &str) -> Raw {
        let sock = TcpStream::connect(addr(url)).unwrap();
        sock.set_nodelay(true).unwrap();
        Raw {
            sock,
            buf: vec![0; 1 << 20],
            have: 0,
        }
    }

    /// Reads until `want` bytes are buffered, then checks they equal `expect`.
    pub(crate) fn expect(&mut self, expect: &[u8]) {
        while self.have < expect.len() {
            let n = self.sock.read(&mut self.buf[self.have..]).unwrap();
            assert!(n > 0, "closed");
            self.have += n;
        }
        assert_eq!(&self.buf[..expect.len()], expect);
        self.buf.copy_within(expect.len()..self.have, 0);
        self.have -= expect.len();
    }
}

pub(crate) fn set_cmd(key: &[u8]) -> Vec<u8> {
    let mut c = format!("*3\r\n$3\r\nSET\r\n${}\r\n", key.len()).into_bytes();
    c.extend_from_slice(key);
    c.extend_from_slice(format!("\r\n${}\r\n", VALUE.len()).as_bytes());
    c.extend_from_slice(VALUE);
    c.extend_from_slice(b"\r\n");
    c
}

pub(crate) fn get_cmd(key: &[u8]) -> Vec<u8> {
    let mut c = format!("*2\r\n$3\r\nGET\r\n${}\r\n", key.len()).into_bytes();
    c.extend_from_slice(key);
    c.extend_from_slice(b"\r\n");
    c
}

fn raw_setget(url: &str) -> Run {
    let mut r = Raw::connect(url);
    let key = b"bench:raw";
    let (set, get) = (set_cmd(key), get_cmd(key));
    let mut get_reply = format!("${}\r\n", VALUE.len()).into_bytes();
    get_reply.extend_from_slice(VALUE);
    get_reply.extend_from_slice(b"\r\n");
    Box::new(move |ops| {
        for i in 0..ops {
            if i % 2 == 0 {
                r.sock.write_all(&set).unwrap();
                r.expect(b"+OK\r\n");
            } else {
                r.sock.write_all(&get).unwrap();
                r.expect(&get_reply);
            }
        }
    })
}

fn raw_pipeline(url: &str) -> Run {
    let mut r = Raw::connect(url);
    let mut batch = Vec::new();
    for i in 0..PIPE {
        batch.extend_from_slice(&set_cmd(format!("bench:raw:{i}").as_bytes()));
    }
    let replies = b"+OK\r\n".repeat(PIPE);
    Box::new(move |ops| {
        for _ in 0..ops / PIPE {
            r.sock.write_all(&batch).unwrap();
            r.expect(&replies);
        }
    })
}

// ---- redis-client ----------------------------------------------------------

fn ours_client(url: &str) -> redis_client::Client {
    redis_client::Client::open(url).unwrap()
}

fn ours_setget(url: &str) -> Run {
    held_setget(ours_client(url))
}

/// SET/GET on one connection held for the whole run.
fn held_setget(client: redis_client::Client) -> Run {
    let mut c = client.get().unwrap();
    Box::new(move |ops| {
        for i in 0..ops {
            if i % 2 == 0 {
                c.set("bench:ours", VALUE).unwrap();
            } else {
                let v: Vec<u8> = c.get("bench:ours").unwrap();
                assert_eq!(v, VALUE);
            }
        }
    })
}

/// Without a read timeout: an armed SO_RCVTIMEO costs a kernel timer per
/// blocking read, which redis-rs (no timeout by default) does not pay.
fn ours_setget_no_timeout(url: &str) -> Run {
    held_setget(
        redis_client::Client::builder()
            .url(url)
            .unwrap()
            .read_timeout(None)
            .write_timeout(None)
            .build()
            .unwrap(),
    )
}

/// The pconnect model: check a connection out of the pool for every command.
fn ours_setget_checkout(url: &str) -> Run {
    let client = ours_client(url);
    Box::new(move |ops| {
        for i in 0..ops {
            let mut c = client.get().unwrap();
            if i % 2 == 0 {
                c.set("bench:ours", VALUE).unwrap();
            } else {
                let v: Vec<u8> = c.get("bench:ours").unwrap();
                assert_eq!(v, VALUE);
            }
        }
        assert_eq!(client.stats().opened, 1);
    })
}

fn ours_pipeline(url: &str) -> Run {
    let client = ours_client(url);
    let mut c = client.get().unwrap();
    let mut p = Pipeline::new();
    for i in 0..PIPE {
        p.add(cmd("SET").arg(format!("bench:ours:{i}")).arg(VALUE));
    }
    Box::new(move |ops| {
        for _ in 0..ops / PIPE {
            let r = c.pipeline(&p).unwrap();
            assert!(r.iter().all(|v| v.as_ref().is_ok_and(|v| v.is_ok())));
        }
    })
}

// ---- redis-rs --------------------------------------------------------------

fn rs_setget(url: &str) -> Run {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_connection().unwrap();
    Box::new(move |ops| {
        for i in 0..ops {
            if i % 2 == 0 {
                redis::cmd("SET")
                    .arg("bench:rs")
                    .arg(VALUE)
                    .query::<()>(&mut c)
                    .unwrap();
            } else {
                let v: Vec<u8> = redis::cmd("GET").arg("bench:rs").query(&mut c).unwrap();
                assert_eq!(v, VALUE);
            }
        }
    })
}

fn rs_pipeline(url: &str) -> Run {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_connection().unwrap();
    let mut p = redis::pipe();
    for i in 0..PIPE {
        p.cmd("SET").arg(format!("bench:rs:{i}")).arg(VALUE);
    }
    Box::new(move |ops| {
        for _ in 0..ops / PIPE {
            let r: Vec<String> = p.query(&mut c).unwrap();
            assert!(r.iter().all(|s| s == "OK"));
        }
    })
}

// ---- harness ---------------------------------------------------------------

fn connections_received(url: &str) -> u64 {
    let mut c = ours_client(url).get().unwrap();
    let info: String = c.query(&cmd("INFO").arg("stats")).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// A client, connected and ready: runs the workload for `ops` operations.
pub(crate) type Run = Box<dyn FnMut(usize)>;
/// Sets a client up (outside the timing).
type Make = fn(&str) -> Run;

fn main() {
    let o = opts();
    let single = o.url.clone();
    let cluster_url = o.cluster_url.clone().unwrap_or_default();
    let unix_url = o.unix_url.clone().unwrap_or_default();
    unix::TCP_URL.set(o.url.clone()).unwrap();
    let mut workloads: Vec<(&str, &str, Vec<(&str, Make)>)> = vec![
        (
            single.as_str(),
            "SET/GET alternating, sequential",
            vec![
                ("raw socket", raw_setget as Make),
                ("redis-client (held)", ours_setget),
                ("redis-client (held, no timeout)", ours_setget_no_timeout),
                ("redis-client (checkout/op)", ours_setget_checkout),
                ("redis-rs 1.8 (sync)", rs_setget),
            ],
        ),
        (
            single.as_str(),
            "pipelines of 100 SET (commands/s)",
            vec![
                ("raw socket", raw_pipeline as Make),
                ("redis-client (held)", ours_pipeline),
                ("redis-rs 1.8 (sync)", rs_pipeline),
            ],
        ),
    ];
    if o.unix_url.is_some() {
        workloads.push((
            unix_url.as_str(),
            "unix socket: SET/GET alternating, sequential",
            vec![
                ("raw unix socket", unix::raw_setget as Make),
                ("redis-client (unix)", ours_setget),
                ("redis-client (tcp loopback)", unix::ours_setget_tcp),
                ("redis-rs 1.8 (unix)", rs_setget),
            ],
        ));
    }
    if o.cluster_url.is_some() {
        workloads.push((
            cluster_url.as_str(),
            "cluster: SET/GET alternating over 256 keys across slots, sequential",
            vec![
                ("raw (knows the slot map)", cluster::raw_setget as Make),
                ("ours: cluster (held)", cluster::ours_setget_held),
                ("ours: cluster (checkout/op)", cluster::ours_setget),
                ("redis-rs 1.8 cluster", cluster::rs_setget),
            ],
        ));
        workloads.push((
            cluster_url.as_str(),
            "cluster: pipelines of 100 SET across slots (commands/s)",
            vec![
                ("raw (knows the slot map)", cluster::raw_pipeline as Make),
                ("ours: cluster", cluster::ours_pipeline),
                ("redis-rs 1.8 cluster", cluster::rs_pipeline),
            ],
        ));
    }
    println!(
        "server {} ; {} ops per client per round, clients taking turns every 10% ; best of {} rounds\n",
        o.url, o.ops, o.rounds
    );
    if let Some(only) = &o.only {
        for (url, title, clients) in &workloads {
            for (name, make) in clients {
                if format!("{title}: {name}").contains(only.as_str()) {
                    let mut run = make(url);
                    for _ in 0..o.rounds {
                        run(o.ops);
                    }
                }
            }
        }
        return;
    }
    for (url, title, clients) in &workloads {
        let is_cluster = title.starts_with("cluster");
        let received = |u: &str| {
            if is_cluster {
                cluster::connections_received(u)
            } else {
                connections_received(u)
            }
        };
        if o.workload
            .as_ref()
            .is_some_and(|w| !title.contains(w.as_str()))
        {
            continue;
        }
        let clients: Vec<_> = clients
            .iter()
            .filter(|(name, _)| {
                o.clients
                    .as_ref()
                    .is_none_or(|c| c.split(';').any(|c| c == *name))
            })
            .collect();
        let mut best = vec![0f64; clients.len()];
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); clients.len()];
        // Every client connects once, then warms up (allocator, caches):
        // the rounds time the work alone, not the setup.
        let mut runs: Vec<Run> = clients.iter().map(|(_, make)| make(url)).collect();
        for run in &mut runs {
            run(o.ops / 10);
        }
        // Within a round the clients take turns every `slice` operations
        // so a noisy moment of the machine lands on all of them alike; each
        // one's rate is its operations over the sum of its own slices.
        let slice = (o.ops / 10).max(PIPE) / PIPE * PIPE;
        let mut reconnects = 0;
        for _ in 0..o.rounds {
            let mut secs = vec![0f64; clients.len()];
            let before = received(url);
            let mut done = 0;
            while done < o.ops {
                let k = slice.min(o.ops - done);
                for (i, run) in runs.iter_mut().enumerate() {
                    let t = Instant::now();
                    run(k);
                    secs[i] += t.elapsed().as_secs_f64();
                }
                done += k;
            }
            // The probe connection of connections_received itself is 1;
            // clients that kept their connections opened none.
            // (one per master for a cluster: the probe's client reads the
            // topology from one and asks every master).
            let probes = if is_cluster { 3 } else { 1 };
            reconnects += received(url) - before - probes;
            for (i, secs) in secs.iter().enumerate() {
                let rate = o.ops as f64 / secs.max(1e-9);
                best[i] = best[i].max(rate);
                rates[i].push(rate);
            }
        }
        println!("{title} (connections opened while timed: {reconnects})");
        println!(
            "  {:<32} {:>12} {:>10} {:>10} {:>14}",
            "client", "ops/s", "vs raw", "vs rs", "median vs raw"
        );
        let median: Vec<f64> = rates
            .iter_mut()
            .map(|r| {
                r.sort_by(f64::total_cmp);
                r.get(r.len() / 2).copied().unwrap_or(0.0)
            })
            .collect();
        let raw = best[0];
        let rs = best[clients.len() - 1];
        for (i, (name, _)) in clients.iter().enumerate() {
            println!(
                "  {:<32} {:>12.0} {:>10.2} {:>10.2} {:>14.2}",
                name,
                best[i],
                best[i] / raw,
                best[i] / rs,
                median[i] / median[0]
            );
        }
        println!();
    }
}
