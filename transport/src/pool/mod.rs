//! Pools of idle connections keyed by identity, with per-key limits.

mod checkout;
mod guard;
mod idle;
mod release;
mod slot;
mod stats;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::clock::{Clock, PoolClock};
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::key::PoolKey;
use crate::recycle::Recycle;

pub use guard::Pooled;
pub use stats::{Discard, Stats};

use slot::Slot;

/// Limits and timeouts of a pool, applied to each key separately.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Connections open at once per key (idle and borrowed). At least 1.
    pub max_open: usize,
    /// Idle connections kept per key; more are closed on release.
    pub max_idle: usize,
    /// Idle connections older than this are closed (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// Connections older than this are closed when next idle (`None`: never).
    pub max_lifetime: Option<Duration>,
    /// Each connection's lifetime is shortened by a random part of this, so a
    /// fleet opened together does not reconnect together. `None`: a tenth of
    /// `max_lifetime`.
    pub lifetime_jitter: Option<Duration>,
    /// Borrows per connection before it is closed (`None`: no limit).
    pub max_uses: Option<u64>,
    /// How long a checkout waits when `max_open` are in use.
    pub checkout_timeout: Duration,
    /// The deadline for a protocol's reset on release.
    pub reset_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_open: 16,
            max_idle: 16,
            idle_timeout: Some(Duration::from_secs(90)),
            max_lifetime: None,
            lifetime_jitter: None,
            max_uses: None,
            checkout_timeout: Duration::from_secs(30),
            reset_timeout: Duration::from_secs(2),
        }
    }
}

impl PoolConfig {
    /// Checks that the limits can work.
    pub fn validate(&self) -> Result<()> {
        if self.max_open == 0 {
            return Err(Error::InvalidConfig("max_open must be at least 1".into()));
        }
        if self.max_uses == Some(0) {
            return Err(Error::InvalidConfig("max_uses must be at least 1".into()));
        }
        if self.idle_timeout == Some(Duration::ZERO) || self.max_lifetime == Some(Duration::ZERO) {
            return Err(Error::InvalidConfig(
                "idle_timeout and max_lifetime must be positive (use None for no limit)".into(),
            ));
        }
        Ok(())
    }
}

/// A pool of connections whose sessions are of type `S`. Cheap to clone:
/// clones share the connections.
///
/// ```no_run
/// use pconn_transport::{open, ConnectOptions, Direct, Endpoint, Pool, PoolConfig, PoolKey};
/// let pool: Pool<()> = Pool::new(PoolConfig::default())?;
/// let endpoint = Endpoint::new("127.0.0.1", 6379)?;
/// let key = PoolKey::new("tcp", endpoint.host(), endpoint.port());
/// let mut guard = pool.checkout(&key, || -> pconn_transport::Result<_> {
///     Ok((open(&endpoint, &Direct, &ConnectOptions::default())?, ()))
/// })?;
/// guard.conn().write_all(b"PING\r\n")?;
/// # Ok::<(), pconn_transport::Error>(())
/// ```
pub struct Pool<S: Recycle> {
    shared: Arc<Shared<S>>,
}

