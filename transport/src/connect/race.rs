//! Connecting to one of several addresses: Happy Eyeballs v2 (RFC 8305).
//!
//! With one address, one blocking connect bounded by the deadline. With
//! several, attempts are started one after another in an order that
//! alternates IPv6 and IPv4 (starting with the resolver's first family),
//! each `attempt_delay` after the previous one or at once when one fails,
//! while the earlier ones stay pending; the first to complete is kept and
//! the rest are closed. One deadline covers them all, so an address that
//! never answers delays the connect by the attempt delay, not by the whole
//! connect timeout.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, TcpKeepalive, Type};

use crate::sys::poll_writable;

use super::{ConnectOptions, Connected, Dialer};

/// The order to try addresses in: families alternate, starting with the
/// family of the first address; within a family the resolver's order.
pub(crate) fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return Vec::new();
    };
    let (mut same, mut other): (Vec<_>, Vec<_>) = addrs
        .iter()
        .copied()
        .partition(|a| a.is_ipv6() == first.is_ipv6());
    same.reverse();
    other.reverse();
    let mut ordered = Vec::with_capacity(addrs.len());
    loop {
        match (same.pop(), other.pop()) {
            (None, None) => return ordered,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
}

/// A socket of `addr`'s family with the connection's options, bound to the
/// local address if one is set.
fn new_socket(addr: &SocketAddr, opts: &ConnectOptions, dialer: &Dialer) -> io::Result<Socket> {
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
    if let Some(local) = dialer.local_addr {
        socket.bind(&SockAddr::from(SocketAddr::new(local, 0)))?;
    }
    Ok(socket)
}

/// Connects to one of `addrs` (already filtered and non-empty) before
/// `deadline`. The error is the last attempt's (`TimedOut` when the
/// deadline passed).
pub(crate) fn connect_any(
    addrs: &[SocketAddr],
    opts: &ConnectOptions,
    dialer: &Dialer,
    deadline: Instant,
) -> io::Result<(Connected, Option<(SocketAddr, io::Error)>)> {
    if let [addr] = addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        return connect_one(addr, left, opts, dialer).map(|c| (c, None));
    }
    race(&interleave(addrs), opts, dialer, deadline)
}

/// A pending attempt.
struct Attempt {
    socket: Socket,
    addr: SocketAddr,
}

/// Happy Eyeballs over `order`. Returns the winner and the last failure
/// seen on the way (for the log), or the last failure if none won.
fn race(
    order: &[SocketAddr],
    opts: &ConnectOptions,
    dialer: &Dialer,
    deadline: Instant,
) -> io::Result<(Connected, Option<(SocketAddr, io::Error)>)> {
    let mut pending: Vec<Attempt> = Vec::new();
    let mut next = 0;
    let mut next_start = Instant::now();
    let mut last_err: Option<(SocketAddr, io::Error)> = None;
    let mut ready = Vec::new();
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        if next < order.len() && (pending.is_empty() || now >= next_start) {
            let addr = order[next];
            next += 1;
            next_start = now + dialer.attempt_delay;
            tracing::trace!(%addr, attempt = next, "connect attempt started");
            match start(&addr, opts, dialer) {
                Ok(Started::Connected(socket)) => return won(socket, addr, last_err),
                Ok(Started::Pending(socket)) => pending.push(Attempt { socket, addr }),
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "connect attempt failed");
                    last_err = Some((addr, e));
                    // A failure starts the next attempt at once.
                    next_start = now;
                    continue;
                }
            }
        }
        if pending.is_empty() {
            if next >= order.len() {
                let (_, e) = last_err.expect("every address was tried and failed");
                return Err(e);
            }
            continue;
        }
        let until = if next < order.len() {
            next_start.min(deadline)
        } else {
            deadline
        };
        let fds: Vec<_> = pending.iter().map(|a| a.socket.as_raw_fd()).collect();
        ready.clear();
        ready.resize(fds.len(), false);
        poll_writable(&fds, until.saturating_duration_since(now), &mut ready)?;
        let mut i = pending.len();
        while i > 0 {
            i -= 1;
            if !ready[i] {
                continue;
            }
            let attempt = pending.swap_remove(i);
            match attempt.socket.take_error() {
                Ok(None) => {
                    // The rest are dropped (closed) with `pending`.
                    return won(attempt.socket, attempt.addr, last_err);
                }
                Ok(Some(e)) | Err(e) => {
                    tracing::debug!(addr = %attempt.addr, error = %e, "connect attempt failed");
                    last_err = Some((attempt.addr, e));
                    next_start = Instant::now();
                }
            }
        }
    }
}

