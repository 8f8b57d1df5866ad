//! The crate's one error type.

use crate::proto::ProtoError;
use crate::server_error::{ServerError, ServerErrorKind};

/// Everything that can go wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Connecting, TLS, timeouts, the pool (from the transport).
    #[error(transparent)]
    Transport(#[from] transport::Error),
    /// The server broke RESP or exceeded a limit; the connection was closed.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtoError),
    /// The caller's input cannot be sent; raised before anything is sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The server answered with an error reply; the connection stays usable.
    #[error("server error: {0}")]
    Server(ServerError),
    /// A reply did not convert to the requested type.
    #[error("cannot convert {got} to {expected}")]
    Type {
        /// The Rust type asked for.
        expected: &'static str,
        /// What the reply was.
        got: String,
    },
    /// Redis Cluster or Sentinel: routing, redirects, topology, discovery.
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// An optimistic (WATCH) transaction kept failing.
    #[error("transaction aborted by concurrent changes {attempts} times")]
    TransactionConflict {
        /// How many attempts ran.
        attempts: usize,
    },
}

impl Error {
    /// The server's error, if this is one.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Error::Server(e) => Some(e),
            _ => None,
        }
    }

    /// True when the connection refused the command because an earlier
    /// failure of this borrow (a read timeout mid-reply, an I/O or protocol
    /// error, a pipeline read halfway, `MONITOR` or `CLIENT REPLY OFF`)
    /// left replies unmatched. Nothing was sent; the connection is closed
    /// on release, and the next borrow gets a working one.
    pub fn is_broken(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_broken())
    }

    /// True when a timeout (connect, read, write, pool checkout) caused it.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_timeout())
    }

    /// True when trying again later may succeed: a lost connection, a
    /// timeout, a busy or loading server, an exhausted pool, or a WATCH
    /// conflict. Whether a *write* may be re-sent is the caller's decision:
    /// this client never re-sends one.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => {
                e.is_connection_lost()
                    || e.is_timeout()
                    || matches!(e, transport::Error::PoolExhausted { .. })
            }
            Error::Server(e) => {
                matches!(
                    e.kind(),
                    ServerErrorKind::Busy | ServerErrorKind::Loading | ServerErrorKind::MaxClients
                ) || e.code() == "TRYAGAIN"
            }
            Error::TransactionConflict { .. } => true,
            Error::Cluster(e) => matches!(
                e,
                crate::cluster::ClusterError::Unavailable { .. }
                    | crate::cluster::ClusterError::TooManyRedirects { .. }
            ),
            _ => false,
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
