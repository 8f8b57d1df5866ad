//! Responses: status, headers, and a streaming body that holds the pooled
//! connection until the body is read to its end (or dropped).

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

use transport::{Pooled, Status};
use url::Url;

use crate::error::{Error, Result};
use crate::headers::{Headers, Known};
use crate::proto::ResponseHead;
use crate::session::{read_body, Session, State};

/// A response. The body is read from the connection as it is consumed
/// ([`Response::body_mut`], [`Response::into_reader`]) or all at once
/// ([`Response::bytes`], [`Response::text`], `json`).
///
/// Reading the body to its end returns the connection to the pool at once;
/// a small body that arrived whole with the head was read with it, so its
/// connection is back in the pool before the caller reads the body.
/// Dropping a response with its body unread drains a small rest (see
/// [`crate::ClientBuilder::drain_limit`]) and reuses the connection, or
/// closes it.
pub struct Response {
    status: u16,
    minor_version: u8,
    reason: std::borrow::Cow<'static, str>,
    headers: Headers,
    url: Arc<Url>,
    body: BodyReader,
    max_body: u64,
    decompress: bool,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &self.url.as_str())
            .field("headers", &self.headers)
            .finish()
    }
}

impl Response {
    pub(crate) fn new(
        head: ResponseHead,
        url: Arc<Url>,
        body: BodyReader,
        max_body: u64,
        decompress: bool,
    ) -> Response {
        Response {
            status: head.status,
            minor_version: head.minor_version,
            reason: head.reason,
            headers: head.headers,
            url,
            body,
            max_body,
            decompress,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// `"HTTP/1.1"` or `"HTTP/1.0"`.
    pub fn version(&self) -> &'static str {
        if self.minor_version == 0 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        }
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of a header (any case), if UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The URL this response came from (after redirects).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The raw body (no content decoding), as a reader.
    pub fn body_mut(&mut self) -> &mut BodyReader {
        &mut self.body
    }

    /// The body as a reader, gzip/deflate decoded when the `gzip` feature is
    /// on and the server used one of them.
    pub fn into_reader(self) -> ResponseReader {
        let coding = self
            .headers
            .get_known(Known::ContentEncoding)
            .and_then(|c| std::str::from_utf8(c).ok());
        crate::content_encoding::wrap(self.body, coding, self.decompress)
    }

    /// The whole body (decoded), up to the client's `max_body_bytes`.
    #[inline]
    pub fn bytes(self) -> Result<Vec<u8>> {
        let limit = self.max_body;
        self.bytes_limited(limit)
    }

    /// The whole body (decoded), refusing more than `limit` bytes.
    pub fn bytes_limited(mut self, limit: u64) -> Result<Vec<u8>> {
        if !self.headers.has(Known::ContentEncoding) {
            if let Some(whole) = self.body.take_unread() {
                if whole.len() as u64 > limit {
                    return Err(Error::BodyTooLarge { limit });
                }
                return Ok(whole);
            }
            // No decoder in front: read straight from the body, whose
            // framing already knows the length when there is one.
            let hint = self.body.known_remaining().unwrap_or(0);
            let hint = hint.min(limit).min(16 * 1024 * 1024) as usize;
            return read_limited(self.body, hint, limit);
        }
        let hint = self
            .headers
            .get_known(Known::ContentLength)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
            .min(limit)
            .min(16 * 1024 * 1024) as usize;
        let mut out = Vec::with_capacity(hint);
        let mut reader = self.into_reader().take(limit.saturating_add(1));
        reader.read_to_end(&mut out).map_err(from_io)?;
        if out.len() as u64 > limit {
            return Err(Error::BodyTooLarge { limit });
        }
        Ok(out)
    }

    /// The whole body as text (UTF-8, invalid sequences replaced).
    pub fn text(self) -> Result<String> {
        let bytes = self.bytes()?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// The body parsed as JSON.
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(self) -> Result<T> {
        let bytes = self.bytes()?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(format!("JSON: {e}")))
    }
}

/// Reads a raw body to its end into a buffer that starts at `hint` bytes,
/// refusing more than `limit` bytes (it reads at most one byte more).
fn read_limited(mut body: BodyReader, hint: usize, limit: u64) -> Result<Vec<u8>> {
    let cap = limit.saturating_add(1);
    #[allow(
        clippy::slow_vector_initialization,
        reason = "for a small body, calloc costs more than malloc and a short memset"
    )]
    let mut out = if hint <= 16 * 1024 {
        let mut v = Vec::with_capacity(hint);
        v.resize(hint, 0);
        v
    } else {
        vec![0u8; hint]
    };
    let mut filled = 0usize;
    while !body.is_done() {
        if filled == out.len() {
            if filled as u64 >= cap {
                break;
            }
            let room = usize::try_from(cap - filled as u64).unwrap_or(usize::MAX);
            out.resize(filled + out.len().max(8192).min(room), 0);
        }
        let n = body.read_inner(&mut out[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    out.truncate(filled);
    if filled as u64 > limit {
        return Err(Error::BodyTooLarge { limit });
    }
    Ok(out)
}

/// Gets our error back out of an `io::Error` from a body reader.
pub(crate) fn from_io(e: io::Error) -> Error {
    match e.downcast::<Error>() {
        Ok(ours) => ours,
        Err(e) => Error::Decode(e.to_string()),
    }
}

/// The raw body of a [`Response`], read from the connection as it is
/// consumed. It holds the pooled connection until the body ends.
pub struct BodyReader {
    source: Source,
    // Boxed: trailers are rare, and the reader moves with every response.
    trailers: Option<Box<Headers>>,
}

/// Where the rest of a body comes from.
enum Source {
    /// The connection, held until the body ends.
    Conn(Pooled<Session>),
    /// A body that arrived whole with the head, its connection already
    /// back in the pool; `at` bytes of it have been read.
    Buffered { bytes: Vec<u8>, at: usize },
    /// Read to its end, or failed.
    Done,
}

impl fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader")
            .field("done", &self.is_done())
            .finish()
    }
}

