//! Opening connections: endpoints, socket options, and the connector seam
//! through which a proxy tunnel hands the transport its stream.

use std::fmt;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::tls::TlsConfig;

mod dialer;
mod race;
mod resolve;
mod unix;

pub use dialer::Dialer;
pub use resolve::{Resolve, ResolveFn};

/// Socket options and timeouts for opening and using a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The whole connect phase: resolution, every address tried, and the TLS handshake.
    pub connect_timeout: Duration,
    /// Each blocking read (`None`: wait forever).
    pub read_timeout: Option<Duration>,
    /// Each blocking write (`None`: wait forever).
    pub write_timeout: Option<Duration>,
    /// TCP keepalive idle time (`None`: off).
    pub keepalive: Option<Duration>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            keepalive: Some(Duration::from_secs(60)),
        }
    }
}

/// Where to connect: host and port, or a Unix domain socket's path, and
/// TLS to it if set.
#[derive(Debug, Clone)]
pub struct Endpoint {
    host: String,
    port: u16,
    unix: Option<PathBuf>,
    tls: Option<TlsConfig>,
}

/// Checks a host name or address literal for what must never reach a
/// resolver or a request line. `[::1]` is accepted and unbracketed.
pub fn validate_host(host: &str) -> Result<&str> {
    let bare = match host.strip_prefix('[') {
        Some(rest) => rest
            .strip_suffix(']')
            .ok_or_else(|| Error::InvalidInput(format!("unbalanced bracket in host {host:?}")))?,
        None => host,
    };
    if bare.is_empty() {
        return Err(Error::InvalidInput("empty host".into()));
    }
    if bare.len() > 253 {
        return Err(Error::InvalidInput(format!(
            "host of {} bytes is longer than 253",
            bare.len()
        )));
    }
    if let Some(bad) = bare.chars().find(|c| {
        c.is_control() || c.is_whitespace() || matches!(c, '/' | '@' | '?' | '#' | '\\' | '%')
    }) {
        return Err(Error::InvalidInput(format!(
            "character {bad:?} not allowed in host {host:?}"
        )));
    }
    if bare.contains(':') && bare.parse::<IpAddr>().is_err() {
        return Err(Error::InvalidInput(format!(
            "invalid IPv6 address {host:?}"
        )));
    }
    Ok(bare)
}

impl Endpoint {
    /// A plain TCP endpoint; checks the host and refuses port 0.
    pub fn new(host: &str, port: u16) -> Result<Endpoint> {
        let host = validate_host(host)?.to_string();
        if port == 0 {
            return Err(Error::InvalidConfig(format!("port 0 for host {host}")));
        }
        Ok(Endpoint {
            host,
            port,
            unix: None,
            tls: None,
        })
    }

    /// A Unix domain stream socket at `path`; checks the path (not empty,
    /// no NUL byte, at most 107 bytes). Its host is `localhost` and its
    /// port 0. TLS over it is refused by [`open`]: there is no host name
    /// to verify, and the socket never leaves the machine.
    pub fn unix(path: impl AsRef<Path>) -> Result<Endpoint> {
        let path = path.as_ref();
        unix::validate_path(path)?;
        Ok(Endpoint {
            host: "localhost".into(),
            port: 0,
            unix: Some(path.to_path_buf()),
            tls: None,
        })
    }

    /// The Unix socket path, for a Unix socket endpoint.
    pub fn unix_path(&self) -> Option<&Path> {
        self.unix.as_deref()
    }

    /// Adds TLS to the endpoint, verifying the host name.
    pub fn with_tls(mut self, tls: TlsConfig) -> Endpoint {
        self.tls = Some(tls);
        self
    }

    /// The host, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS settings, if TLS is on.
    pub fn tls(&self) -> Option<&TlsConfig> {
        self.tls.as_ref()
    }

