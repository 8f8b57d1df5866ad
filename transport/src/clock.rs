//! Time as an input, so idle and lifetime rules are tested without sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the pool reads the time for its idle-timeout and lifetime rules.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to: for tests of expiry rules.
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    offset_nanos: AtomicU64,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl ManualClock {
    /// A clock stopped at the current instant.
    pub fn new() -> ManualClock {
        ManualClock {
            base: Instant::now(),
            offset_nanos: AtomicU64::new(0),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.offset_nanos
            .fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }
}

/// The clock a pool reads: the system clock called directly, or an injected
/// one. A pool reads it twice per borrow; [`Pool::new`](crate::Pool::new)
/// pools skip the virtual call and the `SystemClock` frame around
/// `Instant::now`.
#[derive(Debug, Clone)]
pub(crate) enum PoolClock {
    /// [`SystemClock`], inlined.
    System,
    /// From [`Pool::with_clock`](crate::Pool::with_clock).
    Injected(Arc<dyn Clock>),
}

impl PoolClock {
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self {
            PoolClock::System => Instant::now(),
            PoolClock::Injected(clock) => clock.now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_clock_reads_the_clock_it_was_given() {
        let manual = Arc::new(ManualClock::new());
        let injected = PoolClock::Injected(manual.clone());
        let at = injected.now();
        manual.advance(Duration::from_secs(5));
        assert_eq!(injected.now(), at + Duration::from_secs(5));
        let before = Instant::now();
        let system = PoolClock::System.now();
        assert!(system >= before && system <= Instant::now());
    }
}
