//! The write side: the buffer encoders append to, and sends.

use bytes::BytesMut;

use crate::error::{Phase, Result};

use super::{Conn, READ_CHUNK};

impl Conn {
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
}
