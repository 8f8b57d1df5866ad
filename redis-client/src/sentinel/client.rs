//! The Sentinel client: find the master through the Sentinels, check it
//! with `ROLE`, and find it again when it moves.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use transport::Pool;

use super::config::SentinelBuilder;
use crate::client::Client;
use crate::cluster::topology::Addr;
use crate::cluster::ClusterError;
use crate::cmd::{cmd, Cmd};
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::from_value::FromValue;
use crate::server_error::ServerErrorKind;
use crate::session::Session;
use crate::value::Value;

struct Inner {
    cfg: SentinelBuilder,
    name: String,
    pool: Pool<Session>,
    /// The confirmed master and its client; `None` after it was dropped.
    master: RwLock<Option<(Addr, Client)>>,
    /// Bumped each time the master is dropped, so that concurrent callers
    /// rediscover once.
    generation: AtomicUsize,
    next: AtomicUsize,
}

/// A client for a master watched by Redis Sentinels: asks the Sentinels
/// where the master is, checks with `ROLE` that it is one before using it,
/// and finds it again after a connection error, a `-READONLY` reply (the
/// node was demoted) or a `+switch-master` event. Cheap to clone.
///
/// ```no_run
/// use pconn_redis::{cmd, Commands, SentinelClient};
///
/// let mut client = SentinelClient::open(
///     "redis+sentinel://127.0.0.1:26390,127.0.0.1:26391/pconn-master?sentinel_password=sentinel-secret",
/// )?;
/// client.set("k", "v")?;
/// let v: String = client.query(&cmd("GET").arg("k"))?;
/// assert_eq!(v, "v");
/// # Ok::<(), pconn_redis::Error>(())
/// ```
#[derive(Clone)]
pub struct SentinelClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SentinelClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelClient")
            .field("sentinels", &self.inner.cfg.sentinels)
            .field("master_name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl SentinelBuilder {
    /// Checks the settings and builds the client. Nothing is connected
    /// until first use; the `+switch-master` watcher starts then.
    pub fn build(self) -> Result<SentinelClient> {
        self.validate()?;
        let pool = match &self.pool {
            Some(p) => p.clone(),
            None => Pool::new(self.node.pool_config.clone())?,
        };
        Ok(SentinelClient {
            inner: Arc::new(Inner {
                name: self.master_name.clone().unwrap_or_default(),
                cfg: self,
                pool,
                master: RwLock::new(None),
                generation: AtomicUsize::new(0),
                next: AtomicUsize::new(0),
            }),
        })
    }
}

fn role(c: &Client) -> Result<String> {
    let v = c.get()?.query_value(&cmd("ROLE"))?;
    let first = v.into_items().and_then(|i| i.into_iter().next());
    Ok(first
        .and_then(|r| {
            r.as_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        })
        .unwrap_or_default())
}

impl SentinelClient {
    /// A client from a `redis+sentinel://` URL (see [`SentinelBuilder`]).
    pub fn open(url: &str) -> Result<SentinelClient> {
        SentinelBuilder::new().url(url)?.build()
    }

    /// A builder with defaults.
    pub fn builder() -> SentinelBuilder {
        SentinelBuilder::new()
    }

    /// The master's address, discovered and checked if not known yet.
    pub fn master_addr(&self) -> Result<Addr> {
        Ok(self.master()?.0)
    }

    /// The master's client (its connections are pooled by its address).
    pub fn master_client(&self) -> Result<Client> {
        Ok(self.master()?.1)
    }

