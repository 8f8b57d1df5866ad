//! Opening tunnels: connect (and TLS) to the proxy, `CONNECT`, read the
//! reply head, hand over the stream; and the [`transport::Connector`] that
//! lets every client run through it.

use std::sync::Arc;
use std::time::Instant;

use transport::{Conn, ConnectOptions, Connector, Endpoint, TlsConfig};

use crate::error::{Error, TunnelPhase};
use crate::proto::{decode_reply, encode_connect, target_authority, Reply, ReplyError};
use crate::proxy::{Proxy, ProxyScheme};

impl Proxy {
    /// A connector for clients' `connector` option: every connection the
    /// client opens becomes a tunnel through this proxy.
    pub fn connector(&self) -> Arc<dyn Connector> {
        Arc::new(TunnelConnector {
            proxy: self.clone(),
        })
    }

    /// A connection to the proxy itself (TLS for an `https://` proxy), for
    /// absolute-form HTTP requests. Read and write timeouts from `opts` are
    /// set; `deadline` bounds connect and TLS.
    pub fn open_to_proxy(
        &self,
        opts: &ConnectOptions,
        deadline: Instant,
    ) -> transport::Result<Conn> {
        Ok(self.connect_to_proxy(opts, deadline)?)
    }

    /// Opens a tunnel to `host:port`: the returned connection carries the
    /// target's bytes (TLS to the target is the caller's, or
    /// [`transport::open`]'s, next step). Bytes the target sent in the same
    /// packet as the proxy's reply wait in the connection's read buffer.
    pub fn tunnel(
        &self,
        host: &str,
        port: u16,
        opts: &ConnectOptions,
        deadline: Instant,
    ) -> Result<Conn, Error> {
        // Before anything is sent: a target that cannot go into a request line.
        let authority = target_authority(host, port)?;
        let mut conn = self.connect_to_proxy(opts, deadline)?;
        conn.set_deadline(Some(deadline));
        let auth = self.basic_auth();
        encode_connect(conn.write_buf(), &authority, auth.as_deref());
        conn.flush().map_err(|e| self.reply_error(e.into()))?;
        let reply = loop {
            let reply = conn
                .read_frame(self.max_header_bytes, |buf: &[u8]| {
                    decode_reply(buf, self.max_header_bytes).map_err(|e| self.decode_error(e))
                })
                .map_err(|e| self.reply_error(e))?;
            if !reply.is_interim() {
                break reply;
            }
        };
        if !reply.is_success() {
            // Whatever follows a refusal is the proxy's error page, not the target.
            conn.mark_broken();
            return Err(self.refusal(reply, &authority, auth.is_some()));
        }
        conn.set_deadline(None);
        // From here the stream is the target's: TLS to an https proxy must not
        // pass for TLS to the target (a client would skip STARTTLS, or send
        // credentials that leave the proxy in clear).
        conn.mark_tunnel(host.trim_start_matches('[').trim_end_matches(']'));
        tracing::debug!(proxy = %self, target = %authority, status = reply.status, early_bytes = conn.read_buf().len(), "tunnel open");
        Ok(conn)
    }

    /// [`Proxy::tunnel`] followed by TLS to the target when `endpoint` has
    /// it, verifying the target's name; timeouts are reported per phase.
    pub fn open(&self, endpoint: &Endpoint, opts: &ConnectOptions) -> Result<Conn, Error> {
        let deadline = Instant::now() + opts.connect_timeout;
        let mut conn = self.tunnel(endpoint.host(), endpoint.port(), opts, deadline)?;
        if let Some(tls) = endpoint.tls() {
            conn = conn
                .start_tls(tls, endpoint.host(), deadline)
                .map_err(|e| match e {
                    transport::Error::Timeout(_) => Error::Timeout {
                        proxy: self.to_string(),
                        phase: TunnelPhase::TargetTls,
                    },
                    other => Error::Transport(other),
                })?;
        }
        conn.set_read_timeout(opts.read_timeout);
        conn.set_write_timeout(opts.write_timeout);
        Ok(conn)
    }

