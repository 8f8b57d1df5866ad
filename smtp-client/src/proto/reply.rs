//! Server replies: multi-line, with RFC 3463 enhanced status codes, decoded
//! from a byte buffer with hard limits on line length and line count.

use std::fmt;

/// The longest reply line RFC 5321 (4.5.3.1.5) allows, CRLF included.
pub const MAX_LINE: usize = 512;
/// Continuation lines accepted in one reply. EHLO replies are the longest
/// legitimate ones (a few dozen lines at most); past this the peer is
/// streaming an endless reply at us.
pub const MAX_LINES: usize = 128;
/// The most bytes one reply can take: what the reader may buffer.
pub const MAX_REPLY_BYTES: usize = MAX_LINE * MAX_LINES;

/// An RFC 3463 enhanced status code, `class.subject.detail` (e.g. `5.1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// The subject (1 = addressing, 2 = mailbox, 7 = security, ...).
    pub subject: u16,
    /// The detail within the subject.
    pub detail: u16,
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl EnhancedCode {
    /// Parses the code at the start of `text` (`"5.1.1 rejected"`); RFC 3463
    /// limits subject and detail to three digits.
    pub fn parse_prefix(text: &str) -> Option<(EnhancedCode, &str)> {
        let end = text.find(' ').unwrap_or(text.len());
        let mut parts = text[..end].split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        let detail = parts.next()?;
        if parts.next().is_some() || class.len() != 1 {
            return None;
        }
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(class) || !digits(subject) || !digits(detail) {
            return None;
        }
        let class: u8 = class.parse().ok()?;
        if !matches!(class, 2 | 4 | 5) {
            return None;
        }
        let code = EnhancedCode {
            class,
            subject: subject.parse().ok()?,
            detail: detail.parse().ok()?,
        };
        Some((code, text[end..].trim_start()))
    }
}

/// One complete server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: u16,
    /// The enhanced status code of the first line, if the server sent one.
    pub enhanced: Option<EnhancedCode>,
    /// The text of each line, after the code and separator.
    pub lines: Vec<String>,
}

impl Reply {
    /// 2xx: the command succeeded.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3xx: the server waits for more (354 after DATA, 334 in AUTH).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 4xx: a transient failure.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 421: the server is closing the connection.
    pub fn is_closing(&self) -> bool {
        self.code == 421
    }

    /// The text of all lines joined by newlines, enhanced code of the first line removed.
    pub fn message(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            match (i, self.enhanced) {
                (0, Some(_)) => out.push_str(
                    EnhancedCode::parse_prefix(line).map_or(line.as_str(), |(_, rest)| rest),
                ),
                _ => out.push_str(line),
            }
        }
        out
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(first) = self.lines.first() {
            write!(f, " {first}")?;
        }
        Ok(())
    }
}

/// Why bytes from the server are not a valid reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line longer than [`MAX_LINE`] (or no line end within it).
    #[error("reply line longer than {MAX_LINE} bytes")]
    LineTooLong,
    /// More than [`MAX_LINES`] continuation lines.
    #[error("reply of more than {MAX_LINES} lines")]
    TooManyLines,
    /// Anything else that is not `ddd[ -]text CRLF`.
    #[error("malformed reply: {0}")]
    Malformed(String),
}

fn line_code(line: &[u8]) -> Result<(u16, bool, &[u8]), ReplyError> {
    let shown = || String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return Err(ReplyError::Malformed(format!(
            "no reply code in {:?}",
            shown()
        )));
    }
    let code = u16::from(line[0] - b'0') * 100
        + u16::from(line[1] - b'0') * 10
        + u16::from(line[2] - b'0');
    // RFC 5321 4.2: first digit 2-5, second 0-5.
    if !(b'2'..=b'5').contains(&line[0]) || line[1] > b'5' {
        return Err(ReplyError::Malformed(format!("invalid reply code {code}")));
    }
    match line.get(3) {
        None => Ok((code, false, &[])),
        Some(b' ') => Ok((code, false, &line[4..])),
        Some(b'-') => Ok((code, true, &line[4..])),
        Some(_) => Err(ReplyError::Malformed(format!(
            "bad separator after code in {:?}",
            shown()
        ))),
    }
}

