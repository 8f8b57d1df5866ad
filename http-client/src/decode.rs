//! Content decoding of response bodies: gzip and deflate with the `gzip`
//! feature (flate2), the identity otherwise.

use std::io::{self, Read};

use crate::response::{BodyReader, ResponseReader};

/// A body reader with or without a decompressor in front.
#[allow(
    clippy::large_enum_variant,
    reason = "the plain variant is the hot path; boxing it would allocate per response"
)]
pub(crate) enum Decoded {
    Plain(BodyReader),
    #[cfg(feature = "gzip")]
    Gzip(Box<flate2::read::MultiGzDecoder<BodyReader>>),
    #[cfg(feature = "gzip")]
    Deflate(Box<flate2::read::ZlibDecoder<BodyReader>>),
}

impl Decoded {
    pub(crate) fn body(&self) -> &BodyReader {
        match self {
            Decoded::Plain(b) => b,
            #[cfg(feature = "gzip")]
            Decoded::Gzip(d) => d.get_ref(),
            #[cfg(feature = "gzip")]
            Decoded::Deflate(d) => d.get_ref(),
        }
    }
}

impl Read for Decoded {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(b) => b.read(out),
            #[cfg(feature = "gzip")]
            Decoded::Gzip(d) => d.read(out),
            #[cfg(feature = "gzip")]
            Decoded::Deflate(d) => d.read(out),
        }
    }
}

/// Puts the decoder for `coding` (lowercase `Content-Encoding`) in front of `body`.
pub(crate) fn wrap(body: BodyReader, coding: Option<&str>, decompress: bool) -> ResponseReader {
    #[cfg(feature = "gzip")]
    if decompress {
        match coding {
            Some("gzip" | "x-gzip") => {
                return ResponseReader {
                    inner: Decoded::Gzip(Box::new(flate2::read::MultiGzDecoder::new(body))),
                }
            }
            Some("deflate") => {
                return ResponseReader {
                    inner: Decoded::Deflate(Box::new(flate2::read::ZlibDecoder::new(body))),
                }
            }
            _ => {}
        }
    }
    let _ = (coding, decompress);
    ResponseReader {
        inner: Decoded::Plain(body),
    }
}