/// A non-blocking connect just started.
enum Started {
    /// It completed at once.
    Connected(Socket),
    /// It is under way.
    Pending(Socket),
}

fn start(addr: &SocketAddr, opts: &ConnectOptions, dialer: &Dialer) -> io::Result<Started> {
    let socket = new_socket(addr, opts, dialer)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&SockAddr::from(*addr)) {
        Ok(()) => Ok(Started::Connected(socket)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(Started::Pending(socket)),
        Err(e) => Err(e),
    }
}

fn won(
    socket: Socket,
    addr: SocketAddr,
    last_err: Option<(SocketAddr, io::Error)>,
) -> io::Result<(Connected, Option<(SocketAddr, io::Error)>)> {
    socket.set_nonblocking(false)?;
    Ok((
        Connected {
            stream: socket.into(),
            peer: addr,
            send_timeout: None,
        },
        last_err,
    ))
}

/// Keeps only the addresses a socket bound to `local` can reach.
pub(crate) fn reachable_from(addrs: Vec<SocketAddr>, local: Option<IpAddr>) -> Vec<SocketAddr> {
    match local {
        None => addrs,
        Some(local) => addrs
            .into_iter()
            .filter(|a| a.is_ipv6() == local.is_ipv6())
            .collect(),
    }
}

fn connect_one(
    addr: &SocketAddr,
    timeout: Duration,
    opts: &ConnectOptions,
    dialer: &Dialer,
) -> io::Result<Connected> {
    let socket = new_socket(addr, opts, dialer)?;
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
) -> io::Result<Option<Duration>> {
    let addr = SockAddr::from(*addr);
    let until = Instant::now() + timeout;
    let mut left = timeout;
    loop {
        socket.set_write_timeout(Some(left))?;
        match socket.connect(&addr) {
            Ok(()) => return Ok(Some(left)),
            // Out of time: EINPROGRESS, or EALREADY when it was a retry.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EALREADY)) => {
                return Err(io::ErrorKind::TimedOut.into())
            }
            // A signal: connect again, which waits on for the same
            // handshake (Linux does not start a new one), with what is left.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
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
) -> io::Result<Option<Duration>> {
    socket.connect_timeout(&SockAddr::from(*addr), timeout)?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_alternate_starting_with_the_first() {
        let got = interleave(&[
            a("[::1]:1"),
            a("[::2]:1"),
            a("[::3]:1"),
            a("10.0.0.1:1"),
            a("10.0.0.2:1"),
        ]);
        assert_eq!(
            got,
            [
                a("[::1]:1"),
                a("10.0.0.1:1"),
                a("[::2]:1"),
                a("10.0.0.2:1"),
                a("[::3]:1")
            ]
        );
        let got = interleave(&[a("10.0.0.1:1"), a("10.0.0.2:1"), a("[::1]:1")]);
        assert_eq!(got, [a("10.0.0.1:1"), a("[::1]:1"), a("10.0.0.2:1")]);
        assert!(interleave(&[]).is_empty());
    }

    #[test]
    fn a_local_address_keeps_its_family_only() {
        let all = vec![a("[::1]:1"), a("127.0.0.1:1")];
        assert_eq!(reachable_from(all.clone(), None), all);
        assert_eq!(
            reachable_from(all, Some("127.0.0.1".parse().unwrap())),
            [a("127.0.0.1:1")]
        );
    }
}
