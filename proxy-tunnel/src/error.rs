//! The crate's one error type.
//!
//! When a tunnel fails inside [`transport::Connector::connect`], this error
//! travels as [`transport::Error::Tunnel`]; [`Error::find`] gets it back.

use std::fmt;

/// The phase of opening a tunnel whose time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TunnelPhase {
    /// Resolving and connecting TCP to the proxy.
    ProxyConnect,
    /// The TLS handshake with an `https://` proxy.
    ProxyTls,
    /// Sending `CONNECT` and waiting for the proxy's reply head.
    ConnectReply,
    /// The TLS handshake with the target, inside the tunnel.
    TargetTls,
}

impl fmt::Display for TunnelPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TunnelPhase::ProxyConnect => "connecting to the proxy",
            TunnelPhase::ProxyTls => "the TLS handshake with the proxy",
            TunnelPhase::ConnectReply => "waiting for the proxy's CONNECT reply",
            TunnelPhase::TargetTls => "the TLS handshake with the target through the tunnel",
        })
    }
}

/// Everything that can go wrong opening a tunnel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The proxy URL cannot be used (caller input; nothing was sent).
    #[error("invalid proxy URL: {0}")]
    InvalidProxyUrl(String),
    /// The tunnel target cannot go into a request line (caller input; nothing was sent).
    #[error("invalid tunnel target: {0}")]
    InvalidTarget(String),
    /// The proxy wants (other) credentials: 407, or 401, which some proxies
    /// (tinyproxy 1.11) send for wrong credentials. A 401 to `CONNECT` can
    /// only come from the proxy: no tunnel to the target exists yet.
    #[error("proxy {proxy} requires authentication ({status} {reason}){}{}",
        if *.credentials_sent { ", the credentials sent were refused" } else { ", none were sent" },
        .challenge.as_deref().map(|c| format!("; challenge: {c}")).unwrap_or_default())]
    ProxyAuthRequired {
        /// The proxy, without password.
        proxy: String,
        /// 407 or 401.
        status: u16,
        /// The reason phrase.
        reason: String,
        /// The `Proxy-Authenticate` (for a 401: `WWW-Authenticate`)
        /// challenge(s), joined by `, `.
        challenge: Option<String>,
        /// Whether a `Proxy-Authorization` header was sent.
        credentials_sent: bool,
    },
    /// The proxy refuses to tunnel to this target: 403.
    #[error("proxy {proxy} refused the tunnel to {target} (403 {reason})")]
    Forbidden {
        /// The proxy, without password.
        proxy: String,
        /// `host:port` of the target.
        target: String,
        /// The reason phrase.
        reason: String,
    },
    /// The proxy could not reach the target: 502, 503 or 504.
    #[error("proxy {proxy} could not reach {target} ({status} {reason})")]
    Gateway {
        /// The proxy, without password.
        proxy: String,
        /// `host:port` of the target.
        target: String,
        /// 502, 503 or 504.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// Any other non-2xx status.
    #[error("proxy {proxy} answered CONNECT {target} with {status} {reason}")]
    Status {
        /// The proxy, without password.
        proxy: String,
        /// `host:port` of the target.
        target: String,
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// The proxy closed the connection before its reply head was complete.
    #[error("proxy {proxy} closed the connection {}", if *.mid_reply { "in the middle of its CONNECT reply" } else { "without answering CONNECT" })]
    ProxyClosed {
        /// The proxy, without password.
        proxy: String,
        /// Whether part of a reply had arrived.
        mid_reply: bool,
    },
    /// The proxy's reply head grew past the limit without ending.
    #[error("proxy {proxy} sent a reply header block over the limit of {limit} bytes")]
    HeaderTooLarge {
        /// The proxy, without password.
        proxy: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The proxy answered with something that is not an HTTP/1.x reply.
    #[error("proxy {proxy} did not answer in HTTP: {detail}")]
    NotHttp {
        /// The proxy, without password.
        proxy: String,
        /// What was wrong.
        detail: String,
    },
    /// A phase of opening the tunnel ran out of time.
    #[error("timed out during {phase} ({proxy})")]
    Timeout {
        /// The proxy, without password.
        proxy: String,
        /// The phase.
        phase: TunnelPhase,
    },
    /// The proxy could not be reached (resolution or TCP connect failed).
    #[error("cannot reach proxy {proxy}: {source}")]
    ProxyUnreachable {
        /// The proxy, without password.
        proxy: String,
        /// The transport's error.
        #[source]
        source: transport::Error,
    },
    /// TLS with an `https://` proxy failed (certificate, handshake).
    #[error("TLS with proxy {proxy} failed: {source}")]
    ProxyTls {
        /// The proxy, without password.
        proxy: String,
        /// The transport's error.
        #[source]
        source: transport::Error,
    },
    /// Any other transport failure (I/O on the proxy connection, target TLS).
    #[error(transparent)]
    Transport(#[from] transport::Error),
}

impl Error {
    /// Finds this crate's error inside a transport error (a tunnel failure
    /// that crossed [`transport::Connector::connect`]).
    pub fn find(err: &transport::Error) -> Option<&Error> {
        match err {
            transport::Error::Tunnel(inner) => inner.downcast_ref::<Error>(),
            _ => None,
        }
    }

    /// The HTTP status the proxy answered with, for refusals.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Forbidden { .. } => Some(403),
            Error::ProxyAuthRequired { status, .. }
            | Error::Gateway { status, .. }
            | Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the same request may succeed on a new attempt: the proxy
    /// was unreachable, busy (503), timed out reaching the target (504), or
    /// closed without a word. Refusals and broken replies are not retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Gateway { status, .. } => matches!(status, 503 | 504),
            Error::ProxyClosed { mid_reply, .. } => !mid_reply,
            Error::ProxyUnreachable { .. } => true,
            Error::Timeout { phase, .. } => *phase == TunnelPhase::ProxyConnect,
            Error::Transport(e) => e.is_connection_lost(),
            _ => false,
        }
    }

    /// True for timeouts of any phase.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
            || matches!(self, Error::Transport(e) if e.is_timeout())
    }
}

impl From<Error> for transport::Error {
    fn from(e: Error) -> transport::Error {
        match e {
            // Already a transport error: no need to box it twice.
            Error::Transport(inner) => inner,
            other => transport::Error::Tunnel(Box::new(other)),
        }
    }
}
