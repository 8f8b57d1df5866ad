//! A proxy: its URL parsed and checked, its credentials, and its identity.

use std::fmt;
use std::hash::{Hash, Hasher};

use base64::Engine as _;
use transport::{SecretHash, TlsConfig};

use crate::error::Error;

/// How the client talks to the proxy itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyScheme {
    /// Plain TCP to the proxy (`http://`).
    Http,
    /// TLS to the proxy (`https://`); TLS to the target then runs inside it.
    Https,
}

impl ProxyScheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
        }
    }
}

/// The default limit on the proxy's reply head to `CONNECT`.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// An HTTP or HTTPS proxy that tunnels with `CONNECT`.
///
/// `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct Proxy {
    pub(crate) scheme: ProxyScheme,
    /// Without brackets for IPv6.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Percent-decoded.
    pub(crate) user: Option<String>,
    /// Percent-decoded.
    pub(crate) password: Option<String>,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) max_header_bytes: usize,
}

impl Proxy {
    /// Parses `http://[user[:password]@]host[:port]` or `https://...`.
    /// User and password are percent-decoded. The port defaults to 80 for
    /// `http` and 443 for `https`. A path other than `/`, a query or a
    /// fragment is refused: a proxy URL that carries them is a mistake.
    pub fn parse(url: &str) -> Result<Proxy, Error> {
        let bad = |why: String| Error::InvalidProxyUrl(why);
        let parsed = url::Url::parse(url).map_err(|e| bad(format!("{}: {e}", redact(url))))?;
        let scheme = match parsed.scheme() {
            "http" => ProxyScheme::Http,
            "https" => ProxyScheme::Https,
            other => {
                return Err(bad(format!(
                    "scheme {other:?} is not supported (use http:// or https://)"
                )))
            }
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad(format!("no host in {}", redact(url))))?;
        let host = transport::validate_host(host)
            .map_err(|e| bad(e.to_string()))?
            .to_string();
        if !matches!(parsed.path(), "" | "/")
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(bad(format!(
                "a proxy URL has no path, query or fragment: {}",
                redact(url)
            )));
        }
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| bad(format!("no port in {}", redact(url))))?;
        if port == 0 {
            return Err(bad("port 0".into()));
        }
        let user = match parsed.username() {
            "" => None,
            u => Some(percent_decode(u).map_err(|e| bad(format!("user name: {e}")))?),
        };
        let password = match parsed.password() {
            None => None,
            Some(p) => Some(percent_decode(p).map_err(|e| bad(format!("password: {e}")))?),
        };
        if user.as_deref().is_some_and(|u| u.contains(':')) {
            // Basic auth joins user and password with the first colon.
            return Err(bad("the user name must not contain ':'".into()));
        }
        if user.is_none() && password.is_some() {
            return Err(bad("a password without a user name".into()));
        }
        Ok(Proxy {
            scheme,
            host,
            port,
            user,
            password,
            tls: None,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        })
    }

    /// The TLS settings for an `https://` proxy (which CA to trust, client
    /// certificate). Without it the system roots are used. Only the
    /// connection to the proxy uses it; TLS to the target has its own.
    pub fn with_tls_config(mut self, tls: TlsConfig) -> Proxy {
        self.tls = Some(tls);
        self
    }

    /// Limits the size of the proxy's reply head (default 16 KiB).
    pub fn with_max_header_bytes(mut self, limit: usize) -> Proxy {
        self.max_header_bytes = limit.max(64);
        self
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> ProxyScheme {
        self.scheme
    }

    /// The proxy's host, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The percent-decoded user name, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The `Proxy-Authorization` header value (`Basic ...`) when the URL
    /// carries credentials.
    pub fn basic_auth(&self) -> Option<String> {
        let user = self.user.as_deref()?;
        let pair = format!("{user}:{}", self.password.as_deref().unwrap_or(""));
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }

    /// What tells connections through this proxy apart in a pool key: the
    /// URL without password, a keyed hash of the credentials, and for an
    /// `https://` proxy the fingerprint of its TLS settings. No secret in
    /// clear.
    pub fn identity(&self) -> String {
        let mut id = self.to_string();
        if let Some(user) = &self.user {
            let hash = SecretHash::of([user.as_str(), self.password.as_deref().unwrap_or("")]);
            // SecretHash's Debug shows only 32 bits; pool keys want all 64
            // we can get (the hash is keyed per process, so this reveals nothing).
            let mut h = std::collections::hash_map::DefaultHasher::new();
            hash.hash(&mut h);
            id.push_str(&format!(" auth#{:016x}", h.finish()));
        }
        if self.scheme == ProxyScheme::Https {
            match &self.tls {
                Some(tls) => id.push_str(&format!(" tls#{:016x}", tls.fingerprint())),
                None => id.push_str(" tls#system"),
            }
        }
        id
    }

    /// `host:port` of the proxy, with brackets for IPv6.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Proxy {
    /// The URL with the user name but never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        f.write_str(&self.authority())
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.to_string())
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls.is_some())
            .field("max_header_bytes", &self.max_header_bytes)
            .finish()
    }
}