impl BodyReader {
    /// A body still to be read from the connection (its session is in the body state).
    pub(crate) fn streaming(guard: Pooled<Session>) -> BodyReader {
        BodyReader {
            source: Source::Conn(guard),
            trailers: None,
        }
    }

    /// A body already read whole (possibly empty).
    pub(crate) fn buffered(bytes: Vec<u8>) -> BodyReader {
        let source = if bytes.is_empty() {
            Source::Done
        } else {
            Source::Buffered { bytes, at: 0 }
        };
        BodyReader {
            source,
            trailers: None,
        }
    }

    /// The whole body when it was buffered and none of it has been read yet.
    fn take_unread(&mut self) -> Option<Vec<u8>> {
        match std::mem::replace(&mut self.source, Source::Done) {
            Source::Buffered { bytes, at: 0 } => Some(bytes),
            Source::Done => Some(Vec::new()),
            other => {
                self.source = other;
                None
            }
        }
    }

    /// The trailer fields of a chunked body, once it has been read to its end.
    pub fn trailers(&self) -> Option<&Headers> {
        self.trailers.as_deref()
    }

    /// The body bytes still to come, when the framing says (Content-Length).
    fn known_remaining(&self) -> Option<u64> {
        match &self.source {
            Source::Conn(guard) => match &guard.session_ref().state {
                State::Body { decoder, .. } => decoder.known_remaining(),
                _ => None,
            },
            Source::Buffered { bytes, at } => Some((bytes.len() - at) as u64),
            Source::Done => Some(0),
        }
    }

    /// True once the body has been read to its end (or failed).
    pub fn is_done(&self) -> bool {
        matches!(self.source, Source::Done)
    }

    fn read_inner(&mut self, out: &mut [u8]) -> Result<usize> {
        let guard = match &mut self.source {
            Source::Conn(guard) => guard,
            Source::Buffered { bytes, at } => {
                let rest = &bytes[*at..];
                let n = rest.len().min(out.len());
                out[..n].copy_from_slice(&rest[..n]);
                *at += n;
                if *at == bytes.len() {
                    self.source = Source::Done;
                }
                return Ok(n);
            }
            Source::Done => return Ok(0),
        };
        let (conn, session) = guard.parts();
        let State::Body {
            decoder,
            keep_alive,
        } = &mut session.state
        else {
            return Ok(0);
        };
        match read_body(conn, decoder, out) {
            Ok(n) => {
                if n == 0 || decoder.known_remaining() == Some(0) {
                    // The end: release the connection now, not when the
                    // response is dropped.
                    self.trailers = decoder.take_trailers_boxed();
                    session.state = if *keep_alive {
                        State::Idle
                    } else {
                        State::Close
                    };
                    conn.end_exchange();
                    self.source = Source::Done;
                }
                Ok(n)
            }
            Err(e) => {
                guard.mark(Status::ABORTED);
                self.source = Source::Done;
                Err(e)
            }
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Wrapped whole, so `bytes()` and callers can get our error back.
        self.read_inner(out).map_err(io::Error::other)
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        if let Source::Conn(guard) = &mut self.source {
            // The session is in its body state: the release path drains the
            // rest within its limits, or closes the connection.
            guard.conn().end_exchange();
        }
    }
}

/// A response body with content decoding applied (see [`Response::into_reader`]).
pub struct ResponseReader {
    pub(crate) inner: crate::content_encoding::Decoded,
}

impl fmt::Debug for ResponseReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseReader")
    }
}

