//! The public builder: settings from `smtp://` / `smtps://` URLs or
//! method calls, checked once, into an [`SmtpClient`].

use std::sync::Arc;
use std::time::Duration;

use transport::{ConnectOptions, Connector, Direct, Endpoint, Pool, PoolConfig, TlsConfig};

use crate::client::SmtpClient;
use crate::error::{Error, Result};
use crate::proto::address::EhloName;
use crate::session::Session;
use crate::settings::{Credentials, Settings, StartTls, DEFAULT_CHUNK_SIZE};

impl SmtpClient {
    /// A builder for `host`.
    pub fn builder(host: &str) -> Builder {
        Builder::new(host)
    }

    /// A builder from `smtp://[user:password@]host[:port]` (STARTTLS
    /// required), `smtps://` (implicit TLS), `lmtp://host[:port]` or LMTP
    /// over a Unix socket, `lmtp+unix:///path/to/sock`. User and password
    /// are percent-decoded ([`transport::url_userinfo`]).
    pub fn from_url(url: &str) -> Result<Builder> {
        Builder::from_url(url)
    }
}

/// Builds an [`SmtpClient`].
#[derive(Debug)]
pub struct Builder {
    host: String,
    port: Option<u16>,
    unix_path: Option<std::path::PathBuf>,
    implicit_tls: bool,
    tls: Option<TlsConfig>,
    starttls: StartTls,
    credentials: Option<Credentials>,
    allow_plaintext_auth: bool,
    ehlo_name: Result<EhloName>,
    connect: ConnectOptions,
    pool_config: PoolConfig,
    pool: Option<Pool<Session>>,
    noop_after: Option<Duration>,
    connector: Arc<dyn Connector>,
    persistent_id: Option<String>,
    lmtp: bool,
    chunk_size: usize,
    #[cfg(feature = "dkim")]
    dkim: Option<Arc<crate::dkim::DkimSigner>>,
}

impl Builder {
    pub(crate) fn new(host: &str) -> Builder {
        Builder {
            host: host.to_string(),
            port: None,
            unix_path: None,
            implicit_tls: false,
            tls: None,
            starttls: StartTls::Required,
            credentials: None,
            allow_plaintext_auth: false,
            ehlo_name: Ok(EhloName::default()),
            connect: ConnectOptions::default(),
            pool_config: PoolConfig {
                max_open: 4,
                max_idle: 4,
                idle_timeout: Some(Duration::from_secs(60)),
                ..PoolConfig::default()
            },
            pool: None,
            noop_after: Some(Duration::from_secs(10)),
            connector: Arc::new(Direct),
            persistent_id: None,
            lmtp: false,
            chunk_size: DEFAULT_CHUNK_SIZE,
            #[cfg(feature = "dkim")]
            dkim: None,
        }
    }

