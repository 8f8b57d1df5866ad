//! The client: configuration, and one pool entry per origin.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use transport::{
    ConnectOptions, Connector, Direct, Endpoint, KeyPool, Pool, PoolConfig, PoolKey, Stats,
    TlsConfig,
};

use crate::error::{Error, Result};
use crate::proxy::{ProxyMode, ProxySetting};
use crate::request::RequestBuilder;
use crate::session::Session;

/// The `User-Agent` sent unless the caller sets one.
pub const DEFAULT_USER_AGENT: &str = concat!("pconn-http-client/", env!("CARGO_PKG_VERSION"));

/// Settings shared by every request of a [`Client`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) connect: ConnectOptions,
    pub(crate) timeout: Option<Duration>,
    pub(crate) user_agent: Option<String>,
    pub(crate) max_redirects: u32,
    pub(crate) max_head_bytes: usize,
    pub(crate) drain_limit: u64,
    pub(crate) drain_time: Duration,
    pub(crate) expect_continue_above: u64,
    pub(crate) expect_continue_wait: Duration,
    pub(crate) max_body_bytes: u64,
    pub(crate) decompress: bool,
}

/// Builder of a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    config: Config,
    pool: PoolConfig,
    tls: Option<TlsConfig>,
    ca_files: Vec<PathBuf>,
    connector: Option<Arc<dyn Connector>>,
    proxy: Option<String>,
    proxy_from_env: bool,
    proxy_tunnel_http: bool,
    persistent_id: Option<String>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            config: Config {
                connect: ConnectOptions::default(),
                timeout: None,
                user_agent: Some(DEFAULT_USER_AGENT.to_string()),
                max_redirects: 5,
                max_head_bytes: 64 * 1024,
                drain_limit: 64 * 1024,
                drain_time: Duration::from_millis(500),
                expect_continue_above: 1024 * 1024,
                expect_continue_wait: Duration::from_secs(1),
                max_body_bytes: 256 * 1024 * 1024,
                decompress: true,
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
            connector: None,
            proxy: None,
            proxy_from_env: true,
            proxy_tunnel_http: false,
            persistent_id: None,
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
        self.config.max_redirects = n;
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

    /// Decode gzip/deflate bodies (with the `gzip` feature; default on).
    pub fn decompress(mut self, on: bool) -> Self {
        self.config.decompress = on;
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

    /// Checks the settings, reads CA files, and makes the client.
    pub fn build(self) -> Result<Client> {
        self.pool.validate()?;
        let tls = match (self.tls, self.ca_files.is_empty()) {
            (Some(tls), true) => Some(tls),
            (Some(_), false) => {
                return Err(Error::InvalidInput(
                    "give either tls_config or add_ca_file, not both".into(),
                ))
            }
            (None, false) => {
                let mut b = TlsConfig::builder();
                for f in self.ca_files {
                    b = b.add_ca_file(f);
                }
                Some(b.build()?)
            }
            (None, true) => None,
        };
        let proxy = match (&self.proxy, &self.connector) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidInput(
                    "give either proxy or connector, not both".into(),
                ))
            }
            (Some(url), None) => Some(ProxySetting::parse(url)?),
            _ => None,
        };
        let pool = match &self.persistent_id {
            Some(id) => {
                transport::registry::pool::<Session, _>(id, || Pool::new(self.pool.clone()))?
            }
            None => Pool::new(self.pool.clone())?,
        };
        let tls_cell = OnceLock::new();
        if let Some(tls) = tls {
            let _ = tls_cell.set(tls);
        }
        Ok(Client {
            inner: Arc::new(Inner {
                config: self.config,
                pool,
                tls: tls_cell,
                connector: self.connector,
                proxy,
                proxy_from_env: self.proxy_from_env,
                tunnel_http: self.proxy_tunnel_http,
                persistent_id: self.persistent_id,
                origins: RwLock::new(HashMap::new()),
                last_url: Mutex::new(None),
                last_origin: Mutex::new(None),
            }),
        })
    }
}