/// The URL with any user-info removed, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***@{}", &url[..s + 3], &url[at + 1..]),
        _ => url.to_string(),
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "invalid percent escape".to_string())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 after percent-decoding".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let p = Proxy::parse("http://pconn:pconn-secret@127.0.0.1:3129").unwrap();
        assert_eq!(
            (p.host(), p.port(), p.user()),
            ("127.0.0.1", 3129, Some("pconn"))
        );
        assert_eq!(p.basic_auth().unwrap(), "Basic cGNvbm46cGNvbm4tc2VjcmV0");
        let p = Proxy::parse("http://us%65r:p%40ss%3Aw%2Fd@proxy.example:8080/").unwrap();
        assert_eq!(p.user(), Some("user"));
        assert_eq!(p.password.as_deref(), Some("p@ss:w/d"));
        let p = Proxy::parse("https://[::1]").unwrap();
        assert_eq!(
            (p.scheme(), p.host(), p.port()),
            (ProxyScheme::Https, "::1", 443)
        );
        assert_eq!(p.to_string(), "https://[::1]:443");
        assert_eq!(Proxy::parse("http://Proxy.Example").unwrap().port(), 80);
        assert_eq!(
            Proxy::parse("http://u@h:1").unwrap().basic_auth().unwrap(),
            "Basic dTo="
        );
        assert!(Proxy::parse("http://h:1").unwrap().basic_auth().is_none());
    }

    #[test]
    fn refuses_bad_urls() {
        for url in [
            "socks5://h:1080",
            "h:3128",
            "http://",
            "http://h:1/path",
            "http://h:1/?q",
            "http://h:1/#f",
            "http://h:0",
            "http://h:99999",
            "http://a%3Ab:pw@h:1",
            "http://u:%zz@h:1",
            "http://u:%ff@h:1",
            "http://:pw@h:1",
        ] {
            assert!(
                matches!(Proxy::parse(url), Err(Error::InvalidProxyUrl(_))),
                "{url} accepted"
            );
        }
    }

    #[test]
    fn secrets_stay_hidden() {
        let p = Proxy::parse("http://pconn:hunter2@127.0.0.1:3129").unwrap();
        for shown in [p.to_string(), format!("{p:?}"), p.identity()] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("127.0.0.1:3129"), "{shown}");
        }
        let err = Proxy::parse("http://u:hunter2@h:1/x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn identities_separate_proxies_and_credentials() {
        let ids: Vec<String> = [
            "http://127.0.0.1:3128",
            "http://127.0.0.1:3129",
            "http://a:1@127.0.0.1:3128",
            "http://a:2@127.0.0.1:3128",
            "http://b:1@127.0.0.1:3128",
            "https://127.0.0.1:3128",
        ]
        .iter()
        .map(|u| Proxy::parse(u).unwrap().identity())
        .collect();
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            Proxy::parse("http://a:1@h:1").unwrap().identity(),
            Proxy::parse("http://a:1@h:1").unwrap().identity()
        );
    }
}
