//! Header fields: case-insensitive names, repeatable, in order.
//!
//! A response head's fields are copied in one piece, as they lie in the
//! bytes httparse parsed, with a record per field of where its name and
//! value are: one copy per head instead of two per field (about 900
//! instructions per response of the keep-alive benchmark's five fields).

use std::fmt;

/// An ordered list of header fields. Names compare case-insensitively; a
/// name may repeat. The names and values are kept one after another in one
/// byte buffer, with a small record per field saying where its name and
/// value lie and which of the names the client itself looks up it is.
#[derive(Clone, Default)]
pub struct Headers {
    bytes: Vec<u8>,
    fields: Vec<Field>,
}

/// Where one field lies in [`Headers::bytes`]: the name from `start` to
/// `name_end`, the value from `value_start` to `end`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Field {
    start: usize,
    name_end: usize,
    value_start: usize,
    end: usize,
    known: Option<Known>,
}

/// Names the client itself looks up on every exchange, recognised once
/// when a field is added.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Known {
    Host,
    UserAgent,
    Connection,
    ContentLength,
    TransferEncoding,
    ContentEncoding,
    AcceptEncoding,
    Expect,
}

impl Known {
    /// The well-known name `name` is (any case), if it is one: one
    /// comparison, picked by length (every response field goes through here).
    pub(crate) fn of(name: &[u8]) -> Option<Known> {
        let is = |lower: &[u8], known| is_lowercase_of(name, lower).then_some(known);
        match name.len() {
            4 => is(b"host", Known::Host),
            6 => is(b"expect", Known::Expect),
            10 if name[0].eq_ignore_ascii_case(&b'u') => is(b"user-agent", Known::UserAgent),
            10 => is(b"connection", Known::Connection),
            14 => is(b"content-length", Known::ContentLength),
            15 => is(b"accept-encoding", Known::AcceptEncoding),
            16 => is(b"content-encoding", Known::ContentEncoding),
            17 => is(b"transfer-encoding", Known::TransferEncoding),
            _ => None,
        }
    }
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// An empty list with room for `fields` fields of `bytes` bytes in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Headers {
        Headers {
            bytes: Vec::with_capacity(bytes),
            fields: Vec::with_capacity(fields),
        }
    }

    /// The fields httparse found in `head` (the bytes it parsed), copied;
    /// each field with a well-known name is also shown to `known_field`
    /// (its name and value), in order.
    pub(crate) fn from_parsed(
        head: &[u8],
        fields: &[httparse::Header<'_>],
        mut known_field: impl FnMut(Known, &[u8]),
    ) -> Headers {
        let mut records = Vec::with_capacity(fields.len());
        let mut end = 0;
        for (i, f) in fields.iter().enumerate() {
            let (Some((start, name_end)), Some((value_start, value_end))) =
                (range_in(head, f.name.as_bytes()), range_in(head, f.value))
            else {
                return Headers::copied(fields, i, known_field);
            };
            end = end.max(value_end);
            let known = Known::of(f.name.as_bytes());
            if let Some(known) = known {
                known_field(known, f.value);
            }
            records.push(Field {
                start,
                name_end,
                value_start,
                end: value_end,
                known,
            });
        }
        // The records are offsets into `head`: it is copied up to the end of
        // the last value, status line included (a few bytes more, no offset
        // to shift).
        Headers {
            bytes: head[..end].to_vec(),
            fields: records,
        }
    }

    /// The fields copied one by one, for fields that are not all slices of
    /// the bytes parsed; `known_field` sees those from `shown` on (the ones
    /// before were shown already).
    fn copied(
        fields: &[httparse::Header<'_>],
        shown: usize,
        mut known_field: impl FnMut(Known, &[u8]),
    ) -> Headers {
        let mut headers = Headers::with_capacity(fields.len(), 256);
        for (i, f) in fields.iter().enumerate() {
            let known = headers.push_raw(f.name.as_bytes(), f.value);
            if let (Some(known), true) = (known, i >= shown) {
                known_field(known, f.value);
            }
        }
        headers
    }

    /// Appends a field without checking it (callers check names and values
    /// where they enter: `proto::check_header` or httparse), and
    /// says which well-known name it has.
    pub(crate) fn push_raw(&mut self, name: &[u8], value: &[u8]) -> Option<Known> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(value);
        let known = Known::of(name);
        self.fields.push(Field {
            start,
            name_end: start + name.len(),
            value_start: start + name.len(),
            end: self.bytes.len(),
            known,
        });
        known
    }

    fn name_of(&self, f: &Field) -> &[u8] {
        &self.bytes[f.start..f.name_end]
    }

    fn value_of(&self, f: &Field) -> &[u8] {
        &self.bytes[f.value_start..f.end]
    }

    /// True when field `f` is named `name` (any case).
    fn is_named(&self, f: &Field, name: &[u8]) -> bool {
        self.name_of(f).eq_ignore_ascii_case(name)
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there is no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// True when a field named `name` (any case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }

    /// True when a field with a well-known name is present.
    pub(crate) fn has(&self, known: Known) -> bool {
        self.fields.iter().any(|f| f.known == Some(known))
    }

    /// The first value of a well-known name.
    pub(crate) fn get_known(&self, known: Known) -> Option<&[u8]> {
        self.get_all_known(known).next()
    }

    /// Every value of a well-known name, in order.
    pub(crate) fn get_all_known(&self, known: Known) -> impl Iterator<Item = &[u8]> + '_ {
        self.fields
            .iter()
            .filter(move |f| f.known == Some(known))
            .map(|f| self.value_of(f))
    }

    /// Every field with a well-known name, in order, as (name, value).
    pub(crate) fn known_values(&self) -> impl Iterator<Item = (Known, &[u8])> + '_ {
        self.fields
            .iter()
            .filter_map(|f| f.known.map(|k| (k, self.value_of(f))))
    }

    /// The first value of `name` (any case) as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|f| self.is_named(f, name.as_bytes()))
            .map(|f| self.value_of(f))
    }

    /// The first value of `name` (any case), if it is UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name` (any case), in order, as bytes.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |f| self.is_named(f, name.as_bytes()))
            .map(|f| self.value_of(f))
    }

    /// Every field in order, as (name, value bytes).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.iter().map(move |f| {
            // Names entered only through token checks or httparse: ASCII.
            let name = std::str::from_utf8(self.name_of(f)).unwrap_or("");
            (name, self.value_of(f))
        })
    }

    /// Removes every field named `name` (any case); true if any was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.fields.len();
        let bytes = &self.bytes;
        // The bytes stay: dropping them would move every other field.
        self.fields
            .retain(|f| !bytes[f.start..f.name_end].eq_ignore_ascii_case(name.as_bytes()));
        self.fields.len() != before
    }

    /// Adds a field, checked: the name a token, the value without CR, LF,
    /// NUL or other controls (what a [`crate::Middleware`] adds to a
    /// response, say).
    pub fn append(&mut self, name: &str, value: &str) -> Result<(), crate::proto::InvalidInput> {
        crate::proto::check_header(name, value.as_bytes())?;
        self.push_raw(name.as_bytes(), value.as_bytes());
        Ok(())
    }

    /// True when any value of `name` holds `token` in its comma-separated
    /// list (any case): `Connection: keep-alive, close` has `close`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|v| list_has(v, token))
    }

    /// [`Headers::has_token`] for a well-known name.
    pub(crate) fn has_token_known(&self, known: Known, token: &str) -> bool {
        self.get_all_known(known).any(|v| list_has(v, token))
    }
}

