//! What TLS a response came over ([`TlsInfo`]): read from the connection
//! once, after its handshake, and shared by every response on it.

use transport::{Conn, TlsVersion};

/// The TLS facts of a connection: the negotiated version and the server's
/// own certificate. See [`Response::tls_info`](crate::Response::tls_info).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    version: TlsVersion,
    peer_certificate: Option<Vec<u8>>,
}

impl TlsInfo {
    /// The facts of `conn`, `None` without TLS to the peer.
    pub(crate) fn of(conn: &Conn) -> Option<TlsInfo> {
        let version = TlsVersion::from_rustls(conn.tls_version()?)?;
        Some(TlsInfo {
            version,
            peer_certificate: conn.peer_certificate().map(|c| c.as_ref().to_vec()),
        })
    }

    /// The TLS version the connection negotiated.
    pub fn version(&self) -> TlsVersion {
        self.version
    }

    /// The server's certificate (DER; the leaf of the chain it sent).
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        self.peer_certificate.as_deref()
    }
}
