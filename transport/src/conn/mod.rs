//! A connection: a TCP or TLS stream with a read buffer for codecs, a write
//! buffer for encoders, deadlines, and the liveness probe.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::error::{BrokenCause, Error, Phase, Result};
use crate::io::Io;
use crate::readbuf::ReadBuf;
use crate::socket::Socket;
use crate::status::Status;
use crate::timeouts::Timeouts;

mod probe;
mod read;
mod timing;
mod tls;
mod write;

pub use probe::Probe;
pub use timing::ConnectTimings;

/// A TCP or TLS connection with buffered reads and writes.
///
/// Codecs decode from [`read_buf`](Conn::read_buf) and
/// [`consume`](Conn::consume) what they used; encoders append to
/// [`write_buf`](Conn::write_buf) and [`flush`](Conn::flush) sends it in one
/// write.
///
/// Failures are remembered. Once an exchange failed so that replies can no
/// longer be matched to requests (a timeout, an I/O error, the peer closing,
/// a decoder refusing the peer's bytes, a read abandoned halfway, or
/// [`mark_broken`](Conn::mark_broken)), the connection is *broken*: every
/// further read and write, and [`begin_exchange`](Conn::begin_exchange),
/// fails with [`Error::Broken`] without touching the socket, bytes already
/// buffered are dropped, and a pool closes it on release.
pub struct Conn {
    io: Io,
    rbuf: ReadBuf,
    wbuf: BytesMut,
    peer: Option<SocketAddr>,
    /// The path of a Unix domain socket connection.
    unix_path: Option<PathBuf>,
    server_name: String,
    timeouts: Timeouts,
    /// The read and write timeouts the connection was opened with, restored
    /// for each new borrower.
    fresh_timeouts: (Option<Duration>, Option<Duration>),
    status: Status,
    /// Why the connection refuses further use, once it does.
    broken: Option<BrokenCause>,
    in_exchange: bool,
    reply_started: bool,
    /// How much the next buffered read asks for: grows while reads fill it,
    /// shrinks while they use little, so small replies zero little memory.
    read_hint: usize,
    /// TLS layers that carry the way to a proxy, not to the peer (see
    /// [`Conn::mark_tunnel`]); `is_tls` and friends look past them.
    hop_tls_layers: u8,
    /// How long opening the connection took ([`Conn::connect_timings`]).
    timings: ConnectTimings,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.peer)
            .field("unix_path", &self.unix_path)
            .field("server_name", &self.server_name)
            .field("tls", &self.is_tls())
            .field("buffered", &self.rbuf.len())
            .field("status", &self.status)
            .field("broken", &self.broken)
            .finish()
    }
}

/// How much a read asks the socket for when the buffer is empty.
const READ_CHUNK: usize = 16 * 1024;
/// The least a single buffered read asks for.
const MIN_READ: usize = 2 * 1024;
/// The most a single buffered read asks for.
const MAX_READ: usize = 64 * 1024;

impl Conn {
    /// Wraps a connected TCP stream. `host` is the name it was opened for.
    pub fn from_tcp(stream: TcpStream, host: &str) -> Conn {
        let peer = stream.peer_addr().ok();
        Conn::from_tcp_with_peer(stream, host, peer)
    }

    fn from_tcp_with_peer(stream: TcpStream, host: &str, peer: Option<SocketAddr>) -> Conn {
        Conn::from_socket(Socket::Tcp(stream), host, peer)
    }

    /// Wraps a connected Unix domain stream socket at `path`. Timeouts,
    /// deadlines, the probe and the Broken rule work as on TCP; the
    /// [`server_name`](Conn::server_name) is `localhost`.
    pub fn from_unix(stream: UnixStream, path: impl Into<PathBuf>) -> Conn {
        let mut conn = Conn::from_socket(Socket::Unix(stream), "localhost", None);
        conn.unix_path = Some(path.into());
        conn
    }

