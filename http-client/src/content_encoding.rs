//! Content codings of response bodies (`Content-Encoding`): gzip and
//! deflate with the `gzip` feature (flate2), the identity otherwise.
//!
//! A decoder starts at the first body byte: an empty body (a HEAD, a 204,
//! a 304, `Content-Length: 0`, a chunked body with no chunks) is empty
//! whatever coding its head names, as curl and browsers read it.

use std::io::{self, Read};

use std::fmt;

use crate::body_reader::BodyReader;
use crate::headers::Headers;

/// The `Accept-Encoding` of a decompressing client: the codings this
/// build decodes (empty when it decodes none).
pub(crate) const ACCEPT_ENCODING: &str = if cfg!(feature = "gzip") {
    "gzip, deflate"
} else {
    ""
};

/// The body bytes read to see whether there are any, then the rest.
#[cfg(feature = "gzip")]
type Started = io::Chain<io::Cursor<Vec<u8>>, BodyReader>;

/// A content coding this build can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    #[cfg(feature = "gzip")]
    Gzip,
    #[cfg(feature = "gzip")]
    Deflate,
}

impl Coding {
    /// The coding a (trimmed, any case) `Content-Encoding` value names, when
    /// this build decodes it.
    pub(crate) fn from_name(name: &str) -> Option<Coding> {
        #[cfg(feature = "gzip")]
        {
            if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                return Some(Coding::Gzip);
            }
            if name.eq_ignore_ascii_case("deflate") {
                return Some(Coding::Deflate);
            }
        }
        let _ = name;
        None
    }
}

/// A body reader with or without a decompressor in front.
pub(crate) enum Decoded {
    Plain(BodyReader),
    /// A coded body whose first byte has not been asked for yet.
    #[cfg(feature = "gzip")]
    Unstarted(Option<BodyReader>, Coding),
    #[cfg(feature = "gzip")]
    Gzip(Box<flate2::read::MultiGzDecoder<Started>>),
    #[cfg(feature = "gzip")]
    Deflate(Box<flate2::read::ZlibDecoder<Started>>),
}

impl Decoded {
    pub(crate) fn body(&self) -> Option<&BodyReader> {
        match self {
            Decoded::Plain(b) => Some(b),
            #[cfg(feature = "gzip")]
            Decoded::Unstarted(b, _) => b.as_ref(),
            #[cfg(feature = "gzip")]
            Decoded::Gzip(d) => Some(d.get_ref().get_ref().1),
            #[cfg(feature = "gzip")]
            Decoded::Deflate(d) => Some(d.get_ref().get_ref().1),
        }
    }

    /// Reads the first body bytes; none means an empty body, served as is.
    #[cfg(feature = "gzip")]
    fn start(&mut self) -> io::Result<()> {
        let Decoded::Unstarted(body, coding) = self else {
            return Ok(());
        };
        let coding = *coding;
        let Some(mut body) = body.take() else {
            return Ok(());
        };
        let mut first = vec![0u8; 8 * 1024];
        let n = match body.read(&mut first) {
            Ok(n) => n,
            Err(e) => {
                *self = Decoded::Plain(body);
                return Err(e);
            }
        };
        if n == 0 {
            *self = Decoded::Plain(body);
            return Ok(());
        }
        first.truncate(n);
        let started = io::Cursor::new(first).chain(body);
        *self = match coding {
            Coding::Gzip => Decoded::Gzip(Box::new(flate2::read::MultiGzDecoder::new(started))),
            Coding::Deflate => Decoded::Deflate(Box::new(flate2::read::ZlibDecoder::new(started))),
        };
        Ok(())
    }
}

impl Read for Decoded {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        #[cfg(feature = "gzip")]
        if matches!(self, Decoded::Unstarted(..)) {
            self.start()?;
        }
        match self {
            Decoded::Plain(b) => b.read(out),
            #[cfg(feature = "gzip")]
            Decoded::Unstarted(..) => Ok(0),
            #[cfg(feature = "gzip")]
            Decoded::Gzip(d) => d.read(out),
            #[cfg(feature = "gzip")]
            Decoded::Deflate(d) => d.read(out),
        }
    }
}

/// Puts the decoder for `coding` (the `Content-Encoding` value) in front of
/// `body`, when decompressing and this build decodes it.
pub(crate) fn wrap(body: BodyReader, coding: Option<&str>, decompress: bool) -> ResponseReader {
    let coding = coding
        .filter(|_| decompress)
        .and_then(|c| Coding::from_name(c.trim()));
    let inner = match coding {
        #[cfg(feature = "gzip")]
        Some(coding) => Decoded::Unstarted(Some(body), coding),
        None => Decoded::Plain(body),
    };
    ResponseReader {
        inner,
        failed: None,
    }
}

/// A response body with content decoding applied (see [`Response::into_reader`](crate::Response::into_reader)).
///
/// Once a read fails, every later read fails too, with the same kind of
/// error: a body that broke its connection halfway stays broken
/// ([`crate::Error::is_broken`]), a body that did not decode does not start
/// decoding again.
pub struct ResponseReader {
    inner: Decoded,
    failed: Option<Failure>,
}

/// The first failure of a [`ResponseReader`], replayed on every later read.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// The body's exchange broke; its connection was closed.
    Broken(transport::BrokenCause),
    /// The content coding did not decode.
    Decode(io::ErrorKind),
}

impl Failure {
    fn again(self) -> io::Error {
        match self {
            Failure::Broken(cause) => {
                io::Error::other(crate::Error::Transport(transport::Error::Broken { cause }))
            }
            Failure::Decode(kind) => io::Error::new(
                kind,
                "the body failed to decode earlier; nothing more is read from it",
            ),
        }
    }
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
        if let Some(failure) = self.failed {
            return Err(failure.again());
        }
        self.inner.read(out).inspect_err(|e| {
            let broken = self.inner.body().and_then(BodyReader::broken_cause);
            self.failed = Some(match broken {
                Some(cause) => Failure::Broken(cause),
                None => Failure::Decode(e.kind()),
            });
        })
    }
}
