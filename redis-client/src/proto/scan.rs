//! The structural scan of the raw bytes, run *before* the decoder sees them:
//! the one place the RESP grammar and the limits are written.
//!
//! redis-protocol's decoder trusts length prefixes (it would reserve room for
//! `*999999999` elements) and has no depth limit, so a hostile peer could make
//! it allocate without bound or recurse off the stack. [`scan`] walks only the
//! frame headers, iteratively, refuses anything over the limits at the first
//! header that exceeds them, and tells the caller whether a whole frame is
//! buffered and how long it is. Only then is the decoder run, on exactly that
//! frame.

use super::limits::{Limits, Protocol};
use super::ProtoError;

/// The longest line that can hold a length or an integer: sign + 20 digits.
const MAX_NUMBER_LINE: usize = 24;

/// Finds the `\r\n` ending the line at `start`; `None` if not buffered yet.
/// A line longer than `max` is refused even before its end arrives.
fn line_end(buf: &[u8], start: usize, max: usize) -> Result<Option<usize>, ProtoError> {
    let window = &buf[start..buf.len().min(start.saturating_add(max).saturating_add(2))];
    match window.iter().position(|b| *b == b'\r') {
        Some(i) => {
            if i + 1 >= window.len() {
                // The '\n' has not arrived yet (or the line is too long).
                if window.len() > max + 1 {
                    return Err(ProtoError::LineTooLong { limit: max });
                }
                return Ok(None);
            }
            if window[i + 1] != b'\n' {
                return Err(ProtoError::Malformed("CR not followed by LF".into()));
            }
            Ok(Some(start + i))
        }
        None if window.len() > max => Err(ProtoError::LineTooLong { limit: max }),
        None => Ok(None),
    }
}

/// Parses a length or integer line strictly: optional '-', then digits,
/// within `i64`.
fn parse_number(digits: &[u8]) -> Result<i64, ProtoError> {
    let (negative, unsigned) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if unsigned.is_empty() {
        return Err(bad_number(digits));
    }
    // Accumulated negative, so that i64::MIN fits.
    let mut n: i64 = 0;
    for &d in unsigned {
        if !d.is_ascii_digit() {
            return Err(bad_number(digits));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_sub(i64::from(d - b'0')))
            .ok_or_else(|| bad_number(digits))?;
    }
    if negative {
        Ok(n)
    } else {
        n.checked_neg().ok_or_else(|| bad_number(digits))
    }
}

fn bad_number(digits: &[u8]) -> ProtoError {
    ProtoError::Malformed(format!(
        "invalid length or number {:?}",
        String::from_utf8_lossy(&digits[..digits.len().min(32)])
    ))
}

/// One open aggregate: elements still to come, and whether its completion
/// counts as an element of its parent (an attribute map does not).
#[derive(Debug)]
struct Open {
    remaining: u64,
    counts: bool,
}

/// Scans one frame at the start of `buf`. `Ok(Some(n))`: a whole frame of
/// `n` bytes is buffered and within `limits`; `Ok(None)`: more bytes are
/// needed (and those buffered are within the limits); `Err`: the peer broke
/// the protocol or a limit.
pub fn scan(buf: &[u8], protocol: Protocol, limits: &Limits) -> Result<Option<usize>, ProtoError> {
    Scanner::default().scan(buf, protocol, limits)
}

/// A [`scan`] that can be resumed: when a frame arrives in pieces, each
/// call continues after the last whole element it saw instead of starting
/// over, so a large reply read in many pieces is scanned once.
///
/// Feed it the same growing buffer (bytes are only ever appended) until it
/// returns `Ok(Some(n))`; it is then ready for the next frame at the start
/// of the buffer with those `n` bytes removed.
#[derive(Debug, Default)]
pub struct Scanner {
    /// Where the next element starts (all before it is whole and checked).
    pos: usize,
    /// The aggregates open at `pos`.
    stack: Vec<Open>,
    /// The last call needed more bytes: a frame is under way.
    midway: bool,
}

impl Scanner {
    /// Scans on from where the last call stopped; see [`scan`].
    pub fn scan(
        &mut self,
        buf: &[u8],
        protocol: Protocol,
        limits: &Limits,
    ) -> Result<Option<usize>, ProtoError> {
        let result = self.scan_inner(buf, protocol, limits);
        self.midway = matches!(result, Ok(None));
        if !self.midway {
            // A whole frame, or an error: either way start afresh.
            self.pos = 0;
            self.stack.clear();
        }
        result
    }