    /// Wraps a Unix socket fresh from the connect, which left this send
    /// timeout on it.
    pub(crate) fn from_unix_connected(
        stream: UnixStream,
        path: &Path,
        send_timeout: Option<Duration>,
    ) -> Conn {
        let mut conn = Conn::from_unix(stream, path);
        conn.timeouts.socket_has_write_timeout(send_timeout);
        conn
    }

    fn from_socket(socket: Socket, host: &str, peer: Option<SocketAddr>) -> Conn {
        Conn {
            peer,
            unix_path: None,
            io: Io::Plain(socket),
            rbuf: ReadBuf::default(),
            wbuf: BytesMut::with_capacity(4096),
            server_name: host.to_string(),
            timeouts: Timeouts::default(),
            fresh_timeouts: (None, None),
            status: Status::NORMAL,
            broken: None,
            in_exchange: false,
            reply_started: false,
            read_hint: MIN_READ * 2,
            hop_tls_layers: 0,
            timings: ConnectTimings::default(),
        }
    }

    /// Wraps a socket fresh from [`crate::connect`], taking the peer address
    /// and the send timeout its connect left from what the connect knows
    /// rather than asking the kernel again.
    pub(crate) fn from_connected(
        stream: TcpStream,
        peer: SocketAddr,
        send_timeout: Option<Duration>,
        host: &str,
    ) -> Conn {
        let mut conn = Conn::from_tcp_with_peer(stream, host, Some(peer));
        conn.timeouts.socket_has_write_timeout(send_timeout);
        conn
    }

    /// The peer's address, when known.
    #[inline]
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The host name the connection was opened for (and TLS verified).
    #[inline]
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// The TCP socket at the bottom (for socket options and diagnostics).
    ///
    /// # Panics
    /// On a Unix domain socket connection, which has no TCP socket: use
    /// [`tcp_socket`](Conn::tcp_socket) where both kinds can occur.
    #[inline]
    pub fn socket(&self) -> &TcpStream {
        self.tcp_socket()
            .expect("Conn::socket on a Unix socket connection; use tcp_socket or unix_socket")
    }

    /// The TCP socket at the bottom, unless this is a Unix socket connection.
    #[inline]
    pub fn tcp_socket(&self) -> Option<&TcpStream> {
        self.io.socket().tcp()
    }

    /// The Unix domain socket at the bottom, if this is one.
    #[inline]
    pub fn unix_socket(&self) -> Option<&UnixStream> {
        self.io.socket().unix()
    }

    /// The path of a Unix domain socket connection.
    #[inline]
    pub fn unix_path(&self) -> Option<&Path> {
        self.unix_path.as_deref()
    }

    // ---- timeouts -------------------------------------------------------

