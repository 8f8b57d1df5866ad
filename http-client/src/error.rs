//! The crate's one error type, with nested kinds a caller can match:
//! [`ProtocolError`] (how the server broke HTTP/1.1), [`InvalidInput`]
//! (what the caller gave that cannot be sent), [`DecodeError`] (a body that
//! does not decode), [`RedirectError`], and the transport's and the proxy's
//! own errors, kept whole.

use std::time::Duration;

pub use crate::proto::{InvalidInput, Part, ProtocolError};

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
    Protocol(#[from] ProtocolError),
    /// The caller's input cannot be sent (checked before anything is sent).
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InvalidInput),
    /// An invalid URL, or a scheme other than http/https.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `https:` URL on a client that sends every request to a Unix
    /// socket ([`crate::ClientBuilder::unix_socket`]): the transport
    /// refuses TLS over a Unix socket (no host name to verify), so nothing
    /// was sent.
    #[error("https URL {url:?} on a client bound to the Unix socket {path:?}: TLS over a Unix socket is not supported; use http://")]
    TlsOverUnixSocket {
        /// The URL as given.
        url: String,
        /// The client's socket path.
        path: std::path::PathBuf,
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
    /// A redirect that is not followed, and why.
    #[error("redirect to {location:?} not followed: {reason}")]
    Redirect {
        /// The `Location` value.
        location: String,
        /// Why it was refused.
        reason: RedirectError,
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
    /// Decoding a response body (a content coding, JSON) failed.
    #[error("decoding the response body: {0}")]
    Decode(#[from] DecodeError),
    /// A cookie jar could not be loaded or saved.
    #[cfg(feature = "cookies")]
    #[error("cookie jar: {0}")]
    CookieJar(String),
    /// The proxy refused, failed, or could not be set up.
    #[error(transparent)]
    Proxy(#[from] proxy_tunnel::Error),
    /// A middleware stopped the request (nothing of it was sent) or its
    /// response ([`Error::stopped`], [`crate::Middleware`]); the source is
    /// the middleware's reason.
    #[error("stopped by a middleware: {0}")]
    Stopped(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a response body did not decode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The content coding (gzip, deflate) is corrupt or cut short.
    #[error("{0}")]
    Content(#[source] std::io::Error),
    /// The body is not the JSON asked for.
    #[cfg(feature = "json")]
    #[error("JSON: {0}")]
    Json(#[source] serde_json::Error),
}

/// Why a redirect was not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// The `Location` is not a URL (relative to the response's URL).
    #[error("invalid URL ({0})")]
    InvalidUrl(url::ParseError),
    /// The target's scheme is not http or https (`file:`, `data:`, ...).
    #[error("scheme {0:?} is not http or https")]
    Scheme(String),
    /// From `https:` to `http:`, which the client does not allow
    /// ([`crate::ClientBuilder::redirect_https_downgrade`]).
    #[error("a redirect from https to plain http")]
    Downgrade,
    /// A URL already requested in this chain.
    #[error("a redirect loop")]
    Loop,
    /// 307/308 keep the body, but it was streamed from a reader and is gone.
    #[error("a 307/308 redirect needs the body again, and it was streamed")]
    BodyNotReplayable,
    /// The redirect policy refused it.
    #[error("refused by the redirect policy: {0}")]
    Refused(String),
}

impl Error {
    /// True for timeouts of any phase (connect, read, write, the whole
    /// request, the proxy).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Transport(e) => e.is_timeout(),
            Error::Proxy(e) => e.is_timeout(),
            _ => false,
        }
    }

    /// True when the request's connection refused use because an earlier
    /// failure of its exchange (a timeout or error mid-response, a body
    /// abandoned halfway) left its replies unmatched: a body read after
    /// such an error, raw or decoded, gets this, never a later byte.
    pub fn is_broken(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_broken(),
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
            Error::Proxy(e) => e.is_retryable(),
            Error::NotReplayed { .. } | Error::Timeout(_) => true,
            Error::Server { code, .. } => matches!(code, 429 | 502 | 503 | 504),
            _ => false,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