/// Where `part` lies in `whole` (start, end), when it is a slice of it.
fn range_in(whole: &[u8], part: &[u8]) -> Option<(usize, usize)> {
    let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    (start <= whole.len() && part.len() <= whole.len() - start)
        .then_some((start, start + part.len()))
}

/// True when `v` is exactly `keep-alive` (any case): the usual
/// `Connection` value of a response.
pub(crate) fn is_keep_alive(v: &[u8]) -> bool {
    is_lowercase_of(v, b"keep-alive")
}

/// True when `v` is `lower` (a lowercase literal) in any case. Every
/// response field name goes through here: only `v` is lowered (where
/// `eq_ignore_ascii_case` lowers both sides), and the differences are
/// gathered with no early exit, which the compiler turns into a few vector
/// instructions for a literal of known length (a loop that stops at the
/// first difference costs ~12 instructions a byte).
#[inline]
fn is_lowercase_of(v: &[u8], lower: &[u8]) -> bool {
    v.len() == lower.len()
        && v.iter()
            .zip(lower)
            .fold(0, |differ, (a, b)| differ | (a.to_ascii_lowercase() ^ b))
            == 0
}

/// True when the comma-separated list `v` holds `token` (any case).
pub(crate) fn list_has(v: &[u8], token: &str) -> bool {
    v.split(|b| *b == b',')
        .any(|element| trim(element).eq_ignore_ascii_case(token.as_bytes()))
}

