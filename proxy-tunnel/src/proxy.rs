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
    /// HTTP `CONNECT` over plain TCP to the proxy (`http://`).
    Http,
    /// HTTP `CONNECT` over TLS to the proxy (`https://`); TLS to the target
    /// then runs inside it.
    Https,
    /// SOCKS4 (`socks4://`): the client resolves the target to IPv4.
    Socks4,
    /// SOCKS4a (`socks4a://`): the proxy resolves the target's name.
    Socks4a,
    /// SOCKS5 (`socks5://`): the client resolves the target's name.
    Socks5,
    /// SOCKS5 (`socks5h://`): the proxy resolves the target's name.
    Socks5h,
}

impl ProxyScheme {
    /// The URL scheme: `http`, `https`, `socks4`, `socks4a`, `socks5`, `socks5h`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
            ProxyScheme::Socks4 => "socks4",
            ProxyScheme::Socks4a => "socks4a",
            ProxyScheme::Socks5 => "socks5",
            ProxyScheme::Socks5h => "socks5h",
        }
    }

    /// The scheme for a URL scheme name (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<ProxyScheme> {
        [
            ProxyScheme::Http,
            ProxyScheme::Https,
            ProxyScheme::Socks4,
            ProxyScheme::Socks4a,
            ProxyScheme::Socks5,
            ProxyScheme::Socks5h,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }

    /// True for the SOCKS schemes.
    pub fn is_socks(self) -> bool {
        !matches!(self, ProxyScheme::Http | ProxyScheme::Https)
    }

    /// True when the proxy, not the client, resolves the target's name
    /// (HTTP `CONNECT`, `socks4a`, `socks5h`).
    pub fn proxy_resolves(self) -> bool {
        !matches!(self, ProxyScheme::Socks4 | ProxyScheme::Socks5)
    }

    /// The port when the URL gives none: 80, 443, or 1080 for SOCKS.
    pub fn default_port(self) -> u16 {
        match self {
            ProxyScheme::Http => 80,
            ProxyScheme::Https => 443,
            _ => 1080,
        }
    }
}

/// The longest SOCKS user name, password or SOCKS4 user id (one length
/// byte on the wire, RFC 1929).
pub const MAX_SOCKS_CREDENTIAL: usize = 255;