impl ResponseReader {
    /// The trailer fields, once the body has been read to its end.
    pub fn trailers(&self) -> Option<&Headers> {
        self.inner.body().and_then(BodyReader::trailers)
    }
}

impl Read for ResponseReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.inner.read(out)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use crate::{Client, Error};

    /// Serves `replies` in order on one connection, one per request head.
    fn serve(replies: Vec<&'static [u8]>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            for reply in replies {
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap() == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                stream.write_all(reply).unwrap();
            }
        });
        format!("http://{addr}/")
    }

    #[test]
    fn statuses_that_need_a_second_look_still_get_it() {
        let url = serve(vec![
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno",
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno",
            b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ]);
        let client = Client::builder().proxy_from_env(false).build().unwrap();
        let resp = client.get(&url).call().unwrap();
        assert_eq!((resp.status(), resp.reason()), (404, "Not Found"));
        let err = client.get(&url).error_for_status(true).call().unwrap_err();
        assert!(
            matches!(&err, Error::Server { code: 404, message } if message == "Not Found"),
            "{err}"
        );
        // Not followed when told not to; a redirect without Location is a response.
        let resp = client.get(&url).max_redirects(0).call().unwrap();
        assert_eq!(resp.header("location"), Some("/elsewhere"));
        assert_eq!(client.get(&url).call().unwrap().status(), 302);
        assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "ok");
        assert_eq!(client.stats().opened, 1);
    }

    #[test]
    fn a_small_body_that_came_with_the_head_frees_the_connection_at_once() {
        let url = serve(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
            b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
        ]);
        let client = Client::builder().proxy_from_env(false).build().unwrap();
        let mut first = client.get(&url).call().unwrap();
        // The first body is still unread, yet its connection serves the second request.
        let second = client.get(&url).call().unwrap();
        assert_eq!(second.bytes_limited(6).unwrap(), b"second");
        let mut two = [0u8; 2];
        std::io::Read::read_exact(first.body_mut(), &mut two).unwrap();
        assert_eq!(&two, b"fi");
        assert!(!first.body_mut().is_done());
        assert_eq!(first.text().unwrap(), "rst");
        assert_eq!(client.stats().opened, 1);
    }

    #[test]
    fn interim_responses_are_skipped_and_framing_errors_close() {
        let url = serve(vec![
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\nContent-Length: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        ]);
        let client = Client::builder().proxy_from_env(false).build().unwrap();
        assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "ok");
        let err = client.get(&url).call().unwrap_err();
        assert!(
            matches!(&err, Error::Protocol(m) if m.contains("conflicting")),
            "{err}"
        );
        let stats = client.stats();
        assert_eq!((stats.opened, stats.open_now), (1, 0));
    }

    #[test]
    fn a_cached_url_changed_by_query_sends_its_new_target() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/a?b=1", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            let mut targets = Vec::new();
            for _ in 0..3 {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                targets.push(line.split(' ').nth(1).unwrap().to_string());
                while line != "\r\n" {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                }
                stream
                    .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .unwrap();
            }
            targets
        });
        let client = Client::builder().proxy_from_env(false).build().unwrap();
        client.get(&url).call().unwrap();
        client.get(&url).query("c", "d e").call().unwrap();
        client.get(&url).call().unwrap();
        assert_eq!(server.join().unwrap(), ["/a?b=1", "/a?b=1&c=d+e", "/a?b=1"]);
    }

    #[test]
    fn whole_bodies_up_to_a_limit() {
        let url = serve(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
        ]);
        let client = Client::builder().proxy_from_env(false).build().unwrap();
        let get = || client.get(&url).call().unwrap();
        assert_eq!(get().bytes_limited(10).unwrap(), b"0123456789");
        assert_eq!(get().bytes_limited(10).unwrap(), b"0123456789");
        assert_eq!(get().bytes_limited(0).unwrap(), b"");
        assert!(matches!(
            get().bytes_limited(9),
            Err(Error::BodyTooLarge { limit: 9 })
        ));
        assert!(matches!(
            get().bytes_limited(9),
            Err(Error::BodyTooLarge { limit: 9 })
        ));
        assert_eq!(client.stats().opened, 1);
    }
}
