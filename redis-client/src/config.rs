//! Connection settings: URLs, the builder, and the handshake they imply.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use transport::{Connector, Direct, Pool, PoolConfig, TlsConfig};

use crate::error::{Error, Result};
use crate::proto::{Limits, Protocol};
use crate::session::Session;

/// What a fresh connection is: the state the handshake establishes and
/// every release restores.
#[derive(Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The RESP version asked for.
    pub protocol: Protocol,
    /// ACL user (`None`: `default`).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Database index.
    pub db: i64,
    /// `CLIENT SETNAME` value.
    pub client_name: Option<String>,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("protocol", &self.protocol)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("client_name", &self.client_name)
            .finish()
    }
}

/// Builds a [`crate::Client`]: from a URL, then adjusted.
///
/// URL form: `redis://[user[:password]@]host[:port][/db][?option=value&...]`,
/// `rediss://` for TLS. Options: `name` (client name), `protocol` (`2` or
/// `3`), `connect_timeout`, `read_timeout`, `write_timeout`, `timeout`
/// (read and write), `idle_check` (PING after this idle time), `max_open`,
/// `persistent_id`, `databases` (db range check, default 16), `cacert`
/// (CA PEM file for `rediss`). Durations are milliseconds or end in `ms`/`s`.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: bool,
    pub(crate) tls_config: Option<TlsConfig>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) handshake: Handshake,
    pub(crate) databases: i64,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) idle_check: Option<Duration>,
    pub(crate) limits: Limits,
    pub(crate) pool_config: PoolConfig,
    pub(crate) pool: Option<Pool<Session>>,
    pub(crate) persistent_id: Option<String>,
    pub(crate) connector: Arc<dyn Connector>,
    pub(crate) max_watch_attempts: usize,
    pub(crate) readonly: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            host: "127.0.0.1".into(),
            port: 6379,
            tls: false,
            tls_config: None,
            ca_file: None,
            handshake: Handshake {
                protocol: Protocol::Resp2,
                user: None,
                password: None,
                db: 0,
                client_name: None,
            },
            databases: 16,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            idle_check: None,
            limits: Limits::default(),
            pool_config: PoolConfig::default(),
            pool: None,
            persistent_id: None,
            connector: Arc::new(Direct),
            max_watch_attempts: 100,
            readonly: false,
        }
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidInput(msg.into())
}

/// Parses `250`, `250ms`, `2s`.
pub(crate) fn parse_duration(name: &str, value: &str) -> Result<Duration> {
    let (digits, scale) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1000)
    } else {
        (value, 1)
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .map(Duration::from_millis)
        .ok_or_else(|| invalid(format!("option {name}: invalid duration {value:?}")))
}

impl ClientBuilder {
    /// Defaults: `redis://127.0.0.1:6379`, RESP2, db 0, no credentials.
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Applies a `redis://` or `rediss://` URL (see the type docs).
    pub fn url(mut self, url: &str) -> Result<ClientBuilder> {
        let parsed =
            url::Url::parse(url).map_err(|e| invalid(format!("invalid URL {url:?}: {e}")))?;
        self.tls = match parsed.scheme() {
            "redis" => false,
            "rediss" => true,
            other => {
                return Err(invalid(format!(
                    "unknown scheme {other:?} (expected redis:// or rediss://)"
                )))
            }
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid(format!("URL {url:?} has no host")))?;
        self.host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        self.port = parsed.port().unwrap_or(6379);
        let decode = |s: &str| -> Result<String> {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .ok_or_else(|| invalid("undecodable credentials"))
        };
        if !parsed.username().is_empty() {
            self.handshake.user = Some(decode(parsed.username())?);
        }
        if let Some(pw) = parsed.password() {
            self.handshake.password = Some(decode(pw)?);
        }
        let path = parsed.path().trim_start_matches('/');
        if !path.is_empty() {
            let db = path
                .parse::<i64>()
                .map_err(|_| invalid(format!("database {path:?} is not a number")))?;
            self.handshake.db = db;
        }
        for (key, value) in parsed.query_pairs() {
            let value = value.as_ref();
            match key.as_ref() {
                "name" | "client_name" => self.handshake.client_name = Some(value.to_string()),
                "protocol" | "resp" => {
                    self.handshake.protocol = match value {
                        "2" => Protocol::Resp2,
                        "3" => Protocol::Resp3,
                        _ => {
                            return Err(invalid(format!("protocol must be 2 or 3, not {value:?}")))
                        }
                    }
                }
                "connect_timeout" => self.connect_timeout = parse_duration(&key, value)?,
                "read_timeout" => self.read_timeout = Some(parse_duration(&key, value)?),
                "write_timeout" => self.write_timeout = Some(parse_duration(&key, value)?),
                "timeout" => {
                    let t = parse_duration(&key, value)?;
                    self.read_timeout = Some(t);
                    self.write_timeout = Some(t);
                }
                "idle_check" => self.idle_check = Some(parse_duration(&key, value)?),
                "max_open" => {
                    self.pool_config.max_open = value
                        .parse()
                        .map_err(|_| invalid(format!("max_open: not a number: {value:?}")))?
                }
                "persistent_id" => self.persistent_id = Some(value.to_string()),
                "databases" => {
                    self.databases = value
                        .parse()
                        .map_err(|_| invalid(format!("databases: not a number: {value:?}")))?
                }
                "cacert" => self.ca_file = Some(PathBuf::from(value)),
                other => return Err(invalid(format!("unknown URL option {other:?}"))),
            }
        }
        Ok(self)
    }