/// Decodes one reply from the front of `buf`: `Ok(None)` when more bytes are
/// needed, else the reply and the bytes it used. Never needs more than
/// [`MAX_REPLY_BYTES`] of buffer to decide.
pub fn decode(buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
    let mut pos = 0;
    let mut code = None;
    let mut lines = Vec::new();
    loop {
        let rest = &buf[pos..];
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            if rest.len() >= MAX_LINE {
                return Err(ReplyError::LineTooLong);
            }
            return Ok(None);
        };
        if lf + 1 > MAX_LINE {
            return Err(ReplyError::LineTooLong);
        }
        if lf == 0 || rest[lf - 1] != b'\r' {
            return Err(ReplyError::Malformed("reply line not ended by CRLF".into()));
        }
        let line = &rest[..lf - 1];
        if let Some(bad) = line.iter().find(|&&b| b == b'\r' || b == 0) {
            return Err(ReplyError::Malformed(format!(
                "control byte {bad:#04x} inside a reply line"
            )));
        }
        let (this, more, text) = line_code(line)?;
        match code {
            None => code = Some(this),
            Some(first) if first != this => {
                return Err(ReplyError::Malformed(format!(
                    "continuation line code {this} differs from {first}"
                )))
            }
            Some(_) => {}
        }
        if lines.len() == MAX_LINES {
            return Err(ReplyError::TooManyLines);
        }
        lines.push(String::from_utf8_lossy(text).into_owned());
        pos += lf + 1;
        if !more {
            let code = code.unwrap_or(this);
            let enhanced = lines
                .first()
                .and_then(|l| EnhancedCode::parse_prefix(l))
                .map(|(e, _)| e)
                // An enhanced code must agree with the reply's class (RFC 3463).
                .filter(|e| u16::from(e.class) == code / 100);
            return Ok(Some((
                Reply {
                    code,
                    enhanced,
                    lines,
                },
                pos,
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Reply {
        let (reply, used) = decode(bytes).unwrap().expect("complete");
        assert_eq!(used, bytes.len());
        reply
    }

    #[test]
    fn single_line_with_enhanced_code() {
        let r = one(b"550 5.1.1 rejected\r\n");
        assert_eq!(r.code, 550);
        assert_eq!(
            r.enhanced,
            Some(EnhancedCode {
                class: 5,
                subject: 1,
                detail: 1
            })
        );
        assert_eq!(r.message(), "rejected");
        assert_eq!(r.to_string(), "550 5.1.1 rejected");
    }

    #[test]
    fn multi_line_reads_every_line() {
        let r = one(b"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n");
        assert_eq!(r.code, 250);
        assert_eq!(
            r.lines,
            ["mx.example", "PIPELINING", "SIZE 1000", "STARTTLS"]
        );
        assert_eq!(r.enhanced, None);
    }

    #[test]
    fn bare_code_and_partial_input() {
        assert_eq!(one(b"250\r\n").lines, [""]);
        assert_eq!(decode(b"250-a\r\n250").unwrap(), None);
        assert_eq!(decode(b"25").unwrap(), None);
        assert_eq!(decode(b"").unwrap(), None);
        // Two replies in the buffer: only the first is taken.
        let (r, used) = decode(b"250 ok\r\n354 go\r\n").unwrap().unwrap();
        assert_eq!((r.code, used), (250, 8));
    }

    #[test]
    fn enhanced_code_of_another_class_is_ignored() {
        assert_eq!(one(b"250 5.1.1 odd\r\n").enhanced, None);
        assert_eq!(
            one(b"250 2.0.0 OK queued as x\r\n").message(),
            "OK queued as x"
        );
    }

    #[test]
    fn malformed_replies_are_refused() {
        for bad in [
            &b"hello\r\n"[..],
            b"25x ok\r\n",
            b"650 ok\r\n",
            b"260 ok\r\n",
            b"250_ok\r\n",
            b"250 ok\n",
            b"250 o\rk\r\n",
            b"250 o\0k\r\n",
            b"250-a\r\n251 b\r\n",
        ] {
            assert!(
                matches!(decode(bad), Err(ReplyError::Malformed(_))),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn long_line_is_refused_without_waiting_for_its_end() {
        let mut long = b"250 ".to_vec();
        long.resize(MAX_LINE, b'x');
        assert_eq!(decode(&long), Err(ReplyError::LineTooLong));
        let mut ended = b"250 ".to_vec();
        ended.resize(MAX_LINE - 1, b'x');
        ended.extend_from_slice(b"\r\n");
        assert_eq!(decode(&ended), Err(ReplyError::LineTooLong));
        let mut fits = b"250 ".to_vec();
        fits.resize(MAX_LINE - 2, b'x');
        fits.extend_from_slice(b"\r\n");
        assert!(decode(&fits).unwrap().is_some());
    }

    #[test]
    fn endless_continuation_is_refused() {
        let mut buf = Vec::new();
        for _ in 0..MAX_LINES {
            buf.extend_from_slice(b"250-more\r\n");
        }
        assert_eq!(decode(&buf).unwrap(), None);
        buf.extend_from_slice(b"250-more\r\n");
        assert_eq!(decode(&buf), Err(ReplyError::TooManyLines));
        assert!(buf.len() <= MAX_REPLY_BYTES);
    }
}
