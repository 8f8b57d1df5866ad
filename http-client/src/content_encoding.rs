//! Content codings of response bodies (`Content-Encoding`): gzip and
//! deflate with the `gzip` feature (flate2), brotli with `brotli`
//! (brotli-decompressor), zstd with `zstd` (ruzstd), the identity otherwise.
//!
//! A decoder starts at the first body byte: an empty body (a HEAD, a 204,
//! a 304, `Content-Length: 0`, a chunked body with no chunks) is empty
//! whatever coding its head names, as curl and browsers read it. A decoded
//! body is capped (a compression bomb fails with
//! [`Error::BodyTooLarge`](crate::Error::BodyTooLarge) once past the cap,
//! having held no more than the decoder's window), and a zstd frame asking
//! for a window over 2^27 bytes (zstd's own default limit) is refused before anything is
//! allocated for it.

use std::io::{self, Read};

use std::fmt;

use crate::body_reader::BodyReader;
use crate::headers::Headers;

/// The `Accept-Encoding` of a decompressing client: the codings this
/// build decodes (empty when it decodes none).
pub(crate) const ACCEPT_ENCODING: &str = match (
    cfg!(feature = "gzip"),
    cfg!(feature = "brotli"),
    cfg!(feature = "zstd"),
) {
    (true, true, true) => "gzip, deflate, br, zstd",
    (true, true, false) => "gzip, deflate, br",
    (true, false, true) => "gzip, deflate, zstd",
    (true, false, false) => "gzip, deflate",
    (false, true, true) => "br, zstd",
    (false, true, false) => "br",
    (false, false, true) => "zstd",
    (false, false, false) => "",
};

/// The largest zstd window accepted (zstd's own default decoder limit,
/// 2^27 bytes): a frame header asking for more is refused before the
/// decoder reserves it.
#[cfg_attr(not(feature = "zstd"), allow(dead_code))]
pub(crate) const ZSTD_MAX_WINDOW: u64 = 1 << 27;

/// The body bytes read to see whether there are any, then the rest.
#[allow(dead_code, reason = "unused when no coding is compiled in")]
type Started = io::Chain<io::Cursor<Vec<u8>>, BodyReader>;

/// A content coding this build can decode (no variant without features).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    #[cfg(feature = "gzip")]
    Gzip,
    #[cfg(feature = "gzip")]
    Deflate,
    #[cfg(feature = "brotli")]
    Brotli,
    #[cfg(feature = "zstd")]
    Zstd,
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
        #[cfg(feature = "brotli")]
        if name.eq_ignore_ascii_case("br") {
            return Some(Coding::Brotli);
        }
        #[cfg(feature = "zstd")]
        if name.eq_ignore_ascii_case("zstd") {
            return Some(Coding::Zstd);
        }
        let _ = name;
        None
    }
}

/// A body reader with or without a decompressor in front.
pub(crate) enum Decoded {
    Plain(BodyReader),
    /// A coded body whose first byte has not been asked for yet (`None`
    /// once the start failed).
    #[allow(dead_code, reason = "never built when no coding is compiled in")]
    Unstarted(Option<BodyReader>, Coding),
    #[cfg(feature = "gzip")]
    Gzip(Box<flate2::read::MultiGzDecoder<Started>>),
    #[cfg(feature = "gzip")]
    Deflate(Box<flate2::read::ZlibDecoder<Started>>),
    #[cfg(feature = "brotli")]
    Brotli(Box<brotli_decompressor::Decompressor<Started>>),
    #[cfg(feature = "zstd")]
    Zstd(Box<ruzstd::decoding::StreamingDecoder<Started, ruzstd::decoding::FrameDecoder>>),
}

impl Decoded {
    pub(crate) fn body(&self) -> Option<&BodyReader> {
        match self {
            Decoded::Plain(b) => Some(b),
            Decoded::Unstarted(b, _) => b.as_ref(),
            #[cfg(feature = "gzip")]
            Decoded::Gzip(d) => Some(d.get_ref().get_ref().1),
            #[cfg(feature = "gzip")]
            Decoded::Deflate(d) => Some(d.get_ref().get_ref().1),
            #[cfg(feature = "brotli")]
            Decoded::Brotli(d) => Some(d.get_ref().get_ref().1),
            #[cfg(feature = "zstd")]
            Decoded::Zstd(d) => Some(d.get_ref().get_ref().1),
        }
    }

    /// Reads the first body bytes; none means an empty body, served as is.
    fn start(&mut self) -> io::Result<()> {
        let Decoded::Unstarted(body, coding) = self else {
            return Ok(());
        };
        let coding = *coding;
        let Some(mut body) = body.take() else {
            return Ok(());
        };
        // Enough for a zstd frame header (at most 18 bytes), or the end.
        let mut first = vec![0u8; 8 * 1024];
        let mut n = 0;
        loop {
            match body.read(&mut first[n..]) {
                Ok(0) => break,
                Ok(got) => n += got,
                Err(e) => {
                    *self = Decoded::Plain(body);
                    return Err(e);
                }
            }
            if n >= 18 {
                break;
            }
        }
        if n == 0 {
            *self = Decoded::Plain(body);
            return Ok(());
        }
        first.truncate(n);
        let started = io::Cursor::new(first).chain(body);
        *self = coding.decoder(started)?;
        Ok(())
    }
}