    /// Host and port.
    pub fn address(mut self, host: &str, port: u16) -> ClientBuilder {
        self.host = host.to_string();
        self.port = port;
        self
    }

    /// ACL user and password (`user` `None`: password-only `AUTH`).
    pub fn credentials(mut self, user: Option<&str>, password: &str) -> ClientBuilder {
        self.handshake.user = user.map(str::to_string);
        self.handshake.password = Some(password.to_string());
        self
    }

    /// Database index selected on every connection.
    pub fn db(mut self, db: i64) -> ClientBuilder {
        self.handshake.db = db;
        self
    }

    /// How many databases the server has (for the range check; default 16).
    pub fn databases(mut self, n: i64) -> ClientBuilder {
        self.databases = n;
        self
    }

    /// `CLIENT SETNAME` on every connection.
    pub fn client_name(mut self, name: &str) -> ClientBuilder {
        self.handshake.client_name = Some(name.to_string());
        self
    }

    /// RESP version.
    pub fn protocol(mut self, protocol: Protocol) -> ClientBuilder {
        self.handshake.protocol = protocol;
        self
    }

    /// TLS with these settings (also switches TLS on).
    pub fn tls_config(mut self, tls: TlsConfig) -> ClientBuilder {
        self.tls = true;
        self.tls_config = Some(tls);
        self
    }

