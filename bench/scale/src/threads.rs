//! Throughput and latency percentiles with 1, 4, 16 and 64 threads sharing
//! one client (one pool), for HTTP and HTTPS keep-alive, Redis SET/GET and
//! Redis pipelines; the raw loop has one socket per thread. Clients take
//! turns slice by slice within each round, so the VM's drift lands on all.

use std::sync::Arc;
use std::time::Duration;

use redis_client::Commands;

use crate::clients::{self, HttpTarget};
use crate::harness::{run_slice, Factory, Row, Tally};
use crate::raw::{self, RawHttp, RawRedis};

/// Settings of the thread-scaling run.
pub struct Opts {
    pub threads: Vec<usize>,
    pub slice: Duration,
    pub rounds: usize,
    pub http: HttpTarget,
    pub https: HttpTarget,
    pub redis_host: String,
    pub redis_port: u16,
}

const VALUE: &[u8] = b"0123456789abcdef0123456789abcdef";
const PIPE: usize = 100;
const MAX_CONNS: usize = 128;

struct Contender {
    name: &'static str,
    factory: Factory,
    /// Operations one call stands for (commands in a pipeline).
    per_call: u64,
}

fn http_contenders(t: &HttpTarget) -> Vec<Contender> {
    let url = t.url();
    let tls = t.https.then(|| raw::tls_config(&t.ca_pem));
    let (host, port, path) = (t.host.clone(), t.port, t.path.clone());
    let ours = Arc::new(clients::ours_http(t, true, MAX_CONNS));
    let ureq = clients::ureq_http(t, true, MAX_CONNS);
    let reqwest = clients::reqwest_http(t, true, MAX_CONNS);
    let (u1, u2, u3) = (url.clone(), url.clone(), url);
    vec![
        Contender {
            name: "raw socket per thread",
            factory: Arc::new(move |_| {
                let mut c = RawHttp::new(&host, port, &path, tls.as_ref());
                Box::new(move || assert_eq!(c.get(), clients::BODY.len()))
            }),
            per_call: 1,
        },
        Contender {
            name: "ours (one shared client)",
            factory: Arc::new(move |_| {
                let (c, u) = (ours.clone(), u1.clone());
                Box::new(move || clients::ours_get(&c, &u))
            }),
            per_call: 1,
        },
        Contender {
            name: "ureq (one shared agent)",
            factory: Arc::new(move |_| {
                let (c, u) = (ureq.clone(), u2.clone());
                Box::new(move || clients::ureq_get(&c, &u))
            }),
            per_call: 1,
        },
        Contender {
            name: "reqwest blocking (one shared client)",
            factory: Arc::new(move |_| {
                let (c, u) = (reqwest.clone(), u3.clone());
                Box::new(move || clients::reqwest_get(&c, &u))
            }),
            per_call: 1,
        },
    ]
}

fn redis_contenders(host: &str, port: u16, pipeline: bool) -> Vec<Contender> {
    let url = format!("redis://{host}:{port}");
    let ours = clients::ours_redis(&url, MAX_CONNS);
    let r2d2 = clients::r2d2_redis(&url, MAX_CONNS);
    let rs = redis::Client::open(url.as_str()).expect("redis-rs");
    let host = host.to_string();
    let per_call = if pipeline { PIPE as u64 } else { 1 };
    vec![
        Contender {
            name: "raw socket per thread",
            factory: Arc::new(move |i| {
                let mut c = RawRedis::new(&host, port, &format!("scale:{i}"), VALUE, PIPE);
                let mut n = 0u64;
                Box::new(move || {
                    n += 1;
                    match (pipeline, n % 2) {
                        (true, _) => c.pipeline(PIPE),
                        (false, 1) => c.set(),
                        (false, _) => c.get(),
                    }
                })
            }),
            per_call,
        },
        Contender {
            name: "ours (one shared client, checkout per op)",
            factory: Arc::new(move |i| {
                let client = ours.clone();
                let key = format!("scale:{i}");
                let mut n = 0u64;
                let mut p = redis_client::Pipeline::new();
                for _ in 0..PIPE {
                    p.add(redis_client::cmd("SET").arg(&key).arg(VALUE));
                }
                Box::new(move || {
                    n += 1;
                    let mut c = client.get().expect("checkout");
                    if pipeline {
                        let replies = c.pipeline(&p).expect("pipeline");
                        assert_eq!(replies.len(), PIPE);
                    } else if n % 2 == 1 {
                        c.set(&key, VALUE).expect("SET");
                    } else {
                        let v: Vec<u8> = c.get(&key).expect("GET");
                        assert_eq!(v, VALUE);
                    }
                })
            }),
            per_call,
        },
        Contender {
            name: "redis-rs r2d2 pool",
            factory: Arc::new(move |i| {
                let pool = r2d2.clone();
                Box::new(redis_rs_op(move || pool.get().expect("r2d2"), i, pipeline))
            }),
            per_call,
        },
        Contender {
            name: "redis-rs connection per thread",
            factory: Arc::new(move |i| {
                let mut conn = Some(rs.get_connection().expect("redis-rs connect"));
                let mut op = redis_rs_held(conn.take().unwrap(), i, pipeline);
                Box::new(move || op())
            }),
            per_call,
        },
    ]
}

