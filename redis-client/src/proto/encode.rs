//! Commands to bytes: a RESP array of bulk strings, the only form Redis
//! accepts from clients. Small enough that building frames for
//! redis-protocol's encoder would cost more than it saves.

use bytes::BytesMut;

/// Appends `<prefix><len>\r\n` in one copy.
fn put_len(out: &mut BytesMut, prefix: u8, len: usize) {
    // prefix + 20 digits + CRLF
    let mut line = [0u8; 23];
    let mut i = line.len() - 2;
    line[i..].copy_from_slice(b"\r\n");
    let mut n = len;
    loop {
        i -= 1;
        line[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    i -= 1;
    line[i] = prefix;
    out.extend_from_slice(&line[i..]);
}

/// Appends one bulk string `$len\r\ndata\r\n`.
pub fn write_bulk(out: &mut BytesMut, data: &[u8]) {
    out.reserve(data.len() + 16);
    put_len(out, b'$', data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends a command whose arguments are already encoded as bulk strings
/// (`args`, `count` of them).
pub fn encode_command(out: &mut BytesMut, count: usize, args: &[u8]) {
    out.reserve(args.len() + 16);
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
        assert!(big.starts_with(b"$1234\r\n"));
    }
}
