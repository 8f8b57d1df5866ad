//! The crate's one error type.
//!
//! When a tunnel fails inside [`transport::Connector::connect`], this error
//! travels as [`transport::Error::Tunnel`]; [`Error::find`] gets it back.

use std::fmt;

use crate::proto::SocksReply;

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
    /// Resolving the target's name on the client side (`socks5://`, `socks4://`).
    TargetResolve,
    /// The SOCKS5 greeting: offering methods, waiting for the choice.
    SocksGreeting,
    /// The SOCKS5 username/password sub-negotiation (RFC 1929).
    SocksAuth,
    /// Sending the SOCKS connect request and waiting for its reply.
    SocksReply,
    /// The TLS handshake with the target, inside the tunnel.
    TargetTls,
}

impl fmt::Display for TunnelPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TunnelPhase::ProxyConnect => "connecting to the proxy",
            TunnelPhase::ProxyTls => "the TLS handshake with the proxy",
            TunnelPhase::ConnectReply => "waiting for the proxy's CONNECT reply",
            TunnelPhase::TargetResolve => "resolving the target's name",
            TunnelPhase::SocksGreeting => "the SOCKS greeting",
            TunnelPhase::SocksAuth => "the SOCKS username/password exchange",
            TunnelPhase::SocksReply => "waiting for the SOCKS proxy's connect reply",
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
    /// The proxy closed the connection before its reply was complete.
    #[error("proxy {proxy} closed the connection {} ({phase})", if *.mid_reply { "in the middle of its reply" } else { "without answering" })]
    ProxyClosed {
        /// The proxy, without password.
        proxy: String,
        /// Whether part of a reply had arrived.
        mid_reply: bool,
        /// The phase whose reply was owed.
        phase: TunnelPhase,
    },
    /// The SOCKS proxy refused the connect request: its reply code, one
    /// variant per code.
    #[error("SOCKS proxy {proxy} refused the tunnel to {target}: {reply}")]
    SocksRefused {
        /// The proxy, without password.
        proxy: String,
        /// `host:port` of the target.
        target: String,
        /// The reply code.
        reply: SocksReply,
    },
    /// The proxy answered with another SOCKS version (or not in SOCKS).
    #[error("proxy {proxy} answered with version byte {got:#04x} where {expected} was due (is it a SOCKS{} proxy?)", if *.expected == 0 { "4" } else { "5" })]
    SocksVersion {
        /// The proxy, without password.
        proxy: String,
        /// The version the protocol requires.
        expected: u8,
        /// The byte that arrived.
        got: u8,
    },
    /// The SOCKS5 proxy accepts none of the offered authentication methods
    /// (it wants credentials none were given for, or refuses those offered).
    #[error("SOCKS proxy {proxy} accepts none of the offered authentication methods ({})", if *.credentials_offered { "no-auth and username/password" } else { "no-auth only: the proxy URL has no credentials" })]
    SocksMethodRefused {
        /// The proxy, without password.
        proxy: String,
        /// Whether username/password was offered.
        credentials_offered: bool,
    },
    /// The SOCKS5 proxy refused the user name and password (RFC 1929).
    #[error("SOCKS proxy {proxy} refused the credentials of user {user:?} (status {status})")]
    SocksAuthFailed {
        /// The proxy, without password.
        proxy: String,
        /// The user name sent.
        user: String,
        /// The RFC 1929 status byte.
        status: u8,
    },
    /// The SOCKS proxy sent something no SOCKS server may send.
    #[error("SOCKS proxy {proxy} broke the protocol: {detail}")]
    SocksProtocol {
        /// The proxy, without password.
        proxy: String,
        /// What was wrong.
        detail: String,
    },
    /// The target's name could not be resolved on the client side
    /// (`socks5://` and `socks4://`; the `h`/`a` forms let the proxy do it).
    #[error("cannot resolve {target} for the SOCKS proxy: {source}")]
    TargetUnresolved {
        /// `host:port` of the target.
        target: String,
        /// The transport's error.
        #[source]
        source: transport::Error,
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
    /// was unreachable, busy (503, SOCKS general failure), timed out reaching
    /// the target (504, SOCKS TTL expired), or closed without a word.
    /// Refusals and broken replies are not retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Gateway { status, .. } => matches!(status, 503 | 504),
            // The SOCKS counterparts of 504 and 503.
            Error::SocksRefused { reply, .. } => {
                matches!(reply, SocksReply::TtlExpired | SocksReply::GeneralFailure)
            }
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