fn redis_rs_op<C, F>(mut checkout: F, i: usize, pipeline: bool) -> impl FnMut() + Send
where
    F: FnMut() -> C + Send,
    C: std::ops::DerefMut<Target = redis::Connection>,
{
    let key = format!("scale:{i}");
    let mut p = redis::pipe();
    for _ in 0..PIPE {
        p.cmd("SET").arg(&key).arg(VALUE);
    }
    let mut n = 0u64;
    move || {
        n += 1;
        let mut c = checkout();
        redis_rs_step(&mut c, &key, &p, pipeline, n);
    }
}

fn redis_rs_held(mut c: redis::Connection, i: usize, pipeline: bool) -> impl FnMut() + Send {
    let key = format!("scale:{i}");
    let mut p = redis::pipe();
    for _ in 0..PIPE {
        p.cmd("SET").arg(&key).arg(VALUE);
    }
    let mut n = 0u64;
    move || {
        n += 1;
        redis_rs_step(&mut c, &key, &p, pipeline, n);
    }
}

fn redis_rs_step(
    c: &mut redis::Connection,
    key: &str,
    p: &redis::Pipeline,
    pipeline: bool,
    n: u64,
) {
    if pipeline {
        let r: Vec<String> = p.query(c).expect("pipeline");
        assert_eq!(r.len(), PIPE);
    } else if n % 2 == 1 {
        redis::cmd("SET")
            .arg(key)
            .arg(VALUE)
            .query::<()>(c)
            .expect("SET");
    } else {
        let v: Vec<u8> = redis::cmd("GET").arg(key).query(c).expect("GET");
        assert_eq!(v, VALUE);
    }
}

/// Runs every workload at every thread count; one row per client.
pub fn run(o: &Opts) -> Vec<Row> {
    let workloads: Vec<(&str, Vec<Contender>)> = vec![
        ("HTTP keep-alive GET", http_contenders(&o.http)),
        ("HTTPS keep-alive GET", http_contenders(&o.https)),
        (
            "Redis SET/GET",
            redis_contenders(&o.redis_host, o.redis_port, false),
        ),
        (
            "Redis pipelines of 100 SET",
            redis_contenders(&o.redis_host, o.redis_port, true),
        ),
    ];
    let mut rows = Vec::new();
    for (workload, contenders) in &workloads {
        for &threads in &o.threads {
            let mut tallies: Vec<Tally> = contenders.iter().map(|_| Tally::default()).collect();
            for _ in 0..o.rounds {
                for (c, tally) in contenders.iter().zip(tallies.iter_mut()) {
                    run_slice(threads, o.slice, 1_000_000, &c.factory, tally);
                }
            }
            let raw_rate = tallies[0].rate() * contenders[0].per_call as f64;
            for (c, mut t) in contenders.iter().zip(tallies) {
                let per_sec = t.rate() * c.per_call as f64;
                let row = Row {
                    workload: workload.to_string(),
                    client: c.name.to_string(),
                    threads,
                    ops: t.ops * c.per_call,
                    per_sec,
                    ratio_to_raw: per_sec / raw_rate,
                    p50_us: t.quantile_us(0.50),
                    p99_us: t.quantile_us(0.99),
                    p999_us: t.quantile_us(0.999),
                };
                eprintln!(
                    "{:<28} {:>2} threads  {:<42} {:>10.0}/s  {:>5.2} of raw  p50 {:>7.1} µs  p99 {:>8.1} µs  p99.9 {:>8.1} µs",
                    row.workload, threads, row.client, row.per_sec, row.ratio_to_raw, row.p50_us, row.p99_us, row.p999_us
                );
                rows.push(row);
            }
        }
    }
    rows
}