/// An HTTP/1.1 client with a connection pool per origin. Cheap to clone:
/// clones share the pool. Safe to use from many threads.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pool: Pool<Session>,
    tls: OnceLock<TlsConfig>,
    connector: Option<Arc<dyn Connector>>,
    proxy: Option<ProxySetting>,
    proxy_from_env: bool,
    tunnel_http: bool,
    persistent_id: Option<String>,
    /// Origins by a hash of (https, host, port); collisions share a Vec.
    origins: RwLock<HashMap<u64, Vec<Arc<Origin>>>>,
    /// The last URL parsed and the last origin used: a client usually talks
    /// to one API, and re-parsing (IDNA, IPv4 forms) costs more than the
    /// rest of a reused-connection request. Only tried with `try_lock`, so
    /// threads never wait on them.
    last_url: Mutex<Option<LastUrl>>,
    last_origin: Mutex<Option<Arc<Origin>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("stats", &self.inner.pool.stats())
            .finish()
    }
}

/// The last URL text parsed, its parse, and (once a request used it) its
/// origin: a request to the same URL as the last one finds both without
/// parsing or comparing hosts.
struct LastUrl {
    text: Box<str>,
    url: Arc<url::Url>,
    origin: Option<Arc<Origin>>,
    /// Where its origin-form request target lies in the URL text, once
    /// checked ([`crate::proto::check_target`]).
    target: Option<(u32, u32)>,
    /// The whole head of a GET of it with no fields of its own, once its
    /// origin is known (see [`get_head`]).
    get_head: Option<Arc<[u8]>>,
}

/// A parsed URL with what the parse cache knew about it: its origin, and
/// its request target already checked. Both stay right while the URL's
/// path and query do not change; the origin even then.
pub(crate) struct ParsedUrl {
    pub(crate) url: Arc<url::Url>,
    pub(crate) origin: Option<Arc<Origin>>,
    pub(crate) target: Option<(u32, u32)>,
    pub(crate) get_head: Option<Arc<[u8]>>,
}

/// One origin (scheme, host, port) and how to reach it: its slice of the
/// pool, its endpoint, and the precomputed `Host` value. Looked up per
/// request without allocating; connections to it never resolve DNS again.
pub(crate) struct Origin {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) endpoint: Endpoint,
    pub(crate) host_header: String,
    /// `" HTTP/1.1\r\nHost: ...\r\nUser-Agent: ...\r\n"`: what follows the
    /// target in a request that sets neither field itself, in one piece.
    pub(crate) head_defaults: Box<[u8]>,
    pub(crate) key_pool: KeyPool<Session>,
    pub(crate) connector: Arc<dyn Connector>,
    /// Plain http sent in absolute form to a proxy.
    pub(crate) via_proxy: Option<ProxyMode>,
}

/// Where the origin-form request target of `url` lies in its text, when
/// it passes [`crate::proto::check_target`].
pub(crate) fn checked_target(url: &url::Url) -> Option<(u32, u32)> {
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    crate::proto::check_target(target).ok()?;
    let start = target.as_ptr() as usize - url.as_str().as_ptr() as usize;
    Some((
        u32::try_from(start).ok()?,
        u32::try_from(start + target.len()).ok()?,
    ))
}

/// The whole head of a GET of `target` at `origin` with no fields of its
/// own, as [`crate::proto::request::encode_head_with`] writes it (with the
/// `Accept-Encoding` of a client that decompresses), made once per URL so
/// that such a request is one copy. None through a proxy (the target is
/// then in absolute form).
pub(crate) fn get_head(
    origin: &Origin,
    target: &str,
    user_agent: Option<&str>,
    accept_encoding: bool,
) -> Option<Arc<[u8]>> {
    use crate::proto::request::{encode_head_with, BodyLen, Head};
    if origin.via_proxy.is_some() {
        return None;
    }
    let extra = [("Accept-Encoding", crate::exchange::ACCEPT_ENCODING)];
    let mut head = bytes::BytesMut::new();
    encode_head_with(
        &mut head,
        &Head {
            method: "GET",
            target,
            host: &origin.host_header,
            headers: &crate::Headers::new(),
            user_agent,
            extra: if accept_encoding { &extra[..] } else { &[] },
            body: BodyLen::None,
            expect_continue: false,
        },
        Some(&origin.head_defaults),
    );
    Some(head.as_ref().into())
}

