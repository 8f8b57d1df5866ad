//! Header fields: case-insensitive names, repeatable, kept in one buffer.

use std::cell::Cell;
use std::fmt;

/// An ordered list of header fields. Names compare case-insensitively; a
/// name may repeat. Names, values and their index live in one buffer, so a
/// response head costs one allocation however many fields it has (its
/// fields are copied in one piece, and indexed where they lie), and none
/// when the buffer the last head dropped on the thread left is reused.
#[derive(Clone, Default)]
pub struct Headers {
    /// The names and values, then one [`RECORD`]-byte index record per
    /// field ([`Entry`], little-endian), in order.
    buf: Vec<u8>,
    /// The number of fields: records at the end of `buf`.
    count: u32,
    /// The well-known names present (a bit per [`Known`]), so the lookups
    /// of the hot path (framing, keep-alive, defaults) compare a byte per
    /// field, or nothing when the name is absent.
    known: u16,
}

/// Where one field lies in [`Headers::buf`].
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    name: (u32, u32),
    value: (u32, u32),
    /// [`Known`] as a number, `OTHER` for any other name.
    kind: u8,
}

/// The bytes of an [`Entry`] record: four offsets and the kind.
const RECORD: usize = 17;

impl Entry {
    fn encode(self) -> [u8; RECORD] {
        let mut r = [0u8; RECORD];
        r[0..4].copy_from_slice(&self.name.0.to_le_bytes());
        r[4..8].copy_from_slice(&self.name.1.to_le_bytes());
        r[8..12].copy_from_slice(&self.value.0.to_le_bytes());
        r[12..16].copy_from_slice(&self.value.1.to_le_bytes());
        r[16] = self.kind;
        r
    }

    fn decode(r: &[u8; RECORD]) -> Entry {
        let word = |at: usize| u32::from_le_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]]);
        Entry {
            name: (word(0), word(4)),
            value: (word(8), word(12)),
            kind: r[16],
        }
    }
}

const OTHER: u8 = u8::MAX;

/// The largest buffer a dropped [`Headers`] leaves for the next head.
const SPARE_MAX: usize = 4096;

