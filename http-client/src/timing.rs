//! A response's timing phases ([`Timings`], [`crate::Response::timings`]):
//! what opening its connection took (from the transport, which measures
//! while it connects) and the time to its first byte, measured around the
//! exchange with one clock reading before and one after.

use std::time::Duration;

use transport::ConnectTimings;

/// How long the phases of the exchange that produced a response took.
///
/// * [`dns`](Timings::dns), [`connect`](Timings::connect),
///   [`tls`](Timings::tls): opening the connection. `None` when the
///   connection was **reused** from the pool ([`reused`](Timings::reused)):
///   nothing was opened for this response. On a new connection `dns` is
///   `None` for an IP address (nothing to resolve), `tls` for plain http;
///   `connect` is the TCP handshake, or through a proxy the whole tunnel.
/// * [`ttfb`](Timings::ttfb): from the first byte of the request written
///   to the response head read (100-continue and interim heads included),
///   on a new or a reused connection alike; the connect phases come before
///   it and are not part of it.
///
/// After redirects or retries they are those of the last exchange, the one
/// whose response this is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    reused: bool,
    connect: ConnectTimings,
    ttfb: Option<Duration>,
}

impl Timings {
    pub(crate) fn new(reused: bool, connect: ConnectTimings, ttfb: Duration) -> Timings {
        Timings {
            reused,
            connect: if reused {
                ConnectTimings::default()
            } else {
                connect
            },
            ttfb: Some(ttfb),
        }
    }

    /// True when the connection came from the pool (no connect phases).
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// Resolving the host name (a new connection to a named host only).
    pub fn dns(&self) -> Option<Duration> {
        self.connect.dns
    }

    /// Connecting (TCP, or the proxy tunnel), on a new connection only.
    pub fn connect(&self) -> Option<Duration> {
        self.connect.connect
    }

    /// The TLS handshake with the server, on a new https connection only.
    pub fn tls(&self) -> Option<Duration> {
        self.connect.tls
    }

    /// Request written to response head read.
    pub fn ttfb(&self) -> Option<Duration> {
        self.ttfb
    }
}
