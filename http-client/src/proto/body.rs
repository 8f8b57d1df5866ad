//! Response body framing: Content-Length, chunked (with trailers), and
//! read-until-close, as a push decoder over whatever bytes are buffered.
//!
//! The decoder never copies body bytes: [`BodyDecoder::poll`] says where the
//! next data lies in the input, the caller copies what it wants and reports
//! it with [`BodyDecoder::taken`]. In a data state with nothing buffered the
//! caller may read straight from the socket up to [`BodyDecoder::direct_limit`].

use super::response::{Framing, ProtocolError, MAX_HEADERS};
use crate::headers::Headers;

/// A chunk-size line longer than this (with extensions) is an error.
pub const MAX_CHUNK_LINE: usize = 1024;
/// A trailer section larger than this is an error.
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length { left: u64, total: u64 },
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    UntilClose,
    Done,
}

/// What the decoder found at the start of the input. `skip` framing bytes
/// come first and must be consumed in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Body data at `input[skip..skip + len]`; report what was used with `taken`.
    Data {
        /// Framing bytes before the data.
        skip: usize,
        /// Data bytes available.
        len: usize,
    },
    /// More input is needed.
    NeedMore {
        /// Framing bytes consumed.
        skip: usize,
    },
    /// The body is complete.
    Done {
        /// Framing bytes consumed.
        skip: usize,
    },
}

/// The state of one response body being read.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    state: State,
    // Boxed: trailers are rare, and the decoder moves with every response.
    trailers: Option<Box<Headers>>,
    /// Body bytes delivered so far (for error messages and drain limits).
    delivered: u64,
}

impl BodyDecoder {
    /// A decoder for a body framed as `framing`.
    pub fn new(framing: Framing) -> BodyDecoder {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length { left: n, total: n },
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        BodyDecoder {
            state,
            trailers: None,
            delivered: 0,
        }
    }