impl<S: Recycle> Clone for Pool<S> {
    fn clone(&self) -> Self {
        Pool {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: Recycle> fmt::Debug for Pool<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

struct Shared<S: Recycle> {
    config: PoolConfig,
    clock: PoolClock,
    slots: RwLock<HashMap<PoolKey, Arc<Slot<S>>>>,
    /// When the next checkout sweeps every key: the one expiry schedule
    /// besides each idle list's own bound. Each key keeps the time it last
    /// read here (`Slot`'s `sweep_due`), so a checkout compares under the
    /// lock it holds anyway instead of taking this one.
    next_sweep: Mutex<Instant>,
}

/// How often a checkout also looks at the other keys' idle connections.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl<S: Recycle> Pool<S> {
    /// A pool with `config`, on the system clock.
    pub fn new(config: PoolConfig) -> Result<Pool<S>> {
        Pool::on_clock(config, PoolClock::System)
    }

    /// A pool that reads time from `clock` for its expiry rules.
    pub fn with_clock(config: PoolConfig, clock: Arc<dyn Clock>) -> Result<Pool<S>> {
        Pool::on_clock(config, PoolClock::Injected(clock))
    }

    fn on_clock(config: PoolConfig, clock: PoolClock) -> Result<Pool<S>> {
        config.validate()?;
        // Installs the fork hook before any connection exists.
        crate::sys::fork_generation();
        let now = clock.now();
        Ok(Pool {
            shared: Arc::new(Shared {
                config,
                clock,
                slots: RwLock::new(HashMap::new()),
                next_sweep: Mutex::new(now + SWEEP_EVERY),
            }),
        })
    }

    /// The pool's configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.shared.config
    }

    /// The part of the pool for one key. Keep it to check out without
    /// hashing the key each time.
    pub fn key_pool(&self, key: &PoolKey) -> KeyPool<S> {
        KeyPool {
            slot: self.shared.slot(key),
            shared: Arc::clone(&self.shared),
        }
    }

    /// Borrows a connection for `key`: the most recently used idle one that
    /// passes the liveness probe, or a new one from `open` while fewer than
    /// `max_open` exist, or the next one released within the checkout timeout.
    pub fn checkout<E, F>(&self, key: &PoolKey, open: F) -> Result<Pooled<S>, E>
    where
        F: FnOnce() -> Result<(Conn, S), E>,
        E: From<Error>,
    {
        self.key_pool(key).checkout(open)
    }

    /// Counters summed over every key.
    pub fn stats(&self) -> Stats {
        let slots = self.shared.slots.read().unwrap_or_else(|p| p.into_inner());
        let mut total = Stats::default();
        for slot in slots.values() {
            total.add(&slot.stats());
        }
        total
    }

    /// Counters of one key.
    pub fn key_stats(&self, key: &PoolKey) -> Stats {
        let slots = self.shared.slots.read().unwrap_or_else(|p| p.into_inner());
        slots.get(key).map(|s| s.stats()).unwrap_or_default()
    }

    /// Closes every idle connection now (politely). Borrowed ones are unaffected.
    pub fn clear(&self) {
        let slots: Vec<_> = {
            let slots = self.shared.slots.read().unwrap_or_else(|p| p.into_inner());
            slots.values().cloned().collect()
        };
        for slot in slots {
            slot.close_idle(false);
        }
    }
}

impl<S: Recycle> Shared<S> {
    fn slot(&self, key: &PoolKey) -> Arc<Slot<S>> {
        if let Some(slot) = self
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
        {
            return Arc::clone(slot);
        }
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        Arc::clone(slots.entry(key.clone()).or_insert_with(|| {
            Arc::new(Slot::new(
                key.clone(),
                self.config.clone(),
                self.clock.clone(),
            ))
        }))
    }

    /// Closes expired idle connections of every key, at most once per
    /// [`SWEEP_EVERY`]: expiry needs no background thread. A checkout calls
    /// it when its key's copy of the schedule says the sweep may be due;
    /// returns when the next one is (the copy to keep). Another checkout
    /// holding the schedule sweeps instead.
    #[inline(never)]
    fn sweep(&self, now: Instant) -> Instant {
        let next = {
            let Ok(mut next) = self.next_sweep.try_lock() else {
                return now + SWEEP_EVERY;
            };
            if now < *next {
                return *next;
            }
            *next = now + SWEEP_EVERY;
            *next
        };
        let slots: Vec<_> = self
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for slot in slots {
            slot.sweep(now);
        }
        next
    }
}

impl<S: Recycle> Drop for Shared<S> {
    fn drop(&mut self) {
        let slots = self.slots.get_mut().unwrap_or_else(|p| p.into_inner());
        for slot in slots.values() {
            slot.close_idle(true);
        }
    }
}

/// One key's share of a [`Pool`]: checkouts without a key lookup.
pub struct KeyPool<S: Recycle> {
    slot: Arc<Slot<S>>,
    shared: Arc<Shared<S>>,
}

impl<S: Recycle> Clone for KeyPool<S> {
    fn clone(&self) -> Self {
        KeyPool {
            slot: Arc::clone(&self.slot),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: Recycle> fmt::Debug for KeyPool<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPool")
            .field("key", self.slot.key())
            .field("stats", &self.slot.stats())
            .finish()
    }
}

impl<S: Recycle> KeyPool<S> {
    /// See [`Pool::checkout`].
    pub fn checkout<E, F>(&self, open: F) -> Result<Pooled<S>, E>
    where
        F: FnOnce() -> Result<(Conn, S), E>,
        E: From<Error>,
    {
        // One clock reading serves the sweep and the checkout's expiry rules.
        let now = self.shared.clock.now();
        Slot::checkout(&self.slot, open, false, now, |now| self.shared.sweep(now))
    }

    /// Borrows a newly opened connection, never an idle one: for the retry
    /// after a reused connection turned out stale. An idle connection is
    /// closed to make room if `max_open` are open.
    pub fn checkout_fresh<E, F>(&self, open: F) -> Result<Pooled<S>, E>
    where
        F: FnOnce() -> Result<(Conn, S), E>,
        E: From<Error>,
    {
        tracing::debug!(key = %self.slot.key(), "checking out a fresh connection (retry)");
        let now = self.shared.clock.now();
        Slot::checkout(&self.slot, open, true, now, |now| self.shared.sweep(now))
    }

    /// The key.
    pub fn key(&self) -> &PoolKey {
        self.slot.key()
    }

    /// This key's counters.
    pub fn stats(&self) -> Stats {
        self.slot.stats()
    }

    /// The pool this key belongs to.
    pub fn pool(&self) -> Pool<S> {
        Pool {
            shared: Arc::clone(&self.shared),
        }
    }
}