impl PartialEq for Headers {
    /// The same fields in the same order (names compared as written).
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

/// Trims optional whitespace (SP, HTAB) from both ends.
pub(crate) fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, value) in self.iter() {
            // Credentials must not end up in logs.
            if name.eq_ignore_ascii_case("authorization")
                || name.eq_ignore_ascii_case("proxy-authorization")
                || name.eq_ignore_ascii_case("cookie")
            {
                list.entry(&format_args!("{name}: <redacted>"));
            } else {
                list.entry(&format_args!("{name}: {}", String::from_utf8_lossy(value)));
            }
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_repeatable() {
        let mut h = Headers::new();
        h.push_raw(b"Set-Cookie", b"a=1");
        h.push_raw(b"content-type", b"text/plain");
        h.push_raw(b"SET-COOKIE", b"b=2");
        assert_eq!(h.get("Content-Type"), Some("text/plain"));
        let all: Vec<_> = h.get_all("set-cookie").collect();
        assert_eq!(all, vec![&b"a=1"[..], &b"b=2"[..]]);
        assert!(h.remove("Set-cookie"));
        assert_eq!(h.len(), 1);
        assert!(!h.contains("set-cookie"));
    }

    #[test]
    fn fields_pushed_after_a_parse_or_a_removal_keep_their_order() {
        let raw = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 22\r\n\r\n";
        let mut fields = [httparse::EMPTY_HEADER; 4];
        let mut resp = httparse::Response::new(&mut fields);
        resp.parse(raw).unwrap();
        let mut h = Headers::from_parsed(raw, resp.headers, |_, _| {});
        h.push_raw(b"Host", b"example.com");
        h.push_raw(b"a", b"333");
        assert!(h.remove("b"));
        assert!(!h.remove("b"));
        h.push_raw(b"C", b"");
        let all: Vec<_> = h.iter().collect();
        assert_eq!(
            all,
            [
                ("A", &b"1"[..]),
                ("Host", b"example.com"),
                ("a", b"333"),
                ("C", b"")
            ]
        );
        assert_eq!(h.get_all("A").collect::<Vec<_>>(), [&b"1"[..], b"333"]);
        assert_eq!(h.get_known(Known::Host), Some(&b"example.com"[..]));
        assert_eq!(h.len(), 4);
        let empty = Headers::with_capacity(2, 16);
        assert!(empty.is_empty() && empty.get("a").is_none() && empty.iter().next().is_none());
    }

    #[test]
    fn a_bare_keep_alive_is_recognised_in_any_case_only_whole() {
        for v in [&b"keep-alive"[..], b"Keep-Alive", b"KEEP-ALIVE"] {
            assert!(is_keep_alive(v) && list_has(v, "keep-alive") && !list_has(v, "close"));
        }
        for v in [
            &b" keep-alive"[..],
            b"keep-alive ",
            b"keep_alive",
            b"keep-alivE,",
            b"close",
            b"",
        ] {
            assert!(!is_keep_alive(v), "{v:?}");
        }
    }

    #[test]
    fn single_and_listed_tokens() {
        assert!(list_has(b"keep-alive", "keep-alive"));
        assert!(!list_has(b"keep-alive", "close"));
        assert!(list_has(b" Close ", "close"));
        assert!(list_has(b"a, b,close", "close"));
        assert!(!list_has(b"a, b,closer", "close"));
    }

    #[test]
    fn tokens_in_lists() {
        let mut h = Headers::new();
        h.push_raw(b"Connection", b"Keep-Alive , Close");
        assert!(h.has_token("connection", "close"));
        assert!(h.has_token("connection", "keep-alive"));
        assert!(!h.has_token("connection", "upgrade"));
    }

    #[test]
    fn parsed_fields_are_copied_with_their_names_classified() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-LENGTH: 5\r\nX-Empty:\r\nconnection: a, Close\r\nUser-Agentx: u\r\n\r\n";
        let mut fields = [httparse::EMPTY_HEADER; 8];
        let mut resp = httparse::Response::new(&mut fields);
        resp.parse(raw).unwrap();
        let h = Headers::from_parsed(raw, resp.headers, |_, _| {});
        assert_eq!(h.len(), 4);
        assert_eq!(h.get("content-length"), Some("5"));
        assert_eq!(h.get_known(Known::ContentLength), Some(&b"5"[..]));
        assert_eq!(h.get("x-empty"), Some(""));
        assert!(h.has_token_known(Known::Connection, "close"));
        assert!(h.has_token("Connection", "close"));
        assert!(!h.has(Known::UserAgent));
        assert_eq!(h.get("user-agentx"), Some("u"));
        assert_eq!(h.get("user-agent"), None);
        let names: Vec<_> = h.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["Content-LENGTH", "X-Empty", "connection", "User-Agentx"]
        );
        let mut copy = Headers::new();
        for (n, v) in h.iter() {
            copy.push_raw(n.as_bytes(), v);
        }
        assert_eq!(copy, h);
        let mut h = h;
        assert!(h.remove("CONNECTION"));
        assert!(!h.has(Known::Connection));
        assert!(!h.contains("connection"));
        assert_ne!(copy, h);
    }

    #[test]
    fn well_known_names_match_exactly_in_any_case() {
        let names: [&[u8]; 8] = [
            b"host",
            b"expect",
            b"user-agent",
            b"connection",
            b"content-length",
            b"accept-encoding",
            b"content-encoding",
            b"transfer-encoding",
        ];
        for name in names {
            let kind = Known::of(name);
            assert!(kind.is_some(), "{name:?}");
            let upper = name.to_ascii_uppercase();
            assert_eq!(Known::of(&upper), kind);
            // Every single-byte change either still matches case-insensitively
            // or is not the name.
            for i in 0..name.len() {
                for b in 0..=255u8 {
                    let mut other = name.to_vec();
                    other[i] = b;
                    let same = other.eq_ignore_ascii_case(name);
                    assert_eq!(Known::of(&other) == kind, same, "{other:?}");
                }
            }
        }
        assert_eq!(Known::of(b"content-type"), None);
        assert_eq!(Known::of(b"date"), None);
    }

    /// The fields `from_parsed` showed to its callback, as text.
    fn shown(buf: &[u8], fields: &[httparse::Header<'_>]) -> (Headers, Vec<(Known, String)>) {
        let mut shown = Vec::new();
        let h = Headers::from_parsed(buf, fields, |kind, value| {
            shown.push((kind, String::from_utf8_lossy(value).into_owned()));
        });
        (h, shown)
    }

    #[test]
    fn fields_from_anywhere_are_copied_and_shown_once_in_order() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nConnection: close\r\n\r\n";
        let mut fields = [httparse::EMPTY_HEADER; 4];
        let mut resp = httparse::Response::new(&mut fields);
        resp.parse(raw).unwrap();
        let parsed = resp.headers.to_vec();
        let expected = [
            (Known::ContentLength, "5".to_string()),
            (Known::Connection, "close".to_string()),
        ];
        let (whole, seen) = shown(raw, &parsed);
        assert_eq!(seen, expected);
        // A field from elsewhere in the middle (found after two were
        // shown), and one at the start.
        let elsewhere = httparse::Header {
            name: "X-B",
            value: b"2",
        };
        for at in [1, 0] {
            let mut fields = parsed.clone();
            fields.insert(at, elsewhere);
            let (h, seen) = shown(raw, &fields);
            assert_eq!(seen, expected, "at {at}");
            assert_eq!(h.len(), 4);
            assert_eq!(h.get("x-b"), Some("2"));
            assert_eq!(h.get_known(Known::ContentLength), Some(&b"5"[..]));
            assert!(h.has_token_known(Known::Connection, "close"));
            let mut again = whole.clone();
            assert!(!again.contains("x-b"));
            again.push_raw(b"X-B", b"2");
            assert_eq!(again.len(), 4);
        }
    }

    #[test]
    fn debug_redacts_credentials() {
        let mut h = Headers::new();
        h.push_raw(b"Authorization", b"Bearer hunter2");
        assert!(!format!("{h:?}").contains("hunter2"));
    }
}
