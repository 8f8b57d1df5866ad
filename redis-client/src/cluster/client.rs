//! The cluster client: node clients on one pool, the slot map, and the
//! redirect and retry rules every command goes through.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use transport::{registry, Pool};

use super::config::ClusterBuilder;
use super::error::ClusterError;
use super::keys::{route, single_key, Route};
use super::slot::key_slot;
use super::topology::{Addr, Shard, SlotMap};
use crate::client::Client;
use crate::cmd::{cmd, Cmd};
use crate::config::ClientBuilder;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::from_value::FromValue;
use crate::pipeline::Pipeline;
use crate::server_error::{ServerError, ServerErrorKind};
use crate::session::Session;
use crate::value::Value;

/// What to do after a server error, by its code.
#[derive(Debug)]
pub(crate) enum Redirect {
    /// `MOVED`: the slot lives at `addr` now.
    Moved(u16, Addr),
    /// `ASK`: ask `addr` this once.
    Ask(Addr),
    /// `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `READONLY` (a write reached a
    /// demoted master): not run; wait, refresh, resend.
    Retry,
}

impl Redirect {
    pub(crate) fn of(e: &ServerError) -> Option<Redirect> {
        match e.kind() {
            ServerErrorKind::Moved { slot, addr } => {
                Some(Redirect::Moved(slot, Addr::parse(&addr)?))
            }
            ServerErrorKind::Ask { addr, .. } => Some(Redirect::Ask(Addr::parse(&addr)?)),
            ServerErrorKind::Loading | ServerErrorKind::ReadOnly => Some(Redirect::Retry),
            _ if matches!(e.code(), "TRYAGAIN" | "CLUSTERDOWN") => Some(Redirect::Retry),
            _ => None,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) cfg: ClusterBuilder,
    pool: Pool<Session>,
    pub(super) map: RwLock<Arc<SlotMap>>,
    /// Node clients by address: `[0]` plain, `[1]` READONLY.
    nodes: [RwLock<HashMap<Addr, Client>>; 2],
    /// Single flight: held while a refresh runs; the time of the last one.
    pub(super) refresh: Mutex<Option<Instant>>,
    /// Bumped by every installed map.
    pub(super) epoch: AtomicUsize,
    /// Round-robin counter for replica reads and keyless commands.
    next: AtomicUsize,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterClient")
            .field("seeds", &self.cfg.seeds)
            .field("map", &self.map.read().map(|m| m.shards().len()).ok())
            .finish_non_exhaustive()
    }
}

/// A Redis Cluster client: routes each command to the node serving its
/// keys' slot, follows `MOVED` and `ASK`, retries `TRYAGAIN`,
/// `CLUSTERDOWN` and `LOADING` with backoff, and keeps one pool key per
/// node on the shared transport pool. Cheap to clone; clones share
/// everything.
///
/// ```no_run
/// use pconn_redis::{cmd, ClusterClient, Commands};
///
/// let mut cluster = ClusterClient::open("redis://127.0.0.1:7000,127.0.0.1:7001")?;
/// cluster.set("user:{42}:name", "Ada")?;
/// let name: String = cluster.get("user:{42}:name")?;
/// assert_eq!(name, "Ada");
/// // Keys of one command must share a slot: use a hash tag.
/// cluster.query::<()>(&cmd("MSET").arg("{42}a").arg(1).arg("{42}b").arg(2))?;
/// assert!(cluster.query::<()>(&cmd("MSET").arg("a").arg(1).arg("b").arg(2)).is_err());
/// # Ok::<(), pconn_redis::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClusterClient {
    pub(crate) inner: Arc<Inner>,
}

/// The parts of a command, name first.
pub(crate) fn parts(c: &Cmd) -> Vec<&[u8]> {
    (0..c.len()).filter_map(|i| c.part(i)).collect()
}

/// The slot of a command, or the refusal of a cross-slot one.
pub(crate) fn slot_of(c: &Cmd) -> Result<Option<u16>> {
    c.check()?;
    if let Some(name) = c.part(0) {
        match single_key(name, c.part(1)) {
            Some(None) => return Ok(None),
            Some(Some(i)) => return Ok(c.part(i).map(key_slot)),
            None => {}
        }
    }
    match route(&parts(c)) {
        Route::Any => Ok(None),
        Route::Slot(s) => Ok(Some(s)),
        Route::CrossSlot(keys) => Err(ClusterError::CrossSlot { keys }.into()),
    }
}

