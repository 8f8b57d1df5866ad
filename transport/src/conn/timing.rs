//! How long opening a connection took, phase by phase: kept with the
//! connection, so whoever uses it first can tell.

use std::time::Duration;

use super::Conn;

/// The phases of opening a connection ([`Conn::connect_timings`]). Each is
/// `None` when it did not happen (no name to resolve, no TLS) or was not
/// measured (a stream handed over by a caller's own code).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectTimings {
    /// Resolving the host name: `None` for an IP address literal and for a
    /// Unix socket. Fixed answers ([`crate::Resolve::fixed`]) take next to
    /// nothing, and count.
    pub dns: Option<Duration>,
    /// Connecting: the TCP handshake (the Happy Eyeballs race), or through
    /// a proxy connector the whole tunnel (its TCP connect, TLS to the
    /// proxy and its handshake); for a Unix socket its connect.
    pub connect: Option<Duration>,
    /// The TLS handshake with the peer, when [`crate::open`] ran one.
    pub tls: Option<Duration>,
}

impl Conn {
    /// How long opening this connection took, phase by phase (set by
    /// [`crate::open`] and [`crate::Dialer`]). The same values stay with the
    /// connection for its whole life: a pool user who got it reused should
    /// not count them again (a client reports `None` then).
    #[inline]
    pub fn connect_timings(&self) -> ConnectTimings {
        self.timings
    }

    /// Sets the timings (for a connector that measures its own phases).
    #[inline]
    pub fn set_connect_timings(&mut self, timings: ConnectTimings) {
        self.timings = timings;
    }
}
