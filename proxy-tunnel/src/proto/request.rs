//! The `CONNECT` request: target validation and encoding.

use std::net::Ipv6Addr;

use bytes::BytesMut;

use crate::error::Error;

/// Checks a tunnel target and returns its authority form, `host:port`, with
/// an IPv6 address in brackets. Everything that could smuggle a second line,
/// header or user-info into the request line is refused here, before any
/// byte is sent.
pub fn target_authority(host: &str, port: u16) -> Result<String, Error> {
    if port == 0 {
        return Err(Error::InvalidTarget(format!("port 0 for host {host:?}")));
    }
    if let Some(bad) = host
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || matches!(c, '@' | '/' | '\\'))
    {
        return Err(Error::InvalidTarget(format!(
            "character {bad:?} not allowed in host {host:?}"
        )));
    }
    let bare = transport::validate_host(host)
        .map_err(|e| Error::InvalidTarget(e.to_string().replace("invalid input: ", "")))?;
    if bare.contains(':') {
        // validate_host accepted it, so it is an IP address; only IPv6 has colons.
        let ip: Ipv6Addr = bare
            .parse()
            .map_err(|_| Error::InvalidTarget(format!("invalid IPv6 address {host:?}")))?;
        return Ok(format!("[{ip}]:{port}"));
    }
    Ok(format!("{}:{port}", bare.to_ascii_lowercase()))
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
    fn authorities() {
        assert_eq!(
            target_authority("localhost", 8443).unwrap(),
            "localhost:8443"
        );
        assert_eq!(target_authority("Example.COM", 1).unwrap(), "example.com:1");
        assert_eq!(
            target_authority("127.0.0.1", 6379).unwrap(),
            "127.0.0.1:6379"
        );
        assert_eq!(target_authority("::1", 443).unwrap(), "[::1]:443");
        assert_eq!(target_authority("[::1]", 443).unwrap(), "[::1]:443");
        assert_eq!(
            target_authority("2001:DB8:0:0::1", 80).unwrap(),
            "[2001:db8::1]:80"
        );
    }

    #[test]
    fn hostile_targets_are_refused() {
        for host in [
            "a\r\nX-Injected: 1",
            "a\nb",
            "a\rb",
            "a b",
            "a\tb",
            "user@host",
            "host/path",
            "a\\b",
            "",
            "[::1",
            "::1]",
            "1:2:zz",
            "host:80",
            "a\0b",
        ] {
            let err = target_authority(host, 80).unwrap_err();
            assert!(matches!(err, Error::InvalidTarget(_)), "{host:?}: {err}");
        }
        assert!(matches!(
            target_authority("localhost", 0),
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
