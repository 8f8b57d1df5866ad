//! The RESP grammar, written once: a resumable scanner that checks every
//! header against the [`Limits`] before it takes anything for it, and
//! builds the reply's [`Value`] as it goes.
//!
//! Iterative (no recursion, whatever the nesting), bounded (an aggregate
//! header is refused when it claims more than `max_aggregate_len`
//! elements, a string when it claims more than `max_bulk_len` bytes, a
//! reply past `max_reply_bytes`, nesting past `max_depth`; room is never
//! reserved for more elements than have arrived), and resumable: a reply
//! that arrives in pieces is walked once, the whole elements kept between
//! calls.

use super::leaf;
use super::limits::{Limits, Protocol};
use super::ProtoError;
use crate::value::Value;

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

/// The kind of an open aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Array,
    Set,
    Push,
    Map,
    /// A RESP3 attribute: its pairs are dropped (hints such as key
    /// popularity change nothing a caller asked for), and the frame after
    /// it, not the attribute, is the parent's element.
    Attribute,
}

/// One open aggregate: elements still to come, and those already whole.
#[derive(Debug)]
struct Open {
    kind: Kind,
    remaining: u64,
    items: Vec<Value>,
}

impl Open {
    /// The finished aggregate, or `None` for an attribute.
    fn finish(self) -> Option<Value> {
        Some(match self.kind {
            Kind::Array => Value::Array(self.items),
            Kind::Set => Value::Set(self.items),
            Kind::Push => Value::Push(self.items),
            Kind::Map => {
                let mut pairs = Vec::with_capacity(self.items.len() / 2);
                let mut it = self.items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                Value::Map(pairs)
            }
            Kind::Attribute => return None,
        })
    }
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
/// over, so a large reply read in many pieces is walked once.
///
/// Feed it the same growing buffer (bytes are only ever appended) until it
/// returns `Ok(Some(..))`; it is then ready for the next frame at the start
/// of the buffer with those bytes removed.
#[derive(Debug, Default)]
pub struct Scanner {
    /// Where the next element starts (all before it is whole and checked).
    pos: usize,
    /// The aggregates open at `pos`, with their whole elements.
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
        Ok(self.next(buf, protocol, limits)?.map(|(_, used)| used))
    }

    /// Scans on from where the last call stopped: the reply and the bytes
    /// it used once it is whole.
    pub(super) fn next(
        &mut self,
        buf: &[u8],
        protocol: Protocol,
        limits: &Limits,
    ) -> Result<Option<(Value, usize)>, ProtoError> {
        let Scanner { pos, stack, .. } = self;
        let result = scan_from(buf, protocol, limits, pos, stack);
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
}

/// The scan proper. `pos` and `stack` are advanced only past whole
/// elements, so `Ok(None)` leaves them where the next call resumes.
fn scan_from(
    buf: &[u8],
    protocol: Protocol,
    limits: &Limits,
    start: &mut usize,
    stack: &mut Vec<Open>,
) -> Result<Option<(Value, usize)>, ProtoError> {
    let mut pos = *start;
    loop {
        // Everything before `pos` is whole elements: resume here next time.
        *start = pos;
        if pos >= buf.len() {
            return Ok(None);
        }
        let kind = buf[pos];
        let resp3 = protocol == Protocol::Resp3;
        let element = match kind {
            b'+' | b'-' | b',' | b'(' if kind == b'+' || kind == b'-' || resp3 => {
                let Some(end) = line_end(buf, pos + 1, limits.max_bulk_len)? else {
                    return Ok(None);
                };
                let line = &buf[pos + 1..end];
                pos = end + 2;
                leaf::line(kind, line)?
            }
            b':' | b'_' | b'#' if kind == b':' || resp3 => {
                let Some(end) = line_end(buf, pos + 1, MAX_NUMBER_LINE)? else {
                    return Ok(None);
                };
                let line = &buf[pos + 1..end];
                pos = end + 2;
                match (kind, line) {
                    (b':', _) => Value::Int(parse_number(line)?),
                    (b'_', []) => Value::Nil,
                    (b'#', b"t") => Value::Boolean(true),
                    (b'#', b"f") => Value::Boolean(false),
                    (b'_', _) => return Err(ProtoError::Malformed("null with a payload".into())),
                    _ => return Err(ProtoError::Malformed("boolean is neither t nor f".into())),
                }
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
                    Value::Nil
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
                    leaf::blob(kind, &buf[body..after])?
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
                    Value::Nil
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
                    if pos > limits.max_reply_bytes {
                        return Err(ProtoError::ReplyTooLarge {
                            limit: limits.max_reply_bytes,
                        });
                    }
                    let open = Open {
                        kind: match kind {
                            b'*' => Kind::Array,
                            b'~' => Kind::Set,
                            b'>' => Kind::Push,
                            b'%' => Kind::Map,
                            _ => Kind::Attribute,
                        },
                        remaining: elements,
                        // Room for what can have arrived (an element takes
                        // at least 3 bytes), never for what a header claims.
                        items: Vec::with_capacity((elements as usize).min((buf.len() - pos) / 3)),
                    };
                    if elements > 0 {
                        stack.push(open);
                        continue;
                    }
                    match open.finish() {
                        Some(empty) => empty,
                        // An empty attribute still needs the frame it annotates.
                        None => continue,
                    }
                }
            }
            other => {
                return Err(ProtoError::BadType(other));
            }
        };
        if pos > limits.max_reply_bytes {
            return Err(ProtoError::ReplyTooLarge {
                limit: limits.max_reply_bytes,
            });
        }
        // One element finished: close every aggregate it completes.
        let mut done = element;
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(Some((done, pos)));
            };
            top.items.push(done);
            top.remaining -= 1;
            if top.remaining > 0 {
                break;
            }
            let Some(open) = stack.pop() else { break };
            match open.finish() {
                Some(v) => done = v,
                // The attribute is done; the frame it annotates comes next.
                None => break,
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