thread_local! {
    /// The buffer of the last [`Headers`] dropped on this thread, emptied,
    /// for the next head parsed: a client that reads one response after
    /// another reuses one buffer instead of an allocation and a free per
    /// head. Only small buffers wait here, one per thread.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// An empty buffer with room for `capacity` bytes: the spare one when
/// there is one.
#[inline]
fn spare_buffer(capacity: usize) -> Vec<u8> {
    // Fails only while the thread exits: a new buffer then.
    let mut buf = SPARE.try_with(Cell::take).unwrap_or_default();
    buf.reserve(capacity);
    buf
}

impl Drop for Headers {
    fn drop(&mut self) {
        let capacity = self.buf.capacity();
        if capacity != 0 && capacity <= SPARE_MAX {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            // What it replaces (usually nothing) is freed; while the thread
            // exits the buffer itself is.
            let _ = SPARE.try_with(move |spare| spare.replace(buf));
        }
    }
}

/// Names the client itself looks up on every exchange.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
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

/// The [`Known`] number of a name (any case), or `OTHER`.
#[inline]
fn classify(name: &[u8]) -> u8 {
    let (candidate, known): (&[u8], Known) = match name.len() {
        4 => (b"host", Known::Host),
        6 => (b"expect", Known::Expect),
        10 => match name[0] | 0x20 {
            b'u' => (b"user-agent", Known::UserAgent),
            _ => (b"connection", Known::Connection),
        },
        14 => (b"content-length", Known::ContentLength),
        15 => (b"accept-encoding", Known::AcceptEncoding),
        16 => (b"content-encoding", Known::ContentEncoding),
        17 => (b"transfer-encoding", Known::TransferEncoding),
        _ => return OTHER,
    };
    if eq_lower(name, candidate) {
        known as u8
    } else {
        OTHER
    }
}

/// Where `part` starts, relative to `first_at`, when it lies wholly within
/// the `span` bytes from there (two compares, no overflow: `at <= span`
/// comes first).
#[inline(always)]
fn offset_in(part: &[u8], first_at: usize, span: usize) -> Option<usize> {
    let at = (part.as_ptr() as usize).wrapping_sub(first_at);
    (at <= span && part.len() <= span - at).then_some(at)
}

/// `name.eq_ignore_ascii_case(lower)` for a `lower` of the same length,
/// at least 4 bytes, of lowercase letters and `-` only, a word at a time:
/// a letter of `lower` matches either case, a `-` only itself.
/// Always inlined: with `lower` a constant it folds to a few word compares.
#[inline(always)]
fn eq_lower(name: &[u8], lower: &[u8]) -> bool {
    debug_assert_eq!(name.len(), lower.len());
    debug_assert!(lower.len() >= 4);
    debug_assert!(lower.iter().all(|b| b.is_ascii_lowercase() || *b == b'-'));
    // Letters (0x61..=0x7a) have bit 0x40, `-` (0x2d) has not: shifted
    // down it is the case bit of exactly the letter positions.
    fn word8(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
    }
    fn word4(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
    }
    let len = lower.len();
    if len >= 8 {
        let eq = |at: usize| {
            let l = word8(lower, at);
            word8(name, at) | ((l & 0x4040_4040_4040_4040) >> 1) == l
        };
        let mut at = 0;
        while at + 8 < len {
            if !eq(at) {
                return false;
            }
            at += 8;
        }
        eq(len - 8)
    } else {
        let eq = |at: usize| {
            let l = word4(lower, at);
            word4(name, at) | ((l & 0x4040_4040) >> 1) == l
        };
        eq(0) && eq(len - 4)
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
            buf: Vec::with_capacity(bytes + fields * RECORD),
            count: 0,
            known: 0,
        }
    }

    /// The fields httparse found in `buf`, copied in one piece: the bytes
    /// from the first name to the last value, indexed where they lie.
    /// Every name and value must be a slice of `buf`. Each field with a
    /// well-known name is also shown to `known_field` (its [`Known`]
    /// number and value), in order. Inlined: the response head parse is
    /// its one hot caller.
    #[inline]
    pub(crate) fn from_parsed(
        buf: &[u8],
        fields: &[httparse::Header<'_>],
        mut known_field: impl FnMut(u8, &[u8]),
    ) -> Headers {
        let (Some(first), Some(last)) = (fields.first(), fields.last()) else {
            return Headers::new();
        };
        // Where each slice lies in `buf`, checked, relative to the first name.
        let base = buf.as_ptr() as usize;
        let start = (first.name.as_ptr() as usize).wrapping_sub(base);
        let end = (last.value.as_ptr() as usize)
            .wrapping_sub(base)
            .wrapping_add(last.value.len());
        if start > end || end > buf.len() || end - start > u32::MAX as usize {
            return Headers::copied_showing(fields, 0, known_field);
        }
        // Offsets relative to the first name, each slice checked to lie
        // within the span copied below.
        let first_at = base + start;
        let span = end - start;
        let mut known = 0u16;
        let mut out = spare_buffer(span + fields.len() * RECORD);
        out.extend_from_slice(&buf[start..end]);
        for (i, f) in fields.iter().enumerate() {
            let name = f.name.as_bytes();
            let (Some(name_at), Some(value_at)) = (
                offset_in(name, first_at, span),
                offset_in(f.value, first_at, span),
            ) else {
                // Not all slices of `buf` after all. The fields before
                // this one have been shown already.
                return Headers::copied_showing(fields, i, known_field);
            };
            let kind = classify(name);
            if kind != OTHER {
                known |= 1 << kind;
                known_field(kind, f.value);
            }
            let entry = Entry {
                name: (name_at as u32, (name_at + name.len()) as u32),
                value: (value_at as u32, (value_at + f.value.len()) as u32),
                kind,
            };
            out.extend_from_slice(&entry.encode());
        }
        Headers {
            buf: out,
            count: fields.len() as u32,
            known,
        }
    }

    /// The fields copied one by one (when they are not all slices of one
    /// buffer), the well-known ones from `fields[shown..]` shown to
    /// `known_field` in order.
    fn copied_showing(
        fields: &[httparse::Header<'_>],
        shown: usize,
        mut known_field: impl FnMut(u8, &[u8]),
    ) -> Headers {
        let mut headers = Headers::with_capacity(fields.len(), 256);
        for (i, f) in fields.iter().enumerate() {
            headers.push_raw(f.name.as_bytes(), f.value);
            let kind = classify(f.name.as_bytes());
            if i >= shown && kind != OTHER {
                known_field(kind, f.value);
            }
        }
        headers
    }

    /// Appends a field without checking it (callers check names and values
    /// where they enter: [`crate::proto::check_header`] or httparse).
    pub(crate) fn push_raw(&mut self, name: &[u8], value: &[u8]) {
        // The bytes go before the records, which move up to make room.
        let table = self.table();
        let added = name.len() + value.len();
        let old_len = self.buf.len();
        self.buf.resize(old_len + added, 0);
        self.buf.copy_within(table..old_len, table + added);
        let mid = table + name.len();
        self.buf[table..mid].copy_from_slice(name);
        self.buf[mid..table + added].copy_from_slice(value);
        let kind = classify(name);
        if kind != OTHER {
            self.known |= 1 << kind;
        }
        let entry = Entry {
            name: (table as u32, mid as u32),
            value: (mid as u32, (table + added) as u32),
            kind,
        };
        self.buf.extend_from_slice(&entry.encode());
        self.count += 1;
    }

    /// Where the records start in `buf`.
    fn table(&self) -> usize {
        self.buf.len() - self.count as usize * RECORD
    }

    /// Every field's [`Entry`], in order.
    fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.entries_if(true)
    }

    fn name_of(&self, e: &Entry) -> &[u8] {
        &self.buf[e.name.0 as usize..e.name.1 as usize]
    }

    fn value_of(&self, e: &Entry) -> &[u8] {
        &self.buf[e.value.0 as usize..e.value.1 as usize]
    }

    /// True when the entry is named `name`, whose [`classify`] is `kind`.
    #[inline]
    fn is_named(&self, e: &Entry, name: &[u8], kind: u8) -> bool {
        if kind == OTHER {
            e.kind == OTHER && self.name_of(e).eq_ignore_ascii_case(name)
        } else {
            e.kind == kind
        }
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when there is no field.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// True when a field named `name` (any case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }

    /// True when a field with a well-known name is present.
    #[inline]
    pub(crate) fn has(&self, known: Known) -> bool {
        self.known & (1 << known as u8) != 0
    }

    /// The first value of a well-known name.
    pub(crate) fn get_known(&self, known: Known) -> Option<&[u8]> {
        let kind = known as u8;
        self.entries_if(self.has(known))
            .find(|e| e.kind == kind)
            .map(|e| self.value_of(&e))
    }

    /// Every value of a well-known name, in order.
    pub(crate) fn get_all_known(&self, known: Known) -> impl Iterator<Item = &[u8]> + '_ {
        let kind = known as u8;
        self.entries_if(self.has(known))
            .filter(move |e| e.kind == kind)
            .map(move |e| self.value_of(&e))
    }

    /// Every field with a well-known name, in order, as (its [`Known`]
    /// number, value): one pass for everything the framing depends on.
    pub(crate) fn known_values(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        self.entries_if(self.known != 0)
            .filter(|e| e.kind != OTHER)
            .map(move |e| (e.kind, self.value_of(&e)))
    }

    /// [`Headers::entries`], or none when `look` is false.
    fn entries_if(&self, look: bool) -> impl Iterator<Item = Entry> + '_ {
        let from = if look { self.table() } else { self.buf.len() };
        self.buf[from..]
            .chunks_exact(RECORD)
            .map(|r| Entry::decode(r.try_into().unwrap_or(&[0; RECORD])))
    }

    /// The first value of `name` (any case) as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        let kind = classify(name.as_bytes());
        self.entries_if(kind == OTHER || self.known & (1 << kind) != 0)
            .find(|e| self.is_named(e, name.as_bytes(), kind))
            .map(|e| self.value_of(&e))
    }

    /// The first value of `name` (any case), if it is UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name` (any case), in order, as bytes.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let kind = classify(name.as_bytes());
        self.entries_if(kind == OTHER || self.known & (1 << kind) != 0)
            .filter(move |e| self.is_named(e, name.as_bytes(), kind))
            .map(move |e| self.value_of(&e))
    }

    /// Every field in order, as (name, value bytes).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.entries().map(move |e| {
            // Names entered only through token checks or httparse: ASCII.
            let name = std::str::from_utf8(self.name_of(&e)).unwrap_or("");
            (name, self.value_of(&e))
        })
    }

    /// Removes every field named `name` (any case); true if any was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let kind = classify(name.as_bytes());
        let kept: Vec<Entry> = self
            .entries()
            .filter(|e| !self.is_named(e, name.as_bytes(), kind))
            .collect();
        if kept.len() == self.len() {
            return false;
        }
        // The names and values stay: dropping them would move every index.
        let table = self.table();
        self.buf.truncate(table);
        for e in &kept {
            self.buf.extend_from_slice(&e.encode());
        }
        self.count = kept.len() as u32;
        if kind != OTHER {
            self.known &= !(1 << kind);
        }
        true
    }

    /// True when any value of `name` holds `token` in its comma-separated
    /// list (any case): `Connection: keep-alive, close` has `close`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|v| list_has(v, token))
    }

    /// [`Headers::has_token`] for a well-known name.
    pub(crate) fn has_token_known(&self, known: Known, token: &str) -> bool {
        self.has(known) && self.get_all_known(known).any(|v| list_has(v, token))
    }
}

