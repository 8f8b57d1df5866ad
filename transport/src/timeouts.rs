//! Per-operation timeouts and an overall deadline, applied to the socket only
//! when the effective value changes (a `setsockopt` per read would cost more
//! than the read on loopback).

use std::time::{Duration, Instant};

use crate::error::{Error, Phase, Result};
use crate::socket::Socket;

#[derive(Debug, Default, Clone)]
pub(crate) struct Timeouts {
    pub(crate) read: Option<Duration>,
    pub(crate) write: Option<Duration>,
    pub(crate) deadline: Option<Instant>,
    applied_read: Option<Duration>,
    applied_write: Option<Duration>,
}

// The kernel rounds to jiffies; keeping 1 ms avoids re-applying a value that
// differs only by the time since the last call.
const GRANULARITY: Duration = Duration::from_millis(1);

impl Timeouts {
    /// The timeout the next blocking call may take, or the error if the deadline passed.
    fn effective(&self, per_op: Option<Duration>, phase: Phase) -> Result<Option<Duration>> {
        let Some(deadline) = self.deadline else {
            return Ok(per_op);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left < GRANULARITY {
            return Err(Error::Timeout(phase));
        }
        Ok(Some(per_op.map_or(left, |t| t.min(left))))
    }

    /// Runs before every read: the common case (no deadline, the socket
    /// already has the timeout) is a comparison inlined into the caller; the
    /// rest is out of line so it does not weigh on every read.
    #[inline]
    pub(crate) fn before_read(&mut self, socket: &Socket, phase: Phase) -> Result<()> {
        if self.deadline.is_none() && self.read == self.applied_read {
            return Ok(());
        }
        self.apply_read(socket, phase)
    }

    #[inline(never)]
    fn apply_read(&mut self, socket: &Socket, phase: Phase) -> Result<()> {
        let want = self.effective(self.read, phase)?;
        if differs(want, self.applied_read) {
            socket.set_read_timeout(want)?;
            self.applied_read = want;
        }
        Ok(())
    }

    /// Records a send timeout already on the socket (left by the connect),
    /// so the first write replaces it with the one wanted.
    pub(crate) fn socket_has_write_timeout(&mut self, applied: Option<Duration>) {
        self.applied_write = applied;
    }

    /// Runs before every write; inlined fast path as in [`Timeouts::before_read`].
    #[inline]
    pub(crate) fn before_write(&mut self, socket: &Socket, phase: Phase) -> Result<()> {
        if self.deadline.is_none() && self.write == self.applied_write {
            return Ok(());
        }
        self.apply_write(socket, phase)
    }

    #[inline(never)]
    fn apply_write(&mut self, socket: &Socket, phase: Phase) -> Result<()> {
        let want = self.effective(self.write, phase)?;
        if differs(want, self.applied_write) {
            socket.set_write_timeout(want)?;
            self.applied_write = want;
        }
        Ok(())
    }
}

fn differs(want: Option<Duration>, applied: Option<Duration>) -> bool {
    match (want, applied) {
        (Some(w), Some(a)) => w.abs_diff(a) >= GRANULARITY,
        (None, None) => false,
        _ => true,
    }
}