    /// `host:port`, with brackets for IPv6; `unix:<path>` for a Unix socket.
    pub fn authority(&self) -> String {
        if let Some(path) = &self.unix {
            format!("unix:{}", path.display())
        } else if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Opens the byte stream under a connection. Direct TCP is [`Direct`]; a
/// proxy tunnel implements it to hand over a stream already connected to the
/// target, on which TLS to the target is then layered by [`open`].
pub trait Connector: Send + Sync + fmt::Debug {
    /// Opens a stream to `host:port` before `deadline`.
    fn connect(
        &self,
        host: &str,
        port: u16,
        opts: &ConnectOptions,
        deadline: Instant,
    ) -> Result<Conn>;

    /// What distinguishes streams from this connector in a pool key (a
    /// proxy's URL with credentials hashed); `None` for a direct connection.
    fn identity(&self) -> Option<String>;

    /// True when streams go straight from this machine to the target (no
    /// proxy): only such a connector can reach a Unix socket.
    fn is_direct(&self) -> bool {
        self.identity().is_none()
    }
}

/// Direct TCP connections.
#[derive(Debug, Clone, Copy, Default)]
pub struct Direct;

impl Connector for Direct {
    fn connect(
        &self,
        host: &str,
        port: u16,
        opts: &ConnectOptions,
        deadline: Instant,
    ) -> Result<Conn> {
        Dialer::DEFAULT.connect(host, port, opts, deadline)
    }

    fn identity(&self) -> Option<String> {
        None
    }
}

/// Opens a connection to `endpoint` through `connector`, with TLS if the
/// endpoint has it, and the options' read and write timeouts set.
///
/// A Unix socket endpoint is connected directly: with TLS, or through a
/// connector that names a proxy, it is refused before anything is sent.
pub fn open(endpoint: &Endpoint, connector: &dyn Connector, opts: &ConnectOptions) -> Result<Conn> {
    let deadline = Instant::now() + opts.connect_timeout;
    let mut conn = match &endpoint.unix {
        Some(path) => open_unix(path, endpoint, connector, deadline)?,
        None => connector.connect(&endpoint.host, endpoint.port, opts, deadline)?,
    };
    if let Some(tls) = &endpoint.tls {
        conn = conn.start_tls(tls, &endpoint.host, deadline)?;
    }
    conn.set_read_timeout(opts.read_timeout);
    conn.set_write_timeout(opts.write_timeout);
    tracing::debug!(endpoint = %endpoint.authority(), tls = endpoint.tls.is_some(), via = ?connector.identity(), "connected");
    Ok(conn)
}

fn open_unix(
    path: &Path,
    endpoint: &Endpoint,
    connector: &dyn Connector,
    deadline: Instant,
) -> Result<Conn> {
    if endpoint.tls.is_some() {
        return Err(Error::InvalidInput(format!(
            "TLS over the Unix socket {}: no host name to verify (use a plain Unix socket, or TLS over TCP)",
            path.display()
        )));
    }
    if !connector.is_direct() {
        return Err(Error::InvalidInput(format!(
            "the Unix socket {} cannot be reached through {}",
            path.display(),
            connector.identity().unwrap_or_default()
        )));
    }
    let (stream, send_timeout) = unix::connect(path, deadline)?;
    Ok(Conn::from_unix_connected(stream, path, send_timeout))
}

/// Resolves `host` (with the options' overrides) and connects to one of
/// its addresses, racing them as Happy Eyeballs v2 does (RFC 8305) when
/// there are several, within one deadline. The stream comes back with no
/// timeouts set.
pub fn tcp_connect(
    host: &str,
    port: u16,
    opts: &ConnectOptions,
    deadline: Instant,
) -> Result<TcpStream> {
    let connected = Dialer::DEFAULT.connect_tcp(host, port, opts, deadline)?;
    if connected.send_timeout.is_some() {
        connected.stream.set_write_timeout(None)?;
    }
    Ok(connected.stream)
}

/// A connected socket, where it is connected to, and the send timeout the
/// connect left on it (see [`connect_one`]), so that a [`Conn`] built on it
/// knows what its first write must change instead of asking the kernel.
#[derive(Debug)]
pub(crate) struct Connected {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    pub(crate) send_timeout: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked() {
        assert_eq!(validate_host("[::1]").unwrap(), "::1");
        assert_eq!(validate_host("example.com").unwrap(), "example.com");
        for bad in [
            "",
            "a b",
            "a\r\nb",
            "a/b",
            "user@host",
            "[::1",
            "1:2:zz",
            "a\0b",
        ] {
            assert!(validate_host(bad).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(
            Endpoint::new("localhost", 0),
            Err(Error::InvalidConfig(_))
        ));
        assert_eq!(Endpoint::new("::1", 80).unwrap().authority(), "[::1]:80");
    }
}
