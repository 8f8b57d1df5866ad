//! Per-request time with added latency (0.5, 2 and 10 ms each way through
//! the relay), reused connection against a new one per request, plain and
//! TLS, against the physical floor: a reused connection costs one round
//! trip, a new plain one two, a new TLS 1.3 one three (two when a resumed
//! session sends the request as early data).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::clients::{self, HttpTarget};
use crate::raw::{self, RawHttp};
use crate::relay::Relay;

#[derive(Serialize, Debug)]
pub struct Row {
    pub delay_ms_each_way: f64,
    pub mode: String,
    pub client: String,
    pub requests: usize,
    pub median_ms: f64,
    pub floor_ms: f64,
    pub over_floor: f64,
    pub relay_connections: u64,
    pub relay_bytes: u64,
}

type Get = Box<dyn FnMut()>;

fn contenders(t: &HttpTarget, keepalive: bool) -> Vec<(&'static str, Get)> {
    let url = t.url();
    let tls = t.https.then(|| raw::tls_config(&t.ca_pem));
    let (host, port, path) = (t.host.clone(), t.port, t.path.clone());
    let ours = clients::ours_http(t, keepalive, 4);
    let ureq = clients::ureq_http(t, keepalive, 4);
    let reqwest = clients::reqwest_http(t, keepalive, 4);
    let (u1, u2, u3) = (url.clone(), url.clone(), url);
    let mut held: Option<RawHttp> = None;
    vec![
        (
            "raw socket",
            Box::new(move || {
                if !keepalive || held.is_none() {
                    held = Some(RawHttp::new(&host, port, &path, tls.as_ref()));
                }
                assert_eq!(held.as_mut().unwrap().get(), clients::BODY.len());
            }) as Get,
        ),
        ("ours", Box::new(move || clients::ours_get(&ours, &u1))),
        ("ureq", Box::new(move || clients::ureq_get(&ureq, &u2))),
        (
            "reqwest blocking",
            Box::new(move || clients::reqwest_get(&reqwest, &u3)),
        ),
    ]
}

/// Round trips a request costs at best in `mode`.
fn floor_rtts(https: bool, keepalive: bool) -> f64 {
    match (https, keepalive) {
        (_, true) => 1.0,
        (false, false) => 2.0,
        (true, false) => 3.0,
    }
}

pub fn run(http: &HttpTarget, https: &HttpTarget, delays_ms: &[f64], rounds: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    for &d in delays_ms {
        let delay = Duration::from_secs_f64(d / 1000.0);
        // About a second of requests per client and mode at the floor.
        let per_round = ((1000.0 / (6.0 * d)) as usize / rounds).clamp(3, 200);
        for target in [http, https] {
            let relay = Relay::start((target.host.clone(), target.port), delay);
            let via = target.via_port(relay.port);
            for keepalive in [true, false] {
                let mut cs = contenders(&via, keepalive);
                for (_, get) in cs.iter_mut() {
                    get(); // warm: first connection, TLS session ticket
                }
                let c0 = relay.stats.connections.load(Ordering::Relaxed);
                let b0 = relay.stats.bytes.load(Ordering::Relaxed);
                let mut times: Vec<Vec<f64>> = cs.iter().map(|_| Vec::new()).collect();
                for _ in 0..rounds {
                    for ((_, get), t) in cs.iter_mut().zip(times.iter_mut()) {
                        for _ in 0..per_round {
                            let t0 = Instant::now();
                            get();
                            t.push(t0.elapsed().as_secs_f64() * 1000.0);
                        }
                    }
                }
                let floor = floor_rtts(target.https, keepalive) * 2.0 * d;
                let mode = format!(
                    "{} {}",
                    if target.https { "HTTPS" } else { "HTTP" },
                    if keepalive {
                        "reused connection"
                    } else {
                        "new connection per request"
                    }
                );
                for ((name, _), mut t) in cs.iter().zip(times) {
                    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    let median = t[t.len() / 2];
                    let row = Row {
                        delay_ms_each_way: d,
                        mode: mode.clone(),
                        client: name.to_string(),
                        requests: t.len(),
                        median_ms: median,
                        floor_ms: floor,
                        over_floor: median / floor,
                        relay_connections: relay.stats.connections.load(Ordering::Relaxed) - c0,
                        relay_bytes: relay.stats.bytes.load(Ordering::Relaxed) - b0,
                    };
                    eprintln!(
                        "{:>4} ms each way  {:<40} {:<18} median {:>7.2} ms  floor {:>6.2} ms  x{:.3}",
                        d, row.mode, row.client, row.median_ms, row.floor_ms, row.over_floor
                    );
                    rows.push(row);
                }
                eprintln!(
                    "  relay forwarded {} connections, {} bytes in {} segments so far",
                    relay.stats.connections.load(Ordering::Relaxed),
                    relay.stats.bytes.load(Ordering::Relaxed),
                    relay.stats.segments.load(Ordering::Relaxed)
                );
            }
        }
    }
    rows
}