/// True when `v` is exactly `keep-alive` (any case): the usual
/// `Connection` value of a response, recognised in two word compares
/// instead of a pass over the list.
#[inline]
pub(crate) fn is_keep_alive(v: &[u8]) -> bool {
    v.len() == 10 && eq_lower(v, b"keep-alive")
}

/// True when the comma-separated list `v` holds `token` (any case).
#[allow(
    clippy::manual_contains,
    reason = "on values this short, contains' memchr costs more than a plain loop"
)]
pub(crate) fn list_has(v: &[u8], token: &str) -> bool {
    let token = token.as_bytes();
    // Most lists are a single element, compared once.
    if !v.iter().any(|b| *b == b',') {
        return trim(v).eq_ignore_ascii_case(token);
    }
    v.split(|b| *b == b',')
        .any(|element| trim(element).eq_ignore_ascii_case(token))
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
    fn parsed_fields_are_indexed_in_place() {
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
            let kind = classify(name);
            assert_ne!(kind, OTHER, "{name:?}");
            let upper = name.to_ascii_uppercase();
            assert_eq!(classify(&upper), kind);
            // Every single-byte change either still matches case-insensitively
            // or is not the name.
            for i in 0..name.len() {
                for b in 0..=255u8 {
                    let mut other = name.to_vec();
                    other[i] = b;
                    let same = other.eq_ignore_ascii_case(name);
                    assert_eq!(classify(&other) == kind, same, "{other:?}");
                }
            }
        }
        assert_eq!(classify(b"content-type"), OTHER);
        assert_eq!(classify(b"date"), OTHER);
    }

    /// The fields `from_parsed` showed to its callback, as text.
    fn shown(buf: &[u8], fields: &[httparse::Header<'_>]) -> (Headers, Vec<(u8, String)>) {
        let mut shown = Vec::new();
        let h = Headers::from_parsed(buf, fields, |kind, value| {
            shown.push((kind, String::from_utf8_lossy(value).into_owned()));
        });
        (h, shown)
    }

    #[test]
    fn fields_not_all_in_the_buffer_are_copied_and_shown_once_in_order() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nConnection: close\r\n\r\n";
        let mut fields = [httparse::EMPTY_HEADER; 4];
        let mut resp = httparse::Response::new(&mut fields);
        resp.parse(raw).unwrap();
        let parsed = resp.headers.to_vec();
        let expected = [
            (Known::ContentLength as u8, "5".to_string()),
            (Known::Connection as u8, "close".to_string()),
        ];
        let (whole, seen) = shown(raw, &parsed);
        assert_eq!(seen, expected);
        // A field from elsewhere in the middle (found while indexing), and
        // one at the start (found by the first check).
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
    fn a_dropped_head_leaves_its_buffer_for_the_next_one() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n";
        let mut fields = [httparse::EMPTY_HEADER; 4];
        let mut resp = httparse::Response::new(&mut fields);
        resp.parse(raw).unwrap();
        let first = Headers::from_parsed(raw, resp.headers, |_, _| {});
        let at = first.buf.as_ptr();
        drop(first);
        let second = Headers::from_parsed(raw, resp.headers, |_, _| {});
        assert_eq!(second.buf.as_ptr(), at);
        assert_eq!(second.get("x-a"), Some("1"));
        assert_eq!(second.len(), 2);
        // A large buffer is freed, not kept.
        let mut big = Headers::new();
        big.push_raw(b"X-Big", &[b'a'; SPARE_MAX + 1]);
        drop(big);
        let third = Headers::from_parsed(raw, resp.headers, |_, _| {});
        assert!(third.buf.capacity() <= SPARE_MAX);
        assert_eq!(third.get("content-length"), Some("5"));
    }

    #[test]
    fn debug_redacts_credentials() {
        let mut h = Headers::new();
        h.push_raw(b"Authorization", b"Bearer hunter2");
        assert!(!format!("{h:?}").contains("hunter2"));
    }
}