    /// A CA PEM file to verify the server with (for `rediss`).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> ClientBuilder {
        self.ca_file = Some(path.into());
        self
    }

    /// Connect timeout (TCP and TLS).
    pub fn connect_timeout(mut self, t: Duration) -> ClientBuilder {
        self.connect_timeout = t;
        self
    }

    /// Per-read timeout (`None`: wait forever).
    pub fn read_timeout(mut self, t: Option<Duration>) -> ClientBuilder {
        self.read_timeout = t;
        self
    }

    /// Per-write timeout.
    pub fn write_timeout(mut self, t: Option<Duration>) -> ClientBuilder {
        self.write_timeout = t;
        self
    }

    /// Send `PING <nonce>` before reusing a connection idle longer than this.
    pub fn idle_check(mut self, after: Option<Duration>) -> ClientBuilder {
        self.idle_check = after;
        self
    }

    /// Limits on replies.
    pub fn limits(mut self, limits: Limits) -> ClientBuilder {
        self.limits = limits;
        self
    }

    /// Settings of the client's own pool (ignored with [`pool`](Self::pool)).
    pub fn pool_config(mut self, config: PoolConfig) -> ClientBuilder {
        self.pool_config = config;
        self
    }

    /// Share an existing pool (connections stay separated by identity).
    pub fn pool(mut self, pool: Pool<Session>) -> ClientBuilder {
        self.pool = Some(pool);
        self
    }

    /// Use the process-wide pool registered under `id` (PHP's `pconnect`);
    /// the id is also part of every connection's identity.
    pub fn persistent_id(mut self, id: &str) -> ClientBuilder {
        self.persistent_id = Some(id.to_string());
        self
    }

    /// Open streams through this connector (e.g. a proxy tunnel).
    pub fn connector(mut self, connector: Arc<dyn Connector>) -> ClientBuilder {
        self.connector = connector;
        self
    }

    /// Tunnels every connection through an HTTP(S) CONNECT proxy,
    /// `http://[user:password@]host:port` or `https://...` (the proxy's
    /// TLS trusts the same CA file as [`ca_file`](Self::ca_file) if one is
    /// set, else the system roots). The proxy is part of the pool identity.
    pub fn proxy(mut self, url: &str) -> Result<ClientBuilder> {
        let mut proxy = proxy_tunnel::Proxy::parse(url).map_err(|e| invalid(e.to_string()))?;
        if let Some(ca) = &self.ca_file {
            proxy = proxy.with_tls_config(TlsConfig::builder().add_ca_file(ca).build()?);
        }
        self.connector = proxy.connector();
        Ok(self)
    }

    /// Attempts of [`crate::Connection::watch_transaction`] before giving up.
    pub fn max_watch_attempts(mut self, n: usize) -> ClientBuilder {
        self.max_watch_attempts = n.max(1);
        self
    }

    /// Checks everything that can be checked before connecting.
    /// Sends `READONLY` as part of the handshake (and again after every
    /// reset): reads of a cluster replica. Part of the connection's
    /// identity, so these connections are pooled apart.
    pub fn readonly(mut self, yes: bool) -> ClientBuilder {
        self.readonly = yes;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        transport::validate_host(&self.host).map_err(|e| invalid(e.to_string()))?;
        if self.port == 0 {
            return Err(invalid("port 0"));
        }
        if self.handshake.db < 0 || self.handshake.db >= self.databases {
            return Err(invalid(format!(
                "database {} out of range 0..{} (set `databases` for servers with more)",
                self.handshake.db, self.databases
            )));
        }
        if self.handshake.user.is_some() && self.handshake.password.is_none() {
            return Err(invalid("a user needs a password"));
        }
        for (what, s) in [
            ("client name", self.handshake.client_name.as_deref()),
            ("user", self.handshake.user.as_deref()),
        ] {
            if let Some(s) = s {
                if s.bytes().any(|b| b <= b' ' || b == 0x7f) {
                    return Err(invalid(format!(
                        "{what} must not contain spaces or control characters"
                    )));
                }
            }
        }
        if !self.tls && (self.tls_config.is_some() || self.ca_file.is_some()) {
            return Err(invalid("TLS settings given for a redis:// (plain) URL"));
        }
        self.pool_config
            .validate()
            .map_err(|e| invalid(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let b = ClientBuilder::new()
            .url("rediss://al%40ice:p%3Ass@example.com:7000/3?name=app&protocol=3&timeout=250ms&idle_check=2s")
            .unwrap();
        assert!(b.tls);
        assert_eq!((b.host.as_str(), b.port), ("example.com", 7000));
        assert_eq!(b.handshake.user.as_deref(), Some("al@ice"));
        assert_eq!(b.handshake.password.as_deref(), Some("p:ss"));
        assert_eq!(b.handshake.db, 3);
        assert_eq!(b.handshake.client_name.as_deref(), Some("app"));
        assert_eq!(b.handshake.protocol, Protocol::Resp3);
        assert_eq!(b.read_timeout, Some(Duration::from_millis(250)));
        assert_eq!(b.idle_check, Some(Duration::from_secs(2)));
        assert!(!format!("{b:?}").contains("p:ss"));
        let pw_only = ClientBuilder::new().url("redis://:pw@[::1]").unwrap();
        assert_eq!(pw_only.handshake.user, None);
        assert_eq!(pw_only.handshake.password.as_deref(), Some("pw"));
        assert_eq!((pw_only.host.as_str(), pw_only.port), ("::1", 6379));
    }

    #[test]
    fn refuses_bad_urls() {
        for bad in [
            "http://localhost",
            "not a url",
            "redis://",
            "redis://h/x",
            "redis://h?protocol=4",
            "redis://h?bogus=1",
            "redis://h?timeout=soon",
        ] {
            assert!(
                matches!(ClientBuilder::new().url(bad), Err(Error::InvalidInput(_))),
                "{bad}"
            );
        }
        let out_of_range = ClientBuilder::new().url("redis://h/16").unwrap();
        assert!(matches!(
            out_of_range.validate(),
            Err(Error::InvalidInput(_))
        ));
        let negative = ClientBuilder::new().url("redis://h/-1").unwrap();
        assert!(negative.validate().is_err());
        assert!(ClientBuilder::new().client_name("a b").validate().is_err());
    }
}
