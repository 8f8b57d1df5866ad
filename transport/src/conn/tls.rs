//! TLS on a connection: the handshake (also STARTTLS and TLS inside a
//! tunnel), what it negotiated, and `close_notify`.

use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;
use rustls::ClientConnection;

use crate::error::{Error, Phase, Result};
use crate::io::{Io, TlsLayer};
use crate::tls::TlsConfig;

use super::Conn;

impl Conn {
    /// Runs a TLS handshake over this connection (STARTTLS, or TLS to the
    /// target inside a proxy tunnel), verifying `server_name`.
    ///
    /// Bytes already buffered but not consumed are refused: before a TLS
    /// handshake the server has nothing legitimate to say, and a reply
    /// pipelined ahead of it is the STARTTLS injection attack.
    pub fn start_tls(
        mut self,
        config: &TlsConfig,
        server_name: &str,
        deadline: Instant,
    ) -> Result<Conn> {
        self.usable()?;
        if !self.rbuf.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{} bytes from the peer arrived before the TLS handshake",
                self.rbuf.len()
            )));
        }
        let bare = server_name.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_string()).map_err(|e| {
            Error::InvalidConfig(format!("invalid TLS server name {server_name:?}: {e}"))
        })?;
        let tls = ClientConnection::new(Arc::clone(config.rustls()), name).map_err(|source| {
            Error::Tls {
                server: server_name.to_string(),
                source,
            }
        })?;
        let saved_deadline = self.timeouts.deadline.replace(deadline);
        let mut layer = Box::new(TlsLayer {
            tls,
            inner: self.io,
        });
        let handshake = loop {
            if !layer.tls.is_handshaking() {
                break Ok(());
            }
            let socket = layer.inner.socket();
            if let Err(e) = self
                .timeouts
                .before_read(socket, Phase::TlsHandshake)
                .and_then(|()| self.timeouts.before_write(socket, Phase::TlsHandshake))
            {
                break Err(e);
            }
            if let Err(e) = layer.tls.complete_io(&mut layer.inner) {
                break Err(
                    match Error::from_io(e, Phase::TlsHandshake, Some(server_name)) {
                        Error::Closed { .. } => Error::Tls {
                            server: server_name.to_string(),
                            source: rustls::Error::General(
                                "peer closed the connection during the handshake".into(),
                            ),
                        },
                        other => other,
                    },
                );
            }
        };
        self.io = Io::Tls(layer);
        self.timeouts.deadline = saved_deadline;
        self.server_name = server_name.to_string();
        handshake.map(|()| self)
    }

    /// True when TLS protects the stream to the peer itself. TLS to a proxy
    /// under a tunnel does not count: through an `https://` proxy the
    /// bytes leave the proxy in clear unless TLS to the target runs inside.
    pub fn is_tls(&self) -> bool {
        self.tls_layers() > self.hop_tls_layers
    }

    /// The negotiated TLS version with the peer (`None` without TLS to the peer).
    pub fn tls_version(&self) -> Option<rustls::ProtocolVersion> {
        match &self.io {
            Io::Tls(layer) if self.is_tls() => layer.tls.protocol_version(),
            _ => None,
        }
    }

    /// The peer's own certificate (DER, the leaf of the chain it sent;
    /// `None` without TLS to the peer).
    pub fn peer_certificate(&self) -> Option<&rustls_pki_types::CertificateDer<'static>> {
        match &self.io {
            Io::Tls(layer) if self.is_tls() => layer.tls.peer_certificates()?.first(),
            _ => None,
        }
    }

    /// The ALPN protocol the server chose.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        match &self.io {
            Io::Tls(layer) if self.is_tls() => layer.tls.alpn_protocol(),
            _ => None,
        }
    }

    /// Declares the connection a tunnel (through a proxy) that now carries
    /// the bytes of `target_host`: TLS layers so far were to the proxy, so
    /// [`is_tls`](Conn::is_tls) is false until TLS to the target is layered
    /// on top, and [`server_name`](Conn::server_name) names the target.
    pub fn mark_tunnel(&mut self, target_host: &str) {
        self.hop_tls_layers = self.tls_layers();
        self.server_name = target_host.to_string();
    }

    fn tls_layers(&self) -> u8 {
        let mut layers = 0;
        let mut io = &self.io;
        while let Io::Tls(layer) = io {
            layers += 1;
            io = &layer.inner;
        }
        layers
    }

    /// Says goodbye at the transport level: TLS `close_notify` where there is TLS.
    /// Only for a graceful close by the process that opened the connection.
    pub fn close_notify(&mut self) {
        // Plain TCP has nothing to say, and setting a send timeout for it
        // would be a wasted system call on every close. (Any TLS layer
        // counts, a proxy hop's too.)
        if self.tls_layers() > 0 {
            let _ = self.timeouts.before_write(self.io.socket(), Phase::Write);
            self.io.send_close_notify();
        }
    }
}
