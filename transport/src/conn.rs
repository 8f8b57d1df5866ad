//! A connection: a TCP or TLS stream with a read buffer for codecs, a write
//! buffer for encoders, deadlines, and the liveness probe.

use std::fmt;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rustls::pki_types::ServerName;
use rustls::ClientConnection;

use crate::error::{BrokenCause, Error, Phase, Result};
use crate::io::{Io, TlsLayer};
use crate::readbuf::ReadBuf;
use crate::status::Status;
use crate::sys::recv_dontwait_errno;
use crate::timeouts::Timeouts;
use crate::tls::TlsConfig;

/// What the liveness probe found on an idle connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Probe {
    /// Nothing pending and the peer has not closed: safe to reuse.
    Alive,
    /// The peer closed the connection (TCP FIN, or TLS `close_notify`).
    Closed,
    /// The socket reported an error (reset, unreachable, ...).
    Error(io::ErrorKind),
    /// Bytes arrived that no request asked for: the protocol is out of step.
    Unexpected,
}

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
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.peer)
            .field("server_name", &self.server_name)
            .field("tls", &self.is_tls())
            .field("buffered", &self.rbuf.len())
            .field("status", &self.status)
            .field("broken", &self.broken)
            .finish()
    }
}

/// True for `WouldBlock`, the probe's answer on every healthy connection.
/// The errno is compared first: `kind()` maps it through a call out of line.
#[inline]
fn is_would_block(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EAGAIN) || e.kind() == io::ErrorKind::WouldBlock
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
        Conn {
            peer,
            io: Io::Tcp(stream),
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
        }
    }

    /// Wraps a socket fresh from [`crate::connect`], taking the peer address
    /// and the send timeout its connect left from what the connect knows
    /// rather than asking the kernel again.
    pub(crate) fn from_connected(c: crate::connect::Connected, host: &str) -> Conn {
        let mut conn = Conn::from_tcp_with_peer(c.stream, host, Some(c.peer));
        conn.timeouts.socket_has_write_timeout(c.send_timeout);
        conn
    }

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

    /// The TCP socket at the bottom (for socket options and diagnostics).
    #[inline]
    pub fn socket(&self) -> &TcpStream {
        self.io.socket()
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

    // ---- reading ----------------------------------------------------------

    /// Bytes received and not yet consumed; none on a broken connection
    /// (they belong to replies nobody can match any more).
    #[inline]
    pub fn read_buf(&self) -> &[u8] {
        if self.broken.is_some() {
            return &[];
        }
        self.rbuf.data()
    }

    /// True when bytes were received and not consumed: the release and
    /// checkout checks ask this, with no slice to build.
    #[inline]
    pub(crate) fn has_unread(&self) -> bool {
        !self.rbuf.is_empty()
    }

    /// Drops `n` bytes from the front of the read buffer.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.rbuf.consume(n);
    }

    /// Reads more bytes into the read buffer, blocking until at least one
    /// arrives. Returns how many arrived; 0 means the peer closed (and the
    /// connection is broken from then on).
    #[inline]
    pub fn fill(&mut self) -> Result<usize> {
        self.usable()?;
        self.fill_unchecked()
    }

    /// [`fill`](Conn::fill) for callers that checked the connection is usable.
    #[inline(always)]
    fn fill_unchecked(&mut self) -> Result<usize> {
        self.before_read()?;
        self.read_to_buffer().map_err(|e| self.fail(e, Phase::Read))
    }

    /// Applies the read timeout or deadline; a passed deadline is a timeout
    /// and breaks the connection.
    #[inline]
    fn before_read(&mut self) -> Result<()> {
        self.timeouts
            .before_read(self.io.socket(), Phase::Read)
            .map_err(|e| self.fail_with(e))
    }

    /// One read from the stream into the buffer's spare room; the error is
    /// left raw for the caller to classify.
    // Forced: LLVM keeps it out of line for its second caller, and `fill`
    // pays a call per read for it.
    #[inline(always)]
    fn read_to_buffer(&mut self) -> io::Result<usize> {
        // The hint follows what reads return, so a 200-byte reply does not
        // grow the buffer and a large body still reads in big gulps. Room
        // already there beyond the hint is read into too: it costs nothing.
        let want = self.read_hint;
        let room = self.rbuf.room(want);
        let got = loop {
            match self.io.read(room) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = *got.as_ref().unwrap_or(&0);
        self.rbuf.filled(n);
        if n >= want {
            self.read_hint = (want * 2).min(MAX_READ);
        } else if n < want / 4 {
            self.read_hint = (want / 2).max(MIN_READ);
        }
        match got {
            Ok(0) => self.break_with(BrokenCause::PeerClosed),
            Ok(_) => self.reply_started = true,
            Err(_) => {}
        }
        got
    }

    /// Reads until `decode` yields a frame. `decode` sees every buffered
    /// byte and returns the frame and how many bytes it used, or `None` for
    /// "need more". A frame that would grow the buffer past `max_buffered`
    /// bytes is refused, so a hostile peer cannot make us buffer without end.
    ///
    /// Any error breaks the connection (a decoder error as
    /// [`BrokenCause::Protocol`]), and so does a `decode` that panics: the
    /// read was abandoned halfway.
    pub fn read_frame<T, E, D>(&mut self, max_buffered: usize, mut decode: D) -> Result<T, E>
    where
        D: FnMut(&[u8]) -> Result<Option<(T, usize)>, E>,
        E: From<Error>,
    {
        self.usable()?;
        // Broken until the frame is out: a decoder that panics leaves the
        // connection refusing, whoever catches the panic. Every error
        // below records its own cause.
        self.broken = Some(BrokenCause::Abandoned);
        loop {
            if !self.rbuf.is_empty() {
                match decode(self.rbuf.data()) {
                    Ok(Some((frame, used))) => {
                        self.rbuf.consume(used);
                        self.broken = None;
                        return Ok(frame);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // The peer broke the protocol: what follows cannot be trusted.
                        self.break_with(BrokenCause::Protocol);
                        return Err(e);
                    }
                }
                if self.rbuf.len() >= max_buffered {
                    self.break_with(BrokenCause::FrameTooLarge);
                    return Err(Error::FrameTooLarge {
                        limit: max_buffered,
                    }
                    .into());
                }
            }
            let mid_frame = !self.rbuf.is_empty();
            if self.fill_unchecked()? == 0 {
                return Err(Error::Closed { mid_frame }.into());
            }
        }
    }

    /// Waits up to `timeout` for bytes from a peer that speaks unprompted
    /// (pub/sub messages), reading what arrives into the read buffer.
    /// `Ok(true)`: bytes are buffered; `Ok(false)`: nothing arrived in time,
    /// and unlike a read timeout this leaves the connection usable, because
    /// no reply was owed. A closed or failed connection is an error as in
    /// [`fill`](Conn::fill).
    pub fn wait_readable(&mut self, timeout: Duration) -> Result<bool> {
        self.usable()?;
        if !self.rbuf.is_empty() {
            return Ok(true);
        }
        let saved = self
            .timeouts
            .read
            .replace(timeout.max(Duration::from_millis(1)));
        let before = self.before_read();
        self.timeouts.read = saved;
        before?;
        match self.read_to_buffer() {
            Ok(0) => Err(Error::Closed { mid_frame: false }),
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.fail(e, Phase::Read)),
        }
    }

    /// Reads up to `out.len()` bytes: buffered bytes first, then straight
    /// from the stream (large bodies skip the buffer). 0 means the peer closed.
    pub fn read_into(&mut self, out: &mut [u8]) -> Result<usize> {
        self.usable()?;
        if !self.rbuf.is_empty() {
            let n = out.len().min(self.rbuf.len());
            out[..n].copy_from_slice(&self.rbuf.data()[..n]);
            self.rbuf.consume(n);
            return Ok(n);
        }
        if out.len() < READ_CHUNK / 4 {
            // Small reads go through the buffer to keep syscalls few.
            let n = self.fill_unchecked()?;
            return if n == 0 { Ok(0) } else { self.read_into(out) };
        }
        self.before_read()?;
        loop {
            match self.io.read(out) {
                Ok(0) => {
                    self.break_with(BrokenCause::PeerClosed);
                    return Ok(0);
                }
                Ok(n) => {
                    self.reply_started = true;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(e, Phase::Read)),
            }
        }
    }

    // ---- writing ----------------------------------------------------------

    /// The write buffer encoders append to; [`flush`](Conn::flush) sends it
    /// (or, on a broken connection, refuses and drops it).
    #[inline]
    pub fn write_buf(&mut self) -> &mut BytesMut {
        &mut self.wbuf
    }

    /// Bytes encoded into the write buffer and not yet sent.
    #[inline]
    pub fn unsent(&self) -> usize {
        self.wbuf.len()
    }

    /// Sends everything in the write buffer.
    pub fn flush(&mut self) -> Result<()> {
        if let Err(e) = self.usable() {
            self.wbuf.clear();
            return Err(e);
        }
        if self.wbuf.is_empty() {
            return Ok(());
        }
        // Sent from where it is (no take and put back, which moved the
        // buffer twice and dropped the empty placeholder); cleared whether
        // or not it went out, as before.
        let sent = match self.before_write() {
            Ok(()) => self.io.send(&self.wbuf),
            Err(e) => {
                self.wbuf.clear();
                return Err(e);
            }
        };
        self.wbuf.clear();
        sent.map_err(|e| self.fail(e, Phase::Write))
    }

    /// Sends `data` now, after anything already in the write buffer.
    /// Inlined: with nothing buffered, it is the send itself.
    #[inline]
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        if self.wbuf.is_empty() {
            return self.send(data);
        }
        self.write_after_buffered(data)
    }

    #[inline(never)]
    fn write_after_buffered(&mut self, data: &[u8]) -> Result<()> {
        if self.wbuf.len() + data.len() <= READ_CHUNK {
            // One write instead of two for small frames.
            self.wbuf.extend_from_slice(data);
            return self.flush();
        }
        self.flush()?;
        self.send(data)
    }

    // Forced into `write_all` and `flush`, which are little more than it.
    #[inline(always)]
    fn send(&mut self, data: &[u8]) -> Result<()> {
        self.usable()?;
        self.before_write()?;
        self.io.send(data).map_err(|e| self.fail(e, Phase::Write))
    }

    /// Applies the write timeout or deadline; a passed deadline is a
    /// timeout and breaks the connection.
    #[inline(always)]
    fn before_write(&mut self) -> Result<()> {
        if let Err(e) = self.timeouts.before_write(self.io.socket(), Phase::Write) {
            return Err(self.fail_with(e));
        }
        Ok(())
    }

    // ---- liveness ----------------------------------------------------------

    /// The non-blocking liveness check of an idle connection.
    ///
    /// In the common case (nothing pending) this is one `recv(MSG_DONTWAIT)`
    /// returning `EAGAIN`. On TLS, records that arrived while idle are run
    /// through rustls: TLS 1.3 session tickets and KeyUpdate leave the
    /// connection alive, `close_notify` closes it, plaintext is unexpected.
    ///
    /// A broken connection is not looked at: it reports `Error(NotConnected)`.
    pub fn probe(&mut self) -> Probe {
        if self.broken.is_some() {
            return Probe::Error(io::ErrorKind::NotConnected);
        }
        if !self.rbuf.is_empty() {
            self.break_with(BrokenCause::UnexpectedData);
            return Probe::Unexpected;
        }
        let mut scratch = [0u8; 64];
        let got = match &mut self.io {
            // Plain TCP, the common case: the errno says nothing is pending,
            // with no `io::Error` built, decoded and dropped. (Where
            // EWOULDBLOCK differs from EAGAIN, it takes the general way.)
            Io::Tcp(socket) => match recv_dontwait_errno(socket, &mut scratch) {
                Err(libc::EAGAIN) => return Probe::Alive,
                other => other.map_err(io::Error::from_raw_os_error),
            },
            io => io.read_available(&mut scratch),
        };
        let probe = match got {
            Ok(0) => Probe::Closed,
            Ok(_) => Probe::Unexpected,
            Err(e) if is_would_block(&e) => Probe::Alive,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Probe::Closed,
            Err(e) => Probe::Error(e.kind()),
        };
        match probe {
            Probe::Alive => {}
            Probe::Closed => self.break_with(BrokenCause::PeerClosed),
            Probe::Error(kind) => self.break_with(BrokenCause::Io(kind)),
            Probe::Unexpected => self.break_with(BrokenCause::UnexpectedData),
        }
        probe
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

#[cfg(test)]
mod tests {
    use std::io::Write as _;
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
