//! `multipart/form-data` bodies (RFC 7578): text fields and files, sent as
//! a stream (a file part is read from its reader while the request goes
//! out, never held whole), with a boundary that cannot appear in a part:
//! chosen at random, checked against every part given as bytes, and
//! watched for in streamed parts, where finding it stops the request with
//! an error instead of sending a body the server would split wrong.
//! Field names, file names and content types with CR, LF, NUL or `"` are
//! refused before anything is sent.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::io::{self, Cursor, Read};

use crate::error::{Error, InvalidInput, Part, Result};

/// A part's content.
enum Content {
    Bytes(Vec<u8>),
    Reader(Box<dyn Read + Send>),
}

/// One part: its name, file name and type, and its content.
struct FormPart {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    content: Content,
}

/// A `multipart/form-data` body ([`crate::RequestBuilder::send_multipart`]).
///
/// ```no_run
/// use pconn_http::{Client, Multipart};
/// let client = Client::new()?;
/// let form = Multipart::new()
///     .text("title", "holiday")
///     .file("photo", "beach.jpg", "image/jpeg", std::fs::File::open("beach.jpg")?);
/// let resp = client.post("http://127.0.0.1:8080/upload").send_multipart(form)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct Multipart {
    parts: Vec<FormPart>,
    error: Option<InvalidInput>,
}

impl fmt::Debug for Multipart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.parts.iter().map(|p| p.name.as_str()).collect();
        f.debug_struct("Multipart").field("parts", &names).finish()
    }
}

/// Refuses what would break a part's header line.
fn check(text: &str) -> std::result::Result<(), InvalidInput> {
    match text.bytes().find(|b| matches!(b, b'\r' | b'\n' | 0 | b'"')) {
        Some(byte) => Err(InvalidInput::ForbiddenByte {
            part: Part::FormField,
            byte,
            text: text.to_string(),
        }),
        None => Ok(()),
    }
}

impl Multipart {
    /// An empty form.
    pub fn new() -> Multipart {
        Multipart::default()
    }

    fn push(mut self, part: FormPart) -> Multipart {
        let checked = check(&part.name)
            .and_then(|()| part.file_name.as_deref().map_or(Ok(()), check))
            .and_then(|()| part.content_type.as_deref().map_or(Ok(()), check));
        match checked {
            Ok(()) => self.parts.push(part),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// A text field.
    pub fn text(self, name: &str, value: &str) -> Multipart {
        self.push(FormPart {
            name: name.to_string(),
            file_name: None,
            content_type: None,
            content: Content::Bytes(value.as_bytes().to_vec()),
        })
    }

    /// A file whose content is in memory.
    pub fn file_bytes(
        self,
        name: &str,
        file_name: &str,
        content_type: &str,
        data: Vec<u8>,
    ) -> Multipart {
        self.push(FormPart {
            name: name.to_string(),
            file_name: Some(file_name.to_string()),
            content_type: Some(content_type.to_string()),
            content: Content::Bytes(data),
        })
    }

    /// A file read from `reader` while the request is sent.
    pub fn file(
        self,
        name: &str,
        file_name: &str,
        content_type: &str,
        reader: impl Read + Send + 'static,
    ) -> Multipart {
        self.push(FormPart {
            name: name.to_string(),
            file_name: Some(file_name.to_string()),
            content_type: Some(content_type.to_string()),
            content: Content::Reader(Box::new(reader)),
        })
    }

    /// The boundary, the body as a reader, and its length when every part
    /// is in memory.
    pub(crate) fn into_body(self) -> Result<(String, FormReader, Option<u64>)> {
        if let Some(e) = self.error {
            return Err(Error::InvalidInput(e));
        }
        let boundary = (0u32..)
            .map(random_boundary)
            .take(16)
            .find(|b| {
                let marker = format!("--{b}");
                self.parts.iter().all(|p| match &p.content {
                    Content::Bytes(bytes) => !contains(bytes, marker.as_bytes()),
                    Content::Reader(_) => true,
                })
            })
            .unwrap_or_else(|| random_boundary(u32::MAX));
        let mut pieces: Vec<Piece> = Vec::new();
        let mut length = Some(0u64);
        let mut add = |piece: Piece, length: &mut Option<u64>| {
            *length = match (&piece, *length) {
                (Piece::Fixed(c), Some(n)) => Some(n + c.get_ref().len() as u64),
                _ => None,
            };
            pieces.push(piece);
        };
        for part in self.parts {
            let mut head = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"",
                part.name
            );
            if let Some(file_name) = &part.file_name {
                head.push_str(&format!("; filename=\"{file_name}\""));
            }
            head.push_str("\r\n");
            if let Some(t) = &part.content_type {
                head.push_str(&format!("Content-Type: {t}\r\n"));
            }
            head.push_str("\r\n");
            add(Piece::Fixed(Cursor::new(head.into_bytes())), &mut length);
            match part.content {
                Content::Bytes(b) => add(Piece::Fixed(Cursor::new(b)), &mut length),
                Content::Reader(r) => add(Piece::Streamed(r), &mut length),
            }
            add(Piece::Fixed(Cursor::new(b"\r\n".to_vec())), &mut length);
        }
        add(
            Piece::Fixed(Cursor::new(format!("--{boundary}--\r\n").into_bytes())),
            &mut length,
        );
        let marker = format!("\r\n--{boundary}").into_bytes();
        let reader = FormReader {
            pieces: pieces.into_iter().collect(),
            marker,
            tail: Vec::new(),
        };
        Ok((boundary, reader, length))
    }
}

/// 32 random letters and digits (the process's hash keys and a counter).
fn random_boundary(n: u32) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let keys = RandomState::new();
    let mut out = String::from("pconn-");
    for i in 0..4u32 {
        let mut word = keys.hash_one((n, i, std::time::SystemTime::now()));
        for _ in 0..8 {
            out.push(ALPHABET[(word % ALPHABET.len() as u64) as usize] as char);
            word /= ALPHABET.len() as u64;
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

enum Piece {
    Fixed(Cursor<Vec<u8>>),
    Streamed(Box<dyn Read + Send>),
}

/// The body of a form, read piece by piece; a streamed part that turns out
/// to hold the boundary fails the read.
pub(crate) struct FormReader {
    pieces: std::collections::VecDeque<Piece>,
    /// CRLF, `--` and the boundary: what may not appear in a streamed part.
    marker: Vec<u8>,
    /// The last bytes of the current streamed part, to find a marker split
    /// across two reads.
    tail: Vec<u8>,
}

impl Read for FormReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while let Some(piece) = self.pieces.front_mut() {
            let n = match piece {
                Piece::Fixed(c) => c.read(out)?,
                Piece::Streamed(r) => {
                    let n = r.read(out)?;
                    // The tail and these bytes together: the marker must
                    // not be in them (it may start in the tail).
                    let mut window = std::mem::take(&mut self.tail);
                    window.extend_from_slice(&out[..n]);
                    if contains(&window, &self.marker[2..]) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "a streamed multipart part contains the form's boundary",
                        ));
                    }
                    let keep = window.len().min(self.marker.len());
                    self.tail = window[window.len() - keep..].to_vec();
                    n
                }
            };
            if n > 0 {
                return Ok(n);
            }
            self.pieces.pop_front();
            self.tail.clear();
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(form: Multipart) -> (String, String, Option<u64>) {
        let (boundary, mut reader, len) = form.into_body().unwrap();
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        (boundary, out, len)
    }

