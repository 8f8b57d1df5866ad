//! Response heads: parsing (httparse) under the limits of pconn-proxy's
//! `proto::http1::head_len` (the rules a `CONNECT` reply follows too), and
//! the framing and keep-alive decision the head implies (RFC 9112 section
//! 6.3).

use crate::headers::{is_keep_alive, list_has, trim, Headers, Known};
use proxy_tunnel::proto::http1::{head_len, HeadError};

/// How the peer broke HTTP/1.1: each kind its own variant, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The response head is longer than the limit.
    #[error("response head larger than {limit} bytes")]
    HeadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// More header fields than [`MAX_HEADERS`].
    #[error("response has more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The status line or a header field does not parse.
    #[error("malformed response head ({reason}), starting {start:?}")]
    MalformedHead {
        /// What the parser found wrong.
        reason: httparse::Error,
        /// The start of the first line (at most 80 bytes, lossy UTF-8).
        start: String,
    },
    /// A `Content-Length` that is not a decimal number (or list of them).
    #[error("invalid Content-Length {value:?}")]
    InvalidContentLength {
        /// The field value (lossy UTF-8).
        value: String,
    },
    /// Two `Content-Length` values that differ.
    #[error("conflicting Content-Length values {first} and {second}")]
    ConflictingContentLength {
        /// The first value.
        first: u64,
        /// The value that differs from it.
        second: u64,
    },
    /// The connection closed before a `Content-Length` body was complete.
    #[error("connection closed after {got} of {expected} body bytes (Content-Length)")]
    BodyCutShort {
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// The connection closed in the middle of a chunked body.
    #[error("connection closed in the middle of a chunked body (after {got} bytes)")]
    ChunkedCutShort {
        /// Body bytes received.
        got: u64,
    },
    /// A chunk's data is not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    ChunkNotTerminated,
    /// A chunk size line longer than the limit.
    #[error("chunk size line longer than {limit} bytes")]
    ChunkLineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A chunk size line that is not hex digits (and extensions).
    #[error("bad chunk size line {line:?}")]
    BadChunkSize {
        /// The line (at most 40 bytes, lossy UTF-8).
        line: String,
    },
    /// A trailer section longer than the limit.
    #[error("trailer section larger than {limit} bytes")]
    TrailersTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A trailer field does not parse.
    #[error("malformed trailer section: {reason}")]
    MalformedTrailers {
        /// What the parser found wrong.
        reason: httparse::Error,
    },
}

/// At most this many header fields in a response head; more is an error.
pub const MAX_HEADERS: usize = 100;

/// A parsed response status line and header block.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor_version: u8,
    /// The status code.
    pub status: u16,
    /// The reason phrase (may be empty); the usual phrases are not allocated.
    pub reason: std::borrow::Cow<'static, str>,
    /// The header fields.
    pub headers: Headers,
}

/// Parses one response head from the start of `buf`: `Ok(None)` until the
/// whole head is there, then the head and the bytes it used. A head longer
/// than `max_bytes` is an error, whether complete or not, so a peer cannot
/// make the caller buffer without end.
pub fn parse_head(
    buf: &[u8],
    max_bytes: usize,
) -> Result<Option<(ResponseHead, usize)>, ProtocolError> {
    Ok(parse_head_then(buf, max_bytes, |_, _| Ok(()))?.map(|((head, ()), used)| (head, used)))
}

/// A complete head with what was made from it, and the bytes it used: the
/// shape `transport::Conn::read_frame` takes, so nothing is moved to fit it.
pub(crate) type Parsed<T> = Option<((ResponseHead, T), usize)>;

