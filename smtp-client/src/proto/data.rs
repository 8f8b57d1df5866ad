//! The DATA body on the wire: line ends normalised, dots stuffed, terminated.
//!
//! Order matters. Bare CR and bare LF are first turned into CRLF, and only
//! then are lines starting with `.` stuffed: a server that treats a bare LF
//! as a line end would otherwise see `\n.\n` as the end of the data and the
//! rest as new commands (the "SMTP smuggling" class of bugs). After
//! normalisation the only line end is CRLF, so `CRLF.CRLF` can appear only
//! where this encoder puts it.

use bytes::{BufMut, BytesMut};

/// The end-of-data marker written after the body's last CRLF.
const END: &[u8] = b".\r\n";

/// Appends `body` as DATA content to `out`: bare CR and bare LF become
/// CRLF, a `.` at the start of a line is doubled, a missing final CRLF is
/// added, and `.CRLF` ends it. `out` gets the whole mail in one piece so it
/// can go out in one write.
pub fn encode(body: &[u8], out: &mut BytesMut) {
    out.reserve(body.len() + body.len() / 64 + 8);
    write_lines(body, true, out);
    out.put_slice(END);
}

/// Appends `body` as the server stores it: line ends normalised to CRLF
/// and a final CRLF added, no dot-stuffing. What a BDAT chunk carries and
/// what a DKIM signature covers.
pub fn normalise_into(body: &[u8], out: &mut BytesMut) {
    out.reserve(body.len() + body.len() / 64 + 2);
    write_lines(body, false, out);
}

/// [`normalise_into`] into a new buffer.
pub fn normalise(body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    normalise_into(body, &mut out);
    out.to_vec()
}

/// The one line-end rule: every CR, LF or CRLF becomes CRLF, the last line
/// gets one, and with `stuff_dots` a line starting with `.` gets another.
fn write_lines(body: &[u8], stuff_dots: bool, out: &mut BytesMut) {
    let mut at_line_start = true;
    let mut rest = body;
    while !rest.is_empty() {
        if stuff_dots && at_line_start && rest[0] == b'.' {
            out.put_u8(b'.');
        }
        match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
            None => {
                out.put_slice(rest);
                at_line_start = false;
                break;
            }
            Some(i) => {
                out.put_slice(&rest[..i]);
                out.put_slice(b"\r\n");
                // CRLF is one line end; a CR or LF alone is one too.
                let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = &rest[i + skip..];
                at_line_start = true;
            }
        }
    }
    if !at_line_start {
        out.put_slice(b"\r\n");
    }
}

/// The size of `body` once encoded, without the terminator: what SIZE declares.
pub fn encoded_len(body: &[u8]) -> u64 {
    let mut n = 0u64;
    let mut at_line_start = true;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' => {
                if body.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                n += 2;
                at_line_start = true;
            }
            b'\n' => {
                n += 2;
                at_line_start = true;
            }
            b => {
                n += 1 + u64::from(at_line_start && b == b'.');
                at_line_start = false;
            }
        }
        i += 1;
    }
    n + if at_line_start { 0 } else { 2 }
}

/// True when the body has bytes above 127: it needs 8BITMIME.
pub fn needs_8bit(body: &[u8]) -> bool {
    !body.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(body: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(body, &mut out);
        assert_eq!(
            encoded_len(body) + 3,
            out.len() as u64,
            "encoded_len of {body:?}"
        );
        out.to_vec()
    }

    #[test]
    fn plain_body_gets_terminator() {
        assert_eq!(enc(b"hello\r\n"), b"hello\r\n.\r\n");
        assert_eq!(enc(b"hello"), b"hello\r\n.\r\n");
        assert_eq!(enc(b""), b".\r\n");
    }

    #[test]
    fn leading_dots_are_stuffed() {
        assert_eq!(enc(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(enc(b"a\r\n.\r\nb\r\n"), b"a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(enc(b"..x\r\n.y"), b"...x\r\n..y\r\n.\r\n");
        // A dot that is not at a line start stays as it is.
        assert_eq!(enc(b"a.b\r\n"), b"a.b\r\n.\r\n");
    }

    #[test]
    fn bare_line_ends_become_crlf_before_stuffing() {
        assert_eq!(enc(b"a\nb"), b"a\r\nb\r\n.\r\n");
        assert_eq!(enc(b"a\rb"), b"a\r\nb\r\n.\r\n");
        // The smuggling payloads: a bare-LF or bare-CR "end of data".
        assert_eq!(
            enc(b"a\n.\nMAIL FROM:<x@y>\n"),
            b"a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n"
        );
        assert_eq!(enc(b"a\r.\rRSET"), b"a\r\n..\r\nRSET\r\n.\r\n");
        assert_eq!(enc(b"a\r\n.\nb"), b"a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(enc(b"\r\r\n\n"), b"\r\n\r\n\r\n.\r\n");
    }

    #[test]
    fn no_early_terminator_can_appear() {
        let nasty = b"x\n.\r\n.\r.\n\r\n.\r\n\r.\r\r\n..\n";
        let out = enc(nasty);
        let end = out
            .windows(5)
            .position(|w| w == b"\r\n.\r\n")
            .expect("terminator");
        assert_eq!(end + 5, out.len(), "early end of data in {out:?}");
        // No CR or LF outside a CRLF pair.
        for (i, &b) in out.iter().enumerate() {
            if b == b'\r' {
                assert_eq!(out[i + 1], b'\n');
            }
            if b == b'\n' {
                assert_eq!(out[i - 1], b'\r');
            }
        }
    }

    #[test]
    fn normalise_is_what_the_server_stores() {
        assert_eq!(normalise(b".a\n..b\rc"), b".a\r\n..b\r\nc\r\n");
        assert!(needs_8bit("é".as_bytes()));
        assert!(!needs_8bit(b"plain"));
    }
}
