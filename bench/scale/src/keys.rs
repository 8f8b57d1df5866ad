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

/// ns per non-blocking `recv` (the checkout probe's system call) on a
/// random one of `n` idle connections to `port`, in `order`.
fn probe_alone(port: u16, order: &[usize], n: usize) -> f64 {
    let socks: Vec<std::net::TcpStream> = (0..n)
        .map(|_| {
            let s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.set_nonblocking(true).expect("nonblocking");
            s
        })
        .collect();
    let mut byte = [0u8; 1];
    let t0 = Instant::now();
    for &i in order {
        let r = socks[i].peek(&mut byte);
        assert!(
            matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{r:?}"
        );
    }
    t0.elapsed().as_nanos() as f64 / order.len() as f64
}

/// `port`: a plain HTTP server on 127.0.0.1 that keeps idle connections.
pub fn run(port: u16, key_counts: &[usize], ops: usize) -> Vec<Row> {
    let endpoint = Endpoint::new("127.0.0.1", port).expect("endpoint");
    let mut rows = Vec::new();
    let (mut base, mut pool_base, mut held_base) = (0.0, 0.0, 0.0);
    for &n in key_counts {
        let pool: Pool<()> = Pool::new(PoolConfig {
            max_open: 2,
            max_idle: 2,
            ..PoolConfig::default()
        })
        .expect("pool");
        let keys: Vec<PoolKey> = (0..n).map(|i| key(port, i)).collect();
        for k in &keys {
            cycle(&pool, &endpoint, k); // one idle connection per key
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let order: Vec<usize> = (0..ops)
            .map(|_| (next(&mut x) % n as u64) as usize)
            .collect();
        let opened = pool.stats().opened;
        let t0 = Instant::now();
        for &i in &order {
            cycle(&pool, &endpoint, &keys[i]);
        }
        let ns = t0.elapsed().as_nanos() as f64 / ops as f64;
        // The clients keep the key's pool handle with their settings (an
        // origin, a redis client), so a checkout skips the key lookup.
        let held: Vec<_> = keys.iter().map(|k| pool.key_pool(k)).collect();
        let t1 = Instant::now();
        for &i in &order {
            let guard = held[i]
                .checkout(|| -> transport::Result<_> {
                    Ok((open(&endpoint, &Direct, &ConnectOptions::default())?, ()))
                })
                .expect("checkout");
            drop(guard);
        }
        let held_ns = t1.elapsed().as_nanos() as f64 / ops as f64;
        assert_eq!(pool.stats().opened, opened, "every checkout must reuse");
        drop(held);
        drop(pool);
        // The kernel's share: the same probe on the same number of idle
        // sockets, in the same order, without a pool. With thousands of
        // sockets each system call touches cold kernel memory (the socket,
        // its file), which no pool design can avoid.
        let probe = probe_alone(port, &order, n);
        let pool_part = ns - probe;
        if base == 0.0 {
            base = ns;
            pool_base = pool_part;
            held_base = held_ns;
        }
        let row = Row {
            test: "checkout + release, random key".into(),
            keys: n,
            threads: 1,
            ns_per_op: ns,
            ratio_to_one_key: ns / base,
        };
        eprintln!(
            "{:>6} keys: {:>7.0} ns per checkout + release ({:.2}x one key); the probe's recv alone {:>5.0} ns; the pool's own part {:>5.0} ns ({:.2}x one key)",
            n,
            ns,
            row.ratio_to_one_key,
            probe,
            pool_part,
            pool_part / pool_base
        );
        rows.push(row);
        eprintln!(
            "{:>6} keys: {:>7.0} ns per checkout + release through a held key pool ({:.2}x one key)",
            n,
            held_ns,
            held_ns / held_base
        );
        rows.push(Row {
            test: "checkout + release through a held key pool, random key".into(),
            keys: n,
            threads: 1,
            ns_per_op: held_ns,
            ratio_to_one_key: held_ns / held_base,
        });
        rows.push(Row {
            test: "probe alone: recv on a random idle socket".into(),
            keys: n,
            threads: 1,
            ns_per_op: probe,
            ratio_to_one_key: 0.0,
        });
        rows.push(Row {
            test: "the pool's own part (checkout + release - probe)".into(),
            keys: n,
            threads: 1,
            ns_per_op: pool_part,
            ratio_to_one_key: pool_part / pool_base,
        });
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
                    let get = || {
                        transport::registry::pool::<(), _>("bench-scale", || {
                            Pool::new(PoolConfig::default())
                        })
                    };
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
