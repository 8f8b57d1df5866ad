//! One key's connections: the idle stack, the open count, the waiters.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::conn::{Conn, Probe};
use crate::error::Error;
use crate::key::PoolKey;
use crate::recycle::{Recycle, Reuse};
use crate::status::Status;
use crate::sys::fork_generation;

use super::guard::Pooled;
use super::stats::{Counters, Discard, Stats};
use super::PoolConfig;

/// A connection and its protocol session, with the facts the limits need.
/// Always boxed: it moves between the idle list and guards on every borrow,
/// and a pointer moves cheaper than a connection with its buffers.
pub(crate) struct Entry<S> {
    pub(crate) conn: Conn,
    pub(crate) session: S,
    /// When `max_lifetime` (minus jitter) runs out.
    expires: Option<Instant>,
    /// Completed borrows.
    pub(crate) uses: u64,
    /// The fork generation of the process that opened it.
    generation: u64,
    /// When it was last released (pool clock).
    idle_since: Instant,
    /// When `idle_timeout` runs out for it, set as it is parked: checks on
    /// every checkout compare instants instead of subtracting them.
    idle_until: Option<Instant>,
}

struct State<S> {
    /// Idle connections, most recently released last (LIFO reuse).
    idle: Vec<Box<Entry<S>>>,
    /// Idle plus borrowed.
    open: usize,
    /// Checkouts blocked on `max_open`; notify only when someone waits.
    waiters: usize,
    /// The pool is gone: releases close instead of parking.
    closed: bool,
}

pub(crate) struct Slot<S> {
    key: PoolKey,
    config: PoolConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<State<S>>,
    freed: Condvar,
    counters: Counters,
}

/// How a connection leaves the pool: politely (the protocol's goodbye and
/// TLS close_notify) only when its state is known to be clean and it is ours.
#[allow(
    clippy::boxed_local,
    reason = "entries live boxed; closing one should not copy it out"
)]
fn close<S: Recycle>(mut entry: Box<Entry<S>>, reason: Discard, key: &PoolKey) {
    tracing::debug!(key = %key, reason = reason.name(), uses = entry.uses, "closing connection");
    let polite = matches!(
        reason,
        Discard::IdleTimeout
            | Discard::Lifetime
            | Discard::MaxUses
            | Discard::IdleFull
            | Discard::Evicted
            | Discard::PoolClosed
    ) && entry.generation == fork_generation();
    if polite {
        entry
            .conn
            .set_deadline(Some(Instant::now() + Duration::from_millis(500)));
        let _ = catch_unwind(AssertUnwindSafe(|| entry.session.close(&mut entry.conn)));
        entry.conn.close_notify();
    }
    // Dropping closes the fd only; no shutdown(), which would also cut the
    // parent's copy of a socket inherited across fork().
}

/// A place taken in `max_open` for a connection being opened.
struct Reservation<'a, S: Recycle> {
    slot: &'a Slot<S>,
    armed: bool,
}

impl<S: Recycle> Reservation<'_, S> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl<S: Recycle> Drop for Reservation<'_, S> {
    fn drop(&mut self) {
        if self.armed {
            self.slot.counters.open_failed.fetch_add(1, Relaxed);
            self.slot.forget_one();
        }
    }
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let random = RandomState::new().hash_one(Instant::now());
    Duration::from_nanos(random % max.as_nanos().min(u64::MAX as u128) as u64)
}

