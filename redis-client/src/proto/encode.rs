//! Commands to bytes: a RESP array of bulk strings, the only form Redis
//! accepts from clients. Small enough that building frames for
//! redis-protocol's encoder would cost more than it saves.

use bytes::BytesMut;

/// Room for `<prefix><len>\r\n`: prefix + 20 digits + CRLF, rounded up.
const LINE: usize = 24;

/// Appends `<prefix><len>\r\n`. The line is built left-aligned in a
/// fixed-size array that is copied whole (a copy of constant size compiles
/// to a few moves, not a `memcpy` call) and the tail cut off again.
fn put_len(out: &mut BytesMut, prefix: u8, len: usize) {
    // Most lengths and counts have one or two digits.
    if len < 10 {
        out.extend_from_slice(&[prefix, b'0' + len as u8, b'\r', b'\n']);
        return;
    }
    if len < 100 {
        let (tens, ones) = ((len / 10) as u8, (len % 10) as u8);
        out.extend_from_slice(&[prefix, b'0' + tens, b'0' + ones, b'\r', b'\n']);
        return;
    }
    let mut digits = 1;
    let mut rest = len;
    while rest >= 10 {
        rest /= 10;
        digits += 1;
    }
    let mut line = [0u8; LINE];
    line[0] = prefix;
    let mut n = len;
    for slot in line[1..=digits].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    line[digits + 1] = b'\r';
    line[digits + 2] = b'\n';
    let at = out.len();
    out.extend_from_slice(&line);
    out.truncate(at + digits + 3);
}

/// Appends one bulk string `$len\r\ndata\r\n`.
pub fn write_bulk(out: &mut BytesMut, data: &[u8]) {
    out.reserve(data.len() + LINE + 2);
    put_len(out, b'$', data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends a command whose arguments are already encoded as bulk strings
/// (`args`, `count` of them).
pub fn encode_command(out: &mut BytesMut, count: usize, args: &[u8]) {
    out.reserve(args.len() + LINE);
    put_len(out, b'*', count);
    out.extend_from_slice(args);
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
