//! Runs one client's operation on N threads for a fixed slice of time and
//! keeps every operation's latency; merges slices into throughput and
//! percentiles. Set-up (connect, warm-up) happens before the clock starts.

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// One operation of one client, owned by one thread.
pub type Op = Box<dyn FnMut() + Send>;
/// Makes a thread's operation (thread index in): the shared client is
/// captured by the factory, per-thread state (a raw socket) made inside.
pub type Factory = Arc<dyn Fn(usize) -> Op + Send + Sync>;

/// What slices of one client added up to.
#[derive(Default)]
pub struct Tally {
    pub ops: u64,
    pub secs: f64,
    pub latencies_ns: Vec<u32>,
}

impl Tally {
    /// Operations per second over the time of this client's own slices.
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }

    /// The `q` quantile (0..1) of the operation latencies, in microseconds.
    pub fn quantile_us(&mut self, q: f64) -> f64 {
        if self.latencies_ns.is_empty() {
            return 0.0;
        }
        self.latencies_ns.sort_unstable();
        let i = ((self.latencies_ns.len() - 1) as f64 * q).round() as usize;
        self.latencies_ns[i] as f64 / 1000.0
    }
}

/// Runs `factory` on `threads` threads for `slice` (or `max_ops` per thread,
/// whichever ends first) and adds the result to `tally`.
pub fn run_slice(
    threads: usize,
    slice: Duration,
    max_ops: usize,
    factory: &Factory,
    tally: &mut Tally,
) {
    let ready = Arc::new(Barrier::new(threads + 1));
    let go = Arc::new(Barrier::new(threads + 1));
    let end = Arc::new(Mutex::new(None::<Instant>));
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            let (ready, go, end, factory) =
                (ready.clone(), go.clone(), end.clone(), factory.clone());
            std::thread::spawn(move || {
                let mut op = factory(i);
                op(); // warm: connect, handshake, first allocation
                let mut lat = Vec::with_capacity(max_ops.min(1 << 20));
                ready.wait();
                go.wait();
                let end = end.lock().unwrap().expect("end set before go");
                loop {
                    let t0 = Instant::now();
                    op();
                    let t1 = Instant::now();
                    lat.push((t1 - t0).as_nanos().min(u32::MAX as u128) as u32);
                    if t1 >= end || lat.len() >= max_ops {
                        break;
                    }
                }
                lat
            })
        })
        .collect();
    ready.wait();
    // Timed from before the release: on one CPU the workers may finish
    // before this thread runs again.
    let start = Instant::now();
    *end.lock().unwrap() = Some(start + slice);
    go.wait();
    for w in workers {
        let lat = w.join().expect("worker panicked");
        tally.ops += lat.len() as u64;
        tally.latencies_ns.extend(lat);
    }
    tally.secs += start.elapsed().as_secs_f64();
}

/// One row of a results table, as written to JSON.
#[derive(Serialize, Clone, Debug)]
pub struct Row {
    pub workload: String,
    pub client: String,
    pub threads: usize,
    pub ops: u64,
    pub per_sec: f64,
    pub ratio_to_raw: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
}