impl<S: Recycle> Slot<S> {
    pub(crate) fn new(key: PoolKey, config: PoolConfig, clock: Arc<dyn Clock>) -> Slot<S> {
        Slot {
            key,
            config,
            clock,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                waiters: 0,
                closed: false,
            }),
            freed: Condvar::new(),
            counters: Counters::default(),
        }
    }

    pub(crate) fn key(&self) -> &PoolKey {
        &self.key
    }

    fn lock(&self) -> MutexGuard<'_, State<S>> {
        // A panic never happens while the lock is held (no user code runs
        // under it), but stay usable if one ever does.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn stats(&self) -> Stats {
        let st = self.lock();
        self.counters.snapshot(st.open, st.idle.len())
    }

    /// Why an idle entry may no longer be used, if it may not.
    fn expired(entry: &Entry<S>, now: Instant, generation: u64) -> Option<Discard> {
        match entry.idle_until {
            Some(at) if now >= at => Some(Discard::IdleTimeout),
            _ => Self::worn_out(entry, now, generation),
        }
    }

    /// Why an entry may not be parked or used again whether or not it sat
    /// idle: another process's, or past its lifetime.
    fn worn_out(entry: &Entry<S>, now: Instant, generation: u64) -> Option<Discard> {
        if entry.generation != generation {
            return Some(Discard::Forked);
        }
        match entry.expires {
            Some(at) if now >= at => Some(Discard::Lifetime),
            _ => None,
        }
    }

    /// Takes expired entries out of the idle list (under the lock); the
    /// caller closes them after unlocking.
    fn take_expired(
        &self,
        st: &mut State<S>,
        now: Instant,
        generation: u64,
    ) -> Vec<(Box<Entry<S>>, Discard)> {
        let mut gone = Vec::new();
        let mut i = 0;
        while i < st.idle.len() {
            if let Some(reason) = Self::expired(&st.idle[i], now, generation) {
                gone.push((st.idle.remove(i), reason));
                st.open -= 1;
            } else {
                i += 1;
            }
        }
        if !gone.is_empty() && st.waiters > 0 {
            self.freed.notify_all();
        }
        gone
    }

    fn close_all(&self, gone: Vec<(Box<Entry<S>>, Discard)>) {
        for (entry, reason) in gone {
            self.counters.discard(reason);
            close(entry, reason, &self.key);
        }
    }

    pub(crate) fn sweep(&self) {
        let gone = {
            let mut st = self.lock();
            self.take_expired(&mut st, self.clock.now(), fork_generation())
        };
        self.close_all(gone);
    }

    pub(crate) fn close_idle(&self, pool_dropped: bool) {
        let gone: Vec<_> = {
            let mut st = self.lock();
            st.closed |= pool_dropped;
            st.open -= st.idle.len();
            if st.waiters > 0 {
                self.freed.notify_all();
            }
            st.idle
                .drain(..)
                .map(|e| (e, Discard::PoolClosed))
                .collect()
        };
        self.close_all(gone);
    }

    /// Gives back a slot's place in `max_open` for a connection that will
    /// not be parked, and wakes a waiter.
    fn forget_one(&self) {
        let mut st = self.lock();
        st.open -= 1;
        if st.waiters > 0 {
            self.freed.notify_one();
        }
    }

    fn discard(&self, entry: Box<Entry<S>>, reason: Discard) {
        self.forget_one();
        self.counters.discard(reason);
        close(entry, reason, &self.key);
    }

    /// `now` is the pool clock at the start; re-read only after a wait.
    pub(crate) fn checkout<E, F>(
        this: &Arc<Self>,
        open: F,
        fresh: bool,
        mut now: Instant,
    ) -> Result<Pooled<S>, E>
    where
        F: FnOnce() -> Result<(Conn, S), E>,
        E: From<Error>,
    {
        let generation = fork_generation();
        // Read the real clock only if the checkout has to wait.
        let mut waiting_since: Option<Instant> = None;
        loop {
            let mut st = this.lock();
            let gone = this.take_expired(&mut st, now, generation);
            if !gone.is_empty() {
                drop(st);
                this.close_all(gone);
                st = this.lock();
            }
            let mut evicted = None;
            if fresh && st.open >= this.config.max_open && !st.idle.is_empty() {
                // The oldest idle one makes room for the fresh one.
                evicted = Some(st.idle.remove(0));
                st.open -= 1;
            }
            if !fresh {
                if let Some(mut entry) = st.idle.pop() {
                    drop(st);
                    let idle_for = now.saturating_duration_since(entry.idle_since);
                    match Self::revalidate(&mut entry, idle_for) {
                        Ok(()) => {
                            this.counters.reused.fetch_add(1, Relaxed);
                            tracing::trace!(key = %this.key, uses = entry.uses, "reusing connection");
                            return Ok(Pooled::new(entry, Arc::clone(this), true));
                        }
                        Err(reason) => {
                            tracing::debug!(key = %this.key, reason = reason.name(), "idle connection unusable");
                            this.discard(entry, reason);
                            continue;
                        }
                    }
                }
            }
            if st.open < this.config.max_open {
                st.open += 1;
                drop(st);
                if let Some(old) = evicted {
                    this.counters.discard(Discard::Evicted);
                    close(old, Discard::Evicted, &this.key);
                }
                // The place in `max_open` is given back if `open` fails or panics.
                let reservation = Reservation {
                    slot: &**this,
                    armed: true,
                };
                let (conn, session) = open()?;
                reservation.disarm();
                this.counters.opened.fetch_add(1, Relaxed);
                tracing::debug!(key = %this.key, peer = ?conn.peer_addr(), "opened connection");
                let entry = this.new_entry(conn, session, generation);
                return Ok(Pooled::new(entry, Arc::clone(this), false));
            }
            let started = *waiting_since.get_or_insert_with(|| {
                this.counters.waits.fetch_add(1, Relaxed);
                Instant::now()
            });
            let left =
                (started + this.config.checkout_timeout).saturating_duration_since(Instant::now());
            if left.is_zero() {
                this.counters.wait_timeouts.fetch_add(1, Relaxed);
                return Err(Error::PoolExhausted {
                    key: this.key.to_string(),
                    max_open: this.config.max_open,
                    waited: started.elapsed(),
                }
                .into());
            }
            st.waiters += 1;
            let (mut st, _) = this
                .freed
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner());
            st.waiters -= 1;
            now = this.clock.now();
        }
    }

    fn new_entry(&self, mut conn: Conn, session: S, generation: u64) -> Box<Entry<S>> {
        conn.remember_fresh_timeouts();
        let born = self.clock.now();
        let expires = self.config.max_lifetime.map(|life| {
            let spread = self
                .config
                .lifetime_jitter
                .unwrap_or(life / 10)
                .min(life / 2);
            born + life - jitter(spread)
        });
        Box::new(Entry {
            conn,
            session,
            expires,
            uses: 0,
            generation,
            idle_since: born,
            idle_until: None,
        })
    }

    /// The checkout check of an idle connection: the probe, then the
    /// protocol's own health check.
    fn revalidate(entry: &mut Entry<S>, idle_for: Duration) -> Result<(), Discard> {
        match entry.conn.probe() {
            Probe::Alive => {}
            Probe::Closed => return Err(Discard::ProbeClosed),
            Probe::Error(_) => return Err(Discard::ProbeError),
            Probe::Unexpected => return Err(Discard::ProbeUnexpected),
        }
        match catch_unwind(AssertUnwindSafe(|| {
            entry.session.verify(&mut entry.conn, idle_for)
        })) {
            Ok(Ok(()))
                if !entry.conn.is_broken()
                    && entry.conn.status().is_normal()
                    && entry.conn.read_buf().is_empty() =>
            {
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "health check failed");
                Err(Discard::VerifyFailed)
            }
            _ => Err(Discard::VerifyFailed),
        }
    }

    /// The release path: decides whether `entry` can serve the next borrower
    /// exactly like a fresh connection, and parks or closes it.
    pub(crate) fn release(&self, mut entry: Box<Entry<S>>, status: Status) {
        entry.uses += 1;
        let verdict = self.judge(&mut entry, status);
        let reason = match verdict {
            Err(reason) => reason,
            Ok(()) => {
                let now = self.clock.now();
                let generation = fork_generation();
                let over_uses = self.config.max_uses.is_some_and(|max| entry.uses >= max);
                let mut st = self.lock();
                let reason = if st.closed {
                    Discard::PoolClosed
                } else if over_uses {
                    Discard::MaxUses
                } else if let Some(reason) = Self::worn_out(&entry, now, generation) {
                    // Not the idle timeout: it was in use until now.
                    reason
                } else if st.idle.len() >= self.config.max_idle {
                    Discard::IdleFull
                } else {
                    entry.idle_since = now;
                    // No deadline at all if the timeout is beyond what an
                    // `Instant` can hold.
                    entry.idle_until = self.config.idle_timeout.and_then(|t| now.checked_add(t));
                    entry.conn.restore_fresh_timeouts();
                    st.idle.push(entry);
                    if st.waiters > 0 {
                        self.freed.notify_one();
                    }
                    return;
                };
                drop(st);
                reason
            }
        };
        self.discard(entry, reason);
    }

    fn judge(&self, entry: &mut Entry<S>, status: Status) -> Result<(), Discard> {
        let conn = &mut entry.conn;
        let status = status | conn.status();
        if status.contains(Status::TIMEOUT) {
            return Err(Discard::Timeout);
        }
        if status.contains(Status::ABORTED) || conn.in_exchange() {
            return Err(Discard::Aborted);
        }
        if conn.is_broken() {
            return Err(Discard::Broken);
        }
        match entry.session.reuse() {
            Reuse::Clean => {}
            Reuse::MustClose => return Err(Discard::MustClose),
            Reuse::NeedsReset => self.reset(entry)?,
        }
        if !entry.conn.read_buf().is_empty() {
            return Err(Discard::UnexpectedData);
        }
        // Left in the write buffer, they would go out with the next
        // borrower's first flush.
        if entry.conn.unsent() > 0 {
            return Err(Discard::Unsent);
        }
        Ok(())
    }

    fn reset(&self, entry: &mut Entry<S>) -> Result<(), Discard> {
        let deadline = Instant::now() + self.config.reset_timeout;
        // No need to restore the old deadline: parking clears it, and every
        // other outcome closes the connection.
        entry.conn.set_deadline(Some(deadline));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            entry.session.reset(&mut entry.conn, deadline)
        }));
        let conn = &entry.conn;
        match outcome {
            Ok(Ok(()))
                if entry.session.reuse() == Reuse::Clean
                    && !conn.is_broken()
                    && conn.status().is_normal()
                    && !conn.in_exchange() =>
            {
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::debug!(key = %self.key, error = %e, "reset failed");
                Err(Discard::ResetFailed)
            }
            _ => Err(Discard::ResetFailed),
        }
    }
}
