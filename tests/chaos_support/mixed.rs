//! All four protocols at once on shared clients: what `make chaos` and
//! `make soak` run (redis, HTTP, SMTP, each also through the CONNECT tunnel).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::http_work::HttpWork;
use super::redis_work::RedisWork;
use super::smtp_work::SmtpWork;
use super::{Rng, Tally, CHAOS_PANIC};

pub struct Mixed {
    pub redis: RedisWork,
    pub http: HttpWork,
    pub smtp: SmtpWork,
}

impl Mixed {
    pub fn new(run: &str, seed: u64) -> Mixed {
        Mixed {
            redis: RedisWork::new(&format!("{run}-r"), seed, &["direct", "relay", "tunnel"]),
            http: HttpWork::new(
                &format!("{run}-h"),
                seed,
                &["direct", "limited", "relay", "tunnel", "tunnel-relay"],
            ),
            smtp: SmtpWork::new(&format!("{run}-s"), seed, &["direct", "relay", "tunnel"]),
        }
    }

    /// One borrow of one protocol (redis 55 %, HTTP 38 %, SMTP 7 %: the
    /// SMTP server is the slowest by far).
    pub fn borrow(&self, rng: &mut Rng, t: usize, n: u64, tally: &Tally) {
        let pick = rng.below(100);
        guarded(|| match pick {
            0..=54 => self.redis.borrow(rng, t, n, tally),
            55..=92 => self.http.borrow(rng, t, n, tally),
            _ => self.smtp.borrow(rng, t, n, tally),
        });
    }

    pub fn opened(&self) -> u64 {
        self.redis.opened() + self.http.opened() + self.smtp.opened()
    }

    /// Closes every idle pooled connection of every client: memory is
    /// then measured without the pools' varying occupancy.
    pub fn clear_idle(&self) {
        self.redis.clear_idle();
        self.http.clear_idle();
        self.smtp.clear_idle();
    }

    pub fn check_counters(&self) -> Result<(), String> {
        self.redis.check_counters()?;
        self.http.check_counters()?;
        self.smtp.check_counters()
    }
}

/// Runs one borrow, catching the suite's own panics (any other panic is
/// raised again, so the run fails).
pub fn guarded(f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        let ours = p
            .downcast_ref::<&str>()
            .is_some_and(|m| m.starts_with(CHAOS_PANIC));
        if !ours {
            std::panic::resume_unwind(p);
        }
    }
}
