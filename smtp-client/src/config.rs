//! Settings: from `smtp://` / `smtps://` URLs or the builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use transport::{ConnectOptions, Connector, Direct, Endpoint, Pool, PoolConfig, TlsConfig};

use crate::client::SmtpClient;
use crate::error::{Error, Result};
use crate::proto::address::EhloName;
use crate::session::Session;

/// What to do about STARTTLS on a plain `smtp://` connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartTls {
    /// Upgrade with STARTTLS, and refuse a server that does not offer it
    /// (before any mail or credential is sent). The default.
    #[default]
    Required,
    /// Upgrade when offered, else continue in the clear.
    Opportunistic,
    /// Never upgrade: plain text (an explicit opt-in).
    None,
}

/// The secret part of credentials.
#[derive(Clone)]
pub(crate) enum Secret {
    Password(String),
    Token(String),
}

/// AUTH credentials. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    pub(crate) user: String,
    pub(crate) secret: Secret,
}

impl Credentials {
    /// A user and password (AUTH PLAIN, else LOGIN).
    pub fn password(user: &str, password: &str) -> Credentials {
        Credentials {
            user: user.into(),
            secret: Secret::Password(password.into()),
        }
    }

    /// A user and OAuth 2.0 bearer token (AUTH XOAUTH2).
    pub fn oauth2(user: &str, token: &str) -> Credentials {
        Credentials {
            user: user.into(),
            secret: Secret::Token(token.into()),
        }
    }

    fn check(&self) -> Result<()> {
        let secret = match &self.secret {
            Secret::Password(p) | Secret::Token(p) => p,
        };
        // NUL separates the fields of AUTH PLAIN, ^A those of XOAUTH2.
        if self.user.is_empty()
            || [&self.user, secret]
                .iter()
                .any(|s| s.contains(['\0', '\x01']))
        {
            return Err(Error::InvalidInput(
                "credentials must be non-empty and contain no NUL or \\x01".into(),
            ));
        }
        Ok(())
    }

    fn hash(&self) -> transport::SecretHash {
        let (kind, secret) = match &self.secret {
            Secret::Password(p) => ("password", p),
            Secret::Token(t) => ("token", t),
        };
        transport::SecretHash::of([kind, self.user.as_str(), secret.as_str()])
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Everything a connection is opened with (shared by the client's clones).
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) endpoint: Endpoint,
    pub(crate) implicit_tls: bool,
    /// None only when no TLS can happen (plain, STARTTLS never).
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) starttls: StartTls,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) allow_plaintext_auth: bool,
    pub(crate) ehlo_name: EhloName,
    pub(crate) connect: ConnectOptions,
    pub(crate) noop_after: Option<Duration>,
    pub(crate) connector: Arc<dyn Connector>,
}

/// Builds an [`SmtpClient`].
#[derive(Debug)]
pub struct Builder {
    host: String,
    port: Option<u16>,
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
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::InvalidConfig("bad percent escape in URL".into()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::InvalidConfig("URL user info is not UTF-8".into()))
}

impl Builder {
    pub(crate) fn new(host: &str) -> Builder {
        Builder {
            host: host.to_string(),
            port: None,
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
        }
    }

    /// Settings from `smtp://[user:password@]host[:port]` (STARTTLS, port
    /// 587) or `smtps://...` (implicit TLS, port 465). The query may set
    /// `starttls=required|opportunistic|none` and `ehlo=NAME`.
    pub(crate) fn from_url(url: &str) -> Result<Builder> {
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::InvalidConfig(format!("invalid SMTP URL: {e}")))?;
        let implicit = match parsed.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(Error::InvalidConfig(format!(
                    "unsupported scheme {other:?} (smtp:// or smtps://)"
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
        let mut b = Builder::new(host).implicit_tls(implicit);
        if let Some(port) = parsed.port() {
            b = b.port(port);
        }
        if !parsed.username().is_empty() {
            let user = percent_decode(parsed.username())?;
            let password = percent_decode(parsed.password().unwrap_or(""))?;
            b = b.credentials(Credentials::password(&user, &password));
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

    /// The port (default 587 for STARTTLS or plain, 465 for implicit TLS).
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
        let port = self
            .port
            .unwrap_or(if self.implicit_tls { 465 } else { 587 });
        let needs_tls = self.implicit_tls || self.starttls != StartTls::None;
        let tls = match self.tls {
            Some(tls) => Some(tls),
            // Loading the system roots costs file reads; plain SMTP needs none.
            None if needs_tls => Some(TlsConfig::system()?),
            None => None,
        };
        let mut endpoint = Endpoint::new(&self.host, port)?;
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
        let mut key = transport::PoolKey::for_endpoint("smtp", &endpoint, &*self.connector)
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
        };
        Ok(SmtpClient::new(settings, pool.key_pool(&key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