    /// True once the whole body has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// The bytes still owed when the length is known (Content-Length).
    pub fn known_remaining(&self) -> Option<u64> {
        match self.state {
            State::Length { left, .. } => Some(left),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// The trailer fields of a chunked body, once it is done.
    pub fn take_trailers(&mut self) -> Option<Headers> {
        self.trailers.take().map(|t| *t)
    }

    /// [`BodyDecoder::take_trailers`], still boxed.
    pub(crate) fn take_trailers_boxed(&mut self) -> Option<Box<Headers>> {
        self.trailers.take()
    }

    /// How many bytes may be read straight into the caller's buffer when
    /// nothing is buffered: `Some(n)` in a data state, `None` when framing
    /// bytes come next (they must go through the buffer and `poll`).
    pub fn direct_limit(&self) -> Option<u64> {
        match self.state {
            State::Length { left, .. } => Some(left),
            State::ChunkData(n) => Some(n),
            State::UntilClose => Some(u64::MAX),
            _ => None,
        }
    }

    /// Reports `n` data bytes used (at most the `len` of the last `Data`,
    /// or at most `direct_limit` for a direct read).
    pub fn taken(&mut self, n: usize) {
        let n64 = n as u64;
        self.delivered += n64;
        match &mut self.state {
            State::Length { left, .. } => {
                *left -= n64;
                if *left == 0 {
                    self.state = State::Done;
                }
            }
            State::ChunkData(left) => {
                *left -= n64;
                if *left == 0 {
                    self.state = State::ChunkDataEnd;
                }
            }
            _ => {}
        }
    }

    /// The peer closed the connection: fine only for a read-until-close body.
    pub fn eof(&mut self) -> Result<(), ProtocolError> {
        match self.state {
            State::UntilClose | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            State::Length { left, total } => Err(ProtocolError::BodyCutShort {
                got: total - left,
                expected: total,
            }),
            _ => Err(ProtocolError::ChunkedCutShort {
                got: self.delivered,
            }),
        }
    }

    /// Walks the framing at the start of `input` up to the next data, the
    /// need for more input, or the end of the body.
    pub fn poll(&mut self, input: &[u8]) -> Result<Poll, ProtocolError> {
        let mut skip = 0;
        loop {
            let rest = &input[skip..];
            match self.state {
                State::Done => return Ok(Poll::Done { skip }),
                State::Length { left, .. } | State::ChunkData(left) => {
                    if rest.is_empty() {
                        return Ok(Poll::NeedMore { skip });
                    }
                    let len = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    return Ok(Poll::Data { skip, len });
                }
                State::UntilClose => {
                    if rest.is_empty() {
                        return Ok(Poll::NeedMore { skip });
                    }
                    return Ok(Poll::Data {
                        skip,
                        len: rest.len(),
                    });
                }
                State::ChunkSize => match chunk_size_line(rest)? {
                    None => return Ok(Poll::NeedMore { skip }),
                    Some((0, used)) => {
                        skip += used;
                        self.state = State::Trailers;
                    }
                    Some((n, used)) => {
                        skip += used;
                        self.state = State::ChunkData(n);
                    }
                },
                State::ChunkDataEnd => {
                    if rest.len() < 2 {
                        if rest.first().is_some_and(|b| *b != b'\r') {
                            return Err(ProtocolError::ChunkNotTerminated);
                        }
                        return Ok(Poll::NeedMore { skip });
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(ProtocolError::ChunkNotTerminated);
                    }
                    skip += 2;
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    // Most bodies end with a bare CRLF: no trailer section.
                    if rest.starts_with(b"\r\n") {
                        skip += 2;
                        self.state = State::Done;
                        continue;
                    }
                    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
                    match httparse::parse_headers(rest, &mut fields) {
                        Ok(httparse::Status::Complete((used, parsed))) => {
                            self.trailers =
                                Some(Box::new(Headers::from_parsed(rest, parsed, |_, _| {})));
                            skip += used;
                            self.state = State::Done;
                        }
                        Ok(httparse::Status::Partial) => {
                            if rest.len() > MAX_TRAILER_BYTES {
                                return Err(ProtocolError::TrailersTooLarge {
                                    limit: MAX_TRAILER_BYTES,
                                });
                            }
                            return Ok(Poll::NeedMore { skip });
                        }
                        Err(e) => return Err(ProtocolError::MalformedTrailers { reason: e }),
                    }
                }
            }
        }
    }
}

/// Parses `HEX[;extensions]CRLF`: the size and the bytes used, or `None`
/// when the line is not complete yet.
fn chunk_size_line(input: &[u8]) -> Result<Option<(u64, usize)>, ProtocolError> {
    let Some(lf) = input.iter().take(MAX_CHUNK_LINE).position(|b| *b == b'\n') else {
        if input.len() >= MAX_CHUNK_LINE {
            return Err(ProtocolError::ChunkLineTooLong {
                limit: MAX_CHUNK_LINE,
            });
        }
        // Fail early on a byte that can never start a valid size line.
        if let Some(b) = input.first() {
            if !b.is_ascii_hexdigit() {
                return Err(bad_size(input));
            }
        }
        return Ok(None);
    };
    if lf == 0 || input[lf - 1] != b'\r' {
        return Err(bad_size(&input[..lf]));
    }
    let line = &input[..lf - 1];
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let digits = &line[..digits_end];
    if digits.is_empty() || digits.len() > 16 {
        return Err(bad_size(line));
    }
    let after = &line[digits_end..];
    let after_ws = after
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .map_or(&after[after.len()..], |i| &after[i..]);
    if !after_ws.is_empty() && after_ws[0] != b';' {
        return Err(bad_size(line));
    }
    if after_ws.iter().any(|b| *b < 0x20 && *b != b'\t') {
        return Err(bad_size(line));
    }
    let size = digits.iter().fold(0u64, |acc, d| {
        let v = (*d as char).to_digit(16).unwrap_or(0);
        (acc << 4) | u64::from(v)
    });
    Ok(Some((size, lf + 1)))
}

fn bad_size(line: &[u8]) -> ProtocolError {
    ProtocolError::BadChunkSize {
        line: String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` to a decoder `step` bytes at a time, like a socket
    /// would, and returns the body, trailers and the bytes left after it.
    /// Body, trailers, and the bytes after the body.
    type Decoded = (Vec<u8>, Option<Headers>, Vec<u8>);

    fn decode(framing: Framing, wire: &[u8], step: usize) -> Result<Decoded, ProtocolError> {
        let mut d = BodyDecoder::new(framing);
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut body = Vec::new();
        loop {
            match d.poll(&buf)? {
                Poll::Data { skip, len } => {
                    // Take one byte less than offered when we can, to test partial takes.
                    let k = if len > 1 { len - 1 } else { len };
                    body.extend_from_slice(&buf[skip..skip + k]);
                    d.taken(k);
                    buf.drain(..skip + k);
                }
                Poll::NeedMore { skip } => {
                    buf.drain(..skip);
                    if fed == wire.len() {
                        d.eof()?;
                        continue;
                    }
                    let end = (fed + step).min(wire.len());
                    buf.extend_from_slice(&wire[fed..end]);
                    fed = end;
                }
                Poll::Done { skip } => {
                    buf.drain(..skip);
                    buf.extend_from_slice(&wire[fed..]);
                    return Ok((body, d.take_trailers(), buf));
                }
            }
        }
    }

    const CHUNKED: &[u8] =
        b"a\r\nchunk one\n\r\n5;name=val\r\nhello\r\n0\r\nX-Trailer-Check: ok\r\nX-B: 2\r\n\r\nNEXT";

    #[test]
    fn chunked_with_trailers_at_every_split() {
        for step in 1..CHUNKED.len() {
            let (body, trailers, rest) = decode(Framing::Chunked, CHUNKED, step).unwrap();
            assert_eq!(body, b"chunk one\nhello", "step {step}");
            let trailers = trailers.unwrap();
            assert_eq!(trailers.get("x-trailer-check"), Some("ok"));
            assert_eq!(trailers.get("x-b"), Some("2"));
            assert_eq!(rest, b"NEXT", "step {step}");
        }
    }

    #[test]
    fn chunked_without_trailers() {
        let (body, trailers, rest) =
            decode(Framing::Chunked, b"3\r\nabc\r\n0\r\n\r\nHTTP", 2).unwrap();
        assert_eq!(
            (body.as_slice(), rest.as_slice()),
            (&b"abc"[..], &b"HTTP"[..])
        );
        assert!(trailers.is_none());
    }

    #[test]
    fn bad_chunk_sizes() {
        for bad in [
            &b"zz\r\nab\r\n0\r\n\r\n"[..],
            b"-1\r\n",
            b"3 x\r\nabc\r\n0\r\n\r\n",
            b"3\nabc\r\n0\r\n\r\n",
            b"11111111111111111\r\n",
            b"3\r\nabcXX0\r\n\r\n",
        ] {
            let err = decode(Framing::Chunked, bad, 64).unwrap_err();
            assert!(
                err.to_string().contains("chunk"),
                "{:?}: {}",
                String::from_utf8_lossy(bad),
                err
            );
        }
        let long = vec![b'1'; MAX_CHUNK_LINE + 1];
        assert!(decode(Framing::Chunked, &long, 4096)
            .unwrap_err()
            .to_string()
            .contains("longer"));
    }

    #[test]
    fn huge_trailers_are_refused() {
        let mut wire = b"0\r\n".to_vec();
        while wire.len() < MAX_TRAILER_BYTES + 100 {
            wire.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        // Many headers: either limit (bytes or count) must stop it.
        assert!(decode(Framing::Chunked, &wire, 4096).is_err());
    }

    #[test]
    fn content_length_and_short_bodies() {
        let (body, _, rest) = decode(Framing::Length(5), b"helloHTTP/1.1", 3).unwrap();
        assert_eq!(
            (body.as_slice(), rest.as_slice()),
            (&b"hello"[..], &b"HTTP/1.1"[..])
        );
        let err = decode(Framing::Length(10), b"hello", 3).unwrap_err();
        assert!(err.to_string().contains("5 of 10"), "{}", err);
        let err = decode(Framing::Chunked, b"5\r\nhel", 3).unwrap_err();
        assert!(err.to_string().contains("closed"), "{}", err);
    }

    #[test]
    fn until_close_and_empty() {
        let (body, _, _) = decode(Framing::UntilClose, b"all of it", 4).unwrap();
        assert_eq!(body, b"all of it");
        let (body, _, rest) = decode(Framing::Empty, b"HTTP", 4).unwrap();
        assert!(body.is_empty());
        assert_eq!(rest, b"HTTP");
    }

    #[test]
    fn direct_limits_follow_state() {
        let mut d = BodyDecoder::new(Framing::Chunked);
        assert_eq!(d.direct_limit(), None);
        assert_eq!(d.poll(b"4\r\n").unwrap(), Poll::NeedMore { skip: 3 });
        assert_eq!(d.direct_limit(), Some(4));
        d.taken(4);
        assert_eq!(d.direct_limit(), None);
        let mut d = BodyDecoder::new(Framing::Length(7));
        assert_eq!(d.direct_limit(), Some(7));
        d.taken(7);
        assert!(d.is_done());
    }
}
