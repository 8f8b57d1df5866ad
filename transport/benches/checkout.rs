//! Checkout + probe + release of an idle pooled connection: the cost the
//! pool adds to every request. Single thread, and 16 threads on one pool.
//!
//! `cargo bench -p pconn-transport --bench checkout` prints the median per cycle.
//! Under `cargo test` (no `--bench` flag) it only runs a short smoke pass.

use std::net::TcpListener;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use pconn_transport::{open, ConnectOptions, Direct, Endpoint, KeyPool, Pool, PoolConfig, PoolKey};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (batches, per_batch) = if full { (31, 20_000) } else { (3, 200) };

    // A peer that accepts and holds connections, never writing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s.unwrap());
        }
    });
    let endpoint = Endpoint::new("127.0.0.1", port).unwrap();
    let opener = move || -> pconn_transport::Result<_> {
        Ok((open(&endpoint, &Direct, &ConnectOptions::default())?, ()))
    };

    let pool: Pool<()> = Pool::new(PoolConfig {
        max_open: 16,
        ..PoolConfig::default()
    })
    .unwrap();
    let key_pool: KeyPool<()> = pool.key_pool(&PoolKey::new("bench", "127.0.0.1", port));

    // The floor: the probe's one non-blocking recv on an idle connection, no pool.
    let mut bare = opener().unwrap().0;
    let probe_only = median((0..batches).map(|_| {
        let t = Instant::now();
        for _ in 0..per_batch {
            assert_eq!(bare.probe(), pconn_transport::Probe::Alive);
        }
        t.elapsed() / per_batch
    }));

    // Single thread.
    drop(key_pool.checkout(opener.clone()).unwrap());
    let single = median((0..batches).map(|_| {
        let t = Instant::now();
        for _ in 0..per_batch {
            let guard = key_pool.checkout(opener.clone()).unwrap();
            std::hint::black_box(&guard);
        }
        t.elapsed() / per_batch
    }));

    // 16 threads sharing the pool: time per cycle across all threads.
    let threads = 16;
    let warm: Vec<_> = (0..threads)
        .map(|_| key_pool.checkout(opener.clone()).unwrap())
        .collect();
    drop(warm);
    let shared = median((0..batches).map(|_| {
        let barrier = Arc::new(Barrier::new(threads + 1));
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (key_pool, opener, barrier) =
                    (key_pool.clone(), opener.clone(), Arc::clone(&barrier));
                thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..per_batch / threads as u32 {
                        let guard = key_pool.checkout(opener.clone()).unwrap();
                        std::hint::black_box(&guard);
                    }
                })
            })
            .collect();
        // Timed from before the release: pinned to one CPU, the workers may
        // all finish before this thread runs again after the barrier.
        let t = Instant::now();
        barrier.wait();
        for w in workers {
            w.join().unwrap();
        }
        t.elapsed() / (per_batch / threads as u32 * threads as u32)
    }));

    let stats = pool.stats();
    assert!(
        stats.opened <= 16,
        "the benchmark must measure reuse: {stats:?}"
    );
    assert_eq!(stats.discarded_total(), 0, "{stats:?}");
    println!(
        "probe alone (one recv syscall):     median {:>7.0} ns",
        probe_only.as_nanos()
    );
    println!(
        "checkout+probe+release, 1 thread:   median {:>7.0} ns/cycle ({:.0} ns above the probe alone)",
        single.as_nanos(),
        single.as_nanos() as f64 - probe_only.as_nanos() as f64
    );
    println!(
        "checkout+probe+release, {threads} threads: median {:>7.0} ns/cycle (all threads together; {:.2}x the 1-thread throughput)",
        shared.as_nanos(),
        single.as_secs_f64() / shared.as_secs_f64()
    );
    println!("{}", stats.to_json());
}

fn median(samples: impl Iterator<Item = Duration>) -> Duration {
    let mut v: Vec<Duration> = samples.collect();
    v.sort();
    v[v.len() / 2]
}