impl ClusterBuilder {
    /// Checks the settings and builds the client. Nothing is connected
    /// until the first command (which reads the topology).
    pub fn build(self) -> Result<ClusterClient> {
        self.validate()?;
        let pool = match (&self.pool, &self.persistent_id) {
            (Some(pool), _) => pool.clone(),
            (None, Some(id)) => {
                let cfg = self.node.pool_config.clone();
                registry::pool(id, || Pool::new(cfg))?
            }
            (None, None) => Pool::new(self.node.pool_config.clone())?,
        };
        Ok(ClusterClient {
            inner: Arc::new(Inner {
                cfg: self,
                pool,
                map: RwLock::new(Arc::new(SlotMap::empty())),
                nodes: [RwLock::new(HashMap::new()), RwLock::new(HashMap::new())],
                refresh: Mutex::new(None),
                epoch: AtomicUsize::new(0),
                next: AtomicUsize::new(0),
            }),
        })
    }
}

impl ClusterClient {
    /// A client from a cluster URL with its own pool (see [`ClusterBuilder`]).
    pub fn open(url: &str) -> Result<ClusterClient> {
        ClusterBuilder::new().url(url)?.build()
    }

    /// A builder with defaults.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::new()
    }

    /// The pool every node connection lives in.
    pub fn pool(&self) -> Pool<Session> {
        self.inner.pool.clone()
    }

    /// The current slot map (read from the cluster on first use).
    pub fn slot_map(&self) -> Result<Arc<SlotMap>> {
        self.inner.map_ready()
    }

    /// Reads the topology again now (still at most one refresh at a time).
    pub fn refresh(&self) -> Result<()> {
        let epoch = self.inner.epoch.load(Ordering::Acquire);
        self.inner.refresh_from(epoch, true)
    }

    /// The client for the node at `addr` (its own pool key on the shared pool).
    pub fn node(&self, addr: &Addr) -> Result<Client> {
        self.inner.node(addr, false)
    }

    /// Borrows a connection to the master serving `slot`, for what must
    /// stay on one node: `WATCH`/`MULTI`/`EXEC`, blocking commands,
    /// sharded pub/sub (`SSUBSCRIBE`). It does not follow redirects.
    pub fn connection_for_slot(&self, slot: u16) -> Result<Connection> {
        let addr = self.inner.master_of(Some(slot))?;
        self.inner.node(&addr, false)?.get()
    }

    /// Borrows a connection to the master serving `key`.
    pub fn connection_for_key(&self, key: &[u8]) -> Result<Connection> {
        self.connection_for_slot(super::slot::key_slot(key))
    }

    /// Sends a command to the node serving its keys and returns the reply
    /// converted to `T`.
    pub fn query<T: FromValue>(&self, c: &Cmd) -> Result<T> {
        T::from_value(self.query_value(c)?)
    }

    /// Sends a command to the node serving its keys (any master for a
    /// keyless one) and returns the raw reply. Keys in different slots:
    /// [`ClusterError::CrossSlot`] before anything is sent.
    pub fn query_value(&self, c: &Cmd) -> Result<Value> {
        self.run(c, None)
    }

    /// The redirect and retry rules around one command; with `held`, node
    /// connections are taken from and kept in it.
    pub(super) fn run(&self, c: &Cmd, mut held: Option<&mut Held>) -> Result<Value> {
        let slot = slot_of(c)?;
        let replica = self.inner.cfg.read_from_replicas && slot.is_some() && c.is_read_only();
        let inner = &self.inner;
        let mut node = inner.target(slot, replica)?;
        let mut asking = false;
        let mut redirects = 0;
        let mut retries = 0;
        loop {
            let attempt = match held.as_deref_mut() {
                None => node
                    .get()
                    .map_err(Failure::Unsent)
                    .and_then(|mut conn| send(&mut conn, c, asking).map_err(Failure::Sent)),
                Some(held) => held_send(held, &node, c, asking),
            };
            asking = false;
            let err = match attempt {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            match classify(err, c) {
                Next::Fail(e) => return Err(e),
                Next::Redirect(r @ (Redirect::Moved(..) | Redirect::Ask(_)), e) => {
                    inner.count_redirect(&mut redirects, e)?;
                    // Redirects that do not settle at once (a slot handed
                    // over node by node) are followed with a pause.
                    if redirects > 1 {
                        inner.pause(redirects - 1);
                    }
                    let to = match r {
                        Redirect::Moved(s, to) => {
                            inner.moved(s, to.clone());
                            to
                        }
                        Redirect::Ask(to) => {
                            asking = true;
                            to
                        }
                        Redirect::Retry => unreachable!("matched above"),
                    };
                    node = inner.node(&to, false)?;
                }
                Next::Redirect(Redirect::Retry, e) => {
                    inner.backoff(&mut retries, e.to_string())?;
                    node = inner.target(slot, replica)?;
                }
                Next::Unreachable(what) => {
                    inner.backoff(&mut retries, what)?;
                    node = inner.target(slot, replica)?;
                }
            }
        }
    }
}

