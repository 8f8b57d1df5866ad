//! Responses: status, headers, and a streaming body that holds the pooled
//! connection until the body is read to its end (or dropped).

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

use url::Url;

use crate::body_reader::BodyReader;
use crate::content_encoding::ResponseReader;
use crate::error::{DecodeError, Error, Result};
use crate::headers::{Headers, Known};
use crate::proto::ResponseHead;
use crate::tls_info::TlsInfo;

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
    timings: crate::timing::Timings,
    body: BodyReader,
    max_body: u64,
    decompress: bool,
    history: Vec<Url>,
    tls: Option<Arc<TlsInfo>>,
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
            timings: crate::timing::Timings::default(),
            body,
            max_body,
            decompress,
            history: Vec::new(),
            tls: None,
        }
    }

    /// The TLS version the connection negotiated (`"TLSv1_3"`,
    /// `"TLSv1_2"`), `None` over plain http.
    pub fn tls_version(&self) -> Option<&'static str> {
        self.tls.as_ref().map(|t| t.version().as_str())
    }

    /// The TLS facts of the connection the response came on (its version
    /// and the server's certificate), also on a reused connection; `None`
    /// over plain http (and over TLS to a proxy only).
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls.as_deref()
    }

    pub(crate) fn set_tls(&mut self, tls: Option<Arc<TlsInfo>>) {
        self.tls = tls;
    }

    /// The URLs that answered with a redirect on the way to this response,
    /// the first request's first (empty when none was followed).
    pub fn history(&self) -> &[Url] {
        &self.history
    }

    pub(crate) fn set_history(&mut self, history: Vec<Url>) {
        self.history = history;
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

    /// The header fields, to change (a [`crate::Middleware`] may).
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The first value of a header (any case), if UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The URL this response came from (after redirects).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// How long the phases of the exchange took: connect phases on a new
    /// connection, `None` on a reused one; the time to the first byte
    /// always ([`crate::Timings`]).
    pub fn timings(&self) -> crate::Timings {
        self.timings
    }

    pub(crate) fn set_timings(&mut self, timings: crate::Timings) {
        self.timings = timings;
    }

    /// The raw body (no content decoding), as a reader.
    pub fn body_mut(&mut self) -> &mut BodyReader {
        &mut self.body
    }

    /// The body as a reader, decoded when the server used a coding this
    /// build decodes (features `gzip`, `brotli`, `zstd`). A decoded body
    /// fails with [`Error::BodyTooLarge`] (inside the `io::Error`) past the
    /// client's `max_body_bytes` decoded bytes; a plain one is not capped.
    pub fn into_reader(self) -> ResponseReader {
        let limit = self.max_body;
        self.into_reader_limited(limit)
    }

    fn into_reader_limited(self, limit: u64) -> ResponseReader {
        let coding = self
            .headers
            .get_known(Known::ContentEncoding)
            .and_then(|c| std::str::from_utf8(c).ok());
        crate::content_encoding::wrap(self.body, coding, self.decompress, limit)
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
        let mut reader = self
            .into_reader_limited(limit)
            .take(limit.saturating_add(1));
        reader.read_to_end(&mut out).map_err(from_io)?;
        if out.len() as u64 > limit {
            return Err(Error::BodyTooLarge { limit });
        }
        Ok(out)
    }

    /// The whole body as text: in the charset the `Content-Type` names
    /// (feature `charset`, any label the WHATWG Encoding Standard knows),
    /// UTF-8 otherwise; invalid sequences replaced.
    pub fn text(self) -> Result<String> {
        #[cfg(feature = "charset")]
        let encoding = self
            .header("content-type")
            .and_then(charset)
            .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
            .filter(|e| *e != encoding_rs::UTF_8);
        let bytes = self.bytes()?;
        #[cfg(feature = "charset")]
        if let Some(encoding) = encoding {
            return Ok(encoding.decode_without_bom_handling(&bytes).0.into_owned());
        }
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// The body parsed as JSON.
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(self) -> Result<T> {
        let bytes = self.bytes()?;
        serde_json::from_slice(&bytes).map_err(|e| DecodeError::Json(e).into())
    }
}

/// The `charset` parameter of a `Content-Type` value, unquoted.
#[cfg(feature = "charset")]
fn charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
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
    loop {
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
        Err(e) => DecodeError::Content(e).into(),
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
