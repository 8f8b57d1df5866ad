//! The reply value type, covering RESP2 and RESP3, and its `redis-cli`
//! rendering.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::server_error::ServerError;

/// One reply from the server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// Null bulk/array (RESP2) or null (RESP3).
    Nil,
    /// An integer.
    Int(i64),
    /// A bulk (blob) string: binary-safe bytes.
    Bulk(Vec<u8>),
    /// A simple status string such as `OK`, `QUEUED` or `PONG` (invalid
    /// UTF-8 from the server is replaced, as `String::from_utf8_lossy`
    /// does). A `Cow` so that the common status replies are borrowed
    /// `'static` text, not an allocation per reply; build one with
    /// `Value::Simple("OK".into())`, compare it with `&str`, take it with
    /// `into_owned()`.
    Simple(Cow<'static, str>),
    /// An error inside an aggregate (an `EXEC` or pipeline result). A
    /// top-level error reply is returned as [`crate::Error::Server`].
    Error(ServerError),
    /// An array.
    Array(Vec<Value>),
    /// A RESP3 map, in the order the server sent it.
    Map(Vec<(Value, Value)>),
    /// A RESP3 set.
    Set(Vec<Value>),
    /// A RESP3 double.
    Double(f64),
    /// A RESP3 boolean.
    Boolean(bool),
    /// A RESP3 big number, as its decimal digits.
    BigNumber(String),
    /// A RESP3 verbatim string with its format (`txt`, `mkd`).
    Verbatim {
        /// The format the server tagged the text with.
        format: VerbatimFormat,
        /// The text.
        text: String,
    },
    /// A RESP3 out-of-band push (pub/sub message, invalidation).
    Push(Vec<Value>),
}

/// The format tag of a [`Value::Verbatim`] string. A closed set: these
/// are the two RESP3 defines, and the decoder refuses any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerbatimFormat {
    /// `txt`: plain text.
    Text,
    /// `mkd`: Markdown.
    Markdown,
}

impl VerbatimFormat {
    /// The three letters on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            VerbatimFormat::Text => "txt",
            VerbatimFormat::Markdown => "mkd",
        }
    }
}

impl Value {
    /// True for `Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The bytes of a string-like value (bulk, simple, verbatim).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bulk(b) => Some(b),
            Value::Simple(s) => Some(s.as_bytes()),
            Value::Verbatim { text, .. } => Some(text.as_bytes()),
            _ => None,
        }
    }

    /// True for the status reply `OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Value::Simple(s) if s == "OK")
    }

    /// The elements of an array, set or push (maps flattened to key, value, ...).
    pub fn into_items(self) -> Option<Vec<Value>> {
        match self {
            Value::Array(v) | Value::Set(v) | Value::Push(v) => Some(v),
            Value::Map(pairs) => Some(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()),
            _ => None,
        }
    }

    /// Formats the value the way `redis-cli` prints it.
    pub fn to_cli_string(&self) -> String {
        let mut out = String::new();
        self.cli(&mut out, 0);
        out
    }

    fn cli(&self, out: &mut String, indent: usize) {
        match self {
            Value::Nil => out.push_str("(nil)"),
            Value::Int(i) => {
                let _ = write!(out, "(integer) {i}");
            }
            Value::Bulk(b) => quote(out, b),
            Value::Simple(s) => out.push_str(s),
            Value::Error(e) => {
                let _ = write!(out, "(error) {e}");
            }
            Value::Double(d) => {
                let _ = write!(out, "(double) {d}");
            }
            Value::Boolean(b) => {
                let _ = write!(out, "({b})");
            }
            Value::BigNumber(n) => {
                let _ = write!(out, "(big number) {n}");
            }
            Value::Verbatim { text, .. } => out.push_str(text),
            Value::Array(items) | Value::Set(items) | Value::Push(items) => {
                let mark = if matches!(self, Value::Set(_)) {
                    '~'
                } else {
                    ')'
                };
                if items.is_empty() {
                    out.push_str(if mark == '~' {
                        "(empty set)"
                    } else {
                        "(empty array)"
                    });
                }
                let width = items.len().to_string().len();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                        out.push_str(&" ".repeat(indent));
                    }
                    let _ = write!(out, "{:>width$}{mark} ", i + 1);
                    item.cli(out, indent + width + 2);
                }
            }
            Value::Map(pairs) => {
                if pairs.is_empty() {
                    out.push_str("(empty hash)");
                }
                let width = pairs.len().to_string().len();
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                        out.push_str(&" ".repeat(indent));
                    }
                    let _ = write!(out, "{:>width$}# ", i + 1);
                    k.cli(out, indent + width + 2);
                    out.push_str(" => ");
                    v.cli(out, indent + width + 6);
                }
            }
        }
    }
}

/// `redis-cli`'s quoting of bulk strings: printable ASCII as is, the rest escaped.
fn quote(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_format() {
        assert_eq!(Value::Nil.to_cli_string(), "(nil)");
        assert_eq!(
            Value::Bulk(b"a\"b\x01".to_vec()).to_cli_string(),
            "\"a\\\"b\\x01\""
        );
        let nested = Value::Array(vec![
            Value::Int(1),
            Value::Array(vec![Value::Simple("x".into()), Value::Nil]),
        ]);
        assert_eq!(
            nested.to_cli_string(),
            "1) (integer) 1\n2) 1) x\n   2) (nil)"
        );
        assert_eq!(Value::Array(vec![]).to_cli_string(), "(empty array)");
    }
}
