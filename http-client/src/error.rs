//! The crate's one error type.

use std::time::Duration;

/// Everything that can go wrong with a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Below HTTP: connect, TLS, pool, timeouts, the peer closing.
    #[error(transparent)]
    Transport(#[from] transport::Error),
    /// The server broke HTTP/1.1 (malformed head, bad framing, short body).
    /// The connection was closed.
    #[error("protocol error from server: {0}")]
    Protocol(String),
    /// The caller's input cannot be sent (checked before anything is sent).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An invalid URL, or a scheme other than http/https.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server answered with an error status and the caller asked for
    /// error statuses as errors ([`crate::RequestBuilder::error_for_status`]).
    #[error("server answered {code} {message}")]
    Server {
        /// The status code.
        code: u16,
        /// The reason phrase.
        message: String,
    },
    /// More redirects than allowed.
    #[error("more than {limit} redirects, last to {location}")]
    TooManyRedirects {
        /// The configured limit.
        limit: u32,
        /// Where the last redirect pointed.
        location: String,
    },
    /// The whole request took longer than its timeout.
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    /// A body read with a size limit was larger.
    #[error("response body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The connection failed before any byte of the response arrived and
    /// the request was not re-sent, because it is not idempotent and was
    /// not marked replayable (or its body cannot be replayed).
    #[error("connection lost before any response to a non-idempotent {method} request; not re-sent: {source}")]
    NotReplayed {
        /// The method of the request.
        method: String,
        /// What happened to the connection.
        #[source]
        source: transport::Error,
    },
    /// Reading the request body from the caller's reader failed.
    #[error("reading the request body: {0}")]
    BodyRead(#[source] std::io::Error),
    /// Decoding a response body (gzip, deflate, JSON) failed.
    #[error("decoding the response body: {0}")]
    Decode(String),
    /// A proxy setting could not be used.
    #[error("proxy: {0}")]
    Proxy(String),
}

impl Error {
    /// True for timeouts of any phase (connect, read, write, the whole request).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Transport(e) => e.is_timeout(),
            _ => false,
        }
    }

    /// True when trying again later, on another connection, may succeed:
    /// the connection failed, timed out, or the pool was full. Never true for
    /// bad input or a protocol violation. Whether a request may be re-sent
    /// is a separate question (idempotency): see [`Error::NotReplayed`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => {
                e.is_connection_lost()
                    || e.is_timeout()
                    || matches!(
                        e,
                        transport::Error::PoolExhausted { .. } | transport::Error::Connect { .. }
                    )
            }
            Error::NotReplayed { .. } | Error::Timeout(_) => true,
            Error::Server { code, .. } => matches!(code, 429 | 502 | 503 | 504),
            _ => false,
        }
    }
}

impl From<crate::proto::ProtocolError> for Error {
    fn from(e: crate::proto::ProtocolError) -> Error {
        Error::Protocol(e.0)
    }
}

impl From<crate::proto::InvalidInput> for Error {
    fn from(e: crate::proto::InvalidInput) -> Error {
        Error::InvalidInput(e.0)
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
