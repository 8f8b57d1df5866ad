//! The client: its settings, its origin table, and one request's way
//! through the pool: checkout, the exchange, the stale-connection retry
//! rule (DESIGN.md), and the response.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use transport::{Pool, Pooled, Stats, TlsConfig};
use url::Url;

use crate::body_reader::BodyReader;
use crate::builder::{ClientBuilder, Config};
use crate::driver::{self, Limits};
use crate::error::{Error, InvalidInput, Result};
use crate::headers::Known;
use crate::origins::{Origin, Origins, Reach};
use crate::outgoing::Request;
use crate::proto::call::{Call, ConnState};
use crate::proto::request::Head;
use crate::proto::{self, BodyPlan, Framing, ResponseHead};
use crate::proxy::ProxySetting;
use crate::response::Response;
use crate::session::Session;

/// Response bodies up to this size that arrived with the head are copied
/// out with it (see [`Client::finish`]).
const SMALL_BODY: u64 = 16 * 1024;

impl ClientBuilder {
    /// Checks the settings, reads CA files, and makes the client.
    pub fn build(self) -> Result<Client> {
        self.pool.validate()?;
        let versions = self.min_tls.is_some() || self.max_tls.is_some();
        let tls = match (self.tls, self.ca_files.is_empty(), versions) {
            (Some(tls), true, false) => Some(tls),
            (Some(_), false, _) => {
                return Err(InvalidInput::Conflicting("tls_config", "add_ca_file").into())
            }
            (Some(_), true, true) => {
                return Err(InvalidInput::Conflicting("tls_config", "min/max_tls_version").into())
            }
            (None, true, false) => None,
            (None, _, _) => {
                let mut b = TlsConfig::builder();
                for f in self.ca_files {
                    b = b.add_ca_file(f);
                }
                if let Some(v) = self.min_tls {
                    b = b.min_version(v);
                }
                if let Some(v) = self.max_tls {
                    b = b.max_version(v);
                }
                // A minimum above the maximum fails here, before any request.
                Some(b.build()?)
            }
        };
        if let Some(path) = &self.unix_socket {
            // Checks the path now (empty, NUL, too long for sun_path).
            transport::Endpoint::unix(path)?;
            if self.proxy.is_some() {
                return Err(InvalidInput::Conflicting("proxy", "unix_socket").into());
            }
            if self.connector.is_some() {
                return Err(InvalidInput::Conflicting("connector", "unix_socket").into());
            }
        }
        let proxy = match (&self.proxy, &self.connector) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::Conflicting("proxy", "connector").into())
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
        #[cfg(feature = "digest")]
        if let Some(digest) = &self.config.digest {
            digest.check()?;
        }
        let reach = Reach {
            tls,
            connector: self.connector,
            proxy,
            proxy_from_env: self.proxy_from_env,
            tunnel_http: self.proxy_tunnel_http,
            persistent_id: self.persistent_id,
            user_agent: self.config.user_agent.clone(),
            unix_socket: self.unix_socket,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                config: self.config,
                origins: Origins::new(reach, pool),
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
    pub(crate) origins: Origins,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
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

    /// The connection pool (shared with clones and, with a persistent id,
    /// with every client of that id).
    pub fn pool(&self) -> &Pool<Session> {
        self.inner.origins.pool()
    }

    /// Pool counters summed over every origin.
    pub fn stats(&self) -> Stats {
        self.pool().stats()
    }

    /// Closes every idle connection now.
    pub fn clear_idle(&self) {
        self.pool().clear();
    }

    /// True when the client decodes compressed bodies (and says so).
    pub(crate) fn decompresses(&self) -> bool {
        !crate::content_encoding::ACCEPT_ENCODING.is_empty() && self.inner.config.decompress
    }

    fn checkout(
        &self,
        origin: &Origin,
        deadline: Option<Instant>,
        fresh: bool,
    ) -> Result<Pooled<Session>> {
        let config = &self.inner.config;
        let open = || -> Result<_> {
            let mut opts = config.connect.clone();
            if let Some(d) = deadline {
                opts.connect_timeout = opts
                    .connect_timeout
                    .min(d.saturating_duration_since(Instant::now()));
            }
            let conn = match &origin.via_proxy {
                Some(mode) => {
                    let started = Instant::now();
                    let mut conn = mode
                        .proxy
                        .open_to_proxy(&opts, started + opts.connect_timeout)?;
                    let mut timings = conn.connect_timings();
                    timings.connect.get_or_insert(started.elapsed());
                    conn.set_connect_timings(timings);
                    conn
                }
                None => transport::open(&origin.endpoint, &*origin.connector, &opts)?,
            };
            let session = Session::new(&conn, config.drain_limit, config.drain_time);
            Ok((conn, session))
        };
        if fresh {
            origin.key_pool.checkout_fresh(open)
        } else {
            origin.key_pool.checkout(open)
        }
    }

    /// Sends one request and reads the response head. A request that failed
    /// on a reused connection before any response byte is sent once more on
    /// a new connection, if it is idempotent (or marked replayable) and its
    /// body can be sent again; never otherwise.
    pub(crate) fn execute(
        &self,
        origin: &Origin,
        url: Arc<Url>,
        req: &mut Request<'_, '_>,
    ) -> Result<Response> {
        let target = if origin.via_proxy.is_some() {
            &url[..url::Position::AfterQuery]
        } else {
            &url[url::Position::BeforePath..url::Position::AfterQuery]
        };
        proto::check_target(target)?;
        // The first attempt on a pooled connection; a second one, on a new
        // connection, only under the retry rule above.
        let mut fresh = false;
        loop {
            let mut guard = self.checkout(origin, req.deadline, fresh)?;
            let started = Instant::now();
            match self.attempt(&mut guard, origin, target, req) {
                Ok((head, plan)) => {
                    let timings = crate::timing::Timings::new(
                        guard.is_reused(),
                        guard.conn().connect_timings(),
                        started.elapsed(),
                    );
                    tracing::debug!(
                        method = %req.method,
                        url = %url,
                        status = head.status,
                        reused = guard.is_reused(),
                        keep_alive = plan.keep_alive,
                        "response"
                    );
                    let mut response = self.finish(guard, head, plan, url);
                    response.set_timings(timings);
                    return Ok(response);
                }
                Err(Error::Transport(e))
                    if !fresh
                        && guard.is_reused()
                        && !guard.conn().reply_started()
                        && e.is_connection_lost() =>
                {
                    drop(guard);
                    let may_resend = req.body.replayable()
                        && (proto::is_idempotent(req.method) || req.replayable);
                    if !may_resend {
                        return Err(Error::NotReplayed {
                            method: req.method.to_string(),
                            source: e,
                        });
                    }
                    tracing::debug!(method = %req.method, error = %e, "stale pooled connection; re-sending on a new one");
                    fresh = true;
                }
                Err(e) => {
                    tracing::debug!(method = %req.method, url = %url, error = %e, "request failed");
                    return Err(e);
                }
            }
        }
    }

    /// [`Client::execute`] under a retry policy: the response or error
    /// that the policy does not retry (or the last one), never past the
    /// request's deadline.
    pub(crate) fn execute_retrying(
        &self,
        origin: &Origin,
        url: Arc<Url>,
        req: &mut Request<'_, '_>,
        policy: &crate::retry::RetryPolicy,
    ) -> Result<Response> {
        policy.deposit();
        let mut attempt = 0;
        loop {
            let result = self.send_one(origin, Arc::clone(&url), req);
            let may_resend =
                req.body.replayable() && (proto::is_idempotent(req.method) || req.replayable);
            let Some(wait) = policy.wait_before_retry(&result, attempt, may_resend) else {
                return result;
            };
            let after_wait = Instant::now().checked_add(wait);
            if req
                .deadline
                .is_some_and(|d| after_wait.is_none_or(|t| t >= d))
            {
                return result;
            }
            tracing::debug!(attempt, ?wait, url = %url, "retrying");
            drop(result); // a response's small body is drained, keeping the connection
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// One request on `guard`'s connection, up to the final response head.
    fn attempt(
        &self,
        guard: &mut Pooled<Session>,
        origin: &Origin,
        target: &str,
        req: &mut Request<'_, '_>,
    ) -> Result<(ResponseHead, BodyPlan)> {
        let config = &self.inner.config;
        let (conn, session) = guard.parts();
        session.state = ConnState::Idle;
        conn.set_deadline(req.deadline);
        conn.begin_exchange()?;
        let mut extra: [(&str, &str); 2] = [("", ""); 2];
        let mut n_extra = 0;
        if let Some(auth) = origin
            .via_proxy
            .as_ref()
            .and_then(|m| m.authorization.as_deref())
        {
            extra[n_extra] = ("Proxy-Authorization", auth);
            n_extra += 1;
        }
        if self.decompresses() && !req.headers.has(Known::AcceptEncoding) {
            extra[n_extra] = ("Accept-Encoding", crate::content_encoding::ACCEPT_ENCODING);
            n_extra += 1;
        }
        let head = Head {
            method: req.method,
            target,
            host: &origin.host_header,
            headers: req.headers,
            user_agent: config.user_agent.as_deref(),
            extra: &extra[..n_extra],
            body: req.body.framing(),
            expect_continue: false,
        };
        let mut call = Call::start_with(
            conn.write_buf(),
            head,
            config.expect_continue_above,
            Some(&origin.head_defaults),
        );
        let limits = Limits {
            max_head: config.max_head_bytes,
            continue_wait: config.expect_continue_wait,
        };
        driver::exchange(conn, &mut call, req.body, limits)
    }

    /// The response around a final head. A small body that arrived whole
    /// with the head is taken out of the read buffer now: the exchange is
    /// complete and the connection goes back to the pool before the caller
    /// reads the body.
    fn finish(
        &self,
        mut guard: Pooled<Session>,
        head: ResponseHead,
        plan: BodyPlan,
        url: Arc<Url>,
    ) -> Response {
        let (conn, session) = guard.parts();
        let tls = session.tls.clone();
        let whole = match plan.framing {
            Framing::Empty => Some(Vec::new()),
            Framing::Length(n) if n <= SMALL_BODY => {
                let n = n as usize;
                let bytes = conn.read_buf().get(..n).map(<[u8]>::to_vec);
                if bytes.is_some() {
                    conn.consume(n);
                }
                bytes
            }
            _ => None,
        };
        let body = match whole {
            Some(bytes) => {
                session.state = ConnState::after_body(plan.keep_alive);
                conn.end_exchange();
                drop(guard); // back to the pool now: nothing more to read
                BodyReader::buffered(bytes)
            }
            None => {
                session.state = ConnState::reading(plan);
                BodyReader::streaming(guard)
            }
        };
        let config = &self.inner.config;
        let mut response = Response::new(head, url, body, config.max_body_bytes, config.decompress);
        response.set_tls(tls);
        response
    }
}

impl Client {
    /// One request sent: through the middlewares when there are any.
    #[inline]
    pub(crate) fn send_one(
        &self,
        origin: &Origin,
        url: Arc<Url>,
        req: &mut Request<'_, '_>,
    ) -> Result<Response> {
        if self.inner.config.middleware.is_empty() {
            self.execute(origin, url, req)
        } else {
            self.through_middleware(origin, url, req)
        }
    }

    #[inline(never)]
    fn through_middleware(
        &self,
        origin: &Origin,
        url: Arc<Url>,
        req: &mut Request<'_, '_>,
    ) -> Result<Response> {
        let chain = &self.inner.config.middleware;
        chain.run(req.method, &url, req.headers, |headers| {
            let mut sent = Request {
                method: req.method,
                headers,
                body: &mut *req.body,
                replayable: req.replayable,
                deadline: req.deadline,
            };
            self.execute(origin, Arc::clone(&url), &mut sent)
        })
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
