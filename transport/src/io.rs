//! The byte stream under a [`crate::Conn`]: a plain socket (TCP or Unix),
//! or TLS layered on another stream (which may itself be TLS: TLS to the
//! target inside TLS to a proxy).

use std::io::{self, Read, Write};

use crate::socket::Socket;
use crate::sys::{peek_dontwait_errno, recv_dontwait};
use rustls::ClientConnection;

/// One layer of a connection's stream.
pub(crate) enum Io {
    Plain(Socket),
    Tls(Box<TlsLayer>),
}

pub(crate) struct TlsLayer {
    pub(crate) tls: ClientConnection,
    pub(crate) inner: Io,
}

impl Io {
    /// The socket at the bottom of the layers: timeouts and the probe act on it.
    #[inline]
    pub(crate) fn socket(&self) -> &Socket {
        match self {
            Io::Plain(s) => s,
            Io::Tls(layer) => layer.inner.socket(),
        }
    }

    /// Writes all of `buf` as this layer's plaintext and pushes it down to the socket.
    /// Inlined for the plain case, one call to std; TLS is out of line.
    #[inline]
    pub(crate) fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Io::Plain(s) => s.write_all(buf),
            Io::Tls(layer) => layer.send(buf),
        }
    }

    /// Reads what this layer can deliver without waiting: `Ok(0)` is a clean
    /// end of stream, `WouldBlock` means nothing is pending. The socket is
    /// never switched to non-blocking mode; `MSG_DONTWAIT` asks once.
    #[inline]
    pub(crate) fn read_available(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Io::Plain(s) => recv_dontwait(s, buf),
            Io::Tls(layer) => layer.read_available(buf),
        }
    }

    /// Sends TLS `close_notify` on every TLS layer, outermost protocol first.
    /// Only for a graceful close by the process that opened the connection.
    pub(crate) fn send_close_notify(&mut self) {
        if let Io::Tls(layer) = self {
            layer.tls.send_close_notify();
            let _ = layer.push_records();
            layer.inner.send_close_notify();
        }
    }
}

impl TlsLayer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        rustls::Stream::new(&mut self.tls, &mut self.inner).read(buf)
    }

    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        // rustls buffers a bounded amount of plaintext: hand it what
        // it takes, push those records down, and go on.
        let mut rest = buf;
        while !rest.is_empty() {
            let taken = self.tls.writer().write(rest)?;
            self.push_records()?;
            if taken == 0 && !self.tls.wants_write() {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "TLS refused plaintext",
                ));
            }
            rest = &rest[taken..];
        }
        Ok(())
    }

    /// Writes every pending TLS record into the layer below.
    pub(crate) fn push_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match &mut self.inner {
                // The common case writes the records straight to the socket.
                Io::Plain(socket) => {
                    self.tls.write_tls(socket)?;
                }
                inner => {
                    let mut records = Vec::new();
                    self.tls.write_tls(&mut records)?;
                    inner.send(&records)?;
                }
            }
        }
        Ok(())
    }

    /// True when nothing waits to be read on TLS straight over a socket:
    /// rustls holds no plaintext and no `close_notify`, and nothing arrived
    /// in the socket (peeked, so anything that did is left for
    /// [`TlsLayer::read_available`]). The probe's common case on TLS,
    /// answered without running rustls's record reader for nothing.
    pub(crate) fn is_quiet(&self) -> bool {
        let Io::Plain(socket) = &self.inner else {
            return false;
        };
        self.tls.wants_read() && peek_dontwait_errno(socket) == Err(libc::EAGAIN)
    }

    fn read_available(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other,
            }
            // No plaintext buffered: rustls pulls whatever records have
            // arrived straight into its own buffer (`WouldBlock` if none).
            let n = self.tls.read_tls(&mut Available(&mut self.inner))?;
            self.process()?;
            if n == 0 {
                // The stream below ended: a close_notify reads as Ok(0), a
                // truncation as UnexpectedEof.
                return self.tls.reader().read(buf);
            }
        }
    }

    fn process(&mut self) -> io::Result<()> {
        self.tls
            .process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        // A KeyUpdate or an alert may need an answer.
        self.push_records()
    }
}

/// The layer below, read without blocking.
struct Available<'a>(&'a mut Io);

impl Read for Available<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_available(buf)
    }
}

impl Read for Io {
    /// Inlined for the plain case, one call to std; TLS is out of line.
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Io::Plain(s) => s.read(buf),
            Io::Tls(layer) => layer.read(buf),
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)?;
        Ok(buf.len())
    }

    /// rustls hands a handshake flight (e.g. ChangeCipherSpec + Finished)
    /// over as several buffers. Written one by one they leave as separate
    /// segments, and a relay without TCP_NODELAY (tinyproxy) holds the
    /// second behind the first until the server's delayed ACK: ~40 ms on the
    /// first request of a tunnelled TLS connection. One writev, one segment.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Io::Plain(s) => s.write_vectored(bufs),
            Io::Tls(_) => {
                let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
                self.send(&joined)?;
                Ok(joined.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Io::Plain(s) => s.flush(),
            Io::Tls(layer) => layer.push_records(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn vectored_writes_go_out_whole() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut io = Io::Plain(Socket::Tcp(
            TcpStream::connect(listener.local_addr().unwrap()).unwrap(),
        ));
        let (mut peer, _) = listener.accept().unwrap();
        // The default write_vectored writes only the first buffer; a TLS
        // flight must leave in one call.
        let bufs = [
            io::IoSlice::new(b"change-cipher-spec|"),
            io::IoSlice::new(b"finished"),
        ];
        assert_eq!(io.write_vectored(&bufs).unwrap(), 27);
        drop(io);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"change-cipher-spec|finished");
    }
}
