//! The proxy's reply head to `CONNECT`, parsed with httparse under the
//! limits of [`http1::head_len`].

use super::http1::{self, HeadError};

/// How many header fields a reply head may carry. A proxy answering
/// `CONNECT` has little to say; more than this is treated like an oversize
/// head rather than parsed.
pub const MAX_HEADERS: usize = 64;

/// A complete reply head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// Every `Proxy-Authenticate` value, in order.
    pub proxy_authenticate: Vec<String>,
    /// Every `WWW-Authenticate` value: some proxies (tinyproxy 1.11) answer
    /// wrong credentials with 401 and this header instead of 407.
    pub www_authenticate: Vec<String>,
}

impl Reply {
    /// 1xx other than 101: an interim reply; the real one follows.
    pub fn is_interim(&self) -> bool {
        http1::is_interim(self.status)
    }

    /// Any 2xx opens the tunnel.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a reply head cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// The head did not end within the limit (bytes), or had too many fields.
    TooLarge,
    /// Not an HTTP/1.x reply head.
    NotHttp(String),
}

const PREFIX: &[u8] = b"HTTP/1.";

/// Decodes one reply head from the front of `buf`: the reply and the
/// length of its head, or `None` when more bytes are needed. Bytes after
/// the head are not looked at: they belong to the target.
pub fn decode_reply(buf: &[u8], limit: usize) -> Result<Option<(Reply, usize)>, ReplyError> {
    // Say "not HTTP" from the first bytes instead of waiting for a line end
    // that a non-HTTP peer (an SMTP banner, a TLS alert) may never send.
    let n = buf.len().min(PREFIX.len());
    if buf[..n] != PREFIX[..n] {
        return Err(ReplyError::NotHttp(format!(
            "reply starts with {:?}",
            String::from_utf8_lossy(&buf[..buf.len().min(32)])
        )));
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let used = match http1::head_len(response.parse(buf), buf.len(), limit) {
        Ok(None) => return Ok(None),
        Ok(Some(used)) => used,
        // Too many fields is treated like an oversize head (see MAX_HEADERS).
        Err(HeadError::TooLarge | HeadError::TooManyHeaders) => return Err(ReplyError::TooLarge),
        Err(HeadError::Malformed(e)) => {
            return Err(ReplyError::NotHttp(format!("malformed reply head: {e}")))
        }
    };
    let values = |name: &str| -> Vec<String> {
        response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
            .collect()
    };
    let reply = Reply {
        status: response.code.unwrap_or(0),
        reason: response.reason.unwrap_or("").to_string(),
        proxy_authenticate: values("proxy-authenticate"),
        www_authenticate: values("www-authenticate"),
    };
    Ok(Some((reply, used)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_reply_leaves_target_bytes() {
        let bytes =
            b"HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\n220 smtp ready\r\n";
        let (reply, used) = decode_reply(bytes, 8192).unwrap().unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.reason, "Connection established");
        assert!(reply.is_success());
        assert_eq!(&bytes[used..], b"220 smtp ready\r\n");
    }

    #[test]
    fn http10_and_empty_reason() {
        let (reply, used) = decode_reply(b"HTTP/1.0 200 \r\n\r\n", 100)
            .unwrap()
            .unwrap();
        assert_eq!((reply.status, reply.reason.as_str(), used), (200, "", 17));
    }

    #[test]
    fn partial_heads_need_more() {
        let full = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n\r\n";
        for cut in 0..full.len() {
            assert_eq!(decode_reply(&full[..cut], 8192), Ok(None), "cut {cut}");
        }
        let (reply, _) = decode_reply(full, 8192).unwrap().unwrap();
        assert_eq!(reply.status, 407);
        assert_eq!(
            reply.proxy_authenticate,
            vec!["Basic realm=\"p\"".to_string()]
        );
    }

    #[test]
    fn limits() {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        head.extend_from_slice(&b"X: aaaaaaaaaaaaaaaa\r\n".repeat(100));
        assert_eq!(decode_reply(&head, 1024), Err(ReplyError::TooLarge));
        head.extend_from_slice(b"\r\n");
        assert_eq!(decode_reply(&head, 1024), Err(ReplyError::TooLarge));
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(
            decode_reply(many.as_bytes(), 1 << 20),
            Err(ReplyError::TooLarge)
        );
    }

    #[test]
    fn not_http() {
        for bytes in [
            &b"220 mail.example ESMTP\r\n"[..],
            b"SSH-2.0-OpenSSH\r\n",
            b"\x15\x03\x03\x00\x02\x02\x28",
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n",
        ] {
            assert!(
                matches!(decode_reply(bytes, 8192), Err(ReplyError::NotHttp(_))),
                "{bytes:?}"
            );
        }
        // A prefix of "HTTP/1." is not yet wrong.
        assert_eq!(decode_reply(b"HTT", 8192), Ok(None));
    }

    #[test]
    fn interim() {
        let (reply, used) =
            decode_reply(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 100)
                .unwrap()
                .unwrap();
        assert!(reply.is_interim());
        assert_eq!(used, 25);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_respect_the_limit() {
        // A deterministic xorshift stream: byte soup, and mutations of a
        // valid head (the inputs a fuzzer would start from).
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let valid = b"HTTP/1.1 407 Auth\r\nProxy-Authenticate: Basic realm=x\r\n\r\ntail";
        for round in 0..20_000 {
            let mut bytes = if round % 2 == 0 {
                valid.to_vec()
            } else {
                (0..next() % 96).map(|_| next() as u8).collect()
            };
            for _ in 0..next() % 4 {
                if !bytes.is_empty() {
                    let i = (next() as usize) % bytes.len();
                    bytes[i] = next() as u8;
                }
            }
            let limit = 16 + (next() as usize) % 96;
            if let Ok(Some((_, used))) = decode_reply(&bytes, limit) {
                assert!(used <= limit && used <= bytes.len());
            }
        }
    }
}
