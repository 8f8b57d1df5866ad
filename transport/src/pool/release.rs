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
use super::stats::Discard;

/// The release decision, read top to bottom: timeout, aborted, broken,
/// the protocol's reuse verdict (with its reset), unread bytes, unsent
/// bytes.
pub(super) fn judge<S: Recycle>(
    entry: &mut Entry<S>,
    status: Status,
    reset_timeout: Duration,
    key: &PoolKey,
) -> Result<(), Discard> {
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
        Reuse::NeedsReset => reset(entry, reset_timeout, key)?,
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
fn reset<S: Recycle>(
    entry: &mut Entry<S>,
    reset_timeout: Duration,
    key: &PoolKey,
) -> Result<(), Discard> {
    let deadline = Instant::now() + reset_timeout;
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
            tracing::trace!(key = %key, "reset on release");
            Ok(())
        }
        Ok(Err(e)) => {
            tracing::debug!(key = %key, error = %e, "reset failed");
            Err(Discard::ResetFailed)
        }
        _ => Err(Discard::ResetFailed),
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
