//! The reply value type, covering RESP2 and RESP3, and server errors.

use std::borrow::Borrow;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::ops::Deref;

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
    /// A simple status string such as `OK`, `QUEUED` or `PONG`: a
    /// [`SimpleString`], which keeps short text inline (no allocation).
    /// Build one with `Value::Simple("OK".into())`; it compares with `&str`
    /// and `String`, derefs to `str` and converts into `String`.
    Simple(SimpleString),
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

    /// True for the status reply `OK`. Inlined, a length and a two-byte
    /// compare: callers check it on every reply of a pipeline.
    #[inline]
    pub fn is_ok(&self) -> bool {
        matches!(self, Value::Simple(s) if s.as_bytes() == b"OK")
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
            Value::Simple(s) => out.push_str(s.as_str()),
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

/// The text of a simple-string reply (`+OK`, `+QUEUED`, a `TYPE` name).
///
/// Up to [`SimpleString::INLINE`] bytes are stored inside the value itself,
/// so the usual status replies cost no heap allocation (a pipeline of
/// `SET`s gets one `+OK` per command); longer text is boxed. It behaves as
/// a `str`: `Deref<Target = str>`, `as_str`, comparisons with `str`,
/// `&str` and `String`, `Display`, and conversions from `&str`/`String`
/// and into `String`/`Vec<u8>`. Its `Debug` form is the string's.
#[derive(Clone)]
pub struct SimpleString(Repr);

#[derive(Clone, Debug)]
enum Repr {
    /// Always valid UTF-8: only ever filled from a `str`.
    Inline {
        len: u8,
        bytes: [u8; SimpleString::INLINE],
    },
    Heap(Box<str>),
    /// One of the common replies (`OK`, `QUEUED`, `PONG`): no copy at all.
    Static(&'static str),
}

impl SimpleString {
    /// The longest text kept inline, in bytes.
    pub const INLINE: usize = 22;

    /// Copies `s` (inline when it is short).
    pub fn new(s: &str) -> SimpleString {
        if s.len() <= Self::INLINE {
            let mut bytes = [0; Self::INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            SimpleString(Repr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            SimpleString(Repr::Heap(s.into()))
        }
    }

    /// From a reply's bytes: the common replies without a copy, other short
    /// ASCII text inline without a UTF-8 pass, the rest checked (invalid
    /// UTF-8 replaced, as `String::from_utf8_lossy` does).
    #[inline(always)]
    pub(crate) fn from_reply(bytes: &[u8]) -> SimpleString {
        match bytes {
            b"OK" => return SimpleString(Repr::Static("OK")),
            b"QUEUED" => return SimpleString(Repr::Static("QUEUED")),
            b"PONG" => return SimpleString(Repr::Static("PONG")),
            _ => {}
        }
        if bytes.len() <= Self::INLINE && bytes.is_ascii() {
            // ASCII is UTF-8: the inline invariant holds.
            let mut inline = [0; Self::INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            return SimpleString(Repr::Inline {
                len: bytes.len() as u8,
                bytes: inline,
            });
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => SimpleString::new(s),
            Err(_) => String::from_utf8_lossy(bytes).into_owned().into(),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            // Inline bytes were copied whole from a `str`, so this never
            // fails; the check is a few instructions on such short text and
            // keeps the crate free of `unsafe`.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..*len as usize]).unwrap_or_default()
            }
            Repr::Heap(s) => s,
        }
    }

    /// The text's bytes (no UTF-8 check).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..*len as usize],
            Repr::Heap(s) => s.as_bytes(),
            Repr::Static(s) => s.as_bytes(),
        }
    }

    /// The text as an owned `String`.
    pub fn into_string(self) -> String {
        match self.0 {
            Repr::Inline { .. } => self.as_str().to_owned(),
            Repr::Heap(s) => s.into_string(),
            Repr::Static(s) => s.to_owned(),
        }
    }

    /// The text's bytes as an owned `Vec`.
    pub fn into_bytes(self) -> Vec<u8> {
        self.into_string().into_bytes()
    }
}

impl Default for SimpleString {
    fn default() -> SimpleString {
        SimpleString::new("")
    }
}

impl Deref for SimpleString {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SimpleString {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for SimpleString {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<str> for SimpleString {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for SimpleString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SimpleString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for SimpleString {
    fn eq(&self, other: &SimpleString) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SimpleString {}

impl PartialOrd for SimpleString {
    fn partial_cmp(&self, other: &SimpleString) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SimpleString {
    fn cmp(&self, other: &SimpleString) -> std::cmp::Ordering {
        // Byte order is `str` order.
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for SimpleString {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `str` hashes, so `Borrow<str>` lookups work.
        self.as_str().hash(state)
    }
}

macro_rules! simple_string_eq {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for SimpleString {
            fn eq(&self, other: &$t) -> bool {
                self.as_bytes() == AsRef::<[u8]>::as_ref(other)
            }
        }
        impl PartialEq<SimpleString> for $t {
            fn eq(&self, other: &SimpleString) -> bool {
                other == self
            }
        }
    )*};
}
simple_string_eq!(str, &str, String);

impl From<&str> for SimpleString {
    fn from(s: &str) -> SimpleString {
        SimpleString::new(s)
    }
}

impl From<String> for SimpleString {
    fn from(s: String) -> SimpleString {
        if s.len() <= SimpleString::INLINE {
            SimpleString::new(&s)
        } else {
            SimpleString(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<SimpleString> for String {
    fn from(s: SimpleString) -> String {
        s.into_string()
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

/// An error reply: the code (first word, e.g. `ERR`, `WRONGTYPE`, `MOVED`)
/// and the rest of the message. A normal reply: it never closes the connection.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerError(
    // Boxed: errors are rare, and a pipeline result (`Result<Value,
    // ServerError>`) then stays the size of a `Value`.
    Box<ErrorText>,
);

#[derive(Clone, PartialEq, Eq)]
struct ErrorText {
    code: String,
    message: String,
}

impl fmt::Debug for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerError")
            .field("code", &self.0.code)
            .field("message", &self.0.message)
            .finish()
    }
}

/// What kind of error the server reported, from its code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// `ERR`: a generic error.
    Generic,
    /// `WRONGTYPE`: the key holds another type.
    WrongType,
    /// `NOAUTH`: authentication required.
    NoAuth,
    /// `WRONGPASS`: bad user or password.
    WrongPass,
    /// `NOPERM`: the ACL user lacks the right.
    NoPerm,
    /// `MOVED slot host:port`: cluster redirect.
    Moved {
        /// The hash slot.
        slot: u16,
        /// Where it lives now.
        addr: String,
    },
    /// `ASK slot host:port`: one-time cluster redirect.
    Ask {
        /// The hash slot.
        slot: u16,
        /// Where to ask.
        addr: String,
    },
    /// `NOSCRIPT`: EVALSHA of an unknown script.
    NoScript,
    /// `EXECABORT`: the transaction was discarded because of queuing errors.
    ExecAbort,
    /// `BUSY`: a script is running.
    Busy,
    /// `LOADING`: the server is loading its dataset.
    Loading,
    /// `READONLY`: a write against a replica.
    ReadOnly,
    /// `NOPROTO`: unsupported protocol version in HELLO.
    NoProto,
    /// `ERR max number of clients reached`: the server's `maxclients` limit;
    /// it closes the connection after saying so. A fleet of processes whose
    /// pools together may open more than the server's limit gets this.
    MaxClients,
    /// Any other code.
    Other,
}

impl ServerError {
    /// Splits `CODE message` as Redis sends it.
    pub fn parse(line: &str) -> ServerError {
        let (code, message) = line.split_once(' ').unwrap_or((line, ""));
        ServerError(Box::new(ErrorText {
            code: code.to_string(),
            message: message.to_string(),
        }))
    }

    /// The error code (first word).
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// The message after the code.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The typed kind of the code.
    pub fn kind(&self) -> ServerErrorKind {
        let redirect = || {
            let mut parts = self.0.message.split_whitespace();
            let slot = parts.next()?.parse().ok()?;
            let addr = parts.next()?.to_string();
            Some((slot, addr))
        };
        match self.0.code.as_str() {
            "ERR" if self.0.message.starts_with("max number of clients reached") => {
                ServerErrorKind::MaxClients
            }
            "ERR" => ServerErrorKind::Generic,
            "WRONGTYPE" => ServerErrorKind::WrongType,
            "NOAUTH" => ServerErrorKind::NoAuth,
            "WRONGPASS" => ServerErrorKind::WrongPass,
            "NOPERM" => ServerErrorKind::NoPerm,
            "NOSCRIPT" => ServerErrorKind::NoScript,
            "EXECABORT" => ServerErrorKind::ExecAbort,
            "BUSY" => ServerErrorKind::Busy,
            "LOADING" => ServerErrorKind::Loading,
            "READONLY" => ServerErrorKind::ReadOnly,
            "NOPROTO" => ServerErrorKind::NoProto,
            "MOVED" => redirect().map_or(ServerErrorKind::Other, |(slot, addr)| {
                ServerErrorKind::Moved { slot, addr }
            }),
            "ASK" => redirect().map_or(ServerErrorKind::Other, |(slot, addr)| {
                ServerErrorKind::Ask { slot, addr }
            }),
            _ => ServerErrorKind::Other,
        }
    }

    /// True for "unknown command" errors (servers without HELLO).
    pub fn is_unknown_command(&self) -> bool {
        self.0.code == "ERR" && self.0.message.starts_with("unknown command")
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.message.is_empty() {
            f.write_str(&self.0.code)
        } else {
            write!(f, "{} {}", self.0.code, self.0.message)
        }
    }
}

impl std::error::Error for ServerError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_kinds() {
        let e = ServerError::parse("MOVED 3999 127.0.0.1:6381");
        assert_eq!(
            e.kind(),
            ServerErrorKind::Moved {
                slot: 3999,
                addr: "127.0.0.1:6381".into()
            }
        );
        assert_eq!(
            ServerError::parse("WRONGTYPE x").kind(),
            ServerErrorKind::WrongType
        );
        assert_eq!(
            ServerError::parse("ASK 1 h:1").kind(),
            ServerErrorKind::Ask {
                slot: 1,
                addr: "h:1".into()
            }
        );
        assert!(ServerError::parse("ERR unknown command 'HELLO'").is_unknown_command());
        assert_eq!(ServerError::parse("NOSCRIPT x").to_string(), "NOSCRIPT x");
        assert_eq!(
            ServerError::parse("ERR max number of clients reached").kind(),
            ServerErrorKind::MaxClients
        );
        assert_eq!(
            ServerError::parse("ERR other").kind(),
            ServerErrorKind::Generic
        );
    }

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

    #[test]
    fn simple_string() {
        let ok = SimpleString::from("OK");
        assert!(matches!(ok.0, Repr::Inline { .. }));
        assert_eq!(ok, "OK");
        assert_eq!("OK", ok);
        assert_eq!(ok, String::from("OK"));
        assert_ne!(ok, "OKAY");
        assert_eq!(ok.as_str(), "OK");
        assert_eq!(ok.len(), 2);
        assert_eq!(format!("{ok} {ok:?}"), "OK \"OK\"");
        assert!(Value::Simple("OK".into()).is_ok());
        assert!(!Value::Simple("QUEUED".into()).is_ok());
        let long = "Background saving started, and more";
        let heap = SimpleString::from(long.to_string());
        assert!(matches!(heap.0, Repr::Heap(_)));
        assert_eq!(heap, long);
        assert_eq!(heap.clone().into_string(), long);
        let edge = "é".repeat(SimpleString::INLINE / 2);
        let inline = SimpleString::from(edge.as_str());
        assert!(matches!(inline.0, Repr::Inline { .. }));
        assert_eq!(inline.as_str(), edge);
        assert_eq!(String::from(inline), edge);
        assert_eq!(SimpleString::default(), "");
        for (wire, repr) in [("OK", "Static"), ("PONG", "Static"), ("string", "Inline")] {
            let s = SimpleString::from_reply(wire.as_bytes());
            assert_eq!(s, wire);
            assert_eq!(s.as_str(), wire);
            assert_eq!(s, SimpleString::from(wire));
            assert!(format!("{:?}", s.0).starts_with(repr), "{wire}");
        }
        let lossy = SimpleString::from_reply(b"caf\xe9");
        assert_eq!(lossy, "caf\u{fffd}");
        let long = SimpleString::from_reply(long.as_bytes());
        assert!(matches!(long.0, Repr::Heap(_)));
        assert_eq!(long, heap);
        assert_eq!(
            std::collections::HashSet::from([SimpleString::from("PONG")]).get("PONG"),
            Some(&SimpleString::from("PONG"))
        );
    }
}
