//! Heap allocations per request on the hot paths, counted by a global
//! allocator that wraps the system one (all threads, so a peer's runtime
//! thread counts too). Keep-alive GET and Redis SET/GET, after a warm-up.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use redis_client::Commands;
use serde::Serialize;

use crate::clients::{self, HttpTarget};

/// Counts every allocation (and reallocation) made through it.
pub struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[derive(Serialize, Debug)]
pub struct Row {
    pub workload: String,
    pub client: String,
    pub allocations_per_request: f64,
    pub bytes_per_request: f64,
}

fn count(workload: &str, client: &str, mut op: impl FnMut(), rows: &mut Vec<Row>) {
    for _ in 0..200 {
        op();
    }
    const N: u64 = 2000;
    let (a0, b0) = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    for _ in 0..N {
        op();
    }
    let row = Row {
        workload: workload.to_string(),
        client: client.to_string(),
        allocations_per_request: (ALLOCS.load(Ordering::Relaxed) - a0) as f64 / N as f64,
        bytes_per_request: (BYTES.load(Ordering::Relaxed) - b0) as f64 / N as f64,
    };
    eprintln!(
        "{:<24} {:<34} {:>6.1} allocations, {:>8.0} bytes per request",
        row.workload, row.client, row.allocations_per_request, row.bytes_per_request
    );
    rows.push(row);
}

pub fn run(http: &HttpTarget, redis_url: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let url = http.url();
    let ours = clients::ours_http(http, true, 4);
    count(
        "HTTP keep-alive GET",
        "ours",
        || clients::ours_get(&ours, &url),
        &mut rows,
    );
    let ureq = clients::ureq_http(http, true, 4);
    count(
        "HTTP keep-alive GET",
        "ureq",
        || clients::ureq_get(&ureq, &url),
        &mut rows,
    );
    let reqwest = clients::reqwest_http(http, true, 4);
    count(
        "HTTP keep-alive GET",
        "reqwest blocking",
        || clients::reqwest_get(&reqwest, &url),
        &mut rows,
    );

    let client = clients::ours_redis(redis_url, 4);
    {
        let mut c = client.get().expect("checkout");
        let mut n = 0u64;
        count(
            "Redis SET/GET",
            "ours (held connection)",
            || {
                n += 1;
                set_or_get(&mut c, n);
            },
            &mut rows,
        );
    }
    let mut n = 0u64;
    count(
        "Redis SET/GET",
        "ours (checkout per command)",
        || {
            n += 1;
            set_or_get(&mut client.get().expect("checkout"), n);
        },
        &mut rows,
    );
    let mut rs = redis::Client::open(redis_url)
        .unwrap()
        .get_connection()
        .unwrap();
    let mut n = 0u64;
    count(
        "Redis SET/GET",
        "redis-rs (held connection)",
        || {
            n += 1;
            if n % 2 == 1 {
                redis::cmd("SET")
                    .arg("alloc:k")
                    .arg(V)
                    .query::<()>(&mut rs)
                    .expect("SET");
            } else {
                let v: Vec<u8> = redis::cmd("GET")
                    .arg("alloc:k")
                    .query(&mut rs)
                    .expect("GET");
                assert_eq!(v, V);
            }
        },
        &mut rows,
    );
    rows
}

const V: &[u8] = b"0123456789abcdef0123456789abcdef";

/// The `n`-th operation of the alternating workload: SET when odd, GET
/// (checked) when even.
fn set_or_get(c: &mut redis_client::Connection, n: u64) {
    if n % 2 == 1 {
        c.set("alloc:k", V).expect("SET");
    } else {
        let v: Vec<u8> = c.get("alloc:k").expect("GET");
        assert_eq!(v, V);
    }
}
