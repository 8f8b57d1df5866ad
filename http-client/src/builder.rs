//! The client's settings: [`ClientBuilder`] and the [`Config`] every
//! request reads. The client is made from them in `client.rs`
//! ([`ClientBuilder::build`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use transport::{ConnectOptions, Connector, PoolConfig, TlsConfig, TlsVersion};

use crate::redirect::{RedirectPolicy, Rules};

/// The `User-Agent` sent unless the caller sets one.
pub const DEFAULT_USER_AGENT: &str = concat!("pconn-http-client/", env!("CARGO_PKG_VERSION"));

/// Settings shared by every request of a [`Client`](crate::Client).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) connect: ConnectOptions,
    pub(crate) timeout: Option<Duration>,
    pub(crate) user_agent: Option<String>,
    pub(crate) redirects: Rules,
    pub(crate) max_head_bytes: usize,
    pub(crate) drain_limit: u64,
    pub(crate) drain_time: Duration,
    pub(crate) expect_continue_above: u64,
    pub(crate) expect_continue_wait: Duration,
    pub(crate) max_body_bytes: u64,
    pub(crate) decompress: bool,
    #[cfg(feature = "cookies")]
    pub(crate) cookies: Option<crate::cookies::CookieJar>,
    pub(crate) retry: Option<crate::retry::RetryPolicy>,
    pub(crate) middleware: crate::middleware::Chain,
    #[cfg(feature = "digest")]
    pub(crate) digest: Option<std::sync::Arc<crate::digest_auth::Credentials>>,
}

/// Builder of a [`Client`](crate::Client).
#[derive(Debug)]
pub struct ClientBuilder {
    pub(crate) config: Config,
    pub(crate) pool: PoolConfig,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) ca_files: Vec<PathBuf>,
    pub(crate) min_tls: Option<TlsVersion>,
    pub(crate) max_tls: Option<TlsVersion>,
    pub(crate) connector: Option<Arc<dyn Connector>>,
    pub(crate) proxy: Option<String>,
    pub(crate) proxy_from_env: bool,
    pub(crate) proxy_tunnel_http: bool,
    pub(crate) persistent_id: Option<String>,
    pub(crate) unix_socket: Option<PathBuf>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            config: Config {
                connect: ConnectOptions::default(),
                timeout: None,
                user_agent: Some(DEFAULT_USER_AGENT.to_string()),
                redirects: Rules {
                    policy: RedirectPolicy::default(),
                    allow_downgrade: false,
                    referer: true,
                },
                max_head_bytes: 64 * 1024,
                drain_limit: 64 * 1024,
                drain_time: Duration::from_millis(500),
                expect_continue_above: 1024 * 1024,
                expect_continue_wait: Duration::from_secs(1),
                max_body_bytes: 256 * 1024 * 1024,
                decompress: true,
                #[cfg(feature = "cookies")]
                cookies: None,
                retry: None,
                middleware: crate::middleware::Chain::default(),
                #[cfg(feature = "digest")]
                digest: None,
            },
            pool: PoolConfig {
                max_open: 32,
                max_idle: 8,
                // Below the common 60-75 s server keep-alive timeouts, so the
                // pool usually closes first.
                idle_timeout: Some(Duration::from_secs(55)),
                reset_timeout: Duration::from_millis(500),
                ..PoolConfig::default()
            },
            tls: None,
            ca_files: Vec::new(),
            min_tls: None,
            max_tls: None,
            connector: None,
            proxy: None,
            proxy_from_env: true,
            proxy_tunnel_http: false,
            persistent_id: None,
            unix_socket: None,
        }
    }
}

