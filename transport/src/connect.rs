//! Opening connections: endpoints, socket options, and the connector seam
//! through which a proxy tunnel hands the transport its stream.

use std::fmt;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, TcpKeepalive, Type};

use crate::conn::Conn;
use crate::error::{Error, Phase, Result};
use crate::tls::TlsConfig;

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

/// Where to connect: host and port, and TLS to it if set.
#[derive(Debug, Clone)]
pub struct Endpoint {
    host: String,
    port: u16,
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
            tls: None,
        })
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

    /// `host:port`, with brackets for IPv6.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
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
        Ok(Conn::from_connected(
            connect_tcp(host, port, opts, deadline)?,
            host,
        ))
    }

    fn identity(&self) -> Option<String> {
        None
    }
}

/// Opens a connection to `endpoint` through `connector`, with TLS if the
/// endpoint has it, and the options' read and write timeouts set.
pub fn open(endpoint: &Endpoint, connector: &dyn Connector, opts: &ConnectOptions) -> Result<Conn> {
    let deadline = Instant::now() + opts.connect_timeout;
    let mut conn = connector.connect(&endpoint.host, endpoint.port, opts, deadline)?;
    if let Some(tls) = &endpoint.tls {
        conn = conn.start_tls(tls, &endpoint.host, deadline)?;
    }
    conn.set_read_timeout(opts.read_timeout);
    conn.set_write_timeout(opts.write_timeout);
    tracing::debug!(endpoint = %endpoint.authority(), tls = endpoint.tls.is_some(), via = ?connector.identity(), "connected");
    Ok(conn)
}

/// The system resolver's answer for `host`.
type Lookup = fn(&str, u16) -> std::io::Result<Vec<SocketAddr>>;

fn system_lookup(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    Ok((host, port).to_socket_addrs()?.collect())
}

/// Resolves `host`, giving up at `deadline`: the connect timeout covers
/// resolution too.
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let answer = if is_localhost(host) {
        // Answered from the hosts file, never the network (RFC 6761):
        // not worth a thread.
        system_lookup(host, port)
    } else {
        lookup_within(host, port, deadline, system_lookup)?
    };
    let addrs = answer.map_err(|source| Error::Resolve {
        host: host.to_string(),
        source,
    })?;
    if addrs.is_empty() {
        return Err(Error::Resolve {
            host: host.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
        });
    }
    Ok(addrs)
}

fn is_localhost(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host
            .len()
            .checked_sub(".localhost".len())
            .is_some_and(|at| host[at..].eq_ignore_ascii_case(".localhost"))
}

/// Runs `lookup` on a thread of its own and waits for it until `deadline`.
/// The system resolver has no timeout a caller can set (resolv.conf's
/// retries can add up to tens of seconds), so this is how resolution stays
/// inside the connect deadline. A lookup that outlives the deadline ends
/// in the background and its answer is dropped.
fn lookup_within(
    host: &str,
    port: u16,
    deadline: Instant,
    lookup: Lookup,
) -> Result<std::io::Result<Vec<SocketAddr>>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let name = host.to_string();
    let spawned = std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let _ = tx.send(lookup(&name, port));
        });
    if spawned.is_err() {
        // No thread to be had: resolving unbounded beats not connecting.
        return Ok(lookup(host, port));
    }
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(answer) => Ok(answer),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout(Phase::Connect)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Ok(Err(std::io::Error::other(
            "the resolver thread ended without an answer",
        ))),
    }
}

