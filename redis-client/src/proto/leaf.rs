//! The values of one-line and blob replies, from bytes the scan has
//! already framed and checked against the limits.
//!
//! One fast path lives here: the status replies nearly every write gets
//! (`OK`, `QUEUED`, `PONG`) are `'static` text, not a `String` each. It
//! saves an allocation and a free per reply, measured with callgrind on
//! the pipelined `SET` benchmark (bench/redis): ~745 -> ~450 client
//! instructions per command.

use std::borrow::Cow;

use super::ProtoError;
use crate::server_error::ServerError;
use crate::value::{Value, VerbatimFormat};

/// A one-line reply: `+` simple string, `-` error, `,` double, `(` big number.
pub(super) fn line(kind: u8, line: &[u8]) -> Result<Value, ProtoError> {
    Ok(match kind {
        b'+' => Value::Simple(match line {
            b"OK" => Cow::Borrowed("OK"),
            b"QUEUED" => Cow::Borrowed("QUEUED"),
            b"PONG" => Cow::Borrowed("PONG"),
            _ => Cow::Owned(text(line)),
        }),
        b'-' => Value::Error(ServerError::parse(&text(line))),
        b',' => Value::Double(
            std::str::from_utf8(line)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| malformed("double", line))?,
        ),
        _ => {
            let digits = line.strip_prefix(b"-").unwrap_or(line);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(malformed("big number", line));
            }
            Value::BigNumber(text(line))
        }
    })
}

/// A blob reply: `$` bulk string, `!` blob error, `=` verbatim string.
pub(super) fn blob(kind: u8, bytes: &[u8]) -> Result<Value, ProtoError> {
    Ok(match kind {
        b'$' => Value::Bulk(bytes.to_vec()),
        b'!' => Value::Error(ServerError::parse(&text(bytes))),
        _ => {
            let format = match bytes.get(..4) {
                Some(b"txt:") => VerbatimFormat::Text,
                Some(b"mkd:") => VerbatimFormat::Markdown,
                _ => return Err(malformed("verbatim string format", bytes)),
            };
            Value::Verbatim {
                format,
                text: text(&bytes[4..]),
            }
        }
    })
}

/// Text of a reply: UTF-8 as it is, anything else replaced (lossy).
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn malformed(what: &str, bytes: &[u8]) -> ProtoError {
    ProtoError::Malformed(format!(
        "invalid {what} {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(32)])
    ))
}