/// [`parse_head`], with the framing fields gathered while the head is
/// indexed (one pass over the fields instead of two) and handed to `then`
/// with the head; what `then` makes comes back with the head.
#[inline]
pub(crate) fn parse_head_then<T>(
    buf: &[u8],
    max_bytes: usize,
    then: impl FnOnce(&ResponseHead, Framer) -> Result<T, ProtocolError>,
) -> Result<Parsed<T>, ProtocolError> {
    // Left uninitialised: httparse writes only the fields it finds.
    let mut fields =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut []);
    let parse = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut parsed,
        buf,
        &mut fields,
    );
    let used = match head_len(parse, buf.len(), max_bytes) {
        Ok(Some(n)) => n,
        Ok(None) => return Ok(None),
        Err(HeadError::TooLarge) => return Err(ProtocolError::HeadTooLarge { limit: max_bytes }),
        Err(HeadError::TooManyHeaders) => {
            return Err(ProtocolError::TooManyHeaders { limit: MAX_HEADERS })
        }
        Err(HeadError::Malformed(e)) => {
            let line_end = buf.iter().position(|b| *b == b'\n').unwrap_or(buf.len());
            return Err(ProtocolError::MalformedHead {
                reason: e,
                start: String::from_utf8_lossy(&buf[..line_end.min(80)]).into_owned(),
            });
        }
    };
    let minor_version = parsed.version.unwrap_or(1);
    let mut framer = Framer::new(minor_version == 0);
    let headers = Headers::from_parsed(buf, parsed.headers, |kind, value| {
        framer.field(kind, value);
    });
    let head = ResponseHead {
        minor_version,
        status: parsed.code.unwrap_or(0),
        reason: reason_phrase(parsed.reason.unwrap_or("")),
        headers,
    };
    let made = then(&head, framer)?;
    Ok(Some(((head, made), used)))
}

/// The reason phrase, borrowed from a static table when it is the usual one.
#[inline]
fn reason_phrase(reason: &str) -> std::borrow::Cow<'static, str> {
    // Most responses are a 200: a two-byte compare, no pass over the table.
    if reason.as_bytes() == b"OK" {
        return std::borrow::Cow::Borrowed("OK");
    }
    const USUAL: [&str; 14] = [
        "OK",
        "Created",
        "Accepted",
        "No Content",
        "Moved Permanently",
        "Found",
        "Moved Temporarily",
        "See Other",
        "Not Modified",
        "Temporary Redirect",
        "Permanent Redirect",
        "Not Found",
        "Internal Server Error",
        "",
    ];
    usual_or_owned(&USUAL, reason)
}

/// `reason` borrowed from `usual` when it is there, else copied.
#[inline(never)]
fn usual_or_owned(usual: &'static [&'static str], reason: &str) -> std::borrow::Cow<'static, str> {
    match usual.iter().find(|u| **u == reason) {
        Some(u) => std::borrow::Cow::Borrowed(u),
        None => std::borrow::Cow::Owned(reason.to_string()),
    }
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 1xx, 204, 304, or `Content-Length: 0`).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// What a head says about its body and about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPlan {
    /// How the body is delimited.
    pub framing: Framing,
    /// False when the connection cannot serve another request after this
    /// response (`Connection: close`, HTTP/1.0 without keep-alive, a body
    /// read until close, or a head that framed its body ambiguously).
    pub keep_alive: bool,
}

/// Decides framing and keep-alive for a final (non-1xx) response head.
/// `head_request` is true when the request was HEAD.
pub fn plan_body(head: &ResponseHead, head_request: bool) -> Result<BodyPlan, ProtocolError> {
    let mut framer = Framer::new(head.minor_version == 0);
    for (kind, v) in head.headers.known_values() {
        framer.field(kind, v);
    }
    framer.plan(head.status, head_request)
}

/// What the fields that frame the body said, gathered a field at a time
/// (while the head is indexed, or from its headers by [`plan_body`]).
#[derive(Debug)]
pub(crate) struct Framer {
    http10: bool,
    /// `Connection` lists `keep-alive` (HTTP/1.0) or `close` (HTTP/1.1).
    connection_token: bool,
    content_length: Result<Option<u64>, ProtocolError>,
    transfer_encoding: bool,
    /// The last transfer coding named is `chunked`.
    chunked_last: bool,
}

impl Framer {
    pub(crate) fn new(http10: bool) -> Framer {
        Framer {
            http10,
            connection_token: false,
            content_length: Ok(None),
            transfer_encoding: false,
            chunked_last: false,
        }
    }

    /// One field with a well-known name and its value.
    #[inline]
    pub(crate) fn field(&mut self, kind: Known, v: &[u8]) {
        if kind == Known::Connection {
            // A bare `keep-alive` (what most servers send) lists that token
            // and no other: the list is walked only when it is something else.
            let bare_keep_alive = is_keep_alive(v);
            self.connection_token |= if self.http10 {
                bare_keep_alive || list_has(v, "keep-alive")
            } else {
                !bare_keep_alive && list_has(v, "close")
            };
        } else if kind == Known::ContentLength {
            if let Ok(found) = &mut self.content_length {
                match (*found, decimal(v)) {
                    // The usual field: one number, and the first of its name.
                    (None, Some(n)) => *found = Some(n),
                    _ => {
                        if let Err(e) = add_content_length(found, v) {
                            self.content_length = Err(e);
                        }
                    }
                }
            }
        } else if kind == Known::TransferEncoding {
            self.transfer_encoding = true;
            for coding in v.split(|b| *b == b',') {
                let coding = trim(coding);
                if !coding.is_empty() {
                    self.chunked_last = coding.eq_ignore_ascii_case(b"chunked");
                }
            }
        }
    }

