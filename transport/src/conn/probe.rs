//! The liveness probe of an idle connection.

use std::io;

use crate::error::BrokenCause;
use crate::io::Io;
use crate::sys::recv_dontwait_errno;

use super::Conn;

/// What the liveness probe found on an idle connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Probe {
    /// Nothing pending and the peer has not closed: safe to reuse.
    Alive,
    /// The peer closed the connection (TCP FIN, or TLS `close_notify`).
    Closed,
    /// The socket reported an error (reset, unreachable, ...).
    Error(io::ErrorKind),
    /// Bytes arrived that no request asked for: the protocol is out of step.
    Unexpected,
}

/// True for `WouldBlock`, the probe's answer on every healthy connection.
/// The errno is compared first: `kind()` maps it through a call out of line.
#[inline]
fn is_would_block(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EAGAIN) || e.kind() == io::ErrorKind::WouldBlock
}

impl Conn {
    /// The non-blocking liveness check of an idle connection.
    ///
    /// In the common case (nothing pending) this is one `recv(MSG_DONTWAIT)`
    /// returning `EAGAIN`. On TLS, records that arrived while idle are run
    /// through rustls: TLS 1.3 session tickets and KeyUpdate leave the
    /// connection alive, `close_notify` closes it, plaintext is unexpected.
    ///
    /// A broken connection is not looked at: it reports `Error(NotConnected)`.
    pub fn probe(&mut self) -> Probe {
        if self.broken.is_some() {
            return Probe::Error(io::ErrorKind::NotConnected);
        }
        if !self.rbuf.is_empty() {
            self.break_with(BrokenCause::UnexpectedData);
            return Probe::Unexpected;
        }
        let mut scratch = [0u8; 64];
        let got = match &mut self.io {
            // Plain TCP, the common case: the errno says nothing is pending,
            // with no `io::Error` built, decoded and dropped. (Where
            // EWOULDBLOCK differs from EAGAIN, it takes the general way.)
            Io::Plain(socket) => match recv_dontwait_errno(socket, &mut scratch) {
                Err(libc::EAGAIN) => return Probe::Alive,
                other => other.map_err(io::Error::from_raw_os_error),
            },
            // TLS on the socket, the common case: nothing held, nothing arrived.
            Io::Tls(layer) if layer.is_quiet() => return Probe::Alive,
            io => io.read_available(&mut scratch),
        };
        let probe = match got {
            Ok(0) => Probe::Closed,
            Ok(_) => Probe::Unexpected,
            Err(e) if is_would_block(&e) => Probe::Alive,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Probe::Closed,
            Err(e) => Probe::Error(e.kind()),
        };
        match probe {
            Probe::Alive => {}
            Probe::Closed => self.break_with(BrokenCause::PeerClosed),
            Probe::Error(kind) => self.break_with(BrokenCause::Io(kind)),
            Probe::Unexpected => self.break_with(BrokenCause::UnexpectedData),
        }
        probe
    }
}