    /// Limits each blocking read to `timeout` (`None`: wait forever).
    #[inline]
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.timeouts.read = timeout;
    }

    /// Limits each blocking write to `timeout` (`None`: wait forever).
    #[inline]
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.timeouts.write = timeout;
    }

    /// An overall deadline for every read and write until cleared: the
    /// timeout of a whole request, however many reads it takes.
    #[inline]
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.timeouts.deadline = deadline;
    }

    /// Records the current timeouts as those of a fresh connection (the pool
    /// does this when it receives a newly opened connection).
    #[inline]
    pub(crate) fn remember_fresh_timeouts(&mut self) {
        self.fresh_timeouts = (self.timeouts.read, self.timeouts.write);
    }

    /// Undoes a borrower's deadline and timeout changes before the next borrow.
    #[inline]
    pub(crate) fn restore_fresh_timeouts(&mut self) {
        self.timeouts.deadline = None;
        (self.timeouts.read, self.timeouts.write) = self.fresh_timeouts;
        self.reply_started = false;
    }

    /// The current overall deadline.
    #[inline]
    pub fn deadline(&self) -> Option<Instant> {
        self.timeouts.deadline
    }

    // ---- exchange state, status ------------------------------------------

    /// Marks the start of a request/reply exchange. Until
    /// [`end_exchange`](Conn::end_exchange), dropping the pool guard sets
    /// `ABORTED` and closes the connection: a reply may still be owed.
    ///
    /// Fails with [`Error::Broken`] on a broken connection.
    #[inline]
    pub fn begin_exchange(&mut self) -> Result<()> {
        self.usable()?;
        self.in_exchange = true;
        self.reply_started = false;
        Ok(())
    }

    /// Marks the exchange complete: every reply owed has been read.
    #[inline]
    pub fn end_exchange(&mut self) {
        self.in_exchange = false;
    }

    /// True between [`begin_exchange`](Conn::begin_exchange) and [`end_exchange`](Conn::end_exchange).
    #[inline]
    pub fn in_exchange(&self) -> bool {
        self.in_exchange
    }

    /// True once any byte arrived since [`begin_exchange`](Conn::begin_exchange).
    /// The retry rule: a request may be re-sent only if this is false.
    #[inline]
    pub fn reply_started(&self) -> bool {
        self.reply_started || !self.rbuf.is_empty()
    }

    /// The status bits the connection has collected (`TIMEOUT` on a timed-out read or write).
    #[inline]
    pub fn status(&self) -> Status {
        self.status
    }

    /// Adds status bits. `ABORTED` (a protocol gave up mid-reply) also
    /// breaks the connection ([`BrokenCause::Abandoned`]).
    #[inline]
    pub fn mark(&mut self, status: Status) {
        self.status.insert(status);
        if status.contains(Status::ABORTED) && self.broken.is_none() {
            self.break_with(BrokenCause::Abandoned);
        }
    }

    /// True once an exchange failed so that replies can no longer be
    /// matched: every further read and write fails with [`Error::Broken`],
    /// and the connection is never reused.
    #[inline]
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Why the connection is broken, if it is.
    #[inline]
    pub fn broken_cause(&self) -> Option<BrokenCause> {
        self.broken
    }

    /// Declares the connection unusable ([`BrokenCause::Marked`]); see
    /// [`mark_broken_with`](Conn::mark_broken_with).
    #[inline]
    pub fn mark_broken(&mut self) {
        self.mark_broken_with(BrokenCause::Marked);
    }

    /// Declares the connection unusable for `cause` (e.g. the protocol
    /// found the peer's bytes out of step, or it stops reading a reply
    /// halfway). From now on every read and write fails with
    /// [`Error::Broken`] carrying the first cause recorded.
    #[inline]
    pub fn mark_broken_with(&mut self, cause: BrokenCause) {
        if self.broken.is_none() {
            self.break_with(cause);
        }
    }

    /// `Ok` while the connection may be used; the refusal otherwise.
    #[inline(always)]
    fn usable(&self) -> Result<()> {
        match self.broken {
            None => Ok(()),
            Some(cause) => Err(Error::Broken { cause }),
        }
    }

    /// Breaks the connection: records why and drops what was buffered in
    /// either direction, so no late byte of a reply nobody will match is
    /// ever handed out, and nothing half-encoded goes out.
    #[cold]
    #[inline(never)]
    fn break_with(&mut self, cause: BrokenCause) {
        if !self.rbuf.is_empty() {
            // Bytes of this exchange had arrived: the retry rule must see it.
            self.reply_started = true;
            let n = self.rbuf.len();
            self.rbuf.consume(n);
        }
        self.wbuf.clear();
        if let BrokenCause::Timeout(_) = cause {
            self.status.insert(Status::TIMEOUT);
        }
        tracing::debug!(server = %self.server_name, %cause, "connection broken: further use refused");
        self.broken = Some(cause);
    }

    // Out of line: it keeps the read and write paths small enough to inline.
    #[cold]
    #[inline(never)]
    fn fail(&mut self, e: io::Error, phase: Phase) -> Error {
        let err = Error::from_io(e, phase, Some(&self.server_name));
        self.break_with(err.broken_cause());
        err
    }

    /// Breaks the connection for `err` (a timeout before a read or write)
    /// and hands it back.
    #[cold]
    #[inline(never)]
    fn fail_with(&mut self, err: Error) -> Error {
        self.break_with(err.broken_cause());
        err
    }
}

