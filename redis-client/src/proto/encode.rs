//! Commands to bytes: a RESP array of bulk strings, the only form Redis
//! accepts from clients. Small enough that building frames for
//! an encoder crate would cost more than it saves.

use bytes::BytesMut;

/// Where encoded commands go: a connection's write buffer (`BytesMut`), a
/// command's own `Vec<u8>`.
pub trait Sink {
    /// Makes room for at least `additional` more bytes.
    fn reserve(&mut self, additional: usize);
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for BytesMut {
    #[inline]
    fn reserve(&mut self, additional: usize) {
        BytesMut::reserve(self, additional)
    }
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes)
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn reserve(&mut self, additional: usize) {
        Vec::reserve(self, additional)
    }
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes)
    }
}

/// Appends `<prefix><n>\r\n`.
fn put_len(out: &mut impl Sink, prefix: u8, n: usize) {
    // One append: `prefix`, up to 20 digits, CRLF.
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n).as_bytes();
    let mut line = [0u8; 23];
    line[0] = prefix;
    line[1..=digits.len()].copy_from_slice(digits);
    line[digits.len() + 1..digits.len() + 3].copy_from_slice(b"\r\n");
    out.put(&line[..digits.len() + 3]);
}

/// Appends one bulk string `$len\r\ndata\r\n`.
pub fn write_bulk(out: &mut impl Sink, data: &[u8]) {
    // `$`, 20 digits, two CRLFs.
    out.reserve(data.len() + 25);
    put_len(out, b'$', data.len());
    out.put(data);
    out.put(b"\r\n");
}

/// Appends a command whose arguments are already encoded as bulk strings
/// (`args`, `count` of them).
pub fn encode_command(out: &mut impl Sink, count: usize, args: &[u8]) {
    out.reserve(args.len() + 23);
    put_len(out, b'*', count);
    out.put(args);
}

/// Appends a command given as raw parts (name first).
pub fn encode_parts<P: AsRef<[u8]>>(out: &mut impl Sink, parts: &[P]) {
    encode_command(out, parts.len(), b"");
    for p in parts {
        write_bulk(out, p.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_binary_safe_arrays() {
        let mut args = BytesMut::new();
        write_bulk(&mut args, b"SET");
        write_bulk(&mut args, b"k\r\n");
        write_bulk(&mut args, b"");
        let mut out = BytesMut::new();
        encode_command(&mut out, 3, &args);
        assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$0\r\n\r\n");
        let mut parts = BytesMut::new();
        encode_parts(&mut parts, &[&b"SET"[..], b"k\r\n", b""]);
        assert_eq!(parts, out);
        let mut big = BytesMut::new();
        write_bulk(&mut big, &[7u8; 1234]);
        assert!(big.starts_with(b"$1234\r\n\x07"));
        assert_eq!(big.len(), 1234 + 9);
        for n in [0, 9, 10, 99, 100, 12345, usize::MAX] {
            let mut line = BytesMut::new();
            put_len(&mut line, b'*', n);
            assert_eq!(line, format!("*{n}\r\n").as_bytes());
        }
    }
}