/// The default limit on the proxy's reply head to `CONNECT`.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// A proxy: HTTP or HTTPS that tunnels with `CONNECT`, or SOCKS4/4a/5.
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
    /// Parses `scheme://[user[:password]@]host[:port]` with `scheme` one of
    /// `http`, `https`, `socks5`, `socks5h`, `socks4`, `socks4a`. User and
    /// password are percent-decoded. The port defaults to 80 for `http`, 443
    /// for `https` and 1080 for SOCKS. Refused before anything is sent: an
    /// unknown scheme; a path other than `/`, a query or a fragment; a
    /// control character (CR, LF, NUL, ...) in user or password; a SOCKS
    /// user or password over 255 bytes; a password for SOCKS4 (it has only a
    /// user id); a `:` in an HTTP proxy's user name (Basic auth joins at it).
    pub fn parse(url: &str) -> Result<Proxy, Error> {
        let bad = |why: String| Error::InvalidProxyUrl(why);
        let parsed = url::Url::parse(url).map_err(|e| bad(format!("{}: {e}", redact(url))))?;
        let scheme = ProxyScheme::from_name(parsed.scheme()).ok_or_else(|| {
            bad(format!(
                "scheme {:?} is not supported (use http, https, socks5, socks5h, socks4 or socks4a)",
                parsed.scheme()
            ))
        })?;
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
        let port = parsed.port().unwrap_or(scheme.default_port());
        if port == 0 {
            return Err(bad("port 0".into()));
        }
        let (user, password) = transport::url_userinfo(&parsed).map_err(|e| bad(e.to_string()))?;
        let user = Some(user).filter(|u| !u.is_empty());
        check_credentials(scheme, user.as_deref(), password.as_deref()).map_err(bad)?;
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

    /// The proxy's kind.
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

    /// True for an HTTP(S) proxy, which can also take plain-http requests
    /// in absolute form; a SOCKS proxy only tunnels.
    pub fn forwards_http(&self) -> bool {
        !self.scheme.is_socks()
    }

    /// The `Proxy-Authorization` header value (`Basic ...`) when the URL of
    /// an HTTP(S) proxy carries credentials; `None` for SOCKS, whose
    /// credentials only go into its own handshake.
    pub fn basic_auth(&self) -> Option<String> {
        if self.scheme.is_socks() {
            return None;
        }
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

/// The rules for user and password that hold before anything is sent.
fn check_credentials(
    scheme: ProxyScheme,
    user: Option<&str>,
    password: Option<&str>,
) -> Result<(), String> {
    if user.is_none() && password.is_some() {
        return Err("a password without a user name".into());
    }
    for (what, value) in [("user name", user), ("password", password)] {
        let Some(value) = value else { continue };
        if value.chars().any(char::is_control) {
            return Err(format!(
                "the {what} contains a control character (CR, LF, NUL, ...)"
            ));
        }
        if scheme.is_socks() && value.len() > MAX_SOCKS_CREDENTIAL {
            return Err(format!(
                "the SOCKS {what} has {} bytes (at most {MAX_SOCKS_CREDENTIAL})",
                value.len()
            ));
        }
    }
    match scheme {
        ProxyScheme::Socks4 | ProxyScheme::Socks4a if password.is_some() => {
            Err("SOCKS4 sends a user id but no password".into())
        }
        // Basic auth joins user and password with the first colon.
        ProxyScheme::Http | ProxyScheme::Https if user.is_some_and(|u| u.contains(':')) => {
            Err("the user name must not contain ':'".into())
        }
        _ => Ok(()),
    }
}

/// The URL with any user-info removed, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***@{}", &url[..s + 3], &url[at + 1..]),
        _ => url.to_string(),
    }
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
        let long = "a".repeat(256);
        let (long_user, long_password) = (
            format!("socks5://{long}:pw@h:1"),
            format!("socks5h://u:{long}@h:1"),
        );
        for url in [
            "ftp://h:1080",
            "socks://h:1080",
            "socks6://h:1080",
            long_user.as_str(),
            long_password.as_str(),
            "socks5://u%0D%0A:pw@h:1",
            "socks5://u:p%0Aw@h:1",
            "socks5://u:p%00w@h:1",
            "http://u%0D:pw@h:1",
            "socks4://u:pw@h:1",
            "socks5://:pw@h:1",
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
    fn every_reserved_character_in_user_and_password() {
        // RFC 3986 gen-delims and sub-delims, '%', space, '+', non-ASCII.
        let reserved = ":/?#[]@!$&'()*+,;=% é";
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        };
        let password = format!("p{reserved}w");
        for scheme in ["http", "https", "socks5", "socks5h"] {
            // Basic auth cannot carry ':' in the user name; SOCKS can.
            let user = if scheme.starts_with("http") {
                format!("u{}", reserved.replace(':', ""))
            } else {
                format!("u{reserved}")
            };
            let url = format!("{scheme}://{}:{}@h:1", enc(&user), enc(&password));
            let p = Proxy::parse(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(p.user(), Some(user.as_str()), "{url}");
            assert_eq!(p.password.as_deref(), Some(password.as_str()), "{url}");
        }
        // A literal '+' is a plus, not a space (that is form encoding).
        let p = Proxy::parse("socks5h://a+b:c+d@h:1").unwrap();
        assert_eq!(
            (p.user(), p.password.as_deref()),
            (Some("a+b"), Some("c+d"))
        );
        let p = Proxy::parse("socks4a://a%2Bb@h:1").unwrap();
        assert_eq!(p.user(), Some("a+b"));
    }

    #[test]
    fn socks_urls() {
        for (url, scheme, port) in [
            ("socks5://127.0.0.1", ProxyScheme::Socks5, 1080),
            ("socks5h://u:p@127.0.0.1:1081", ProxyScheme::Socks5h, 1081),
            ("SOCKS5H://[::1]:9050", ProxyScheme::Socks5h, 9050),
            ("socks4://me@10.0.0.1", ProxyScheme::Socks4, 1080),
            ("socks4a://proxy.example:1", ProxyScheme::Socks4a, 1),
        ] {
            let p = Proxy::parse(url).unwrap();
            assert_eq!((p.scheme(), p.port()), (scheme, port), "{url}");
            assert!(p.scheme().is_socks() && !p.forwards_http());
            assert_eq!(
                p.basic_auth(),
                None,
                "{url}: SOCKS credentials stay in SOCKS"
            );
        }
        let max = "a".repeat(255);
        let p = Proxy::parse(&format!("socks5h://{max}:{max}@h:1")).unwrap();
        assert_eq!(p.user().map(str::len), Some(255));
        assert!(Proxy::parse("socks5h://u:p@h:1")
            .unwrap()
            .scheme()
            .proxy_resolves());
        assert!(!ProxyScheme::Socks5.proxy_resolves());
        assert_eq!(
            Proxy::parse("socks5h://u:hunter2@h:1").unwrap().to_string(),
            "socks5h://u@h:1"
        );
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
            "socks5://127.0.0.1:3128",
            "socks5h://127.0.0.1:3128",
            "socks5h://a:1@127.0.0.1:3128",
            "socks5h://a:2@127.0.0.1:3128",
            "socks4a://127.0.0.1:3128",
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
