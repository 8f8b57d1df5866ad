//! Request heads: checks of caller input (the request smuggling defence)
//! and encoding into the connection's write buffer.

use bytes::BytesMut;

use crate::headers::{Headers, Known};

/// Caller input that must not reach the wire, found before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// A method, request target, header name or URL that is empty.
    #[error("empty {0}")]
    Empty(Part),
    /// A byte that may not stand there: CR, LF, NUL or another control, a
    /// space or separator in a token.
    #[error("{} in {part} {text:?}", describe(*byte))]
    ForbiddenByte {
        /// Where it was found.
        part: Part,
        /// The byte.
        byte: u8,
        /// The whole text it was found in (for a header value, the name).
        text: String,
    },
    /// A field the client derives from the body (`Content-Length`,
    /// `Transfer-Encoding`).
    #[error("{name} is set by the client from the body; do not set it by hand")]
    FramingField {
        /// The field name as given.
        name: String,
    },
    /// Two settings that exclude each other.
    #[error("give either {0} or {1}, not both")]
    Conflicting(&'static str, &'static str),
    /// A value the caller gave that cannot be serialised (a JSON body).
    #[error("cannot serialise the body: {reason}")]
    Body {
        /// What the serialiser said.
        reason: String,
    },
}

/// Where in a request invalid input was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The method.
    Method,
    /// The request target (path and query).
    Target,
    /// A header field name.
    HeaderName,
    /// A header field value.
    HeaderValue,
    /// The URL text.
    Url,
    /// A `multipart/form-data` field name, file name or content type.
    FormField,
    /// A user name given for authentication.
    UserName,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Method => "method",
            Part::Target => "request target",
            Part::HeaderName => "header name",
            Part::HeaderValue => "the value of header",
            Part::Url => "URL",
            Part::FormField => "form field",
            Part::UserName => "user name",
        })
    }
}

fn forbidden(part: Part, byte: u8, text: &str) -> InvalidInput {
    InvalidInput::ForbiddenByte {
        part,
        byte,
        text: text.to_string(),
    }
}

