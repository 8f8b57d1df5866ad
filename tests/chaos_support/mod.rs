//! Shared machinery of the chaos, kill and soak suites: the seed, a small
//! seeded RNG, the tally of figures, the hostile relay, and a bounded run
//! loop. Included by each suite with `#[path]` (no crate of its own).
#![allow(dead_code)]

pub mod http_work;
pub mod mixed;
pub mod private;
pub mod redis_work;
pub mod relay;
pub mod smtp_work;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// The seed of this run: `CHAOS_SEED` when set (to replay a run), else
/// taken from the clock. Printed, so any failing run can be replayed.
pub fn seed(suite: &str) -> u64 {
    let seed = match std::env::var("CHAOS_SEED") {
        Ok(v) if !v.is_empty() => v.parse().expect("CHAOS_SEED must be a u64"),
        _ => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    };
    eprintln!("{suite}: CHAOS_SEED={seed} (set it to replay this run)");
    seed
}

/// How long a run lasts: `var` in seconds when set, else `default`.
pub fn seconds(var: &str, default: f64) -> Duration {
    let s = match std::env::var(var) {
        Ok(v) if !v.is_empty() => v.parse().expect("a number of seconds"),
        _ => default,
    };
    Duration::from_secs_f64(s)
}

/// splitmix64: small, fast, and the same sequence for the same seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for stream `stream` of `seed` (one per thread, per relay
    /// connection...), so each stream replays alike whatever the others do.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next();
        r
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `per_mille`/1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// Uniform in `lo..=hi` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

/// The figures of a run. `wrong_replies` counts every reply that did not
/// answer its own request, and every borrow that found state a previous
/// borrower left: it must stay 0.
#[derive(Debug, Default)]
pub struct Tally {
    /// Requests whose reply was received and checked.
    pub operations: AtomicU64,
    /// Borrows cut short on purpose or by a failure (timeouts, panics,
    /// dropped replies, closed connections, errors).
    pub aborts: AtomicU64,
    /// Replies that answered another request, or state that leaked.
    pub wrong_replies: AtomicU64,
    /// Operations that failed with an error (their own kind of abort).
    pub errors: AtomicU64,
    /// Outcomes the client reported as unknown (SMTP `DeliveryUnknown`).
    pub unknown: AtomicU64,
    first_wrong: Mutex<Vec<String>>,
}

impl Tally {
    pub fn op(&self) {
        self.operations.fetch_add(1, Ordering::Relaxed);
    }

    pub fn abort(&self) {
        self.aborts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn unknown(&self) {
        self.unknown.fetch_add(1, Ordering::Relaxed);
    }

    /// A reply that is not its request's, with what was expected and got.
    pub fn wrong(&self, what: String) {
        let what: String = what.chars().take(240).collect();
        self.wrong_replies.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_wrong.lock().unwrap();
        if first.len() < 10 {
            eprintln!("WRONG REPLY: {what}");
            first.push(what);
        }
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// The first wrong replies, for the assertion message.
    pub fn examples(&self) -> Vec<String> {
        self.first_wrong.lock().unwrap().clone()
    }

    /// One JSON object of the figures, `reconnects` and extra fields added.
    pub fn json(&self, seed: u64, reconnects: u64, extra: &[(&str, String)]) -> String {
        let mut s = format!(
            "{{\"seed\":{seed},\"operations\":{},\"aborts\":{},\"wrong_replies\":{},\"errors\":{},\"unknown_outcomes\":{},\"reconnects\":{reconnects}",
            Tally::get(&self.operations),
            Tally::get(&self.aborts),
            Tally::get(&self.wrong_replies),
            Tally::get(&self.errors),
            Tally::get(&self.unknown),
        );
        for (k, v) in extra {
            s.push_str(&format!(",\"{k}\":{v}"));
        }
        s.push('}');
        s
    }
}

/// Panics raised on purpose inside a borrow start with this, and the panic
/// hook keeps them quiet (thousands of them would bury real failures).
pub const CHAOS_PANIC: &str = "chaos: panic inside the borrow";

/// Installs (once) a panic hook that silences the suite's own panics.
pub fn quiet_chaos_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(|s| s.as_str()));
            if msg.is_some_and(|m| m.starts_with(CHAOS_PANIC)) {
                return;
            }
            default(info);
        }));
    });
}

/// Runs `body(rng, thread, n)` on `threads` threads until `run_for` passed,
/// each thread with its own stream of the seed; `n` counts the thread's
/// borrows (for unique ids).
pub fn run_threads<F>(threads: usize, run_for: Duration, seed: u64, stream_base: u64, body: F)
where
    F: Fn(&mut Rng, usize, u64) + Sync,
{
    let end = Instant::now() + run_for;
    std::thread::scope(|s| {
        for t in 0..threads {
            let body = &body;
            s.spawn(move || {
                let mut rng = Rng::new(seed, stream_base + t as u64);
                let mut n = 0u64;
                while Instant::now() < end {
                    body(&mut rng, t, n);
                    n += 1;
                }
            });
        }
    });
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Resident set size in KiB at a quiet moment (no borrow under way), after
/// giving freed heap memory back to the system: what is still live, not
/// the high-water mark of transient buffers that glibc keeps around.
pub fn rss_settled_kib() -> u64 {
    // SAFETY: malloc_trim only releases free memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
    rss_kib()
}

/// Heap bytes in use (allocated and not freed) in KiB, over all of
/// glibc's arenas: what the program holds, without the allocator's free
/// pages and fragmentation that RSS also counts. Growth here is a leak;
/// growth of RSS alone is the allocator's.
pub fn heap_in_use_kib() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks / 1024) as u64
}

/// Threads of this process now.
pub fn threads() -> u64 {
    status_field("Threads:")
}

/// Resident set size of this process in KiB.
pub fn rss_kib() -> u64 {
    status_field("VmRSS:")
}

fn status_field(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