    /// The plan for a final (non-1xx) response with this `status`.
    pub(crate) fn plan(self, status: u16, head_request: bool) -> Result<BodyPlan, ProtocolError> {
        // HTTP/1.0 keeps the connection only when asked to, 1.1 unless told not to.
        let mut keep_alive = self.connection_token == self.http10;
        if status == 101 {
            // We never ask to switch protocols; what follows is not HTTP/1.1.
            return Ok(BodyPlan {
                framing: Framing::Empty,
                keep_alive: false,
            });
        }
        let no_body = head_request || status == 204 || status == 304;
        let content_length = self.content_length?;
        if no_body {
            return Ok(BodyPlan {
                framing: Framing::Empty,
                keep_alive,
            });
        }
        let framing = if self.transfer_encoding {
            if content_length.is_some() {
                // RFC 9112 6.1: chunked wins, and the message may have been
                // crafted to desynchronise: do not reuse the connection.
                keep_alive = false;
            }
            if self.chunked_last {
                Framing::Chunked
            } else {
                keep_alive = false;
                Framing::UntilClose
            }
        } else {
            match content_length {
                Some(0) => Framing::Empty,
                Some(n) => Framing::Length(n),
                None => {
                    keep_alive = false;
                    Framing::UntilClose
                }
            }
        };
        Ok(BodyPlan {
            framing,
            keep_alive,
        })
    }
}

/// Adds one Content-Length field to what the earlier ones said. Repeated
/// equal values (also in one comma-separated field) are one value;
/// different ones are an error, as is anything but digits.
fn add_content_length(found: &mut Option<u64>, v: &[u8]) -> Result<(), ProtocolError> {
    // The usual field is one number: a single pass, no list handling.
    if let Some(n) = decimal(v) {
        return merge_content_length(found, n);
    }
    for part in v.split(|b| *b == b',') {
        let n = decimal(trim(part)).ok_or_else(|| ProtocolError::InvalidContentLength {
            value: String::from_utf8_lossy(v).into_owned(),
        })?;
        merge_content_length(found, n)?;
    }
    Ok(())
}

/// 1 to 19 ASCII digits (so no overflow) as a number; anything else is `None`.
#[inline]
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    let mut all_digits = true;
    for d in digits {
        all_digits &= d.is_ascii_digit();
        n = n
            .wrapping_mul(10)
            .wrapping_add(u64::from(d.wrapping_sub(b'0')));
    }
    all_digits.then_some(n)
}

