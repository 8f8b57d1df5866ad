//! Opt-in retries with backoff ([`RetryPolicy`], set with
//! [`crate::ClientBuilder::retry`]): for a request that may be sent again
//! (idempotent, or marked replayable, with a body that can be replayed),
//! after a connect error, a timeout before any response, or a configured
//! status (429 and 503 by default). Waits grow exponentially with jitter,
//! `Retry-After` (seconds or an HTTP date; a date gone by means at once)
//! is honoured up to a cap, and a budget shared by
//! every request of the client keeps retries to a fraction of the traffic,
//! so a struggling server never meets a retry storm. The stale-connection
//! retry (once, on a new connection, see the crate docs) is separate and
//! unchanged.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::proto::retry_after::retry_after;
use crate::response::Response;

/// When and how often a request is tried again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    retries: u32,
    base: Duration,
    max_backoff: Duration,
    retry_after_cap: Duration,
    statuses: Vec<u16>,
    budget: Arc<Budget>,
}

/// Retry tokens shared by every request of a client: each request adds
/// `ratio` of a token (up to a reserve), each retry takes one.
#[derive(Debug)]
struct Budget {
    /// Thousandths of a token.
    milli: AtomicI64,
    ratio_milli: i64,
    max_milli: i64,
}

impl RetryPolicy {
    /// Up to `retries` more tries; backoff from 100 ms doubling up to 10 s
    /// (with jitter), `Retry-After` up to 30 s, statuses 429 and 503, and a
    /// budget of 10 retries plus one per five requests.
    pub fn new(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            base: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            retry_after_cap: Duration::from_secs(30),
            statuses: vec![429, 503],
            budget: Arc::new(Budget {
                milli: AtomicI64::new(10_000),
                ratio_milli: 200,
                max_milli: 10_000,
            }),
        }
    }

    /// The first wait and the longest one.
    pub fn backoff(mut self, base: Duration, max: Duration) -> RetryPolicy {
        self.base = base;
        self.max_backoff = max.max(base);
        self
    }

    /// The longest `Retry-After` honoured, as seconds or as the time to its
    /// HTTP date (a longer one waits this long).
    pub fn retry_after_cap(mut self, cap: Duration) -> RetryPolicy {
        self.retry_after_cap = cap;
        self
    }

    /// The statuses that are tried again (default 429 and 503).
    pub fn statuses(mut self, statuses: &[u16]) -> RetryPolicy {
        self.statuses = statuses.to_vec();
        self
    }

    /// The budget: `reserve` retries to start with, and `per_request` of a
    /// retry earned by each request (0.2: one retry per five requests).
    pub fn budget(mut self, reserve: u32, per_request: f64) -> RetryPolicy {
        let max = i64::from(reserve) * 1000;
        self.budget = Arc::new(Budget {
            milli: AtomicI64::new(max),
            ratio_milli: (per_request.clamp(0.0, 1.0) * 1000.0) as i64,
            max_milli: max,
        });
        self
    }

    /// A request starts: it earns its share of the budget.
    pub(crate) fn deposit(&self) {
        let b = &self.budget;
        let _ = b
            .milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
                Some((m + b.ratio_milli).min(b.max_milli))
            });
    }

    /// How long to wait before try number `attempt + 1` (counting from 0)
    /// after `result`, or `None` to hand `result` to the caller.
    pub(crate) fn wait_before_retry(
        &self,
        result: &Result<Response, Error>,
        attempt: u32,
        may_resend: bool,
    ) -> Option<Duration> {
        if attempt >= self.retries || !may_resend {
            return None;
        }
        let retry_after = match result {
            Ok(resp) if self.statuses.contains(&resp.status()) => {
                let now = SystemTime::now();
                resp.header("retry-after").map(|v| retry_after(v, now))
            }
            Ok(_) => return None,
            Err(e) if retryable_error(e) => None,
            Err(_) => return None,
        };
        // One token per retry, or none at all.
        let b = &self.budget;
        b.milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
                (m >= 1000).then_some(m - 1000)
            })
            .ok()?;
        Some(match retry_after {
            Some(Some(wait)) => wait.min(self.retry_after_cap),
            _ => self.backoff_for(attempt),
        })
    }

    /// Exponential backoff with full jitter: a random wait up to
    /// `base * 2^attempt`, capped.
    fn backoff_for(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        let random = RandomState::new().hash_one(attempt) % 1000;
        ceiling.mul_f64((500 + random / 2) as f64 / 1000.0)
    }
}

/// Failures where no response came: a connect error, a timeout waiting
/// for the response head, the pool full.
fn retryable_error(e: &Error) -> bool {
    match e {
        Error::Transport(t) => {
            matches!(
                t,
                transport::Error::Connect { .. }
                    | transport::Error::Timeout(_)
                    | transport::Error::PoolExhausted { .. }
            ) || t.is_connection_lost()
        }
        Error::NotReplayed { .. } => false,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_stops_at_its_cap() {
        let p = RetryPolicy::new(10).backoff(Duration::from_millis(100), Duration::from_secs(1));
        for attempt in 0..10 {
            let w = p.backoff_for(attempt);
            let ceiling = Duration::from_millis(100 * (1 << attempt)).min(Duration::from_secs(1));
            assert!(w <= ceiling && w >= ceiling / 2, "{attempt}: {w:?}");
        }
    }

    #[test]
    fn the_budget_runs_out_and_requests_refill_it() {
        let p = RetryPolicy::new(100).budget(2, 0.5);
        let err = || {
            Err(Error::Transport(transport::Error::Timeout(
                transport::Phase::Read,
            )))
        };
        assert!(p.wait_before_retry(&err(), 0, true).is_some());
        assert!(p.wait_before_retry(&err(), 0, true).is_some());
        assert!(p.wait_before_retry(&err(), 0, true).is_none());
        p.deposit();
        p.deposit();
        assert!(p.wait_before_retry(&err(), 0, true).is_some());
        // Never for a request that may not be sent again, nor past the count.
        let p = RetryPolicy::new(1);
        assert!(p.wait_before_retry(&err(), 0, false).is_none());
        assert!(p.wait_before_retry(&err(), 1, true).is_none());
    }
}