    #[test]
    fn fields_and_files_with_a_fresh_boundary() {
        let (b, text, len) = body(Multipart::new().text("a", "1").file_bytes(
            "f",
            "x.txt",
            "text/plain",
            b"hello".to_vec(),
        ));
        assert_eq!(len, Some(text.len() as u64));
        assert_eq!(
            text,
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
                 --{b}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\
                 Content-Type: text/plain\r\n\r\nhello\r\n--{b}--\r\n"
            )
        );
        assert!(b.len() >= 38);
        let (other, _, _) = body(Multipart::new().text("a", "1"));
        assert_ne!(b, other);
    }

    #[test]
    fn streamed_parts_have_no_length_and_may_not_hold_the_boundary() {
        let (_, text, len) = body(Multipart::new().file(
            "f",
            "a.bin",
            "application/octet-stream",
            Cursor::new(b"data".to_vec()),
        ));
        assert_eq!(len, None);
        assert!(text.contains("\r\n\r\ndata\r\n"));
        // A reader that sends the boundary back, split over two reads.
        struct Echo(Vec<u8>, usize);
        impl Read for Echo {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = (self.0.len() - self.1).min(5).min(out.len());
                out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let (b, _, _) = Multipart::new().into_body().unwrap();
        let hostile = format!("x\r\n--{b}\r\ny");
        let mut r = FormReader {
            pieces: vec![Piece::Streamed(Box::new(Echo(hostile.into_bytes(), 0)))].into(),
            marker: format!("\r\n--{b}").into_bytes(),
            tail: Vec::new(),
        };
        let err = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn names_that_would_break_the_part_head_are_refused() {
        for bad in ["a\r\nX: y", "a\"b", "a\nb", "a\0"] {
            let err = Multipart::new().text(bad, "v").into_body().err().unwrap();
            assert!(
                matches!(err, Error::InvalidInput(InvalidInput::ForbiddenByte { .. })),
                "{bad:?}"
            );
            let err = Multipart::new()
                .file_bytes("f", bad, "t/t", Vec::new())
                .into_body()
                .err()
                .unwrap();
            assert!(matches!(err, Error::InvalidInput(_)), "{bad:?}");
        }
    }
}