/// Connections kept by a [`ClusterConnection`], with their node's client.
pub(super) type Held = Vec<(Client, Connection)>;

fn held_send(held: &mut Held, node: &Client, c: &Cmd, asking: bool) -> Result<Value, Failure> {
    let at = match held.iter().position(|(n, _)| n.key() == node.key()) {
        Some(at) => at,
        None => {
            held.push((node.clone(), node.get().map_err(Failure::Unsent)?));
            held.len() - 1
        }
    };
    let result = send(&mut held[at].1, c, asking);
    if matches!(result, Err(Error::Transport(_)) | Err(Error::Protocol(_))) {
        // Broken: closed on drop, a new one next time.
        held.swap_remove(at);
    }
    result.map_err(Failure::Sent)
}

/// A failed attempt: before the command was written (resending is safe)
/// or after it may have been.
enum Failure {
    Unsent(Error),
    Sent(Error),
}

fn send(conn: &mut Connection, c: &Cmd, asking: bool) -> Result<Value> {
    if !asking {
        return conn.query_value(c);
    }
    let mut p = Pipeline::new();
    p.add(cmd("ASKING"));
    p.add(c.clone());
    let mut replies = conn.pipeline(&p)?;
    match replies.pop() {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(Error::Server(e)),
        None => Err(Error::InvalidInput("empty pipeline reply".into())),
    }
}

enum Next {
    Fail(Error),
    Redirect(Redirect, ServerError),
    Unreachable(String),
}

fn classify(f: Failure, c: &Cmd) -> Next {
    match f {
        Failure::Sent(Error::Server(e)) => match Redirect::of(&e) {
            Some(r) => Next::Redirect(r, e),
            None => Next::Fail(Error::Server(e)),
        },
        // Could not connect, or a read-only command on a connection that
        // died: safe to try again once the cluster has settled.
        Failure::Unsent(Error::Transport(e)) => Next::Unreachable(e.to_string()),
        Failure::Sent(Error::Transport(e)) if c.is_read_only() && e.is_connection_lost() => {
            Next::Unreachable(e.to_string())
        }
        Failure::Unsent(e) | Failure::Sent(e) => Next::Fail(e),
    }
}

impl Inner {
    /// The map, read from the cluster first if none was yet.
    pub(crate) fn map_ready(&self) -> Result<Arc<SlotMap>> {
        let map = self.map();
        if !map.shards().is_empty() {
            return Ok(map);
        }
        self.refresh_from(self.epoch.load(Ordering::Acquire), true)?;
        Ok(self.map())
    }

    pub(super) fn map(&self) -> Arc<SlotMap> {
        Arc::clone(&self.map.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn node(&self, addr: &Addr, readonly: bool) -> Result<Client> {
        let nodes = &self.nodes[usize::from(readonly)];
        if let Some(c) = nodes.read().unwrap_or_else(|p| p.into_inner()).get(addr) {
            return Ok(c.clone());
        }
        // READONLY is part of the handshake and of the pool key.
        let mut b: ClientBuilder = self
            .cfg
            .node
            .clone()
            .address(&addr.host, addr.port)
            .pool(self.pool.clone())
            .readonly(readonly);
        if let Some(id) = &self.cfg.persistent_id {
            b = b.persistent_id(id);
        }
        let client = b.build()?;
        let mut nodes = nodes.write().unwrap_or_else(|p| p.into_inner());
        Ok(nodes.entry(addr.clone()).or_insert(client).clone())
    }

    pub(crate) fn master_of(&self, slot: Option<u16>) -> Result<Addr> {
        let map = self.map_ready()?;
        Ok(self.shard_of(&map, slot)?.master.clone())
    }

    fn shard_of<'m>(&self, map: &'m SlotMap, slot: Option<u16>) -> Result<&'m Shard> {
        match slot {
            Some(s) => map.shard(s).ok_or_else(|| {
                ClusterError::Unavailable {
                    attempts: 0,
                    last: format!("no node serves slot {s}"),
                }
                .into()
            }),
            None => {
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                Ok(&map.shards()[n % map.shards().len()])
            }
        }
    }

    /// The node client a command for `slot` goes to: the master (a
    /// replica, READONLY, for reads when asked), any master for keyless
    /// commands.
    pub(crate) fn target(&self, slot: Option<u16>, replica: bool) -> Result<Client> {
        let map = self.map_ready()?;
        let shard = self.shard_of(&map, slot)?;
        if replica && !shard.replicas.is_empty() {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            return self.node(&shard.replicas[n % shard.replicas.len()], true);
        }
        self.node(&shard.master, false)
    }
}
