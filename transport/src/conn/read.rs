//! The read side: the buffer codecs decode from, frames, and reads
//! straight into a caller's buffer.

use std::io::{self, Read};
use std::time::Duration;

use crate::error::{BrokenCause, Error, Phase, Result};

use super::{Conn, MAX_READ, MIN_READ, READ_CHUNK};

impl Conn {
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
}
