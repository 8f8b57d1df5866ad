//! The transport's one error type.

use std::io;
use std::time::Duration;

/// Any error a protocol's reset or health check reports (the pool only
/// logs it and closes the connection), or a tunnel's own failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The phase of work whose time ran out, so a caller can tell a slow server
/// (read) from an unreachable one (connect) or an over-committed pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Resolving and connecting the TCP socket.
    Connect,
    /// The TLS handshake.
    TlsHandshake,
    /// Waiting for bytes from the peer.
    Read,
    /// Waiting for the peer to accept bytes.
    Write,
    /// Waiting for a free connection in the pool.
    Checkout,
    /// Bringing a released connection back to its fresh state.
    Reset,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::TlsHandshake => "TLS handshake",
            Phase::Read => "read",
            Phase::Write => "write",
            Phase::Checkout => "pool checkout",
            Phase::Reset => "reset on release",
        })
    }
}

/// Why a connection refuses further use (see [`Error::Broken`]): the
/// failure that left its replies unmatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BrokenCause {
    /// A timeout or deadline passed in this phase (a reply may still come).
    Timeout(Phase),
    /// A read or write failed with this I/O error kind.
    Io(io::ErrorKind),
    /// The peer closed the connection (FIN, or TLS `close_notify`).
    PeerClosed,
    /// TLS failed (a bad record, an alert).
    Tls,
    /// The peer broke the protocol: a decoder refused its bytes.
    Protocol,
    /// The peer sent a frame over the size limit.
    FrameTooLarge,
    /// The liveness probe found bytes nobody asked for.
    UnexpectedData,
    /// A reply was abandoned halfway (a decoder that panicked, a borrow
    /// marked `ABORTED`, a protocol that stopped reading a reply).
    Abandoned,
    /// The caller declared the connection unusable ([`crate::Conn::mark_broken`]).
    Marked,
}

impl std::fmt::Display for BrokenCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokenCause::Timeout(phase) => write!(f, "a timeout during {phase}"),
            BrokenCause::Io(kind) => write!(f, "an I/O error ({kind})"),
            BrokenCause::PeerClosed => f.write_str("the peer closing it"),
            BrokenCause::Tls => f.write_str("a TLS error"),
            BrokenCause::Protocol => f.write_str("a protocol error from the peer"),
            BrokenCause::FrameTooLarge => f.write_str("an over-long frame from the peer"),
            BrokenCause::UnexpectedData => f.write_str("bytes nobody asked for"),
            BrokenCause::Abandoned => f.write_str("a reply abandoned halfway"),
            BrokenCause::Marked => f.write_str("its user marking it broken"),
        }
    }
}

/// Everything that can go wrong below the protocol layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host name did not resolve to any address.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The name that was looked up.
        host: String,
        /// What the resolver said.
        #[source]
        source: io::Error,
    },
    /// Every address of the host refused or failed the TCP connect.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// `host:port` and the last address tried.
        addr: String,
        /// The error of the last address tried.
        #[source]
        source: io::Error,
    },
    /// A deadline or timeout passed.
    #[error("timed out during {0}")]
    Timeout(Phase),
    /// rustls refused the peer or the handshake failed.
    #[error("TLS error with {server}: {source}")]
    Tls {
        /// The server name TLS was verifying.
        server: String,
        /// The rustls cause.
        #[source]
        source: rustls::Error,
    },
    /// `max_open` connections are in use for this key and none came free in time.
    #[error("pool exhausted for {key}: all {max_open} connections in use, waited {waited:?}")]
    PoolExhausted {
        /// The pool key, secrets redacted.
        key: String,
        /// The configured limit.
        max_open: usize,
        /// How long the checkout waited.
        waited: Duration,
    },
    /// The peer closed the connection.
    #[error("connection closed by peer{}", if *.mid_frame { " in the middle of a reply" } else { "" })]
    Closed {
        /// Whether part of a frame had already arrived.
        mid_frame: bool,
    },
    /// The peer sent a frame bigger than the configured limit.
    #[error("frame from peer exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A configuration value cannot work; raised when the configuration is built.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Caller input that must not reach the wire; raised before anything is sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A connector (e.g. a proxy tunnel) could not supply the stream; the
    /// source is the connector's own error type, for `downcast_ref`.
    #[error("{0}")]
    Tunnel(#[source] BoxError),
    /// Any other I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// An earlier failure on this connection left its replies unmatched,
    /// so it refuses every further read and write until it is dropped
    /// (and then closed, never reused). Nothing was sent or read.
    #[error("connection unusable after {cause}: replies can no longer be matched to requests")]
    Broken {
        /// The failure that broke it.
        cause: BrokenCause,
    },
}

impl Error {
    /// True when the connection failed in a way a fresh connection could avoid:
    /// the peer closed or reset it. Protocol crates combine this with "the
    /// connection was reused" and "no reply byte arrived" for the retry rule.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Error::Closed { mid_frame } => !mid_frame,
            Error::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::NotConnected
            ),
            _ => false,
        }
    }

    /// True when the connection refused the operation because an earlier
    /// failure broke it ([`Error::Broken`]). Never a reason to retry on the
    /// same connection; a new one is needed.
    pub fn is_broken(&self) -> bool {
        matches!(self, Error::Broken { .. })
    }

    /// The cause this error leaves on the connection it happened on.
    pub(crate) fn broken_cause(&self) -> BrokenCause {
        match self {
            Error::Timeout(phase) => BrokenCause::Timeout(*phase),
            Error::Closed { .. } => BrokenCause::PeerClosed,
            Error::Tls { .. } => BrokenCause::Tls,
            Error::FrameTooLarge { .. } => BrokenCause::FrameTooLarge,
            Error::Io(e) => BrokenCause::Io(e.kind()),
            Error::Broken { cause } => *cause,
            _ => BrokenCause::Protocol,
        }
    }

    /// True for timeouts of any phase.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// Turns an I/O error of a socket operation into a transport error,
    /// naming the phase when it is a timeout and unwrapping rustls errors.
    pub(crate) fn from_io(e: io::Error, phase: Phase, server: Option<&str>) -> Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout(phase),
            io::ErrorKind::InvalidData => {
                if let Some(tls) = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                {
                    return Error::Tls {
                        server: server.unwrap_or("peer").to_string(),
                        source: tls.clone(),
                    };
                }
                Error::Io(e)
            }
            io::ErrorKind::UnexpectedEof => Error::Closed { mid_frame: false },
            _ => Error::Io(e),
        }
    }
}

/// Result alias for the transport.
pub type Result<T, E = Error> = std::result::Result<T, E>;
