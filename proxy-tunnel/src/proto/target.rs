//! The tunnel target: checked once, before any byte is sent, for every kind
//! of proxy (it goes into a `CONNECT` request line or a SOCKS request).

use std::net::{IpAddr, Ipv6Addr};

use crate::error::Error;

/// The longest host name a SOCKS request can carry (one length byte), and
/// the longest DNS name anyway.
pub const MAX_HOST_LEN: usize = 255;

/// A checked target: a host name (lower case) or an IP address, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Without brackets; lower case.
    pub host: String,
    /// The host as an address when it is one.
    pub ip: Option<IpAddr>,
    /// Not 0.
    pub port: u16,
}

impl Target {
    /// Checks `host` (brackets allowed around IPv6) and `port`. Everything
    /// that could smuggle a second line, header or user-info into a request
    /// line is refused here: control characters (CR, LF, NUL, ...),
    /// whitespace, `@`, `/`, `\`; so are names over 255 bytes and port 0.
    pub fn new(host: &str, port: u16) -> Result<Target, Error> {
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
        if bare.len() > MAX_HOST_LEN {
            return Err(Error::InvalidTarget(format!(
                "host name of {} bytes (at most {MAX_HOST_LEN})",
                bare.len()
            )));
        }
        if bare.contains(':') {
            // validate_host accepted it, so it is an IP address; only IPv6 has colons.
            let ip: Ipv6Addr = bare
                .parse()
                .map_err(|_| Error::InvalidTarget(format!("invalid IPv6 address {host:?}")))?;
            return Ok(Target {
                host: ip.to_string(),
                ip: Some(IpAddr::V6(ip)),
                port,
            });
        }
        let host = bare.to_ascii_lowercase();
        Ok(Target {
            ip: host.parse().ok(),
            host,
            port,
        })
    }

    /// `host:port`, with an IPv6 address in brackets (the authority form of
    /// a `CONNECT` request line).
    pub fn authority(&self) -> String {
        match self.ip {
            Some(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        let a = |h: &str, p: u16| Target::new(h, p).unwrap().authority();
        assert_eq!(a("localhost", 8443), "localhost:8443");
        assert_eq!(a("Example.COM", 1), "example.com:1");
        assert_eq!(a("127.0.0.1", 6379), "127.0.0.1:6379");
        assert_eq!(a("::1", 443), "[::1]:443");
        assert_eq!(a("[::1]", 443), "[::1]:443");
        assert_eq!(a("2001:DB8:0:0::1", 80), "[2001:db8::1]:80");
        assert_eq!(
            Target::new("10.0.0.1", 1).unwrap().ip,
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(Target::new("example.com", 1).unwrap().ip, None);
    }

    #[test]
    fn hostile_targets_are_refused() {
        let long = format!("{}.example", "a".repeat(250));
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
            long.as_str(),
        ] {
            let err = Target::new(host, 80).unwrap_err();
            assert!(matches!(err, Error::InvalidTarget(_)), "{host:?}: {err}");
        }
        assert!(matches!(
            Target::new("localhost", 0),
            Err(Error::InvalidTarget(_))
        ));
    }
}