impl Coding {
    /// The decoder for this coding over a started body.
    #[cfg_attr(
        not(any(feature = "gzip", feature = "brotli", feature = "zstd")),
        allow(unreachable_code, unused_variables, reason = "no coding compiled in")
    )]
    fn decoder(self, started: Started) -> io::Result<Decoded> {
        Ok(match self {
            #[cfg(feature = "gzip")]
            Coding::Gzip => Decoded::Gzip(Box::new(flate2::read::MultiGzDecoder::new(started))),
            #[cfg(feature = "gzip")]
            Coding::Deflate => Decoded::Deflate(Box::new(flate2::read::ZlibDecoder::new(started))),
            #[cfg(feature = "brotli")]
            Coding::Brotli => Decoded::Brotli(Box::new(brotli_decompressor::Decompressor::new(
                started, 8192,
            ))),
            #[cfg(feature = "zstd")]
            Coding::Zstd => {
                let window = zstd_window(started.get_ref().0.get_ref());
                if window.is_some_and(|w| w > ZSTD_MAX_WINDOW) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "zstd: the frame asks for a {} byte window, over the {ZSTD_MAX_WINDOW} byte limit",
                            window.unwrap_or(0)
                        ),
                    ));
                }
                let decoder = ruzstd::decoding::StreamingDecoder::new(started).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))
                })?;
                Decoded::Zstd(Box::new(decoder))
            }
        })
    }
}

/// The window size a zstd frame header (RFC 8878 section 3.1.1.1) asks
/// for, when `header` starts with a whole one.
#[cfg_attr(not(feature = "zstd"), allow(dead_code))]
fn zstd_window(header: &[u8]) -> Option<u64> {
    if header.get(..4)? != [0x28, 0xb5, 0x2f, 0xfd] {
        return None;
    }
    let descriptor = *header.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    if !single_segment {
        let wd = *header.get(5)?;
        let log = 10 + u32::from(wd >> 3);
        let base = 1u64 << log;
        return Some(base + (base / 8) * u64::from(wd & 7));
    }
    // One segment: the window is the content size, after the dictionary id.
    let did_len = [0usize, 1, 2, 4][usize::from(descriptor & 3)];
    let fcs_len = [1usize, 2, 4, 8][usize::from(descriptor >> 6)];
    let at = 5 + did_len;
    let field = header.get(at..at + fcs_len)?;
    let mut le = [0u8; 8];
    le[..fcs_len].copy_from_slice(field);
    let size = u64::from_le_bytes(le);
    Some(if fcs_len == 2 { size + 256 } else { size })
}

impl Read for Decoded {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if matches!(self, Decoded::Unstarted(..)) {
            self.start()?;
        }
        match self {
            Decoded::Plain(b) => b.read(out),
            Decoded::Unstarted(..) => Ok(0),
            #[cfg(feature = "gzip")]
            Decoded::Gzip(d) => d.read(out),
            #[cfg(feature = "gzip")]
            Decoded::Deflate(d) => d.read(out),
            #[cfg(feature = "brotli")]
            Decoded::Brotli(d) => d.read(out),
            #[cfg(feature = "zstd")]
            Decoded::Zstd(d) => d.read(out),
        }
    }
}

/// Puts the decoder for `coding` (the `Content-Encoding` value) in front of
/// `body`, when decompressing and this build decodes it; a decoded body
/// fails past `limit` decoded bytes.
pub(crate) fn wrap(
    body: BodyReader,
    coding: Option<&str>,
    decompress: bool,
    limit: u64,
) -> ResponseReader {
    let coding = coding
        .filter(|_| decompress)
        .and_then(|c| Coding::from_name(c.trim()));
    let (inner, limit) = match coding {
        Some(coding) => (Decoded::Unstarted(Some(body), coding), Some(limit)),
        None => (Decoded::Plain(body), None),
    };
    ResponseReader {
        inner,
        failed: None,
        limit,
        produced: 0,
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
    /// The decoded-size cap (only when a decoder is in front).
    limit: Option<u64>,
    produced: u64,
}

/// The first failure of a [`ResponseReader`], replayed on every later read.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// The body's exchange broke; its connection was closed.
    Broken(transport::BrokenCause),
    /// The content coding did not decode.
    Decode(io::ErrorKind),
    /// The decoded body passed its cap.
    TooLarge(u64),
}

impl Failure {
    fn again(self) -> io::Error {
        match self {
            Failure::Broken(cause) => {
                io::Error::other(crate::Error::Transport(transport::Error::Broken { cause }))
            }
            Failure::TooLarge(limit) => io::Error::other(crate::Error::BodyTooLarge { limit }),
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
        let n = self.inner.read(out).map_err(|e| {
            let body = self.inner.body();
            self.failed = Some(match body.and_then(BodyReader::broken_cause) {
                Some(cause) => Failure::Broken(cause),
                None => Failure::Decode(e.kind()),
            });
            // A decoder that wrapped the transfer's error in its own (ruzstd
            // does) would make a cut connection look like a bad coding.
            match body.and_then(BodyReader::failure) {
                Some(original) if e.get_ref().is_none_or(|inner| !inner.is::<crate::Error>()) => {
                    io::Error::other(original)
                }
                _ => e,
            }
        })?;
        if let Some(limit) = self.limit {
            self.produced += n as u64;
            if self.produced > limit {
                let failure = Failure::TooLarge(limit);
                self.failed = Some(failure);
                return Err(failure.again());
            }
        }
        Ok(n)
    }
}