    fn connect_to_proxy(&self, opts: &ConnectOptions, deadline: Instant) -> Result<Conn, Error> {
        let stream =
            transport::tcp_connect(&self.host, self.port, opts, deadline).map_err(|e| match e {
                transport::Error::Timeout(_) => Error::Timeout {
                    proxy: self.to_string(),
                    phase: TunnelPhase::ProxyConnect,
                },
                source => Error::ProxyUnreachable {
                    proxy: self.to_string(),
                    source,
                },
            })?;
        let mut conn = Conn::from_tcp(stream, &self.host);
        // Each read and write of the proxy TLS handshake and of the CONNECT
        // exchange is bounded like any other, as well as by the deadline.
        conn.set_read_timeout(opts.read_timeout);
        conn.set_write_timeout(opts.write_timeout);
        if self.scheme == ProxyScheme::Http {
            return Ok(conn);
        }
        let tls = match &self.tls {
            Some(tls) => tls.clone(),
            None => TlsConfig::system().map_err(|source| Error::ProxyTls {
                proxy: self.to_string(),
                source,
            })?,
        };
        conn.start_tls(&tls, &self.host, deadline)
            .map_err(|e| match e {
                transport::Error::Timeout(_) => Error::Timeout {
                    proxy: self.to_string(),
                    phase: TunnelPhase::ProxyTls,
                },
                source => Error::ProxyTls {
                    proxy: self.to_string(),
                    source,
                },
            })
    }

    fn decode_error(&self, e: ReplyError) -> Error {
        match e {
            ReplyError::TooLarge => Error::HeaderTooLarge {
                proxy: self.to_string(),
                limit: self.max_header_bytes,
            },
            ReplyError::NotHttp(detail) => Error::NotHttp {
                proxy: self.to_string(),
                detail,
            },
        }
    }

    /// Names transport failures while sending `CONNECT` and reading the reply.
    fn reply_error(&self, e: Error) -> Error {
        match e {
            Error::Transport(transport::Error::Timeout(_)) => Error::Timeout {
                proxy: self.to_string(),
                phase: TunnelPhase::ConnectReply,
            },
            Error::Transport(transport::Error::Closed { mid_frame }) => Error::ProxyClosed {
                proxy: self.to_string(),
                mid_reply: mid_frame,
            },
            Error::Transport(transport::Error::FrameTooLarge { .. }) => Error::HeaderTooLarge {
                proxy: self.to_string(),
                limit: self.max_header_bytes,
            },
            other => other,
        }
    }

    fn refusal(&self, reply: Reply, target: &str, credentials_sent: bool) -> Error {
        let proxy = self.to_string();
        let target = target.to_string();
        let Reply {
            status,
            reason,
            proxy_authenticate,
            www_authenticate,
        } = reply;
        match status {
            401 | 407 => {
                let challenges = if status == 407 {
                    proxy_authenticate
                } else {
                    www_authenticate
                };
                Error::ProxyAuthRequired {
                    proxy,
                    status,
                    reason,
                    challenge: (!challenges.is_empty()).then(|| challenges.join(", ")),
                    credentials_sent,
                }
            }
            403 => Error::Forbidden {
                proxy,
                target,
                reason,
            },
            502..=504 => Error::Gateway {
                proxy,
                target,
                status,
                reason,
            },
            _ => Error::Status {
                proxy,
                target,
                status,
                reason,
            },
        }
    }
}

/// A [`transport::Connector`] whose streams are `CONNECT` tunnels through
/// one proxy. Its failures arrive as [`transport::Error::Tunnel`] holding an
/// [`Error`]; use [`Error::find`] to get it.
#[derive(Debug, Clone)]
pub struct TunnelConnector {
    proxy: Proxy,
}

impl TunnelConnector {
    /// A connector through `proxy`.
    pub fn new(proxy: Proxy) -> TunnelConnector {
        TunnelConnector { proxy }
    }

    /// The proxy.
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }
}

impl Connector for TunnelConnector {
    fn connect(
        &self,
        host: &str,
        port: u16,
        opts: &ConnectOptions,
        deadline: Instant,
    ) -> transport::Result<Conn> {
        self.proxy
            .tunnel(host, port, opts, deadline)
            .map_err(transport::Error::from)
    }

    fn identity(&self) -> Option<String> {
        Some(self.proxy.identity())
    }
}