impl ClientBuilder {
    /// Time for DNS, TCP connect and TLS handshake together (default 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.config.connect.connect_timeout = t;
        self
    }

    /// Time each read may block (default 30 s; `None`: forever).
    pub fn read_timeout(mut self, t: Option<Duration>) -> Self {
        self.config.connect.read_timeout = t;
        self
    }

    /// Time each write may block (default 30 s; `None`: forever).
    pub fn write_timeout(mut self, t: Option<Duration>) -> Self {
        self.config.connect.write_timeout = t;
        self
    }

    /// Time for a whole request, redirects and body included (default none).
    pub fn timeout(mut self, t: Option<Duration>) -> Self {
        self.config.timeout = t;
        self
    }

    /// The `User-Agent` sent when the request has none (`None`: no header).
    pub fn user_agent(mut self, ua: Option<&str>) -> Self {
        self.config.user_agent = ua.map(str::to_string);
        self
    }

    /// Redirects followed per request (default 5; 0 returns redirects as they are).
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.config.redirects.policy = RedirectPolicy::limited(n);
        self
    }

    /// Which redirects are followed (default: up to 5), decided per hop.
    pub fn redirect_policy(mut self, policy: RedirectPolicy) -> Self {
        self.config.redirects.policy = policy;
        self
    }

    /// Follow redirects from `https:` to plain `http:` (default false: such
    /// a redirect fails with [`crate::RedirectError::Downgrade`]).
    pub fn redirect_https_downgrade(mut self, allow: bool) -> Self {
        self.config.redirects.allow_downgrade = allow;
        self
    }

    /// Send `Referer` on redirects (default true; never on a downgrade).
    pub fn referer(mut self, on: bool) -> Self {
        self.config.redirects.referer = on;
        self
    }

    /// Largest response head accepted (default 64 KiB).
    pub fn max_head_bytes(mut self, n: usize) -> Self {
        self.config.max_head_bytes = n.max(64);
        self
    }

    /// How much of an unread response body is drained to keep the
    /// connection (default 64 KiB), and for how long at most (default 500 ms).
    /// A larger rest closes the connection instead.
    pub fn drain_limit(mut self, bytes: u64, time: Duration) -> Self {
        self.config.drain_limit = bytes;
        self.config.drain_time = time;
        self.pool.reset_timeout = time.max(Duration::from_millis(1));
        self
    }

    /// Bodies of more than this many bytes are sent with `Expect: 100-continue`
    /// (default 1 MiB); `wait` is how long to wait for the server's `100`
    /// before sending anyway (default 1 s).
    pub fn expect_continue_above(mut self, bytes: u64, wait: Duration) -> Self {
        self.config.expect_continue_above = bytes;
        self.config.expect_continue_wait = wait;
        self
    }

    /// The limit of [`crate::Response::bytes`] and `text` (default 256 MiB).
    pub fn max_body_bytes(mut self, n: u64) -> Self {
        self.config.max_body_bytes = n;
        self
    }

    /// Decode gzip/deflate (feature `gzip`), brotli (`brotli`) and zstd
    /// (`zstd`) bodies, and send `Accept-Encoding` naming them (default on).
    /// A decoded body fails past [`max_body_bytes`](Self::max_body_bytes).
    pub fn decompress(mut self, on: bool) -> Self {
        self.config.decompress = on;
        self
    }

    /// Keeps cookies in `jar`: stored from every response (redirects too)
    /// and sent where the rules allow (feature `cookies`; default none).
    #[cfg(feature = "cookies")]
    pub fn cookie_jar(mut self, jar: crate::cookies::CookieJar) -> Self {
        self.config.cookies = Some(jar);
        self
    }

    /// Tries requests that may be sent again once more, and again, after a
    /// connect error, a timeout before any response, or a status the
    /// policy names (default: no retries beyond the stale-connection one).
    pub fn retry(mut self, policy: crate::retry::RetryPolicy) -> Self {
        self.config.retry = Some(policy);
        self
    }

    /// Connections per origin open at once (default 32).
    pub fn max_open_per_host(mut self, n: usize) -> Self {
        self.pool.max_open = n;
        self
    }

    /// Idle connections kept per origin (default 8).
    pub fn max_idle_per_host(mut self, n: usize) -> Self {
        self.pool.max_idle = n;
        self
    }

    /// Idle connections older than this are closed (default 55 s).
    pub fn idle_timeout(mut self, t: Option<Duration>) -> Self {
        self.pool.idle_timeout = t;
        self
    }

    /// Every pool setting at once.
    pub fn pool_config(mut self, config: PoolConfig) -> Self {
        self.pool = config;
        self
    }

    /// Uses the process-wide pool registered under `id` (the `pconnect`
    /// model): clients built with the same id share connections.
    pub fn persistent_id(mut self, id: &str) -> Self {
        self.persistent_id = Some(id.to_string());
        self
    }

    /// TLS settings for https (default: the OS roots).
    pub fn tls_config(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The oldest TLS version offered (default TLS 1.2). A minimum above
    /// the maximum fails [`build`](Self::build); a server that speaks no
    /// version in the range fails the handshake with a TLS error.
    pub fn min_tls_version(mut self, version: TlsVersion) -> Self {
        self.min_tls = Some(version);
        self
    }

    /// The newest TLS version offered (default TLS 1.3).
    pub fn max_tls_version(mut self, version: TlsVersion) -> Self {
        self.max_tls = Some(version);
        self
    }

    /// Trusts the CA certificates in a PEM file as well as the OS roots.
    pub fn add_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// Opens streams through `connector` (e.g. a proxy tunnel) instead of
    /// direct TCP; TLS to the origin is layered on top.
    pub fn connector(mut self, connector: Arc<dyn Connector>) -> Self {
        self.connector = Some(connector);
        self
    }

    /// Sends every request through the proxy at `url` (`http://` or
    /// `https://`, with `user:password@` for Basic auth). https requests
    /// are tunnelled with CONNECT; plain http requests go to the proxy in
    /// absolute form unless [`tunnel_http`](Self::tunnel_http) is set.
    /// `socks5h://`, `socks5://`, `socks4a://`, `socks4://` tunnel everything.
    pub fn proxy(mut self, url: &str) -> Self {
        self.proxy = Some(url.to_string());
        self
    }

    /// Whether `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` apply when no
    /// proxy or connector is set (default true).
    pub fn proxy_from_env(mut self, on: bool) -> Self {
        self.proxy_from_env = on;
        self
    }

    /// Tunnels plain http through the proxy with CONNECT too, instead of
    /// sending absolute-form requests to it.
    pub fn tunnel_http(mut self, on: bool) -> Self {
        self.proxy_tunnel_http = on;
        self
    }

    /// Sends every request of this client to the Unix domain socket at
    /// `path` (a local HTTP service, as reqwest's `unix_socket`): the URL's
    /// host, and port if any, only name the `Host` field. Connections are
    /// pooled per socket path. An `https:` URL fails before anything is
    /// sent ([`Error::TlsOverUnixSocket`](crate::Error::TlsOverUnixSocket));
    /// proxies do not apply, and one set with [`proxy`](Self::proxy) or
    /// [`connector`](Self::connector) makes [`build`](Self::build) fail.
    pub fn unix_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.unix_socket = Some(path.into());
        self
    }
}

impl ClientBuilder {
    /// Adds a middleware: it sees every request this client sends (each
    /// redirect hop and each retry) and its response head, and may change
    /// or stop either (see [`Middleware`](crate::Middleware)). Middlewares
    /// run in the order added, the first one outermost. None by default,
    /// and then none costs anything.
    pub fn middleware(mut self, middleware: impl crate::Middleware) -> Self {
        self.config.middleware.push(middleware);
        self
    }
}

#[cfg(feature = "digest")]
impl ClientBuilder {
    /// Answers `401` Digest challenges (RFC 7616: MD5, SHA-256, `qop=auth`)
    /// with these credentials, for every request of the client, within the
    /// origin of each request's first URL (feature `digest`; see the rules
    /// in [`RequestBuilder::digest_auth`](crate::RequestBuilder::digest_auth)).
    /// A user name with controls fails [`build`](ClientBuilder::build).
    pub fn digest_auth(mut self, user: &str, password: &str) -> Self {
        self.config.digest = Some(crate::digest_auth::Credentials::new(user, password));
        self
    }
}
