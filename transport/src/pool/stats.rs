//! Counters per pool key, and their sum per pool.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a connection was closed instead of being reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Discard {
    /// The borrow ended mid-exchange (`ABORTED`), including panics.
    Aborted,
    /// A deadline passed during the borrow (`TIMEOUT`).
    Timeout,
    /// The protocol's reset failed or did not leave it clean.
    ResetFailed,
    /// The protocol said its state cannot be undone.
    MustClose,
    /// A read or write failed, or the peer broke the protocol.
    Broken,
    /// Idle longer than `idle_timeout`.
    IdleTimeout,
    /// Older than `max_lifetime`.
    Lifetime,
    /// Used `max_uses` times.
    MaxUses,
    /// Bytes were left unread in the buffer at release.
    UnexpectedData,
    /// Bytes were encoded into the write buffer but never sent.
    Unsent,
    /// The probe found the peer had closed it.
    ProbeClosed,
    /// The probe found a socket error (reset).
    ProbeError,
    /// The probe found bytes nobody asked for.
    ProbeUnexpected,
    /// The protocol's health check after a long idle failed.
    VerifyFailed,
    /// The idle list was full (`max_idle`).
    IdleFull,
    /// Opened by the parent process before a `fork()`.
    Forked,
    /// Closed to make room for a fresh connection.
    Evicted,
    /// The pool was dropped or cleared.
    PoolClosed,
}

const REASONS: usize = 18;

impl Discard {
    /// Every reason, in a fixed order.
    pub const ALL: [Discard; REASONS] = [
        Discard::Aborted,
        Discard::Timeout,
        Discard::ResetFailed,
        Discard::MustClose,
        Discard::Broken,
        Discard::IdleTimeout,
        Discard::Lifetime,
        Discard::MaxUses,
        Discard::UnexpectedData,
        Discard::Unsent,
        Discard::ProbeClosed,
        Discard::ProbeError,
        Discard::ProbeUnexpected,
        Discard::VerifyFailed,
        Discard::IdleFull,
        Discard::Forked,
        Discard::Evicted,
        Discard::PoolClosed,
    ];

    /// A snake_case name for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Discard::Aborted => "aborted",
            Discard::Timeout => "timeout",
            Discard::ResetFailed => "reset_failed",
            Discard::MustClose => "must_close",
            Discard::Broken => "broken",
            Discard::IdleTimeout => "idle_timeout",
            Discard::Lifetime => "lifetime",
            Discard::MaxUses => "max_uses",
            Discard::UnexpectedData => "unexpected_data",
            Discard::Unsent => "unsent",
            Discard::ProbeClosed => "probe_closed",
            Discard::ProbeError => "probe_error",
            Discard::ProbeUnexpected => "probe_unexpected",
            Discard::VerifyFailed => "verify_failed",
            Discard::IdleFull => "idle_full",
            Discard::Forked => "forked",
            Discard::Evicted => "evicted",
            Discard::PoolClosed => "pool_closed",
        }
    }

    fn index(self) -> usize {
        Discard::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }

    /// True for the reasons found by the checkout probe or health check.
    pub fn is_probe_failure(self) -> bool {
        matches!(
            self,
            Discard::ProbeClosed
                | Discard::ProbeError
                | Discard::ProbeUnexpected
                | Discard::VerifyFailed
        )
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) opened: AtomicU64,
    pub(crate) open_failed: AtomicU64,
    pub(crate) reused: AtomicU64,
    pub(crate) waits: AtomicU64,
    pub(crate) wait_timeouts: AtomicU64,
    discarded: [AtomicU64; REASONS],
}

impl Counters {
    pub(crate) fn discard(&self, reason: Discard) {
        self.discarded[reason.index()].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self, open_now: usize, idle_now: usize) -> Stats {
        let mut discarded = [0; REASONS];
        for (out, counter) in discarded.iter_mut().zip(&self.discarded) {
            *out = counter.load(Relaxed);
        }
        Stats {
            opened: self.opened.load(Relaxed),
            open_failures: self.open_failed.load(Relaxed),
            reused: self.reused.load(Relaxed),
            waits: self.waits.load(Relaxed),
            wait_timeouts: self.wait_timeouts.load(Relaxed),
            open_now,
            idle_now,
            discarded,
        }
    }
}

/// A snapshot of pool counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections opened.
    pub opened: u64,
    /// Attempts to open that failed.
    pub open_failures: u64,
    /// Checkouts served by an idle connection.
    pub reused: u64,
    /// Checkouts that had to wait for `max_open`.
    pub waits: u64,
    /// Checkouts that waited past the checkout timeout.
    pub wait_timeouts: u64,
    /// Connections open now (idle and borrowed).
    pub open_now: usize,
    /// Connections idle now.
    pub idle_now: usize,
    discarded: [u64; REASONS],
}

impl Stats {
    /// Connections closed for `reason`.
    pub fn discarded(&self, reason: Discard) -> u64 {
        self.discarded[reason.index()]
    }

    /// Connections closed for any reason.
    pub fn discarded_total(&self) -> u64 {
        self.discarded.iter().sum()
    }

    /// Idle connections the checkout probe or health check found unusable.
    pub fn probe_failures(&self) -> u64 {
        Discard::ALL
            .iter()
            .filter(|r| r.is_probe_failure())
            .map(|r| self.discarded(*r))
            .sum()
    }

    pub(crate) fn add(&mut self, other: &Stats) {
        self.opened += other.opened;
        self.open_failures += other.open_failures;
        self.reused += other.reused;
        self.waits += other.waits;
        self.wait_timeouts += other.wait_timeouts;
        self.open_now += other.open_now;
        self.idle_now += other.idle_now;
        for (a, b) in self.discarded.iter_mut().zip(other.discarded) {
            *a += b;
        }
    }

    /// One JSON object on one line: `opened`, `reused`, `discarded` (total),
    /// `probe_failures`, `waits`, `wait_timeouts`, `open_now`, `idle_now`,
    /// and `discarded_<reason>` for every reason that occurred.
    pub fn to_json(&self) -> String {
        let mut out = format!(
            "{{\"opened\":{},\"reused\":{},\"discarded\":{},\"probe_failures\":{},\"open_failures\":{},\"waits\":{},\"wait_timeouts\":{},\"open_now\":{},\"idle_now\":{}",
            self.opened,
            self.reused,
            self.discarded_total(),
            self.probe_failures(),
            self.open_failures,
            self.waits,
            self.wait_timeouts,
            self.open_now,
            self.idle_now
        );
        for reason in Discard::ALL {
            let n = self.discarded(reason);
            if n > 0 {
                let _ = write!(out, ",\"discarded_{}\":{n}", reason.name());
            }
        }
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_required_keys() {
        let c = Counters::default();
        c.opened.fetch_add(2, Relaxed);
        c.reused.fetch_add(5, Relaxed);
        c.discard(Discard::ProbeClosed);
        c.discard(Discard::Aborted);
        let s = c.snapshot(1, 1);
        assert_eq!(s.discarded_total(), 2);
        assert_eq!(s.probe_failures(), 1);
        let json = s.to_json();
        assert!(
            json.starts_with("{\"opened\":2,\"reused\":5,\"discarded\":2,"),
            "{json}"
        );
        assert!(json.contains("\"discarded_probe_closed\":1"));
        assert!(json.ends_with('}'));
    }
}