fn merge_content_length(found: &mut Option<u64>, n: u64) -> Result<(), ProtocolError> {
    match *found {
        Some(prev) if prev != n => Err(ProtocolError::ConflictingContentLength {
            first: prev,
            second: n,
        }),
        _ => {
            *found = Some(n);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &[u8]) -> ResponseHead {
        let (head, used) = parse_head(bytes, 4096).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        head
    }

    fn plan(bytes: &[u8]) -> Result<BodyPlan, ProtocolError> {
        plan_body(&head(bytes), false)
    }

    #[test]
    fn parses_a_head_and_reports_partial() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        let (h, used) = parse_head(raw, 4096).unwrap().unwrap();
        assert_eq!(used, raw.len() - 5);
        assert_eq!((h.status, h.minor_version, &*h.reason), (200, 1, "OK"));
        assert_eq!(h.headers.get("x-a"), Some("b"));
        for cut in 0..used {
            assert!(
                parse_head(&raw[..cut], 4096).unwrap().is_none(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn malformed_status_lines_are_errors() {
        for bad in [
            &b"HTTP/1.1 2x0 OK\r\n\r\n"[..],
            b"HTTP/9.9 200 OK\r\n\r\n",
            b"SMTP 220 hello\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        ] {
            let err = parse_head(bad, 4096).unwrap_err();
            assert!(err.to_string().contains("malformed"), "{bad:?}: {}", err);
        }
    }

    #[test]
    fn head_size_limit() {
        let raw = format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n\r\n", "a".repeat(200));
        assert!(parse_head(raw.as_bytes(), 1024).unwrap().is_some());
        let err = parse_head(raw.as_bytes(), 100).unwrap_err();
        assert!(err.to_string().contains("larger than 100"), "{}", err);
        // Partial heads too: no waiting for an end that may never come.
        let err = parse_head(&raw.as_bytes()[..150], 100).unwrap_err();
        assert!(err.to_string().contains("larger than 100"), "{}", err);
    }

    #[test]
    fn too_many_headers() {
        let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        assert!(parse_head(&raw, 1 << 20)
            .unwrap_err()
            .to_string()
            .contains("more than"));
    }

    #[test]
    fn framing_by_length_chunked_close() {
        assert_eq!(
            plan(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n").unwrap(),
            BodyPlan {
                framing: Framing::Length(10),
                keep_alive: true
            }
        );
        assert_eq!(
            plan(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .unwrap()
                .framing,
            Framing::Empty
        );
        assert_eq!(
            plan(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").unwrap(),
            BodyPlan {
                framing: Framing::Chunked,
                keep_alive: true
            }
        );
        assert_eq!(
            plan(b"HTTP/1.1 200 OK\r\n\r\n").unwrap(),
            BodyPlan {
                framing: Framing::UntilClose,
                keep_alive: false
            }
        );
        // A transfer coding that is not chunked-last: read until close.
        assert_eq!(
            plan(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").unwrap(),
            BodyPlan {
                framing: Framing::UntilClose,
                keep_alive: false
            }
        );
    }

    #[test]
    fn content_length_with_chunked_means_chunked_and_no_reuse() {
        assert_eq!(
            plan(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
                .unwrap(),
            BodyPlan {
                framing: Framing::Chunked,
                keep_alive: false
            }
        );
    }

    #[test]
    fn conflicting_or_bad_content_length() {
        let err =
            plan(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n").unwrap_err();
        assert!(err.to_string().contains("conflicting"), "{}", err);
        assert!(plan(b"HTTP/1.1 200 OK\r\nContent-Length: 3, 5\r\n\r\n").is_err());
        assert!(plan(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
        assert!(plan(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n").is_err());
        assert!(plan(b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n").is_err());
        // Equal repeats are one value.
        assert_eq!(
            plan(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\n")
                .unwrap()
                .framing,
            Framing::Length(3)
        );
    }

    #[test]
    fn keep_alive_rules() {
        assert!(
            !plan(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(
            !plan(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(
            plan(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        // A bare keep-alive, and lists around it, either way.
        for (raw, keep) in [
            (&b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n"[..], true),
            (b"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 1\r\n\r\n", false),
            (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", false),
            (b"HTTP/1.0 200 OK\r\nConnection: KEEP-ALIVE\r\nContent-Length: 1\r\n\r\n", true),
            (b"HTTP/1.0 200 OK\r\nConnection: x, keep-alive\r\nContent-Length: 1\r\n\r\n", true),
            (b"HTTP/1.0 200 OK\r\nConnection: keep-alivex\r\nContent-Length: 1\r\n\r\n", false),
        ] {
            assert_eq!(plan(raw).unwrap().keep_alive, keep, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn usual_reason_phrases_are_not_copied() {
        use std::borrow::Cow;
        assert!(matches!(reason_phrase("OK"), Cow::Borrowed("OK")));
        assert!(matches!(
            reason_phrase("Not Found"),
            Cow::Borrowed("Not Found")
        ));
        assert!(matches!(reason_phrase(""), Cow::Borrowed("")));
        assert!(matches!(reason_phrase("Ok"), Cow::Owned(ref r) if r == "Ok"));
        assert!(matches!(reason_phrase("Teapot"), Cow::Owned(ref r) if r == "Teapot"));
    }

    #[test]
    fn responses_without_body() {
        for raw in [
            &b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"[..],
            b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            let p = plan(raw).unwrap();
            assert_eq!(
                p,
                BodyPlan {
                    framing: Framing::Empty,
                    keep_alive: true
                }
            );
        }
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        assert_eq!(plan_body(&h, true).unwrap().framing, Framing::Empty);
        let p = plan(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n").unwrap();
        assert!(!p.keep_alive);
    }
}
