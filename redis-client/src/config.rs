//! Connection settings: URLs, the builder, and the handshake they imply.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use transport::{Connector, Direct, Pool, PoolConfig, TlsConfig};

use crate::error::{Error, Result};
use crate::proto::{Limits, Protocol};
use crate::session::{Handshake, Session};

/// Builds a [`crate::Client`]: from a URL, then adjusted.
///
/// URL forms (those redis-rs and redis-py accept):
///
/// * `redis://[user[:password]@]host[:port][/db][?option=value&...]`,
///   `rediss://` for TLS;
/// * `unix:///path/to/redis.sock[?db=N&...]` or `redis+unix:///path...`
///   for a Unix domain socket, credentials as `unix://user:password@/path`
///   or in the query.
///
/// User and password in the URL are percent-decoded (RFC 3986: `+` stays
/// a plus); option values are form-decoded as query strings are. Options:
/// `db`, `user` (or `username`), `password` (or `pass`), `name` (client
/// name), `protocol` (`2` or `3`), `connect_timeout`, `read_timeout`,
/// `write_timeout`, `timeout` (read and write), `idle_check` (PING after
/// this idle time), `max_open`, `persistent_id`, `databases` (db range
/// check, default 16), `cacert` (CA PEM file for `rediss`). Durations are
/// milliseconds or end in `ms`/`s`. A control character (CR, LF, NUL, ...)
/// anywhere, or a Unix socket with TLS, is refused before anything is sent.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// A Unix domain socket to connect to instead of `host:port`.
    pub(crate) unix_path: Option<PathBuf>,
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
            unix_path: None,
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

pub(crate) fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidInput(msg.into())
}

/// True when `s` holds a control character (CR, LF, NUL, ...).
pub(crate) fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

impl ClientBuilder {
    /// Defaults: `redis://127.0.0.1:6379`, RESP2, db 0, no credentials.
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Host and port.
    pub fn address(mut self, host: &str, port: u16) -> ClientBuilder {
        self.host = host.to_string();
        self.port = port;
        self.unix_path = None;
        self
    }

    /// Connects to a Unix domain socket at `path` instead of host and port.
    pub fn unix_socket(mut self, path: impl Into<PathBuf>) -> ClientBuilder {
        self.unix_path = Some(path.into());
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
        match &self.unix_path {
            Some(path) => {
                if self.tls {
                    return Err(invalid(
                        "TLS over a Unix socket is not supported (use unix:// or redis+unix://)",
                    ));
                }
                let text = path.to_string_lossy();
                if !path.is_absolute() || has_control(&text) {
                    return Err(invalid(format!(
                        "Unix socket path {text:?} must be absolute, without control characters"
                    )));
                }
            }
            None => {
                transport::validate_host(&self.host).map_err(|e| invalid(e.to_string()))?;
                if self.port == 0 {
                    return Err(invalid("port 0"));
                }
            }
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
        // Binary-safe on the wire, but CR/LF in a credential is a mistake
        // (a pasted line end) or an attempt, never a password.
        if self.handshake.password.as_deref().is_some_and(has_control) {
            return Err(invalid("the password must not contain control characters"));
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