fn origin_hash(https: bool, host: &str, port: u16) -> u64 {
    static KEYS: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    KEYS.get_or_init(Default::default)
        .hash_one((https, host, port))
}

impl Client {
    /// A client with default settings.
    pub fn new() -> Result<Client> {
        ClientBuilder::default().build()
    }

    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A request with any method (checked when sent).
    pub fn request<'c>(&'c self, method: &str, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, method, url)
    }

    /// A GET request.
    #[inline]
    pub fn get<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "GET", url)
    }

    /// A HEAD request.
    pub fn head<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "HEAD", url)
    }

    /// A POST request.
    pub fn post<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "POST", url)
    }

    /// A PUT request.
    pub fn put<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "PUT", url)
    }

    /// A DELETE request.
    pub fn delete<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "DELETE", url)
    }

    /// A PATCH request.
    pub fn patch<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "PATCH", url)
    }

    /// The connection pool (shared with clones and, with a persistent id,
    /// with every client of that id).
    pub fn pool(&self) -> &Pool<Session> {
        &self.inner.pool
    }

    /// Pool counters summed over every origin.
    pub fn stats(&self) -> Stats {
        self.inner.pool.stats()
    }

    /// Closes every idle connection now.
    pub fn clear_idle(&self) {
        self.inner.pool.clear();
    }

    /// Parses a URL, reusing the last parse when the text is the same
    /// (shared, not copied: a request that changes it copies it first),
    /// with what is known about it. Inlined into its one caller, the
    /// request builder.
    #[inline]
    pub(crate) fn parse_url(&self, text: &str) -> Result<ParsedUrl> {
        if let Ok(mut last) = self.inner.last_url.try_lock() {
            if let Some(l) = last.as_ref() {
                if *l.text == *text {
                    return Ok(ParsedUrl {
                        url: Arc::clone(&l.url),
                        origin: l.origin.clone(),
                        target: l.target,
                        get_head: l.get_head.clone(),
                    });
                }
            }
            let url = Arc::new(crate::request::parse_url(text)?);
            let target = checked_target(&url);
            *last = Some(LastUrl {
                text: text.into(),
                url: Arc::clone(&url),
                origin: None,
                target,
                get_head: None,
            });
            return Ok(ParsedUrl {
                url,
                origin: None,
                target,
                get_head: None,
            });
        }
        Ok(ParsedUrl {
            url: Arc::new(crate::request::parse_url(text)?),
            origin: None,
            target: None,
            get_head: None,
        })
    }

    /// [`Client::origin`] for a URL from [`Client::parse_url`]: the very
    /// parse of the last URL (the same `Arc`, so unchanged) has its origin
    /// remembered with it.
    pub(crate) fn origin_of(&self, url: &Arc<url::Url>) -> Result<Arc<Origin>> {
        if let Ok(last) = self.inner.last_url.try_lock() {
            if let Some(LastUrl {
                url: u,
                origin: Some(o),
                ..
            }) = last.as_ref()
            {
                if Arc::ptr_eq(u, url) {
                    return Ok(Arc::clone(o));
                }
            }
        }
        let origin = self.origin(url)?;
        if let Ok(mut last) = self.inner.last_url.try_lock() {
            if let Some(l) = last.as_mut() {
                if Arc::ptr_eq(&l.url, url) {
                    l.get_head = l.target.and_then(|(start, end)| {
                        let target = &url.as_str()[start as usize..end as usize];
                        let user_agent = self.inner.config.user_agent.as_deref();
                        get_head(&origin, target, user_agent, self.decompresses())
                    });
                    l.origin = Some(Arc::clone(&origin));
                }
            }
        }
        Ok(origin)
    }

    /// The pool entry for an origin, created on first use.
    pub(crate) fn origin(&self, url: &url::Url) -> Result<Arc<Origin>> {
        let port = url.port_or_known_default().unwrap_or(80);
        let https = url.scheme() == "https";
        if let (Ok(last), Some(host)) = (self.inner.last_origin.try_lock(), url.host_str()) {
            if let Some(o) = last.as_ref() {
                if o.https == https && o.port == port && o.host == host {
                    return Ok(Arc::clone(o));
                }
            }
        }
        let origin = self.find_origin(url)?;
        if let Ok(mut last) = self.inner.last_origin.try_lock() {
            *last = Some(Arc::clone(&origin));
        }
        Ok(origin)
    }

    fn find_origin(&self, url: &url::Url) -> Result<Arc<Origin>> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(Error::InvalidUrl {
                    url: url.to_string(),
                    reason: format!("scheme {other:?} is not http or https"),
                })
            }
        };
        let host = url.host_str().ok_or_else(|| Error::InvalidUrl {
            url: url.to_string(),
            reason: "no host".into(),
        })?;
        let port = url.port_or_known_default().unwrap_or(80);
        let hash = origin_hash(https, host, port);
        {
            let origins = self.inner.origins.read().unwrap_or_else(|p| p.into_inner());
            if let Some(found) = origins.get(&hash).and_then(|v| {
                v.iter()
                    .find(|o| o.https == https && o.port == port && o.host == host)
            }) {
                return Ok(Arc::clone(found));
            }
        }
        let origin = Arc::new(self.make_origin(https, host, port, url)?);
        let mut origins = self
            .inner
            .origins
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let list = origins.entry(hash).or_default();
        if let Some(found) = list
            .iter()
            .find(|o| o.https == https && o.port == port && o.host == host)
        {
            return Ok(Arc::clone(found));
        }
        list.push(Arc::clone(&origin));
        Ok(origin)
    }

    fn tls(&self) -> Result<TlsConfig> {
        if let Some(t) = self.inner.tls.get() {
            return Ok(t.clone());
        }
        let t = TlsConfig::system()?;
        Ok(self.inner.tls.get_or_init(|| t).clone())
    }

    fn make_origin(&self, https: bool, host: &str, port: u16, url: &url::Url) -> Result<Origin> {
        let mut endpoint = Endpoint::new(host, port)?;
        let mut key = PoolKey::new("http", endpoint.host(), port);
        if https {
            let tls = self.tls()?;
            key = key.tls(tls.fingerprint());
            endpoint = endpoint.with_tls(tls);
        }
        let inner = &self.inner;
        let env_proxy;
        let proxy = match (&inner.proxy, &inner.connector) {
            (Some(p), _) => Some(p),
            (None, None) if inner.proxy_from_env => {
                env_proxy = ProxySetting::from_env(url.scheme(), endpoint.host(), port)?;
                env_proxy.as_ref()
            }
            _ => None,
        };
        let (connector, via_proxy): (Arc<dyn Connector>, _) = match proxy {
            // A SOCKS proxy only tunnels: plain http goes through it too.
            Some(p) if !https && !inner.tunnel_http && p.forwards_http() => {
                (Arc::new(Direct), Some(p.absolute_form()))
            }
            Some(p) => (p.tunnel_connector(), None),
            None => (
                inner.connector.clone().unwrap_or_else(|| Arc::new(Direct)),
                None,
            ),
        };
        if let Some(mode) = &via_proxy {
            key = key.via(format!("{} (absolute-form)", mode.identity()));
        } else if let Some(id) = connector.identity() {
            key = key.via(id);
        }
        if let Some(id) = &inner.persistent_id {
            key = key.persistent_id(id.clone());
        }
        let default_port = if https { 443 } else { 80 };
        let bracketed = if endpoint.host().contains(':') {
            format!("[{}]", endpoint.host())
        } else {
            endpoint.host().to_string()
        };
        let host_header = if port == default_port {
            bracketed
        } else {
            format!("{bracketed}:{port}")
        };
        let head_defaults =
            crate::proto::request::head_defaults(&host_header, inner.config.user_agent.as_deref());
        Ok(Origin {
            https,
            host: host.to_string(),
            port,
            endpoint,
            host_header,
            head_defaults,
            key_pool: inner.pool.key_pool(&key),
            connector,
            via_proxy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_and_response_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Client>();
        send::<crate::Response>();
    }

    #[test]
    fn origins_are_shared_and_host_headers_precomputed() {
        let client = Client::builder().proxy_from_env(false).build().unwrap();
        let a = client
            .origin(&"http://example.com/a".parse().unwrap())
            .unwrap();
        let b = client
            .origin(&"http://example.com:80/b?c".parse().unwrap())
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.host_header, "example.com");
        let c = client
            .origin(&"http://[::1]:8080/".parse().unwrap())
            .unwrap();
        assert_eq!(c.host_header, "[::1]:8080");
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn the_whole_get_head_is_what_the_encoder_writes() {
        let client = Client::builder()
            .user_agent(Some("ua/1"))
            .proxy_from_env(false)
            .build()
            .unwrap();
        let origin = client
            .origin(&"http://example.com:8080/".parse().unwrap())
            .unwrap();
        let plain = get_head(&origin, "/a?b=c", Some("ua/1"), false).unwrap();
        assert_eq!(
            &*plain,
            b"GET /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: ua/1\r\n\r\n"
        );
        let compressed = get_head(&origin, "/a?b=c", Some("ua/1"), true).unwrap();
        assert_eq!(
            &*compressed,
            b"GET /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: ua/1\r\nAccept-Encoding: gzip, deflate\r\n\r\n"
        );
        // Through a proxy the target is in absolute form: no such head.
        let proxied = Client::builder()
            .proxy("http://127.0.0.1:9")
            .build()
            .unwrap();
        let origin = proxied
            .origin(&"http://example.com/".parse().unwrap())
            .unwrap();
        assert!(get_head(&origin, "/", None, false).is_none());
    }

    /// Accepts one connection and returns the request heads it read, up
    /// to `n`, answering each with an empty 204.
    fn record_heads(n: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/a?b=1", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            let mut heads = Vec::new();
            for _ in 0..n {
                let mut head = String::new();
                while !head.ends_with("\r\n\r\n") {
                    if reader.read_line(&mut head).unwrap() == 0 {
                        return heads;
                    }
                }
                heads.push(head);
                stream
                    .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .unwrap();
            }
            heads
        });
        (url, server)
    }

    #[test]
    fn a_cached_get_head_is_sent_only_for_a_request_that_adds_nothing() {
        let (url, server) = record_heads(5);
        let client = Client::builder()
            .user_agent(Some("ua/1"))
            .decompress(false)
            .proxy_from_env(false)
            .build()
            .unwrap();
        client.get(&url).call().unwrap();
        // The parse cache has the whole head now.
        assert!(client.parse_url(&url).unwrap().get_head.is_some());
        client.get(&url).header("X-A", "1").call().unwrap();
        client.head(&url).call().unwrap();
        client.get(&url).query("c", "d").call().unwrap();
        client.get(&url).call().unwrap();
        let host = url.trim_start_matches("http://").split('/').next().unwrap();
        let plain = format!("GET /a?b=1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ua/1\r\n\r\n");
        assert_eq!(
            server.join().unwrap(),
            [
                plain.clone(),
                format!(
                    "GET /a?b=1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ua/1\r\nX-A: 1\r\n\r\n"
                ),
                format!("HEAD /a?b=1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ua/1\r\n\r\n"),
                format!("GET /a?b=1&c=d HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ua/1\r\n\r\n"),
                plain,
            ]
        );
    }

    #[test]
    fn a_client_that_asks_for_compression_says_so_with_a_cached_url_too() {
        let (url, server) = record_heads(2);
        let client = Client::builder().proxy_from_env(false).build().unwrap();
        client.get(&url).call().unwrap();
        // The second request goes out from the cached head.
        assert!(client.parse_url(&url).unwrap().get_head.is_some());
        client.get(&url).call().unwrap();
        let heads = server.join().unwrap();
        assert_eq!(heads[0], heads[1]);
        assert_eq!(
            heads[1].contains("\r\nAccept-Encoding: gzip, deflate\r\n"),
            cfg!(feature = "gzip")
        );
    }
}