/// How the request body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLen {
    /// No body and no framing header (GET, HEAD, DELETE without a body).
    None,
    /// `Content-Length: n`.
    Known(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// RFC 9110 `tchar`: what a method or a header name may hold.
fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' |
        b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Names the characters that split a request: the ones a test looks for.
fn describe(b: u8) -> String {
    match b {
        b'\r' => "CR".into(),
        b'\n' => "LF".into(),
        0 => "NUL".into(),
        b' ' => "space".into(),
        _ => format!("byte 0x{b:02x}"),
    }
}

/// Checks a method: a non-empty token.
pub fn check_method(method: &str) -> Result<(), InvalidInput> {
    if method.is_empty() {
        return Err(InvalidInput::Empty(Part::Method));
    }
    match method.bytes().find(|b| !is_tchar(*b)) {
        Some(b) => Err(forbidden(Part::Method, b, method)),
        None => Ok(()),
    }
}

/// Checks a request target: visible ASCII only (no CR, LF, NUL, space or
/// other control); what a URL parser produced is always fine.
pub fn check_target(target: &str) -> Result<(), InvalidInput> {
    if target.is_empty() {
        return Err(InvalidInput::Empty(Part::Target));
    }
    match target.bytes().find(|b| !(0x21..0x7f).contains(b)) {
        Some(b) => Err(forbidden(Part::Target, b, target)),
        None => Ok(()),
    }
}

/// Checks a header field: the name a token, the value without CR, LF, NUL
/// or other controls except HTAB.
pub fn check_header(name: &str, value: &[u8]) -> Result<(), InvalidInput> {
    if name.is_empty() {
        return Err(InvalidInput::Empty(Part::HeaderName));
    }
    if let Some(b) = name.bytes().find(|b| !is_tchar(*b)) {
        return Err(forbidden(Part::HeaderName, b, name));
    }
    if let Some(b) = value
        .iter()
        .copied()
        .find(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f)
    {
        return Err(forbidden(Part::HeaderValue, b, name));
    }
    Ok(())
}

/// Checks a field the caller adds to a request: [`check_header`], and not
/// one of the framing fields the client derives from the body.
pub(crate) fn check_caller_header(name: &str, value: &[u8]) -> Result<(), InvalidInput> {
    check_header(name, value)?;
    if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding")
    {
        return Err(InvalidInput::FramingField {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Checks a whole URL string before it is parsed: URL parsers silently
/// drop tabs and newlines (WHATWG), which would hide an injection attempt.
pub fn check_url_text(url: &str) -> Result<(), InvalidInput> {
    check_no_controls(Part::Url, url)
}

/// Refuses a control character (below 0x20, or DEL) anywhere in `text`,
/// which is about to go into a request head as `part`.
pub(crate) fn check_no_controls(part: Part, text: &str) -> Result<(), InvalidInput> {
    match text.bytes().find(|b| *b < 0x20 || *b == 0x7f) {
        Some(b) => Err(forbidden(part, b, text)),
        None => Ok(()),
    }
}

/// What goes into a request head besides the caller's fields.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    /// The method, already checked.
    pub method: &'a str,
    /// The request target (origin-form, or absolute-form to a proxy), already checked.
    pub target: &'a str,
    /// The `Host` value.
    pub host: &'a str,
    /// The caller's fields, already checked.
    pub headers: &'a Headers,
    /// Added unless the caller set `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// Extra fields the client adds (e.g. `Proxy-Authorization`, `Accept-Encoding`).
    pub extra: &'a [(&'a str, &'a str)],
    /// Body framing.
    pub body: BodyLen,
    /// Adds `Expect: 100-continue`.
    pub expect_continue: bool,
}

/// Encodes the request head into `buf` (which the connection sends in one
/// write): `Host` and `User-Agent` unless the caller set them, the
/// caller's fields, the client's extra fields, the body framing.
pub fn encode_head(buf: &mut BytesMut, head: &Head<'_>) {
    encode_head_with(buf, head, None);
}

/// What follows the target in a head that sets neither `Host` nor
/// `User-Agent` itself, as [`encode_head`] writes it for `host` and
/// `user_agent`: made once per origin, it is one copy per request instead
/// of a dozen small ones (about 300 instructions per request).
pub(crate) fn head_defaults(host: &str, user_agent: Option<&str>) -> Box<[u8]> {
    let mut out = BytesMut::new();
    start_line_rest(&mut out, host, user_agent);
    out.to_vec().into_boxed_slice()
}

fn start_line_rest(buf: &mut BytesMut, host: &str, user_agent: Option<&str>) {
    buf.extend_from_slice(b" HTTP/1.1\r\n");
    field(buf, b"Host", host.as_bytes());
    if let Some(ua) = user_agent {
        field(buf, b"User-Agent", ua.as_bytes());
    }
}

/// [`encode_head`], with the [`head_defaults`] of `head.host` and
/// `head.user_agent` when the caller has them.
pub(crate) fn encode_head_with(buf: &mut BytesMut, head: &Head<'_>, defaults: Option<&[u8]>) {
    buf.reserve(128 + head.target.len());
    buf.extend_from_slice(head.method.as_bytes());
    buf.extend_from_slice(b" ");
    buf.extend_from_slice(head.target.as_bytes());
    let (own_host, own_ua) = (
        head.headers.has(Known::Host),
        head.headers.has(Known::UserAgent),
    );
    match defaults {
        Some(defaults) if !own_host && !own_ua => buf.extend_from_slice(defaults),
        _ => {
            buf.extend_from_slice(b" HTTP/1.1\r\n");
            if !own_host {
                field(buf, b"Host", head.host.as_bytes());
            }
            if let Some(ua) = head.user_agent.filter(|_| !own_ua) {
                field(buf, b"User-Agent", ua.as_bytes());
            }
        }
    }
    for (name, value) in head.headers.iter() {
        field(buf, name.as_bytes(), value);
    }
    for (name, value) in head.extra {
        field(buf, name.as_bytes(), value.as_bytes());
    }
    match head.body {
        BodyLen::None => {}
        BodyLen::Known(n) => {
            field(
                buf,
                b"Content-Length",
                itoa::Buffer::new().format(n).as_bytes(),
            );
        }
        BodyLen::Chunked => buf.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
    }
    if head.expect_continue {
        buf.extend_from_slice(b"Expect: 100-continue\r\n");
    }
    buf.extend_from_slice(b"\r\n");
}

fn field(buf: &mut BytesMut, name: &[u8], value: &[u8]) {
    buf.extend_from_slice(name);
    buf.extend_from_slice(b": ");
    buf.extend_from_slice(value);
    buf.extend_from_slice(b"\r\n");
}

/// Encodes one chunk of a chunked request body.
pub fn encode_chunk(buf: &mut BytesMut, data: &[u8]) {
    if data.is_empty() {
        return; // An empty chunk would end the body.
    }
    buf.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    buf.extend_from_slice(data);
    buf.extend_from_slice(b"\r\n");
}

/// The last chunk of a chunked request body (no trailers).
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(fields: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in fields {
            h.push_raw(n.as_bytes(), v.as_bytes());
        }
        h
    }

    #[test]
    fn per_origin_defaults_encode_the_same_head() {
        for fields in [
            &[][..],
            &[("Accept", "*/*")][..],
            &[("host", "other")][..],
            &[("User-Agent", "mine/1"), ("X-A", "b")][..],
        ] {
            for ua in [None, Some("ua/1")] {
                for body in [BodyLen::None, BodyLen::Known(3), BodyLen::Chunked] {
                    let h = headers(fields);
                    let head = Head {
                        method: "PUT",
                        target: "/a?b=c",
                        host: "example.com:8080",
                        headers: &h,
                        user_agent: ua,
                        extra: &[("Accept-Encoding", "gzip")],
                        body,
                        expect_continue: false,
                    };
                    let mut plain = BytesMut::new();
                    encode_head(&mut plain, &head);
                    let mut fast = BytesMut::new();
                    encode_head_with(&mut fast, &head, Some(&head_defaults(head.host, ua)));
                    assert_eq!(plain, fast, "{fields:?} {ua:?} {body:?}");
                }
            }
        }
    }

    #[test]
    fn encodes_a_get() {
        let h = headers(&[("Accept", "*/*")]);
        let mut buf = BytesMut::new();
        encode_head(
            &mut buf,
            &Head {
                method: "GET",
                target: "/a?b=c",
                host: "example.com:8080",
                headers: &h,
                user_agent: Some("ua/1"),
                extra: &[],
                body: BodyLen::None,
                expect_continue: false,
            },
        );
        assert_eq!(
            &buf[..],
            b"GET /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: ua/1\r\nAccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn encodes_framing_and_expect() {
        let h = headers(&[("host", "override"), ("user-agent", "mine")]);
        let mut buf = BytesMut::new();
        encode_head(
            &mut buf,
            &Head {
                method: "POST",
                target: "/",
                host: "ignored",
                headers: &h,
                user_agent: Some("ua/1"),
                extra: &[("Proxy-Authorization", "Basic eA==")],
                body: BodyLen::Known(1234567),
                expect_continue: true,
            },
        );
        assert_eq!(
            &buf[..],
            &b"POST / HTTP/1.1\r\nhost: override\r\nuser-agent: mine\r\nProxy-Authorization: Basic eA==\r\nContent-Length: 1234567\r\nExpect: 100-continue\r\n\r\n"[..]
        );
        let mut buf = BytesMut::new();
        encode_head(
            &mut buf,
            &Head {
                method: "PUT",
                target: "/",
                host: "h",
                headers: &Headers::new(),
                user_agent: None,
                extra: &[],
                body: BodyLen::Chunked,
                expect_continue: false,
            },
        );
        assert_eq!(
            &buf[..],
            b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
    }

    #[test]
    fn chunks() {
        let mut buf = BytesMut::new();
        encode_chunk(&mut buf, b"hello world, this is 31 bytes..");
        encode_chunk(&mut buf, b"");
        buf.extend_from_slice(LAST_CHUNK);
        assert_eq!(
            &buf[..],
            b"1f\r\nhello world, this is 31 bytes..\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn methods_are_tokens() {
        assert!(check_method("GET").is_ok());
        assert!(check_method("M-SEARCH").is_ok());
        for (bad, what) in [
            ("GET\r\n", "CR"),
            ("GE\nT", "LF"),
            ("GE\0T", "NUL"),
            ("GET /x", "space"),
            ("", "empty"),
        ] {
            let err = check_method(bad).unwrap_err();
            assert!(err.to_string().contains(what), "{bad:?}: {}", err);
        }
    }

    #[test]
    fn header_names_and_values_refuse_line_breaks() {
        assert!(check_header("X-Ok", b"a\tb c").is_ok());
        for (name, value, what) in [
            ("X-A\r\nB", &b"v"[..], "CR"),
            ("X-A\nB", b"v", "LF"),
            ("X\0", b"v", "NUL"),
            ("X A", b"v", "space"),
            ("X-V", b"a\r\nX-Injected: 1", "CR"),
            ("X-V", b"a\nb", "LF"),
            ("X-V", b"a\0b", "NUL"),
            ("X-V", b"a\x1bb", "0x1b"),
            ("", b"v", "empty"),
        ] {
            let err = check_header(name, value).unwrap_err();
            assert!(
                err.to_string().contains(what),
                "{name:?}/{value:?}: {}",
                err
            );
        }
    }

    #[test]
    fn targets_and_urls_refuse_controls() {
        assert!(check_target("/a/b?c=%20").is_ok());
        assert!(check_target("http://h/x").is_ok());
        assert!(check_target("/a b")
            .unwrap_err()
            .to_string()
            .contains("space"));
        assert!(check_target("/a\r\nb")
            .unwrap_err()
            .to_string()
            .contains("CR"));
        assert!(check_target("/a\0")
            .unwrap_err()
            .to_string()
            .contains("NUL"));
        assert!(check_url_text("http://h/a\nb")
            .unwrap_err()
            .to_string()
            .contains("LF"));
        assert!(check_url_text("http://h/a\tb").is_err());
        assert!(check_url_text("http://h/a b").is_ok());
    }
}