/// Resolves `host` and tries each address in turn, sharing what is left of
/// the deadline among the addresses not yet tried, so one black-holed
/// address cannot use up the whole budget. The stream comes back with no
/// timeouts set.
pub fn tcp_connect(
    host: &str,
    port: u16,
    opts: &ConnectOptions,
    deadline: Instant,
) -> Result<TcpStream> {
    let connected = connect_tcp(host, port, opts, deadline)?;
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

/// [`tcp_connect`] without the clean-up: the socket keeps the send timeout
/// that bounded its connect.
pub(crate) fn connect_tcp(
    host: &str,
    port: u16,
    opts: &ConnectOptions,
    deadline: Instant,
) -> Result<Connected> {
    let host = validate_host(host)?;
    if port == 0 {
        return Err(Error::InvalidConfig(format!("port 0 for host {host}")));
    }
    let addrs = resolve(host, port, deadline)?;
    let mut last_err = None;
    for (i, addr) in addrs.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let share = left / (addrs.len() - i) as u32;
        match connect_one(addr, share.max(Duration::from_millis(1)), opts) {
            Ok(connected) => return Ok(connected),
            Err(e) => {
                tracing::debug!(%addr, error = %e, "connect attempt failed");
                last_err = Some((addr, e));
            }
        }
    }
    match last_err {
        Some((_, e))
            if e.kind() == std::io::ErrorKind::TimedOut
                || e.kind() == std::io::ErrorKind::WouldBlock =>
        {
            Err(Error::Timeout(Phase::Connect))
        }
        Some((addr, source)) => Err(Error::Connect {
            addr: format!("{host}:{port} ({addr})"),
            source,
        }),
        None => Err(Error::Timeout(Phase::Connect)),
    }
}

fn connect_one(
    addr: &SocketAddr,
    timeout: Duration,
    opts: &ConnectOptions,
) -> std::io::Result<Connected> {
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    // Requests are written whole; Nagle would only hold back their last segment.
    socket.set_tcp_nodelay(true)?;
    if let Some(idle) = opts.keepalive {
        socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))?;
    }
    let send_timeout = connect_within(&socket, addr, timeout)?;
    Ok(Connected {
        stream: socket.into(),
        peer: *addr,
        send_timeout,
    })
}

/// Connects within `timeout`; returns the send timeout left on the socket.
///
/// On Linux a blocking `connect` waits at most the socket's send timeout
/// and then fails with `EINPROGRESS`, so one `setsockopt` bounds it. The
/// portable way (non-blocking mode, connect, poll, check, blocking mode)
/// costs six system calls, a fifth of a new loopback connection's.
#[cfg(target_os = "linux")]
fn connect_within(
    socket: &Socket,
    addr: &SocketAddr,
    timeout: Duration,
) -> std::io::Result<Option<Duration>> {
    let addr = SockAddr::from(*addr);
    let until = Instant::now() + timeout;
    let mut left = timeout;
    loop {
        socket.set_write_timeout(Some(left))?;
        match socket.connect(&addr) {
            Ok(()) => return Ok(Some(left)),
            // Out of time: EINPROGRESS, or EALREADY when it was a retry.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EALREADY)) => {
                return Err(std::io::ErrorKind::TimedOut.into())
            }
            // A signal: connect again, which waits on for the same
            // handshake (Linux does not start a new one), with what is left.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(std::io::ErrorKind::TimedOut.into());
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn connect_within(
    socket: &Socket,
    addr: &SocketAddr,
    timeout: Duration,
) -> std::io::Result<Option<Duration>> {
    socket.connect_timeout(&SockAddr::from(*addr), timeout)?;
    Ok(None)
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

    #[test]
    fn a_slow_resolver_cannot_outlast_the_deadline() {
        fn slow(_: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
            std::thread::sleep(Duration::from_secs(5));
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        }
        fn fast(_: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        }
        let started = Instant::now();
        let deadline = started + Duration::from_millis(200);
        let err = lookup_within("slow.example", 80, deadline, slow).unwrap_err();
        assert!(matches!(err, Error::Timeout(Phase::Connect)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(4));
        let deadline = Instant::now() + Duration::from_secs(5);
        let addrs = lookup_within("fast.example", 80, deadline, fast)
            .unwrap()
            .unwrap();
        assert_eq!(addrs, vec![SocketAddr::from(([127, 0, 0, 1], 80))]);
    }

    #[test]
    fn localhost_names_are_recognised() {
        for yes in ["localhost", "LOCALHOST.", "a.localhost", "x.y.Localhost"] {
            assert!(is_localhost(yes), "{yes}");
        }
        for no in ["localhost.example", "mylocalhost", "local", "example.com"] {
            assert!(!is_localhost(no), "{no}");
        }
    }
}
