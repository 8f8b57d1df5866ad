//! Responses: status, headers, and a streaming body that holds the pooled
//! connection until the body is read to its end (or dropped).

use std::fmt;
use std::io::{self, Read};

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
/// Reading the body to its end returns the connection to the pool at once.
/// Dropping a response with its body unread drains a small rest (see
/// [`crate::ClientBuilder::drain_limit`]) and reuses the connection, or
/// closes it.
pub struct Response {
    status: u16,
    minor_version: u8,
    reason: std::borrow::Cow<'static, str>,
    headers: Headers,
    url: Url,
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
        url: Url,
        guard: Option<Pooled<Session>>,
        max_body: u64,
        decompress: bool,
    ) -> Response {
        Response {
            status: head.status,
            minor_version: head.minor_version,
            reason: head.reason,
            headers: head.headers,
            url,
            body: BodyReader {
                guard,
                trailers: None,
            },
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
            .and_then(|c| std::str::from_utf8(c).ok())
            .map(|c| c.trim().to_ascii_lowercase());
        crate::decode::wrap(self.body, coding.as_deref(), self.decompress)
    }

    /// The whole body (decoded), up to the client's `max_body_bytes`.
    pub fn bytes(self) -> Result<Vec<u8>> {
        let limit = self.max_body;
        self.bytes_limited(limit)
    }

    /// The whole body (decoded), refusing more than `limit` bytes.
    pub fn bytes_limited(self, limit: u64) -> Result<Vec<u8>> {
        let hint = self
            .headers
            .get_known(Known::ContentLength)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
            .min(limit)
            .min(16 * 1024 * 1024) as usize;
        let mut out = Vec::with_capacity(hint);
        let mut reader = self.into_reader().take(limit + 1);
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
    guard: Option<Pooled<Session>>,
    trailers: Option<Headers>,
}

impl fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader")
            .field("done", &self.guard.is_none())
            .finish()
    }
}

impl BodyReader {
    /// The trailer fields of a chunked body, once it has been read to its end.
    pub fn trailers(&self) -> Option<&Headers> {
        self.trailers.as_ref()
    }

    /// True once the body has been read to its end (or failed).
    pub fn is_done(&self) -> bool {
        self.guard.is_none()
    }

    fn read_inner(&mut self, out: &mut [u8]) -> Result<usize> {
        let Some(guard) = self.guard.as_mut() else {
            return Ok(0);
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
                    self.trailers = decoder.take_trailers();
                    session.state = if *keep_alive {
                        State::Idle
                    } else {
                        State::Close
                    };
                    conn.end_exchange();
                    self.guard = None;
                }
                Ok(n)
            }
            Err(e) => {
                guard.mark(Status::ABORTED);
                self.guard = None;
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
        if let Some(mut guard) = self.guard.take() {
            // The session is in its body state: the release path drains the
            // rest within its limits, or closes the connection.
            guard.conn().end_exchange();
        }
    }
}

/// A response body with content decoding applied (see [`Response::into_reader`]).
pub struct ResponseReader {
    pub(crate) inner: crate::decode::Decoded,
}

impl fmt::Debug for ResponseReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseReader")
    }
}

impl ResponseReader {
    /// The trailer fields, once the body has been read to its end.
    pub fn trailers(&self) -> Option<&Headers> {
        self.inner.body().trailers()
    }
}

impl Read for ResponseReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.inner.read(out)
    }
}