    /// Borrows a connection to the master. A failure to connect drops the
    /// master and asks the Sentinels again.
    pub fn get(&self) -> Result<Connection> {
        let mut tries = 0;
        loop {
            let (_, client) = self.master()?;
            match client.get() {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tries += 1;
                    if tries > self.inner.cfg.max_retries {
                        return Err(e);
                    }
                    self.forget();
                    std::thread::sleep(self.inner.cfg.retry_delay);
                }
            }
        }
    }

    /// Borrows a connection to a replica (checked with `ROLE`), round-robin.
    pub fn get_replica(&self) -> Result<Connection> {
        let replicas = self.replicas()?;
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..replicas.len() {
            let addr = &replicas[(n + i) % replicas.len()];
            let c = self.data_client(addr)?;
            if role(&c).is_ok_and(|r| r == "slave" || r == "replica") {
                return c.get();
            }
        }
        Err(ClusterError::MasterNotFound {
            name: self.inner.name.clone(),
            detail: "no replica confirmed by ROLE".into(),
        }
        .into())
    }

    /// Sends a command to the master (a replica for reads when configured)
    /// and converts the reply.
    pub fn query<T: FromValue>(&self, c: &Cmd) -> Result<T> {
        T::from_value(self.query_value(c)?)
    }

    /// Sends a command to the master and returns the raw reply. After a
    /// `-READONLY` reply (the command did not run) or a failure to connect,
    /// the master is found again and the command resent; after a lost
    /// connection only a command that only reads is resent.
    pub fn query_value(&self, c: &Cmd) -> Result<Value> {
        c.check()?;
        if self.inner.cfg.read_from_replicas && c.is_read_only() {
            if let Ok(mut conn) = self.get_replica() {
                return conn.query_value(c);
            }
        }
        let mut tries = 0;
        loop {
            let (_, client) = self.master()?;
            let (sent, result) = match client.get() {
                Err(e) => (false, Err(e)),
                Ok(mut conn) => (true, conn.query_value(c)),
            };
            let retry = match &result {
                Err(Error::Server(e)) => e.kind() == ServerErrorKind::ReadOnly,
                Err(Error::Transport(e)) => !sent || (c.is_read_only() && e.is_connection_lost()),
                _ => false,
            };
            if matches!(&result, Err(Error::Transport(e)) if e.is_connection_lost()) {
                self.forget();
            }
            tries += 1;
            if !retry || tries > self.inner.cfg.max_retries {
                return result;
            }
            self.forget();
            std::thread::sleep(self.inner.cfg.retry_delay);
        }
    }

    /// Drops the known master: the next use asks the Sentinels again.
    pub fn forget(&self) {
        let mut m = self.inner.master.write().unwrap_or_else(|p| p.into_inner());
        if m.take().is_some() {
            self.inner.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn data_client(&self, addr: &Addr) -> Result<Client> {
        self.inner
            .cfg
            .node
            .clone()
            .address(&addr.host, addr.port)
            .pool(self.inner.pool.clone())
            .build()
    }

    fn sentinel_client(&self, addr: &Addr) -> Result<Client> {
        self.inner
            .cfg
            .sentinel
            .clone()
            .address(&addr.host, addr.port)
            .build()
    }

    fn master(&self) -> Result<(Addr, Client)> {
        if let Some(m) = &*self.inner.master.read().unwrap_or_else(|p| p.into_inner()) {
            return Ok(m.clone());
        }
        let generation = self.inner.generation.load(Ordering::Acquire);
        let mut tries = 0;
        loop {
            match self.discover() {
                Ok((addr, client)) => {
                    let mut m = self.inner.master.write().unwrap_or_else(|p| p.into_inner());
                    if let Some(m) = &*m {
                        return Ok(m.clone());
                    }
                    *m = Some((addr.clone(), client.clone()));
                    if generation == 0 && self.inner.cfg.watch {
                        self.start_watcher();
                    }
                    return Ok((addr, client));
                }
                Err(e) => {
                    tries += 1;
                    if tries > self.inner.cfg.max_retries {
                        return Err(e);
                    }
                    std::thread::sleep(self.inner.cfg.retry_delay);
                }
            }
        }
    }

    /// Asks each Sentinel in turn for the master and keeps the first
    /// answer whose node says `ROLE master`.
    fn discover(&self) -> Result<(Addr, Client)> {
        let mut detail = Vec::new();
        for s in &self.inner.cfg.sentinels {
            let reply: Result<Option<(String, u16)>> = self.sentinel_client(s).and_then(|c| {
                c.get()?.query(
                    &cmd("SENTINEL")
                        .arg("GET-MASTER-ADDR-BY-NAME")
                        .arg(&self.inner.name),
                )
            });
            let addr = match reply {
                Ok(Some((host, port))) => Addr { host, port },
                Ok(None) => {
                    detail.push(format!("{s}: unknown master"));
                    continue;
                }
                Err(e @ Error::Server(_))
                    if matches!(
                        e.server_error().map(|e| e.kind()),
                        Some(ServerErrorKind::NoAuth | ServerErrorKind::WrongPass)
                    ) =>
                {
                    return Err(e)
                }
                Err(e) => {
                    detail.push(format!("{s}: {e}"));
                    continue;
                }
            };
            let client = self.data_client(&addr)?;
            match role(&client) {
                Ok(r) if r == "master" => return Ok((addr, client)),
                Ok(r) => detail.push(format!(
                    "{s}: {}",
                    ClusterError::NotMaster {
                        addr: addr.to_string(),
                        role: r
                    }
                )),
                Err(e @ Error::Server(_)) => return Err(e),
                Err(e) => detail.push(format!("{s}: {addr}: {e}")),
            }
        }
        Err(ClusterError::MasterNotFound {
            name: self.inner.name.clone(),
            detail: detail.join("; "),
        }
        .into())
    }

    fn replicas(&self) -> Result<Vec<Addr>> {
        for s in &self.inner.cfg.sentinels {
            let Ok(reply) = self.sentinel_client(s).and_then(|c| {
                c.get()?
                    .query_value(&cmd("SENTINEL").arg("REPLICAS").arg(&self.inner.name))
            }) else {
                continue;
            };
            let mut out = Vec::new();
            for r in reply.into_items().unwrap_or_default() {
                let f: Vec<Value> = r.into_items().unwrap_or_default();
                let get = |k: &str| {
                    f.chunks(2)
                        .find(|kv| kv.len() == 2 && kv[0].as_bytes() == Some(k.as_bytes()))
                        .and_then(|kv| kv[1].as_bytes())
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                };
                let flags = get("flags").unwrap_or_default();
                if flags.contains("down") || flags.contains("disconnected") {
                    continue;
                }
                if let (Some(host), Some(port)) =
                    (get("ip"), get("port").and_then(|p| p.parse().ok()))
                {
                    out.push(Addr { host, port });
                }
            }
            return Ok(out);
        }
        Err(ClusterError::MasterNotFound {
            name: self.inner.name.clone(),
            detail: "no Sentinel answered SENTINEL REPLICAS".into(),
        }
        .into())
    }

    /// Listens for `+switch-master` on the Sentinels (one after the other
    /// when one goes away) and drops the master when it names ours. Ends
    /// when the last clone of the client is dropped.
    fn start_watcher(&self) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let sentinels: Vec<Client> = self
            .inner
            .cfg
            .sentinels
            .iter()
            .filter_map(|s| self.sentinel_client(s).ok())
            .collect();
        let name = self.inner.name.clone();
        let _ = std::thread::Builder::new()
            .name("redis-sentinel-watch".into())
            .spawn(move || watch(weak, sentinels, name));
    }
}

fn watch(weak: Weak<Inner>, sentinels: Vec<Client>, name: String) {
    let mut at = 0;
    while weak.strong_count() > 0 && !sentinels.is_empty() {
        let s = &sentinels[at % sentinels.len()];
        at += 1;
        let Ok(mut conn) = s.get() else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        if conn.subscribe(&["+switch-master"]).is_err() {
            continue;
        }
        loop {
            let Some(inner) = weak.upgrade() else { return };
            drop(inner);
            match conn.receive(Duration::from_millis(250)) {
                Ok(Some(m)) => {
                    // "<name> <old-ip> <old-port> <new-ip> <new-port>"
                    let text = m.payload_str();
                    if text.split(' ').next() == Some(name.as_str()) {
                        if let Some(inner) = weak.upgrade() {
                            SentinelClient { inner }.forget();
                        }
                    }
                }
                Ok(None) => {}
                Err(_) => break,
            }
        }
    }
}

impl crate::commands::Commands for SentinelClient {
    fn query<T: FromValue>(&mut self, c: &Cmd) -> Result<T> {
        SentinelClient::query(self, c)
    }
}
