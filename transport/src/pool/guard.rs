//! The borrow guard: whatever ends the borrow, drop decides reuse or close.

use std::fmt;
use std::sync::Arc;

use crate::conn::Conn;
use crate::key::PoolKey;
use crate::recycle::Recycle;
use crate::status::Status;

use super::idle::Entry;
use super::slot::Slot;

/// A borrowed connection and its protocol session.
///
/// Dropping it (normal end, early `?` return, or panic unwinding) releases
/// the connection: it goes back to the idle list only if its [`status`]
/// is `NORMAL`, no exchange is open, and the session is clean or was reset;
/// otherwise it is closed and the reason counted.
///
/// [`status`]: Pooled::status
pub struct Pooled<S: Recycle> {
    /// Taken by `drop`, always.
    entry: Option<Box<Entry<S>>>,
    slot: Arc<Slot<S>>,
    status: Status,
    reused: bool,
}

impl<S: Recycle> fmt::Debug for Pooled<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pooled")
            .field("key", self.slot.key())
            .field("reused", &self.reused)
            .field("status", &self.status())
            .field("conn", &self.entry.as_ref().map(|e| &e.conn))
            .finish()
    }
}

impl<S: Recycle> Pooled<S> {
    pub(crate) fn new(entry: Box<Entry<S>>, slot: Arc<Slot<S>>, reused: bool) -> Pooled<S> {
        Pooled {
            entry: Some(entry),
            slot,
            status: Status::NORMAL,
            reused,
        }
    }

    fn entry(&self) -> &Entry<S> {
        // Only `drop` and `discard` take the entry, and both consume the guard.
        self.entry.as_ref().expect("entry present until drop")
    }

    fn entry_mut(&mut self) -> &mut Entry<S> {
        self.entry.as_mut().expect("entry present until drop")
    }

    /// The connection.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.entry_mut().conn
    }

    /// The protocol session kept with the connection.
    pub fn session(&mut self) -> &mut S {
        &mut self.entry_mut().session
    }

    /// The session, read-only.
    pub fn session_ref(&self) -> &S {
        &self.entry().session
    }

    /// Both at once, for code that drives the session over the connection.
    pub fn parts(&mut self) -> (&mut Conn, &mut S) {
        let entry = self.entry_mut();
        (&mut entry.conn, &mut entry.session)
    }

    /// True when the connection came from the idle list rather than `open`.
    /// With [`Conn::reply_started`] this decides whether a failed request may be retried.
    pub fn is_reused(&self) -> bool {
        self.reused
    }

    /// How many borrows this connection served before this one.
    pub fn uses(&self) -> u64 {
        self.entry().uses
    }

    /// The pool key the connection belongs to.
    pub fn key(&self) -> &PoolKey {
        self.slot.key()
    }

    /// The status bits so far: the guard's own and the connection's.
    pub fn status(&self) -> Status {
        self.status
            | self
                .entry
                .as_ref()
                .map_or(Status::NORMAL, |e| e.conn.status())
    }

    /// Sets status bits; any bit set closes the connection on release.
    /// `ABORTED` also breaks the connection at once
    /// ([`crate::BrokenCause::Abandoned`]): no further read or write of
    /// this borrow goes through.
    pub fn mark(&mut self, status: Status) {
        self.status.insert(status);
        if status.contains(Status::ABORTED) {
            if let Some(entry) = self.entry.as_mut() {
                entry.conn.mark(Status::ABORTED);
            }
        }
    }

    /// Closes the connection now instead of returning it.
    pub fn discard(mut self) {
        self.status.insert(Status::ABORTED);
        drop(self);
    }
}

impl<S: Recycle> Drop for Pooled<S> {
    fn drop(&mut self) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        let mut status = self.status;
        if std::thread::panicking() {
            status.insert(Status::ABORTED);
        }
        self.slot.release(entry, status);
    }
}
