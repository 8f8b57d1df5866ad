//! The contract between a protocol session and the pool's release path.

use std::time::{Duration, Instant};

use crate::conn::Conn;
use crate::error::BoxError;

/// What the release path must do before a connection can be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// The protocol is in the state of a fresh connection.
    Clean,
    /// A borrower changed state that [`Recycle::reset`] can undo.
    NeedsReset,
    /// The state is unknown or cannot be undone: close.
    MustClose,
}

/// Implemented by each protocol's session state, which the pool keeps next to
/// the connection. The release path asks [`reuse`](Recycle::reuse); only a
/// `Clean` session (or one `reset` made clean) goes back to the idle list.
pub trait Recycle: Send + 'static {
    /// Whether the session is as fresh, resettable, or lost. Pure: no I/O.
    fn reuse(&self) -> Reuse;

    /// Brings the protocol back to the state of a fresh connection before
    /// `deadline` (the connection's deadline is already set to it). On
    /// success `reuse()` must say `Clean`, or the connection is closed.
    fn reset(&mut self, conn: &mut Conn, deadline: Instant) -> Result<(), BoxError> {
        let _ = (conn, deadline);
        Err("this protocol has no reset".into())
    }

    /// A health check after the probe, given how long the connection sat
    /// idle (e.g. `PING` or `NOOP` past a configured interval). An error
    /// closes the connection and the checkout moves on to another one.
    fn verify(&mut self, conn: &mut Conn, idle_for: Duration) -> Result<(), BoxError> {
        let _ = (conn, idle_for);
        Ok(())
    }

    /// A polite goodbye (`QUIT`) when a clean idle connection is closed by
    /// the pool; never called for a connection in an unknown state, nor in
    /// a forked child.
    fn close(&mut self, conn: &mut Conn) {
        let _ = conn;
    }
}

/// A session with no protocol state: plain byte streams (the `monitor`
/// example, tunnels). Clean unless the connection itself says otherwise.
impl Recycle for () {
    fn reuse(&self) -> Reuse {
        Reuse::Clean
    }
}
