//! Direct TCP connections with the caller's say in how they are made:
//! resolver overrides, a local address, the Happy Eyeballs delay.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::conn::{Conn, ConnectTimings};
use crate::error::{Error, Phase, Result};

use super::{race, validate_host, ConnectOptions, Connected, Connector, Resolve};

/// A direct connector with settings; [`crate::Direct`] is the default one.
///
/// ```no_run
/// use std::time::Duration;
/// use pconn_transport::{open, ConnectOptions, Dialer, Endpoint, Resolve};
/// let dialer = Dialer::new()
///     .resolve(Resolve::default().fixed("api.example", ["127.0.0.1".parse().unwrap()])?)
///     .local_addr("127.0.0.1".parse().unwrap())
///     .attempt_delay(Duration::from_millis(100));
/// let conn = open(&Endpoint::new("api.example", 8080)?, &dialer, &ConnectOptions::default())?;
/// # Ok::<(), pconn_transport::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Dialer {
    pub(super) resolve: Option<Arc<Resolve>>,
    pub(super) local_addr: Option<IpAddr>,
    pub(super) attempt_delay: Duration,
}

impl Default for Dialer {
    fn default() -> Self {
        Dialer::DEFAULT
    }
}

impl Dialer {
    /// The system resolver, any local address, a 250 ms attempt delay.
    pub const DEFAULT: Dialer = Dialer {
        resolve: None,
        local_addr: None,
        attempt_delay: Duration::from_millis(250),
    };

    /// The defaults ([`Dialer::DEFAULT`]).
    pub fn new() -> Dialer {
        Dialer::DEFAULT
    }

    /// Fixed answers and a resolver hook ([`Resolve`]).
    pub fn resolve(mut self, resolve: Resolve) -> Dialer {
        self.resolve = Some(Arc::new(resolve));
        self
    }

    /// Connects from `addr` (any port); addresses of the other family are
    /// skipped.
    pub fn local_addr(mut self, addr: IpAddr) -> Dialer {
        self.local_addr = Some(addr);
        self
    }

    /// Happy Eyeballs (RFC 8305): with several addresses, how long an
    /// attempt runs alone before the next one starts beside it.
    pub fn attempt_delay(mut self, delay: Duration) -> Dialer {
        self.attempt_delay = delay;
        self
    }

    /// Resolves `host` and connects to one of its addresses, racing them
    /// when there are several; the socket keeps the send timeout that
    /// bounded a single connect.
    pub(crate) fn connect_tcp(
        &self,
        host: &str,
        port: u16,
        opts: &ConnectOptions,
        deadline: Instant,
    ) -> Result<Connected> {
        self.connect_timed(host, port, opts, deadline)
            .map(|(connected, _)| connected)
    }

    /// [`Dialer::connect_tcp`], with how long resolving and connecting took.
    fn connect_timed(
        &self,
        host: &str,
        port: u16,
        opts: &ConnectOptions,
        deadline: Instant,
    ) -> Result<(Connected, ConnectTimings)> {
        let host = validate_host(host)?;
        if port == 0 {
            return Err(Error::InvalidConfig(format!("port 0 for host {host}")));
        }
        let started = Instant::now();
        let resolved = match &self.resolve {
            Some(resolve) => resolve.lookup(host, port, deadline)?,
            None => Resolve::SYSTEM.lookup(host, port, deadline)?,
        };
        let resolved_at = Instant::now();
        let mut timings = ConnectTimings::default();
        if host.parse::<IpAddr>().is_err() {
            timings.dns = Some(resolved_at - started);
        }
        let addrs = race::reachable_from(resolved, self.local_addr);
        if addrs.is_empty() {
            return Err(Error::InvalidInput(format!(
                "no address of {host} is of the family of the local address {:?}",
                self.local_addr
            )));
        }
        match race::connect_any(&addrs, opts, self, deadline) {
            Ok((connected, _)) => {
                timings.connect = Some(resolved_at.elapsed());
                Ok((connected, timings))
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::TimedOut
                    || e.kind() == std::io::ErrorKind::WouldBlock =>
            {
                Err(Error::Timeout(Phase::Connect))
            }
            Err(source) => Err(Error::Connect {
                addr: format!("{host}:{port}"),
                source,
            }),
        }
    }
}

impl Connector for Dialer {
    fn connect(
        &self,
        host: &str,
        port: u16,
        opts: &ConnectOptions,
        deadline: Instant,
    ) -> Result<Conn> {
        let (connected, timings) = self.connect_timed(host, port, opts, deadline)?;
        tracing::trace!(host, port, peer = %connected.peer, "TCP connected");
        let mut conn = Conn::from_connected(
            connected.stream,
            connected.peer,
            connected.send_timeout,
            host,
        );
        conn.set_connect_timings(timings);
        Ok(conn)
    }

    /// Overrides that change where a name leads, and the local address,
    /// make connections differ; the attempt delay does not.
    fn identity(&self) -> Option<String> {
        let mut id = String::new();
        if let Some(resolve) = &self.resolve {
            let _ = write!(id, "resolve {}", resolve.identity());
        }
        if let Some(local) = self.local_addr {
            let _ = write!(id, " from {local}");
        }
        (!id.is_empty()).then_some(id)
    }

    fn is_direct(&self) -> bool {
        true
    }
}
