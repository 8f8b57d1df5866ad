//! The SOCKS handshakes (5 and 4/4a) on a connection to the proxy, and the
//! client-side name resolution of `socks5://` and `socks4://`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Instant;

use transport::Conn;

use crate::error::{Error, TunnelPhase};
use crate::proto::socks::{
    decode_method, decode_password_reply, decode_reply4, decode_reply5, encode_connect4,
    encode_connect5, encode_greeting, encode_password, MAX_REPLY, METHOD_NONE, METHOD_PASSWORD,
};
use crate::proto::{SocksAddr, SocksError, Target};
use crate::proxy::{Proxy, ProxyScheme};

/// A handshake step's failure: the peer's bytes, or the transport.
enum Step {
    Socks(SocksError),
    Io(transport::Error),
}

impl From<transport::Error> for Step {
    fn from(e: transport::Error) -> Step {
        Step::Io(e)
    }
}

impl Proxy {
    /// What goes into the SOCKS request for `target`: the name for the
    /// proxy to resolve (`socks5h`, `socks4a`), or an address resolved here
    /// before `deadline` (`socks5`, `socks4`; SOCKS4 carries only IPv4).
    pub(super) fn socks_addr(
        &self,
        target: &Target,
        deadline: Instant,
    ) -> Result<SocksAddr, Error> {
        let v4_only = matches!(self.scheme, ProxyScheme::Socks4 | ProxyScheme::Socks4a);
        if let Some(ip) = target.ip {
            if v4_only && ip.is_ipv6() {
                return Err(Error::InvalidTarget(format!(
                    "SOCKS4 cannot carry the IPv6 address {ip}"
                )));
            }
            return Ok(SocksAddr::Ip(SocketAddr::new(ip, target.port)));
        }
        if self.scheme.proxy_resolves() {
            return Ok(SocksAddr::Domain(target.host.clone(), target.port));
        }
        let addrs = resolve(target, deadline).map_err(|source| match source {
            transport::Error::Timeout(_) => Error::Timeout {
                proxy: self.to_string(),
                phase: TunnelPhase::TargetResolve,
            },
            source => Error::TargetUnresolved {
                target: target.authority(),
                source,
            },
        })?;
        let addr = addrs.into_iter().find(|a| !v4_only || a.is_ipv4());
        tracing::trace!(proxy = %self, target = %target.authority(), ?addr, "target resolved for the SOCKS request");
        addr.map(SocksAddr::Ip)
            .ok_or_else(|| Error::TargetUnresolved {
                target: target.authority(),
                source: transport::Error::InvalidInput("no IPv4 address for SOCKS4".into()),
            })
    }

    /// Runs the SOCKS handshake of this proxy's version for `addr`.
    pub(super) fn socks_handshake(
        &self,
        conn: &mut Conn,
        target: &Target,
        addr: &SocksAddr,
    ) -> Result<(), Error> {
        if matches!(self.scheme, ProxyScheme::Socks4 | ProxyScheme::Socks4a) {
            encode_connect4(conn.write_buf(), addr, self.user.as_deref().unwrap_or(""));
            return self.step(conn, target, TunnelPhase::SocksReply, decode_reply4);
        }
        let credentials = self
            .user
            .as_deref()
            .map(|user| (user, self.password.as_deref().unwrap_or("")));
        let methods: &[u8] = match credentials {
            Some(_) => &[METHOD_NONE, METHOD_PASSWORD],
            None => &[METHOD_NONE],
        };
        encode_greeting(conn.write_buf(), methods);
        let method = self.step(conn, target, TunnelPhase::SocksGreeting, |buf| {
            decode_method(buf, methods)
        })?;
        if let (METHOD_PASSWORD, Some((user, password))) = (method, credentials) {
            encode_password(conn.write_buf(), user, password);
            self.step(conn, target, TunnelPhase::SocksAuth, decode_password_reply)?;
        }
        encode_connect5(conn.write_buf(), addr);
        let bound = self.step(conn, target, TunnelPhase::SocksReply, decode_reply5)?;
        tracing::trace!(proxy = %self, target = %target.authority(), ?bound, method, "SOCKS5 connect accepted");
        Ok(())
    }

    /// Sends what the encoders wrote and reads one reply frame.
    fn step<T>(
        &self,
        conn: &mut Conn,
        target: &Target,
        phase: TunnelPhase,
        mut decode: impl FnMut(&[u8]) -> Result<Option<(T, usize)>, SocksError>,
    ) -> Result<T, Error> {
        conn.flush().map_err(|e| self.phase_error(e, phase))?;
        conn.read_frame(MAX_REPLY, |buf: &[u8]| decode(buf).map_err(Step::Socks))
            .map_err(|e| match e {
                Step::Io(e) => self.phase_error(e, phase),
                Step::Socks(e) => self.socks_error(e, target),
            })
    }

    fn socks_error(&self, e: SocksError, target: &Target) -> Error {
        let proxy = self.to_string();
        match e {
            SocksError::WrongVersion { expected, got } => Error::SocksVersion {
                proxy,
                expected,
                got,
            },
            SocksError::NoAcceptableMethod => Error::SocksMethodRefused {
                proxy,
                credentials_offered: self.user.is_some(),
            },
            SocksError::AuthFailed(status) => Error::SocksAuthFailed {
                proxy,
                user: self.user.clone().unwrap_or_default(),
                status,
            },
            SocksError::Refused(reply) => Error::SocksRefused {
                proxy,
                target: target.authority(),
                reply,
            },
            SocksError::UnofferedMethod(method) => Error::SocksProtocol {
                proxy,
                detail: format!("it chose method {method:#04x}, which was not offered"),
            },
            SocksError::Malformed(detail) => Error::SocksProtocol { proxy, detail },
        }
    }
}

/// Resolves the target's name before `deadline`. The system resolver has
/// no timeout of its own, so it runs on a thread of its own (as in
/// `transport`'s connect) and an answer after the deadline is dropped.
fn resolve(target: &Target, deadline: Instant) -> transport::Result<Vec<SocketAddr>> {
    let (tx, rx) = mpsc::sync_channel(1);
    let (name, port) = (target.host.clone(), target.port);
    std::thread::Builder::new()
        .name("socks-resolve".into())
        .spawn(move || {
            let _ = tx.send((name.as_str(), port).to_socket_addrs().map(Vec::from_iter));
        })?;
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(transport::Error::InvalidInput(format!(
            "no addresses for {}",
            target.host
        ))),
        Ok(Err(source)) => Err(transport::Error::Resolve {
            host: target.host.clone(),
            source,
        }),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Err(transport::Error::Timeout(transport::Phase::Connect))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(transport::Error::Io(
            std::io::Error::other("the resolver thread ended without an answer"),
        )),
    }
}
