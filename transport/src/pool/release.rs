//! The release path: whether a returned connection can serve the next
//! borrower exactly like a fresh one (`judge`, with the protocol's reset),
//! and how a connection leaves the pool (`close`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::key::PoolKey;
use crate::recycle::{Recycle, Reuse};
use crate::status::Status;
use crate::sys::fork_generation;

use super::idle::Entry;
use super::slot::Slot;
use super::stats::Discard;

impl<S: Recycle> Slot<S> {
    /// Parks `entry` if it can serve the next borrower exactly like a
    /// fresh connection; closes it otherwise.
    #[inline]
    pub(crate) fn release(&self, mut entry: Box<Entry<S>>, status: Status) {
        // First of all: in a forked child the socket is shared with the
        // parent, who may be mid-exchange on it. No reset, drain, goodbye
        // or close_notify: the child only closes its own fd.
        let generation = fork_generation();
        if entry.generation != generation {
            self.discard(entry, Discard::Forked);
            return;
        }
        entry.uses += 1;
        let reason = match self.judge(&mut entry, status) {
            Err(reason) => reason,
            Ok(()) => {
                let over_uses = self.config.max_uses.is_some_and(|max| entry.uses >= max);
                match self.park(entry, over_uses, generation) {
                    Ok(()) => return,
                    Err((back, reason)) => {
                        entry = back;
                        reason
                    }
                }
            }
        };
        self.discard(entry, reason);
    }

    /// The release decision, read top to bottom: timeout, aborted, broken,
    /// the protocol's reuse verdict (with its reset), unread bytes, unsent
    /// bytes.
    fn judge(&self, entry: &mut Entry<S>, status: Status) -> Result<(), Discard> {
        let conn = &mut entry.conn;
        let status = status | conn.status();
        if status.contains(Status::TIMEOUT) {
            return Err(Discard::Timeout);
        }
        if status.contains(Status::ABORTED) || conn.in_exchange() {
            return Err(Discard::Aborted);
        }
        if conn.is_broken() {
            return Err(Discard::Broken);
        }
        match entry.session.reuse() {
            Reuse::Clean => {}
            Reuse::MustClose => return Err(Discard::MustClose),
            Reuse::NeedsReset => self.reset(entry)?,
        }
        if entry.conn.has_unread() {
            return Err(Discard::UnexpectedData);
        }
        // Left in the write buffer, they would go out with the next
        // borrower's first flush.
        if entry.conn.unsent() > 0 {
            return Err(Discard::Unsent);
        }
        Ok(())
    }

    // Out of line: most releases find the session clean, and keeping the
    // reset's unwinding and logging out lets the release path inline.
    #[inline(never)]
    fn reset(&self, entry: &mut Entry<S>) -> Result<(), Discard> {
        let deadline = Instant::now() + self.config.reset_timeout;
        // No need to restore the old deadline: parking clears it, and every
        // other outcome closes the connection.
        entry.conn.set_deadline(Some(deadline));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            entry.session.reset(&mut entry.conn, deadline)
        }));
        let conn = &entry.conn;
        match outcome {
            Ok(Ok(()))
                if entry.session.reuse() == Reuse::Clean
                    && !conn.is_broken()
                    && conn.status().is_normal()
                    && !conn.in_exchange() =>
            {
                tracing::trace!(key = %self.key(), "reset on release");
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::debug!(key = %self.key(), error = %e, "reset failed");
                Err(Discard::ResetFailed)
            }
            _ => Err(Discard::ResetFailed),
        }
    }
}

/// How a connection leaves the pool: politely (the protocol's goodbye and
/// TLS close_notify) only when its state is known to be clean and it is
/// this process's; otherwise its fd is just closed.
#[allow(
    clippy::boxed_local,
    reason = "entries live boxed; closing one should not copy it out"
)]
pub(crate) fn close<S: Recycle>(mut entry: Box<Entry<S>>, reason: Discard, key: &PoolKey) {
    tracing::debug!(key = %key, reason = reason.name(), uses = entry.uses, "closing connection");
    let polite = matches!(
        reason,
        Discard::IdleTimeout
            | Discard::Lifetime
            | Discard::MaxUses
            | Discard::IdleFull
            | Discard::Evicted
            | Discard::PoolClosed
    ) && entry.generation == fork_generation();
    if polite {
        entry
            .conn
            .set_deadline(Some(Instant::now() + Duration::from_millis(500)));
        let _ = catch_unwind(AssertUnwindSafe(|| entry.session.close(&mut entry.conn)));
        entry.conn.close_notify();
    }
    // Dropping closes the fd only; no shutdown(), which would also cut the
    // parent's copy of a socket inherited across fork().
}
