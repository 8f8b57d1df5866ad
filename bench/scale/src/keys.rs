//! Pool cost as the number of identities grows: checkout + release of an
//! idle connection (probe included) on a random key among 1 to 10,000 keys,
//! each with one idle connection to the benchmark's nginx, which holds idle
//! keep-alive connections open; and the process-wide registry looked up
//! from 1 and 64 threads at once.

use std::sync::{Arc, Barrier};
use std::time::Instant;

use serde::Serialize;
use transport::{open, ConnectOptions, Direct, Endpoint, Pool, PoolConfig, PoolKey};

#[derive(Serialize, Debug)]
pub struct Row {
    pub test: String,
    pub keys: usize,
    pub threads: usize,
    pub ns_per_op: f64,
    pub ratio_to_one_key: f64,
}

fn key(port: u16, i: usize) -> PoolKey {
    PoolKey::new("scale", "127.0.0.1", port).database(i.to_string())
}

/// xorshift: a cheap, fixed sequence of key indexes.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn cycle(pool: &Pool<()>, endpoint: &Endpoint, k: &PoolKey) {
    let guard = pool
        .checkout(k, || -> transport::Result<_> {
            Ok((open(endpoint, &Direct, &ConnectOptions::default())?, ()))
        })
        .expect("checkout");
    drop(guard);
}

/// `port`: a plain HTTP server on 127.0.0.1 that keeps idle connections.
pub fn run(port: u16, key_counts: &[usize], ops: usize) -> Vec<Row> {
    let endpoint = Endpoint::new("127.0.0.1", port).expect("endpoint");
    let mut rows = Vec::new();
    let mut base = 0.0;
    for &n in key_counts {
        let pool: Pool<()> = Pool::new(PoolConfig { max_open: 2, max_idle: 2, ..PoolConfig::default() })
            .expect("pool");
        let keys: Vec<PoolKey> = (0..n).map(|i| key(port, i)).collect();
        for k in &keys {
            cycle(&pool, &endpoint, k); // one idle connection per key
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let order: Vec<usize> = (0..ops).map(|_| (next(&mut x) % n as u64) as usize).collect();
        let opened = pool.stats().opened;
        let t0 = Instant::now();
        for &i in &order {
            cycle(&pool, &endpoint, &keys[i]);
        }
        let ns = t0.elapsed().as_nanos() as f64 / ops as f64;
        assert_eq!(pool.stats().opened, opened, "every checkout must reuse");
        if base == 0.0 {
            base = ns;
        }
        let row = Row {
            test: "checkout + release, random key".into(),
            keys: n,
            threads: 1,
            ns_per_op: ns,
            ratio_to_one_key: ns / base,
        };
        eprintln!("{:>6} keys: {:>7.0} ns per checkout + release ({:.2}x one key)", n, ns, row.ratio_to_one_key);
        rows.push(row);
    }

    let mut base = 0.0;
    for threads in [1usize, 64] {
        let barrier = Arc::new(Barrier::new(threads + 1));
        let per_thread = (ops / threads).max(1000);
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, endpoint) = (barrier.clone(), endpoint.clone());
                std::thread::spawn(move || {
                    let k = key(port, 1_000_000 + t);
                    let get = || transport::registry::pool::<(), _>("bench-scale", || Pool::new(PoolConfig::default()));
                    cycle(&get().unwrap(), &endpoint, &k);
                    barrier.wait();
                    for _ in 0..per_thread {
                        cycle(&get().unwrap(), &endpoint, &k);
                    }
                })
            })
            .collect();
        let t0 = Instant::now();
        barrier.wait();
        for w in workers {
            w.join().unwrap();
        }
        let ns = t0.elapsed().as_nanos() as f64 / (per_thread * threads) as f64;
        if base == 0.0 {
            base = ns;
        }
        eprintln!("registry lookup + checkout + release, {threads:>2} threads: {ns:>7.0} ns per op (all threads)");
        rows.push(Row {
            test: "registry lookup + checkout + release".into(),
            keys: threads,
            threads,
            ns_per_op: ns,
            ratio_to_one_key: ns / base,
        });
    }
    rows
}
