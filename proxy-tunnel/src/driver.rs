//! The blocking driver: connect (and TLS) to the proxy, run the handshake
//! of its kind (`CONNECT` in [`connect`], SOCKS in [`socks`]), hand over the
//! stream; and the [`transport::Connector`] that lets every client run
//! through it. The protocol rules live in [`crate::proto`]; this only moves
//! bytes and names failures.

mod connect;
mod socks;

use std::sync::Arc;
use std::time::Instant;

use transport::{Conn, ConnectOptions, Connector, Endpoint, TlsConfig};

use crate::error::{Error, TunnelPhase};
use crate::proto::Target;
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
    /// absolute-form HTTP requests (only an HTTP(S) proxy takes those: see
    /// [`Proxy::forwards_http`]). Read and write timeouts from `opts` are
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
    /// A tunnel that fails halfway is never handed out: its connection is
    /// marked broken and closed.
    pub fn tunnel(
        &self,
        host: &str,
        port: u16,
        opts: &ConnectOptions,
        deadline: Instant,
    ) -> Result<Conn, Error> {
        // Before anything is sent: a target that cannot go on the wire.
        let target = Target::new(host, port)?;
        // socks5:// and socks4:// resolve here, before the proxy is contacted.
        let socks_addr = if self.scheme.is_socks() {
            Some(self.socks_addr(&target, deadline)?)
        } else {
            None
        };
        let mut conn = self.connect_to_proxy(opts, deadline)?;
        conn.set_deadline(Some(deadline));
        let done = match &socks_addr {
            Some(addr) => self.socks_handshake(&mut conn, &target, addr),
            None => self.connect_handshake(&mut conn, &target),
        };
        if let Err(e) = done {
            // Whatever the proxy sends next is not the target's: never reuse.
            conn.mark_broken();
            tracing::debug!(proxy = %self, target = %target.authority(), error = %e, "tunnel failed");
            return Err(e);
        }
        conn.set_deadline(None);
        // From here the stream is the target's: TLS to an https proxy must not
        // pass for TLS to the target (a client would skip STARTTLS, or send
        // credentials that leave the proxy in clear).
        conn.mark_tunnel(&target.host);
        tracing::debug!(proxy = %self, target = %target.authority(), early_bytes = conn.read_buf().len(), "tunnel open");
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
        tracing::trace!(proxy = %self, peer = ?stream.peer_addr().ok(), "connected to the proxy");
        let mut conn = Conn::from_tcp(stream, &self.host);
        // Each read and write of the proxy TLS handshake and of the CONNECT
        // exchange is bounded like any other, as well as by the deadline.
        conn.set_read_timeout(opts.read_timeout);
        conn.set_write_timeout(opts.write_timeout);
        if self.scheme != ProxyScheme::Https {
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

    /// Names a transport failure of a handshake phase (sending a request,
    /// waiting for its reply).
    fn phase_error(&self, e: transport::Error, phase: TunnelPhase) -> Error {
        let proxy = self.to_string();
        match e {
            transport::Error::Timeout(_) => Error::Timeout { proxy, phase },
            transport::Error::Closed { mid_frame } => Error::ProxyClosed {
                proxy,
                mid_reply: mid_frame,
                phase,
            },
            transport::Error::FrameTooLarge { .. } => Error::HeaderTooLarge {
                proxy,
                limit: self.max_header_bytes,
            },
            other => Error::Transport(other),
        }
    }
}

/// A [`transport::Connector`] whose streams are tunnels (`CONNECT` or
/// SOCKS) through one proxy. Its failures arrive as [`transport::Error::Tunnel`] holding an
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