    /// True between a call that needed more bytes and the one that
    /// finishes the frame (or fails).
    pub fn is_midway(&self) -> bool {
        self.midway
    }

    fn scan_inner(
        &mut self,
        buf: &[u8],
        protocol: Protocol,
        limits: &Limits,
    ) -> Result<Option<usize>, ProtoError> {
        let Scanner { pos, stack, .. } = self;
        scan_from(buf, protocol, limits, pos, stack)
    }
}

/// The scan proper. `pos` and `stack` are advanced only past whole
/// elements, so `Ok(None)` leaves them where the next call resumes.
fn scan_from(
    buf: &[u8],
    protocol: Protocol,
    limits: &Limits,
    start: &mut usize,
    stack: &mut Vec<Open>,
) -> Result<Option<usize>, ProtoError> {
    let mut pos = *start;
    loop {
        // Everything before `pos` is whole elements: resume here next time.
        *start = pos;
        if pos >= buf.len() {
            return Ok(None);
        }
        let kind = buf[pos];
        let resp3 = protocol == Protocol::Resp3;
        // How many child elements the frame at `pos` opens (None: a leaf).
        let mut opens: Option<(u64, bool)> = None;
        match kind {
            b'+' | b'-' | b',' | b'(' if kind == b'+' || kind == b'-' || resp3 => {
                let Some(end) = line_end(buf, pos + 1, limits.max_bulk_len)? else {
                    return Ok(None);
                };
                pos = end + 2;
            }
            b':' | b'_' | b'#' if kind == b':' || resp3 => {
                let Some(end) = line_end(buf, pos + 1, MAX_NUMBER_LINE)? else {
                    return Ok(None);
                };
                let line = &buf[pos + 1..end];
                match kind {
                    b':' => {
                        parse_number(line)?;
                    }
                    b'_' if !line.is_empty() => {
                        return Err(ProtoError::Malformed("null with a payload".into()))
                    }
                    b'#' if line != b"t" && line != b"f" => {
                        return Err(ProtoError::Malformed("boolean is neither t nor f".into()))
                    }
                    _ => {}
                }
                pos = end + 2;
            }
            b'$' | b'!' | b'=' if kind == b'$' || resp3 => {
                let Some(end) = line_end(buf, pos + 1, MAX_NUMBER_LINE)? else {
                    return Ok(None);
                };
                let line = &buf[pos + 1..end];
                if line == b"?" {
                    return Err(ProtoError::Unsupported("streamed strings"));
                }
                let len = parse_number(line)?;
                if len == -1 && kind == b'$' {
                    pos = end + 2;
                } else if len < 0 {
                    return Err(ProtoError::Malformed(format!("negative length {len}")));
                } else if len as u64 > limits.max_bulk_len as u64 {
                    return Err(ProtoError::BulkTooLong {
                        len: len as u64,
                        limit: limits.max_bulk_len,
                    });
                } else {
                    let body = end + 2;
                    let after = body + len as usize;
                    if after.saturating_add(2) > limits.max_reply_bytes {
                        return Err(ProtoError::ReplyTooLarge {
                            limit: limits.max_reply_bytes,
                        });
                    }
                    if buf.len() < after + 2 {
                        return Ok(None);
                    }
                    if &buf[after..after + 2] != b"\r\n" {
                        return Err(ProtoError::Malformed(
                            "bulk string not terminated by CRLF".into(),
                        ));
                    }
                    pos = after + 2;
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' if kind == b'*' || resp3 => {
                let Some(end) = line_end(buf, pos + 1, MAX_NUMBER_LINE)? else {
                    return Ok(None);
                };
                let line = &buf[pos + 1..end];
                if line == b"?" {
                    return Err(ProtoError::Unsupported("streamed aggregates"));
                }
                let len = parse_number(line)?;
                pos = end + 2;
                if len == -1 && kind == b'*' {
                    // RESP2 null array: a leaf.
                } else if len < 0 {
                    return Err(ProtoError::Malformed(format!("negative length {len}")));
                } else {
                    let pairs = kind == b'%' || kind == b'|';
                    let elements = (len as u64).saturating_mul(if pairs { 2 } else { 1 });
                    if elements > limits.max_aggregate_len as u64 {
                        return Err(ProtoError::AggregateTooLong {
                            len: elements,
                            limit: limits.max_aggregate_len,
                        });
                    }
                    if stack.len() >= limits.max_depth {
                        return Err(ProtoError::TooDeep {
                            limit: limits.max_depth,
                        });
                    }
                    // An attribute annotates the frame after it: that frame,
                    // not the attribute, is the parent's element.
                    opens = Some((elements, kind != b'|'));
                }
            }
            other => {
                return Err(ProtoError::BadType(other));
            }
        }
        if pos > limits.max_reply_bytes {
            return Err(ProtoError::ReplyTooLarge {
                limit: limits.max_reply_bytes,
            });
        }
        match opens {
            // An empty attribute still needs the frame it annotates.
            Some((0, false)) => continue,
            // An empty aggregate is a whole element.
            Some((0, true)) => {}
            Some((n, counts)) => {
                stack.push(Open {
                    remaining: n,
                    counts,
                });
                continue;
            }
            None => {}
        }
        // One element finished: close every aggregate it completes.
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(Some(pos));
            };
            top.remaining -= 1;
            if top.remaining > 0 {
                break;
            }
            let counts = top.counts;
            stack.pop();
            if !counts {
                // The attribute is done; the frame it annotates comes next.
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s2(buf: &[u8]) -> Result<Option<usize>, ProtoError> {
        scan(buf, Protocol::Resp2, &Limits::default())
    }
    fn s3(buf: &[u8]) -> Result<Option<usize>, ProtoError> {
        scan(buf, Protocol::Resp3, &Limits::default())
    }

    #[test]
    fn complete_frames_report_their_length() {
        assert_eq!(s2(b"+OK\r\nextra").unwrap(), Some(5));
        assert_eq!(s2(b":-12\r\n").unwrap(), Some(6));
        assert_eq!(s2(b"$3\r\nfoo\r\n").unwrap(), Some(9));
        assert_eq!(s2(b"$-1\r\n").unwrap(), Some(5));
        assert_eq!(s2(b"*-1\r\n").unwrap(), Some(5));
        assert_eq!(s2(b"*0\r\n").unwrap(), Some(4));
        assert_eq!(s2(b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n+x").unwrap(), Some(19));
        assert_eq!(s3(b"%1\r\n+a\r\n:1\r\n").unwrap(), Some(12));
        assert_eq!(s3(b"|1\r\n+k\r\n+v\r\n:5\r\n").unwrap(), Some(16));
        assert_eq!(s3(b"*1\r\n|0\r\n:5\r\n").unwrap(), Some(12));
        assert_eq!(s3(b">2\r\n+a\r\n+b\r\n").unwrap(), Some(12));
        assert_eq!(s3(b"_\r\n#t\r\n").unwrap(), Some(3));
    }

    #[test]
    fn partial_frames_need_more() {
        for cut in [
            &b"+OK"[..],
            b"+OK\r",
            b"$3\r\nfo",
            b"$3\r\nfoo\r",
            b"*2\r\n:1\r\n",
            b"*",
            b"$",
        ] {
            assert_eq!(s2(cut).unwrap(), None, "{cut:?}");
        }
        assert_eq!(s3(b"|1\r\n+k\r\n+v\r\n").unwrap(), None);
    }

    #[test]
    fn oversize_bulk_is_refused_from_its_header() {
        let err = s2(b"$999999999999\r\n").unwrap_err();
        assert!(
            matches!(
                err,
                ProtoError::BulkTooLong {
                    len: 999999999999,
                    ..
                }
            ),
            "{err}"
        );
        let small = Limits {
            max_bulk_len: 4,
            ..Limits::default()
        };
        assert!(scan(b"$5\r\n", Protocol::Resp2, &small).is_err());
        assert_eq!(
            scan(b"$4\r\nabcd\r\n", Protocol::Resp2, &small).unwrap(),
            Some(10)
        );
        // A simple line may not grow past the limit either, even unterminated.
        assert!(matches!(
            scan(b"+abcdefgh", Protocol::Resp2, &small),
            Err(ProtoError::LineTooLong { .. })
        ));
    }

    #[test]
    fn aggregate_and_depth_limits() {
        let limits = Limits {
            max_aggregate_len: 3,
            max_depth: 2,
            ..Limits::default()
        };
        assert!(matches!(
            scan(b"*4\r\n", Protocol::Resp2, &limits),
            Err(ProtoError::AggregateTooLong { len: 4, .. })
        ));
        assert!(matches!(
            scan(b"%2\r\n", Protocol::Resp3, &limits),
            Err(ProtoError::AggregateTooLong { len: 4, .. })
        ));
        assert!(matches!(
            scan(b"*1\r\n*1\r\n*1\r\n", Protocol::Resp2, &limits),
            Err(ProtoError::TooDeep { limit: 2 })
        ));
        let deep = "*1\r\n".repeat(100_000);
        assert!(matches!(
            s2(deep.as_bytes()),
            Err(ProtoError::TooDeep { .. })
        ));
    }

    #[test]
    fn resumed_scan_agrees_with_a_fresh_one_at_every_split() {
        let frames: &[(&[u8], Protocol)] = &[
            (b"+OK\r\n", Protocol::Resp2),
            (b"$5\r\na\r\nb\0\r\n", Protocol::Resp2),
            (
                b"*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n*0\r\n",
                Protocol::Resp2,
            ),
            (b"*2\r\n-ERR x\r\n*-1\r\n", Protocol::Resp2),
            (b"%2\r\n+z\r\n:1\r\n+a\r\n,1.5\r\n", Protocol::Resp3),
            (
                b"|1\r\n+k\r\n:2\r\n*2\r\n|0\r\n#t\r\n_\r\n",
                Protocol::Resp3,
            ),
            (
                b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n=7\r\ntxt:abc\r\n",
                Protocol::Resp3,
            ),
            (b"*2\r\n$3\r\nfooXY", Protocol::Resp2),
            (b"*2\r\n?x\r\n", Protocol::Resp2),
        ];
        let limits = Limits::default();
        for (frame, protocol) in frames {
            let mut resumed = Scanner::default();
            for end in 0..=frame.len() {
                let fresh = scan(&frame[..end], *protocol, &limits);
                let again = resumed.scan(&frame[..end], *protocol, &limits);
                assert_eq!(
                    fresh,
                    again,
                    "{:?} cut at {end}",
                    String::from_utf8_lossy(frame)
                );
                if !matches!(again, Ok(None)) {
                    break;
                }
            }
        }
    }

    #[test]
    fn resumed_scan_does_not_go_back() {
        let mut big = b"*3\r\n".to_vec();
        big.extend_from_slice(b"$3\r\nabc\r\n$3\r\ndef\r\n");
        let mut s = Scanner::default();
        assert_eq!(s.scan(&big, Protocol::Resp2, &Limits::default()), Ok(None));
        // Past the header and two whole elements, one aggregate open.
        assert_eq!((s.pos, s.stack.len()), (big.len(), 1));
        big.extend_from_slice(b"$1\r\n");
        assert_eq!(s.scan(&big, Protocol::Resp2, &Limits::default()), Ok(None));
        assert_eq!(s.pos, big.len() - 4);
        big.extend_from_slice(b"x\r\n");
        assert_eq!(
            s.scan(&big, Protocol::Resp2, &Limits::default()),
            Ok(Some(big.len()))
        );
        assert_eq!((s.pos, s.stack.len()), (0, 0));
    }

    #[test]
    fn numbers_parse_strictly() {
        for ok in [
            "0",
            "-0",
            "7",
            "-12",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert_eq!(parse_number(ok.as_bytes()), Ok(ok.parse::<i64>().unwrap()));
        }
        for bad in [
            "",
            "-",
            "+1",
            "1-",
            "12a",
            " 1",
            "9223372036854775808",
            "-9223372036854775809",
            "--1",
        ] {
            assert!(parse_number(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(s2(b"?what\r\n"), Err(ProtoError::BadType(b'?'))));
        // RESP3 types are not RESP2.
        assert!(matches!(s2(b"_\r\n"), Err(ProtoError::BadType(b'_'))));
        assert!(s2(b":12a\r\n").is_err());
        assert!(s2(b"$-2\r\n").is_err());
        assert!(s2(b"$3\r\nfooXY").is_err());
        assert!(s2(b"+OK\rX").is_err());
        assert!(s3(b"#x\r\n").is_err());
        assert!(s3(b"$?\r\n").is_err());
        assert!(s2(b":123456789012345678901234567890\r\n").is_err());
    }

    #[test]
    fn total_reply_size_is_bounded() {
        let limits = Limits {
            max_reply_bytes: 20,
            ..Limits::default()
        };
        assert!(matches!(
            scan(
                b"*2\r\n$10\r\n0123456789\r\n$10\r\n",
                Protocol::Resp2,
                &limits
            ),
            Err(ProtoError::ReplyTooLarge { .. })
        ));
    }
}
