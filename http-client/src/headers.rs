//! Header fields: case-insensitive names, repeatable, kept in one buffer.

use std::fmt;

/// An ordered list of header fields. Names compare case-insensitively; a
/// name may repeat. Names and values live in one byte buffer with an index,
/// so a response head costs two allocations however many fields it has.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    data: Vec<u8>,
    entries: Vec<Entry>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    name: (u32, u32),
    value: (u32, u32),
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// An empty list with room for `fields` fields of `bytes` bytes in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Headers {
        Headers {
            data: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(fields),
        }
    }

    /// Appends a field without checking it (callers check names and values
    /// where they enter: [`crate::proto::check_header`] or httparse).
    pub(crate) fn push_raw(&mut self, name: &[u8], value: &[u8]) {
        let start = self.data.len() as u32;
        self.data.extend_from_slice(name);
        let mid = self.data.len() as u32;
        self.data.extend_from_slice(value);
        let end = self.data.len() as u32;
        self.entries.push(Entry {
            name: (start, mid),
            value: (mid, end),
        });
    }

    fn name_of(&self, e: &Entry) -> &[u8] {
        &self.data[e.name.0 as usize..e.name.1 as usize]
    }

    fn value_of(&self, e: &Entry) -> &[u8] {
        &self.data[e.value.0 as usize..e.value.1 as usize]
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no field.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when a field named `name` (any case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }

    /// The first value of `name` (any case) as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| self.name_of(e).eq_ignore_ascii_case(name.as_bytes()))
            .map(|e| self.value_of(e))
    }

    /// The first value of `name` (any case), if it is UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name` (any case), in order, as bytes.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |e| self.name_of(e).eq_ignore_ascii_case(name.as_bytes()))
            .map(move |e| self.value_of(e))
    }

    /// Every field in order, as (name, value bytes).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.entries.iter().map(move |e| {
            // Names entered only through token checks or httparse: ASCII.
            let name = std::str::from_utf8(self.name_of(e)).unwrap_or("");
            (name, self.value_of(e))
        })
    }

    /// Removes every field named `name` (any case); true if any was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.entries.len();
        let data = &self.data;
        self.entries.retain(|e| {
            !data[e.name.0 as usize..e.name.1 as usize].eq_ignore_ascii_case(name.as_bytes())
        });
        // The bytes stay in `data`: dropping them would move every index.
        before != self.entries.len()
    }

    /// True when any value of `name` holds `token` in its comma-separated
    /// list (any case): `Connection: keep-alive, close` has `close`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|v| {
            v.split(|b| *b == b',')
                .any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes()))
        })
    }
}

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
    fn tokens_in_lists() {
        let mut h = Headers::new();
        h.push_raw(b"Connection", b"Keep-Alive , Close");
        assert!(h.has_token("connection", "close"));
        assert!(h.has_token("connection", "keep-alive"));
        assert!(!h.has_token("connection", "upgrade"));
    }

    #[test]
    fn debug_redacts_credentials() {
        let mut h = Headers::new();
        h.push_raw(b"Authorization", b"Bearer hunter2");
        assert!(!format!("{h:?}").contains("hunter2"));
    }
}
