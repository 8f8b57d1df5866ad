//! The `CONNECT` request: target validation and encoding.

use bytes::BytesMut;

use crate::error::Error;
use crate::proto::target::Target;

/// Checks a tunnel target and returns its authority form, `host:port`, with
/// an IPv6 address in brackets (see [`Target::new`] for what is refused).
pub fn target_authority(host: &str, port: u16) -> Result<String, Error> {
    Ok(Target::new(host, port)?.authority())
}

/// Appends `CONNECT authority HTTP/1.1` with its `Host` header and, when
/// given, `Proxy-Authorization` (the full header value, e.g. `Basic ...`).
/// `authority` must come from [`target_authority`].
pub fn encode_connect(out: &mut BytesMut, authority: &str, proxy_authorization: Option<&str>) {
    out.extend_from_slice(b"CONNECT ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(auth) = proxy_authorization {
        out.extend_from_slice(b"Proxy-Authorization: ");
        out.extend_from_slice(auth.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_form() {
        assert_eq!(target_authority("::1", 443).unwrap(), "[::1]:443");
        assert!(matches!(
            target_authority("a\r\nX: 1", 80),
            Err(Error::InvalidTarget(_))
        ));
    }

    #[test]
    fn request_bytes() {
        let mut out = BytesMut::new();
        encode_connect(&mut out, "localhost:8443", None);
        assert_eq!(
            &out[..],
            b"CONNECT localhost:8443 HTTP/1.1\r\nHost: localhost:8443\r\n\r\n"
        );
        out.clear();
        encode_connect(&mut out, "[::1]:443", Some("Basic dTpw"));
        assert_eq!(
            &out[..],
            b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
        );
    }
}
