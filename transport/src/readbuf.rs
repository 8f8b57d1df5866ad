//! The read buffer: bytes received and not yet consumed.
//!
//! Safe code cannot hand `read` uninitialised memory, so a buffer that
//! grows into fresh capacity must zero it first. Zeroing the room for every
//! read (as `BytesMut::resize` does) cost a 2 KiB `memset` per reply; here
//! the memory is zeroed once, when the buffer grows, and reused after that:
//! consuming everything rewinds to the start for free, and a partial frame
//! is moved to the front only when the room behind it runs short.

/// A buffer grown past this for one big reply is given back once it is
/// empty, so a pooled connection does not keep it for its whole life.
const KEEP_AT_MOST: usize = 1024 * 1024;

/// Received bytes live in `buf[start..end]`; `buf[end..]` is room that was
/// initialised before and may be read into.
#[derive(Debug, Default)]
pub(crate) struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    /// The bytes received and not yet consumed.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Drops `n` bytes from the front (at most what is buffered).
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n.min(self.len());
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > KEEP_AT_MOST {
                self.buf = Vec::new();
            }
        }
    }

    /// At least `want` bytes of room after the data, to read into; then
    /// [`filled`](ReadBuf::filled) with how many arrived.
    /// Inlined: on every read the room is already there; making it is out of line.
    #[inline]
    pub(crate) fn room(&mut self, want: usize) -> &mut [u8] {
        if self.buf.len() - self.end < want {
            self.make_room(want);
        }
        &mut self.buf[self.end..]
    }

    #[inline(never)]
    fn make_room(&mut self, want: usize) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < want {
            self.buf.resize(self.end + want, 0);
        }
    }

    /// Records that `n` bytes were read into the [`room`](ReadBuf::room).
    #[inline]
    pub(crate) fn filled(&mut self, n: usize) {
        debug_assert!(self.end + n <= self.buf.len());
        self.end = (self.end + n).min(self.buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(b: &mut ReadBuf, bytes: &[u8]) {
        let room = b.room(bytes.len());
        room[..bytes.len()].copy_from_slice(bytes);
        b.filled(bytes.len());
    }

    #[test]
    fn keeps_order_across_consume_rewind_and_compaction() {
        let mut b = ReadBuf::default();
        assert!(b.is_empty());
        push(&mut b, b"hello ");
        push(&mut b, b"world");
        assert_eq!(b.data(), b"hello world");
        b.consume(6);
        assert_eq!(b.data(), b"world");
        // Room short behind the data: the data moves to the front.
        let cap = b.buf.len();
        let room = b.room(cap - 2).len();
        assert!(room >= cap - 2);
        assert_eq!(b.data(), b"world");
        assert_eq!(b.start, 0);
        push(&mut b, b"!");
        assert_eq!(b.data(), b"world!");
        // Consuming everything rewinds without touching the memory.
        b.consume(100);
        assert!(b.is_empty());
        assert_eq!((b.start, b.end), (0, 0));
        assert_eq!(b.buf.len(), cap.max(b.buf.len()));
        push(&mut b, b"again");
        assert_eq!(b.data(), b"again");
    }

    #[test]
    fn a_big_buffer_is_given_back_once_empty() {
        let mut b = ReadBuf::default();
        push(&mut b, &vec![1; KEEP_AT_MOST + 1]);
        b.consume(KEEP_AT_MOST);
        assert!(b.buf.len() > KEEP_AT_MOST, "kept while data is in it");
        b.consume(1);
        assert_eq!(b.buf.len(), 0);
    }

    #[test]
    fn grows_only_when_the_room_is_short() {
        let mut b = ReadBuf::default();
        b.room(4096);
        let grown = b.buf.len();
        assert!(grown >= 4096);
        push(&mut b, &[7; 1000]);
        b.consume(1000);
        b.room(4096);
        assert_eq!(b.buf.len(), grown, "reused, not regrown");
        push(&mut b, &[1; 4000]);
        b.room(4096);
        assert!(b.buf.len() >= 8096);
        assert_eq!(b.data(), &[1; 4000][..]);
    }
}