    /// Settings from `smtp://[user:password@]host[:port]` (STARTTLS, port
    /// 587), `smtps://...` (implicit TLS, port 465) or `lmtp://...` (LMTP,
    /// port 24), or LMTP over a Unix socket: `lmtp+unix:///path/to/sock`
    /// (also `lmtp:///path/to/sock`, an empty host and the socket path).
    /// The query may set `starttls=required|opportunistic|none` and
    /// `ehlo=NAME`.
    pub(crate) fn from_url(url: &str) -> Result<Builder> {
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::InvalidConfig(format!("invalid SMTP URL: {e}")))?;
        let socket = parsed.scheme() == "lmtp+unix"
            || (parsed.scheme() == "lmtp"
                && parsed.host_str().unwrap_or("").is_empty()
                && parsed.path().len() > 1);
        if socket {
            return Builder::from_unix_url(&parsed);
        }
        let (implicit, lmtp) = match parsed.scheme() {
            "smtp" => (false, false),
            "smtps" => (true, false),
            "lmtp" => (false, true),
            other => {
                return Err(Error::InvalidConfig(format!(
                    "unsupported scheme {other:?} (smtp://, smtps://, lmtp:// or lmtp+unix://)"
                )))
            }
        };
        let host = parsed
            .host_str()
            .ok_or_else(|| Error::InvalidConfig("SMTP URL without host".into()))?;
        if !matches!(parsed.path(), "" | "/") || parsed.fragment().is_some() {
            return Err(Error::InvalidConfig(
                "SMTP URL takes no path or fragment".into(),
            ));
        }
        let mut b = Builder::new(host).implicit_tls(implicit).lmtp(lmtp);
        if let Some(port) = parsed.port() {
            b = b.port(port);
        }
        b.apply_query(&parsed)
    }

    /// `lmtp+unix:///path[?query]`: LMTP over the Unix socket at `path`
    /// (percent-decoded), no TLS, no credentials.
    fn from_unix_url(parsed: &url::Url) -> Result<Builder> {
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::InvalidConfig(
                "an LMTP Unix socket URL takes no user or password".into(),
            ));
        }
        let host = parsed.host_str().unwrap_or("");
        if !host.is_empty() || parsed.port().is_some() || parsed.fragment().is_some() {
            return Err(Error::InvalidConfig(
                "an LMTP Unix socket URL takes no host, port or fragment \
                 (lmtp+unix:///path/to/sock)"
                    .into(),
            ));
        }
        let path = percent_encoding::percent_decode_str(parsed.path())
            .decode_utf8()
            .map_err(|_| Error::InvalidConfig("the socket path is not UTF-8".into()))?;
        if !path.starts_with('/') || path.len() < 2 {
            return Err(Error::InvalidConfig(
                "an LMTP Unix socket URL needs an absolute path: lmtp+unix:///path/to/sock".into(),
            ));
        }
        Builder::new("localhost")
            .lmtp(true)
            .unix_socket(path.as_ref())
            .apply_query(parsed)
    }

    /// The URL's user info and `?starttls=..&ehlo=..` options.
    fn apply_query(self, parsed: &url::Url) -> Result<Builder> {
        let mut b = self;
        // RFC 3986 userinfo, decoded by the one rule every crate shares.
        let (user, password) = transport::url_userinfo(parsed)
            .map_err(|e| Error::InvalidConfig(format!("SMTP URL: {e}")))?;
        if !user.is_empty() {
            b = b.credentials(Credentials::password(
                &user,
                password.as_deref().unwrap_or(""),
            ));
        }
        for (k, v) in parsed.query_pairs() {
            match (k.as_ref(), v.as_ref()) {
                ("starttls", "required") => b = b.starttls(StartTls::Required),
                ("starttls", "opportunistic") => b = b.starttls(StartTls::Opportunistic),
                ("starttls", "none") => b = b.starttls(StartTls::None),
                ("ehlo", name) => b = b.ehlo_name(name),
                (k, v) => {
                    return Err(Error::InvalidConfig(format!(
                        "unknown SMTP URL option {k}={v}"
                    )))
                }
            }
        }
        Ok(b)
    }

    /// Connects to the Unix domain socket at `path` instead of a host
    /// (LMTP's usual home: a local delivery agent's socket). No TLS goes
    /// over it: STARTTLS is off, and asking for TLS makes
    /// [`Builder::build`] fail. Connections are pooled by the path.
    pub fn unix_socket(mut self, path: impl AsRef<std::path::Path>) -> Self {
        self.unix_path = Some(path.as_ref().to_path_buf());
        self.starttls = StartTls::None;
        self
    }

    /// The port (default 587 for STARTTLS or plain, 465 for implicit TLS,
    /// 24 for LMTP).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// TLS from the first byte (`smtps`, port 465) instead of STARTTLS.
    pub fn implicit_tls(mut self, on: bool) -> Self {
        self.implicit_tls = on;
        self
    }

    /// TLS settings (roots, client certificate). Default: the system roots.
    pub fn tls_config(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The STARTTLS policy for plain connections (default Required).
    pub fn starttls(mut self, policy: StartTls) -> Self {
        self.starttls = policy;
        self
    }

    /// Authenticate after the handshake.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Allow AUTH over a connection without TLS (off by default).
    pub fn allow_plaintext_auth(mut self, allow: bool) -> Self {
        self.allow_plaintext_auth = allow;
        self
    }

    /// The name sent in EHLO (default `[127.0.0.1]`); checked.
    pub fn ehlo_name(mut self, name: &str) -> Self {
        self.ehlo_name = EhloName::new(name).map_err(Error::from);
        self
    }

    /// Connect, read and write timeouts and TCP keepalive.
    pub fn connect_options(mut self, opts: ConnectOptions) -> Self {
        self.connect = opts;
        self
    }

    /// Limits of the client's own pool (ignored with [`pool`](Builder::pool)).
    pub fn pool_config(mut self, config: PoolConfig) -> Self {
        self.pool_config = config;
        self
    }

    /// Mails sent over one connection before it is closed (politely, QUIT).
    pub fn max_mails_per_connection(mut self, n: u64) -> Self {
        self.pool_config.max_uses = Some(n);
        self
    }

    /// Shares `pool` (e.g. from [`transport::registry::pool`]) instead of a
    /// pool of the client's own.
    pub fn pool(mut self, pool: Pool<Session>) -> Self {
        self.pool = Some(pool);
        self
    }

    /// A connection idle at least this long is checked with NOOP before
    /// reuse (`None`: never; default 10 s). The probe runs in any case.
    pub fn noop_after(mut self, idle: Option<Duration>) -> Self {
        self.noop_after = idle;
        self
    }

    /// Where streams come from (default direct TCP; a proxy tunnel plugs in here).
    pub fn connector(mut self, connector: Arc<dyn Connector>) -> Self {
        self.connector = connector;
        self
    }

    /// Connects through an HTTP CONNECT proxy (`http://[user:pw@]host:port`
    /// or `https://...`); STARTTLS or implicit TLS then runs end to end
    /// through the tunnel. For an `https://` proxy with a private CA, build
    /// the [`proxy_tunnel::Proxy`] yourself and pass its
    /// [`connector`](proxy_tunnel::Proxy::connector).
    pub fn proxy(self, url: &str) -> Result<Self> {
        let proxy = proxy_tunnel::Proxy::parse(url)
            .map_err(|e| Error::InvalidConfig(format!("proxy: {e}")))?;
        Ok(self.connector(proxy.connector()))
    }

    /// Speaks LMTP (RFC 2033) instead of SMTP: LHLO, and after the data one
    /// reply per accepted recipient, each that recipient's result. The
    /// STARTTLS policy applies as for SMTP. `lmtp://` URLs set this.
    pub fn lmtp(mut self, on: bool) -> Self {
        self.lmtp = on;
        self
    }

    /// Sends mail with BDAT (RFC 3030) when the server offers CHUNKING
    /// (default on), in chunks of `chunk_size` bytes (default 1 MiB),
    /// pipelined when the server offers PIPELINING.
    pub fn chunking(mut self, on: bool) -> Self {
        self.chunk_size = if on { DEFAULT_CHUNK_SIZE } else { 0 };
        self
    }

    /// The BDAT chunk size (at least 1; see [`chunking`](Builder::chunking)).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Signs every mail with `signer` before it is sent (once, even when
    /// the mail is retried on a fresh connection).
    #[cfg(feature = "dkim")]
    pub fn dkim(mut self, signer: crate::dkim::DkimSigner) -> Self {
        self.dkim = Some(Arc::new(signer));
        self
    }

    /// Separates this client's connections from otherwise equal ones.
    pub fn persistent_id(mut self, id: &str) -> Self {
        self.persistent_id = Some(id.to_string());
        self
    }

    /// Checks the settings and creates the client (no connection yet).
    pub fn build(self) -> Result<SmtpClient> {
        let ehlo_name = self.ehlo_name?;
        if let Some(c) = &self.credentials {
            c.check()?;
        }
        let port = self.port.unwrap_or(match (self.lmtp, self.implicit_tls) {
            (true, _) => 24,
            (false, true) => 465,
            (false, false) => 587,
        });
        let needs_tls = self.implicit_tls || self.starttls != StartTls::None;
        let tls = match self.tls {
            Some(tls) => Some(tls),
            // Loading the system roots costs file reads; plain SMTP needs none.
            None if needs_tls => Some(TlsConfig::system()?),
            None => None,
        };
        let mut endpoint = match &self.unix_path {
            Some(_) if needs_tls => {
                return Err(Error::InvalidConfig(
                    "TLS (implicit or STARTTLS) over a Unix socket is not supported".into(),
                ))
            }
            Some(path) => Endpoint::unix(path)?,
            None => Endpoint::new(&self.host, port)?,
        };
        if let (true, Some(tls)) = (self.implicit_tls, &tls) {
            endpoint = endpoint.with_tls(tls.clone());
        }
        // Everything the handshake changes is part of the identity: the
        // security mode and the EHLO name, TLS, the route and the
        // authenticated user.
        let mode = match (self.implicit_tls, self.starttls) {
            (true, _) => "tls",
            (false, StartTls::Required) => "starttls",
            (false, StartTls::Opportunistic) => "starttls-opportunistic",
            (false, StartTls::None) => "plain",
        };
        let protocol = if self.lmtp { "lmtp" } else { "smtp" };
        let mut key = transport::PoolKey::for_endpoint(protocol, &endpoint, &*self.connector)
            .tls_mode(mode)
            .local_name(ehlo_name.as_str());
        // STARTTLS upgrades with these settings later: the endpoint has none.
        if let Some(tls) = &tls {
            key = key.tls(tls.fingerprint());
        }
        if let Some(c) = &self.credentials {
            key = key.credentials(c.hash());
        }
        if let Some(id) = &self.persistent_id {
            key = key.persistent_id(id.clone());
        }
        let pool = match self.pool {
            Some(pool) => pool,
            None => Pool::new(self.pool_config)?,
        };
        let settings = Settings {
            endpoint,
            implicit_tls: self.implicit_tls,
            tls,
            starttls: self.starttls,
            credentials: self.credentials,
            allow_plaintext_auth: self.allow_plaintext_auth,
            ehlo_name,
            connect: self.connect,
            noop_after: self.noop_after,
            connector: self.connector,
            lmtp: self.lmtp,
            chunk_size: self.chunk_size,
            #[cfg(feature = "dkim")]
            dkim: self.dkim,
        };
        Ok(SmtpClient::new(settings, pool.key_pool(&key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;

    /// RFC 3986 userinfo: percent-decoded, `+` is a plus (not form
    /// decoding); every reserved character survives in user and password.
    #[test]
    fn userinfo_with_every_reserved_character() {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let reserved = ":/?#[]@!$&'()*+,;=% \u{e9}";
        let user = format!("u{reserved}x");
        let password = format!("p{reserved}y");
        let url = format!(
            "smtps://{}:{}@mail.example",
            utf8_percent_encode(&user, NON_ALPHANUMERIC),
            utf8_percent_encode(&password, NON_ALPHANUMERIC)
        );
        let b = Builder::from_url(&url).unwrap();
        let c = b.credentials.unwrap();
        assert_eq!(c.user, user);
        assert!(matches!(&c.secret, Secret::Password(p) if *p == password));
        // Sub-delimiters may also appear unescaped; '+' is never a space.
        let b = Builder::from_url("smtps://a+b:c+d!$&'()*,;=@mail.example").unwrap();
        let c = b.credentials.unwrap();
        assert_eq!(c.user, "a+b");
        assert!(matches!(&c.secret, Secret::Password(p) if p == "c+d!$&'()*,;="));
        assert!(Builder::from_url("smtps://%FF%FE:x@mail.example").is_err());
        // A bad escape is refused, naming the part (never its value).
        for (url, part) in [
            ("smtps://u%zz:x@mail.example", "user"),
            ("smtps://u:secret%zz@mail.example", "password"),
        ] {
            let err = Builder::from_url(url).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::InvalidConfig(_)), "{url}");
            assert!(text.contains(part) && !text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn lmtp_unix_socket_urls() {
        for url in [
            "lmtp+unix:///run/dovecot/lmtp",
            "lmtp:///run/dovecot/lmtp",
            "lmtp+unix:///run/dovecot/lmtp?ehlo=mx.example",
        ] {
            let b = Builder::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(b.lmtp, "{url}");
            assert_eq!(b.starttls, StartTls::None, "{url}");
            assert_eq!(
                b.unix_path.as_deref(),
                Some(std::path::Path::new("/run/dovecot/lmtp")),
                "{url}"
            );
            assert!(b.build().is_ok(), "{url}");
        }
        let b = Builder::from_url("lmtp+unix:///tmp/a%20b.sock").unwrap();
        assert_eq!(
            b.unix_path.as_deref(),
            Some(std::path::Path::new("/tmp/a b.sock"))
        );
        for bad in [
            "lmtp+unix://",
            "lmtp+unix:///",
            "lmtp+unix://host/sock",
            "lmtp+unix:///s#frag",
            "lmtp+unix:///s?starttls=maybe",
        ] {
            assert!(Builder::from_url(bad).is_err(), "{bad} accepted");
        }
        // TLS never goes over the socket: refused before connecting.
        let err = Builder::from_url("lmtp+unix:///s?starttls=required")
            .unwrap()
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
    }

    #[test]
    fn urls() {
        let b = Builder::from_url("smtp://us%40er:p%3Ass@mail.example:2525?starttls=opportunistic")
            .unwrap();
        assert_eq!(b.port, Some(2525));
        assert!(!b.implicit_tls);
        assert_eq!(b.starttls, StartTls::Opportunistic);
        let c = b.credentials.as_ref().unwrap();
        assert_eq!(c.user, "us@er");
        assert!(matches!(&c.secret, Secret::Password(p) if p == "p:ss"));
        assert!(!format!("{c:?}").contains("p:ss"));
        let b = Builder::from_url("smtps://localhost").unwrap();
        assert!(b.implicit_tls && b.port.is_none());
        for bad in [
            "http://x",
            "smtp://",
            "smtp://h/path",
            "smtp://h?x=1",
            "smtp://h?starttls=maybe",
            "smtp://h:99999",
        ] {
            assert!(Builder::from_url(bad).is_err(), "{bad} accepted");
        }
        assert!(Builder::from_url("smtp://h?ehlo=a%0D%0Ab")
            .unwrap()
            .build()
            .is_err());
        assert!(Builder::new("h")
            .credentials(Credentials::password("u\0x", "p"))
            .build()
            .is_err());
    }
}