impl AsFd for Conn {
    /// The socket at the bottom (TCP or Unix), for `poll` and socket options.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.socket().as_fd()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::{TcpListener, TcpStream};

    use super::*;

    fn pair() -> (Conn, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (peer, _) = listener.accept().unwrap();
        (Conn::from_tcp(stream, "127.0.0.1"), peer)
    }

    fn read_exactly(peer: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut got = vec![0; n];
        peer.read_exact(&mut got).unwrap();
        got
    }

    #[test]
    fn write_all_sends_after_what_is_buffered_small_or_large() {
        let (mut conn, mut peer) = pair();
        conn.write_all(b"direct|").unwrap();
        conn.write_buf().extend_from_slice(b"buffered|");
        conn.write_all(b"small|").unwrap();
        assert_eq!(conn.unsent(), 0);
        conn.write_buf().extend_from_slice(b"buffered|");
        let large = vec![b'x'; READ_CHUNK];
        conn.write_all(&large).unwrap();
        assert_eq!(conn.unsent(), 0);
        let mut want = b"direct|buffered|small|buffered|".to_vec();
        want.extend_from_slice(&large);
        assert_eq!(read_exactly(&mut peer, want.len()), want);
    }

    #[test]
    fn flush_sends_the_buffer_and_empties_it_even_when_it_fails() {
        let (mut conn, mut peer) = pair();
        conn.flush().unwrap();
        conn.write_buf().extend_from_slice(b"PING\r\n");
        conn.flush().unwrap();
        assert_eq!(conn.unsent(), 0);
        assert_eq!(read_exactly(&mut peer, 6), b"PING\r\n");
        // A deadline already passed: a timeout, and the bytes are gone.
        conn.write_buf().extend_from_slice(b"late");
        conn.set_deadline(Some(Instant::now()));
        let err = conn.flush().unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert_eq!(conn.unsent(), 0);
        assert!(conn.is_broken() && conn.status().contains(Status::TIMEOUT));
    }

    #[test]
    fn a_failed_flush_breaks_the_connection_and_empties_the_buffer() {
        let (mut conn, peer) = pair();
        drop(peer);
        let mut failed = None;
        for _ in 0..1000 {
            conn.write_buf().extend_from_slice(&[0; 1024]);
            if let Err(e) = conn.flush() {
                failed = Some(e);
                break;
            }
            assert_eq!(conn.unsent(), 0);
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(failed.is_some(), "writes to a closed peer fail");
        assert_eq!(conn.unsent(), 0);
        assert!(conn.is_broken() && conn.status().is_normal());
    }

    /// Probes until the peer's byte or close shows (it crosses loopback
    /// asynchronously), for at most about a second.
    fn probe_until_not_alive(conn: &mut Conn) -> Probe {
        let mut probe = conn.probe();
        for _ in 0..1000 {
            if probe != Probe::Alive {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
            probe = conn.probe();
        }
        probe
    }

    #[test]
    fn the_probe_on_tcp_tells_alive_unexpected_and_closed() {
        let (mut conn, mut peer) = pair();
        assert_eq!(conn.probe(), Probe::Alive);
        assert!(!conn.is_broken());
        peer.write_all(b"?").unwrap();
        let probe = probe_until_not_alive(&mut conn);
        assert_eq!(probe, Probe::Unexpected);
        assert!(conn.is_broken());
        let (mut conn, peer) = pair();
        drop(peer);
        let probe = probe_until_not_alive(&mut conn);
        assert_eq!(probe, Probe::Closed);
    }
}
