//! One key's connections: the idle stack, the open count, the waiters.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::clock::PoolClock;
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
}

impl<S> Entry<S> {
    /// When `idle_timeout` runs out for it, if ever (`None` too if beyond
    /// what an `Instant` can hold). Computed only where an idle entry is
    /// looked at, which the [`Lookout`] makes rare, not on every release.
    fn idle_until(&self, idle_timeout: Option<Duration>) -> Option<Instant> {
        idle_timeout.and_then(|t| self.idle_since.checked_add(t))
    }

    /// Widens `lookout` to cover this entry, parked or staying parked.
    #[inline]
    fn cover(&self, lookout: &mut Lookout, idle_timeout: Option<Duration>) {
        lookout.cover(self.expires, self.idle_since, idle_timeout, self.generation);
    }
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
    /// What the idle list may hold that has expired, so a checkout looks at
    /// the entries only when one may have (see [`Lookout`]).
    lookout: Lookout,
    /// The pool's sweep of every key is not due before this: a time its
    /// schedule had, which only moves later. Checkouts before it skip the
    /// pool-wide check and its lock; `None` until a checkout has looked.
    sweep_due: Option<Instant>,
}

/// What the quick first look of a checkout found.
pub(crate) enum Quick<S: Recycle> {
    /// The most recently released idle connection, checked and lent.
    Reused(Pooled<S>),
    /// The pool's sweep of every key may be due: it runs first, then the
    /// full checkout.
    SweepDue,
    /// Nothing to lend at once: the full checkout.
    Miss,
}

/// A bound on the idle entries' expiry facts, kept as they are parked: no
/// idle entry's lifetime or idle timeout runs out before `earliest`, none
/// was released before `oldest_release`, and none was opened in a fork
/// generation before `oldest_generation`. Taking entries off the list
/// leaves it as it is, so it may be early, never late; a scan of the list
/// makes it exact again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lookout {
    earliest: Option<Instant>,
    oldest_release: Option<Instant>,
    oldest_generation: u64,
}

impl Lookout {
    /// For an empty list: nothing can expire.
    const NOTHING: Lookout = Lookout {
        earliest: None,
        oldest_release: None,
        oldest_generation: u64::MAX,
    };

    /// Widens the bound to cover an entry with these facts. The idle
    /// deadline is summed only for an entry released before every one
    /// covered so far: a later release runs out no earlier, and is the
    /// usual case, so the sum is not paid on every release.
    #[inline]
    fn cover(
        &mut self,
        expires: Option<Instant>,
        released: Instant,
        idle_timeout: Option<Duration>,
        generation: u64,
    ) {
        if let Some(at) = expires {
            self.lower(at);
        }
        if let Some(timeout) = idle_timeout {
            if self.oldest_release.is_none_or(|oldest| released < oldest) {
                self.oldest_release = Some(released);
                // Beyond what an `Instant` can hold, it (and every later
                // release) never runs out.
                if let Some(at) = released.checked_add(timeout) {
                    self.lower(at);
                }
            }
        }
        self.oldest_generation = self.oldest_generation.min(generation);
    }

    #[inline]
    fn lower(&mut self, at: Instant) {
        if self.earliest.is_none_or(|earliest| at < earliest) {
            self.earliest = Some(at);
        }
    }

    /// False when no covered entry can have expired at `now` in the process
    /// of fork generation `generation`. Generations only grow, so an entry
    /// of another process's generation is one of an older one.
    #[inline]
    fn may_have_expired(&self, now: Instant, generation: u64) -> bool {
        self.earliest.is_some_and(|at| now >= at) || self.oldest_generation < generation
    }
}

pub(crate) struct Slot<S> {
    key: PoolKey,
    config: PoolConfig,
    clock: PoolClock,
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
    pub(crate) fn new(key: PoolKey, config: PoolConfig, clock: PoolClock) -> Slot<S> {
        Slot {
            key,
            config,
            clock,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                waiters: 0,
                closed: false,
                lookout: Lookout::NOTHING,
                sweep_due: None,
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
    fn expired(&self, entry: &Entry<S>, now: Instant, generation: u64) -> Option<Discard> {
        match entry.idle_until(self.config.idle_timeout) {
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
    /// caller closes them after unlocking. On every checkout: the entries
    /// are looked at only when the lookout says one may have expired.
    #[inline]
    fn take_expired(
        &self,
        st: &mut State<S>,
        now: Instant,
        generation: u64,
    ) -> Vec<(Box<Entry<S>>, Discard)> {
        if !st.lookout.may_have_expired(now, generation) {
            return Vec::new();
        }
        self.scan_expired(st, now, generation)
    }

    /// Entry by entry: takes out the expired ones and makes the lookout
    /// exact for those that stay.
    #[inline(never)]
    fn scan_expired(
        &self,
        st: &mut State<S>,
        now: Instant,
        generation: u64,
    ) -> Vec<(Box<Entry<S>>, Discard)> {
        let mut gone = Vec::new();
        let mut lookout = Lookout::NOTHING;
        let mut i = 0;
        while i < st.idle.len() {
            if let Some(reason) = self.expired(&st.idle[i], now, generation) {
                // Still counted in `open` until `close_all` has closed it.
                gone.push((st.idle.remove(i), reason));
            } else {
                st.idle[i].cover(&mut lookout, self.config.idle_timeout);
                i += 1;
            }
        }
        st.lookout = lookout;
        gone
    }

    /// Closes connections taken off the idle list; each keeps its place in
    /// `max_open` until its socket is closed.
    fn close_all(&self, gone: Vec<(Box<Entry<S>>, Discard)>) {
        for (entry, reason) in gone {
            self.discard(entry, reason);
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
            st.lookout = Lookout::NOTHING;
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

    /// Closes a connection and only then gives back its place in
    /// `max_open`: a polite goodbye (QUIT, close_notify) still holds a
    /// session at the server, so a waiter must not open another before it
    /// is over.
    fn discard(&self, entry: Box<Entry<S>>, reason: Discard) {
        self.counters.discard(reason);
        close(entry, reason, &self.key);
        self.forget_one();
    }

    /// The common checkout, inline: unless the pool's sweep may be due or
    /// an idle one has expired, the most recently released idle connection
    /// if it passes its checks (one that fails is closed). Anything else
    /// goes to [`Slot::checkout`], which looks again from the start.
    #[inline]
    pub(crate) fn reuse_latest(this: &Arc<Self>, now: Instant) -> Quick<S> {
        let mut st = this.lock();
        if st.sweep_due.is_none_or(|due| now >= due) {
            return Quick::SweepDue;
        }
        let gone = this.take_expired(&mut st, now, fork_generation());
        if !gone.is_empty() {
            drop(st);
            this.close_all(gone);
            return Quick::Miss;
        }
        let Some(entry) = st.idle.pop() else {
            return Quick::Miss;
        };
        drop(st);
        match Self::lend_idle(this, entry, now) {
            Some(guard) => Quick::Reused(guard),
            None => Quick::Miss,
        }
    }

    /// After a look at the pool's sweep schedule: no sweep before `due`.
    pub(crate) fn sweep_not_before(&self, due: Instant) {
        self.lock().sweep_due = Some(due);
    }

    /// Lends an idle entry taken off the list if it passes the checkout
    /// checks; closes it otherwise.
    #[inline]
    fn lend_idle(this: &Arc<Self>, mut entry: Box<Entry<S>>, now: Instant) -> Option<Pooled<S>> {
        let idle_for = now.saturating_duration_since(entry.idle_since);
        match Self::revalidate(&mut entry, idle_for) {
            Ok(()) => {
                this.counters.reused.fetch_add(1, Relaxed);
                tracing::trace!(key = %this.key, uses = entry.uses, "reusing connection");
                Some(Pooled::new(entry, Arc::clone(this), true))
            }
            Err(reason) => {
                tracing::debug!(key = %this.key, reason = reason.name(), "idle connection unusable");
                this.discard(entry, reason);
                None
            }
        }
    }

    /// The full checkout: expired ones closed, an idle one reused (unless
    /// `fresh`), a new one opened, or a wait for one released. `now` is the
    /// pool clock at the start; re-read only after a wait.
    #[inline(never)]
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
                // The oldest idle one makes room for the fresh one: its
                // place in `max_open` passes to the fresh one once it is
                // closed.
                evicted = Some(st.idle.remove(0));
                st.open -= 1;
            }
            if !fresh {
                if let Some(entry) = st.idle.pop() {
                    drop(st);
                    match Self::lend_idle(this, entry, now) {
                        Some(guard) => return Ok(guard),
                        None => continue,
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
        })
    }

    /// The checkout check of an idle connection: the probe, then the
    /// protocol's own health check.
    #[inline]
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
                    && !entry.conn.has_unread() =>
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
    #[inline]
    pub(crate) fn release(&self, mut entry: Box<Entry<S>>, status: Status) {
        // First of all: in a forked child the socket is shared with the
        // parent, who may be mid-exchange on it. No reset, drain, goodbye
        // or close_notify: the child only closes its own fd.
        let generation = fork_generation();
        if entry.generation != generation {
            self.discard(entry, Discard::Forked);
            return;
        }
        entry.uses += 1;
        let verdict = self.judge(&mut entry, status);
        let reason = match verdict {
            Err(reason) => reason,
            Ok(()) => {
                let now = self.clock.now();
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
                    entry.conn.restore_fresh_timeouts();
                    entry.cover(&mut st.lookout, self.config.idle_timeout);
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
        if entry.conn.has_unread() {
            return Err(Discard::UnexpectedData);
        }
        // Left in the write buffer, they would go out with the next
        // borrower's first flush.
        if entry.conn.unsent() > 0 {
            return Err(Discard::Unsent);
        }
        Ok(())
    }

    // Out of line: most releases find the session clean, and keeping the
    // reset's unwinding and logging out lets the release path inline.
    #[inline(never)]
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

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::sync::Mutex;

    use super::*;
    use crate::clock::ManualClock;
    use crate::recycle::BoxError;
    use crate::{Pool, Stats};

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn an_empty_lookout_sees_nothing_expire() {
        let far = Instant::now() + 1000 * SEC;
        assert!(!Lookout::NOTHING.may_have_expired(far, 0));
        assert!(!Lookout::NOTHING.may_have_expired(far, u64::MAX - 1));
    }

    #[test]
    fn the_lookout_is_due_at_the_earliest_deadline_of_what_it_covers() {
        let t0 = Instant::now();
        let idle = Some(10 * SEC);
        let mut l = Lookout::NOTHING;
        l.cover(None, t0 + 5 * SEC, idle, 3);
        assert!(!l.may_have_expired(t0 + 14 * SEC, 3));
        assert!(l.may_have_expired(t0 + 15 * SEC, 3), "idle deadline");
        // A later release never moves the bound; an earlier one lowers it.
        l.cover(None, t0 + 8 * SEC, idle, 3);
        assert!(l.may_have_expired(t0 + 15 * SEC, 3));
        l.cover(None, t0 + 2 * SEC, idle, 3);
        assert!(l.may_have_expired(t0 + 12 * SEC, 3));
        assert!(!l.may_have_expired(t0 + 11 * SEC, 3));
        // A lifetime deadline before the idle ones.
        l.cover(Some(t0 + 4 * SEC), t0 + 9 * SEC, idle, 3);
        assert!(l.may_have_expired(t0 + 4 * SEC, 3));
        assert!(!l.may_have_expired(t0 + 3 * SEC, 3));
        // An entry of an older fork generation is due at once.
        assert!(l.may_have_expired(t0, 4));
    }

    #[test]
    fn the_lookout_without_idle_timeout_or_within_instant_range() {
        let t0 = Instant::now();
        let mut l = Lookout::NOTHING;
        l.cover(None, t0, None, 0);
        assert!(!l.may_have_expired(t0 + 1000 * SEC, 0), "no timeout");
        l.cover(None, t0, Some(Duration::MAX), 0);
        assert!(
            !l.may_have_expired(t0 + 1000 * SEC, 0),
            "beyond any Instant"
        );
    }

    /// A session that records the idle time each checkout reports.
    struct Recorder(Arc<Mutex<Vec<Duration>>>);

    impl Recycle for Recorder {
        fn reuse(&self) -> Reuse {
            Reuse::Clean
        }

        fn verify(&mut self, _conn: &mut Conn, idle_for: Duration) -> Result<(), BoxError> {
            self.0.lock().unwrap().push(idle_for);
            Ok(())
        }
    }

    struct Server {
        listener: TcpListener,
        accepted: Vec<TcpStream>,
    }

    impl Server {
        fn new() -> Server {
            Server {
                listener: TcpListener::bind("127.0.0.1:0").unwrap(),
                accepted: Vec::new(),
            }
        }

        fn connect(&mut self) -> Conn {
            let stream = TcpStream::connect(self.listener.local_addr().unwrap()).unwrap();
            self.accepted.push(self.listener.accept().unwrap().0);
            Conn::from_tcp(stream, "127.0.0.1")
        }
    }

    fn key() -> PoolKey {
        PoolKey::new("slot-test", "127.0.0.1", 1)
    }

    /// A pool on a manual clock whose idle connections time out after 10 s.
    fn pool_idle_for_10s() -> (Arc<ManualClock>, Pool<()>) {
        let clock = Arc::new(ManualClock::new());
        let config = PoolConfig {
            idle_timeout: Some(10 * SEC),
            ..PoolConfig::default()
        };
        (clock.clone(), Pool::with_clock(config, clock).unwrap())
    }

    fn stats_of<S: Recycle>(pool: &Pool<S>) -> Stats {
        pool.key_stats(&key())
    }

    #[test]
    fn a_stale_lookout_after_reuse_still_times_out_the_idle_connection_when_due() {
        // Released at 0 (due at 10), reused, released again at 5 (due at
        // 15): the lookout still says 10 until a look at the list at 11
        // finds nothing due and moves it; at 21 the third release's time
        // has run out.
        let (clock, pool) = pool_idle_for_10s();
        let mut server = Server::new();
        let checkout = |server: &mut Server| {
            pool.checkout(&key(), || -> crate::Result<_> {
                Ok((server.connect(), ()))
            })
            .unwrap()
        };
        drop(checkout(&mut server));
        let reused = checkout(&mut server);
        assert!(reused.is_reused());
        clock.advance(5 * SEC);
        drop(reused);
        clock.advance(6 * SEC);
        let reused = checkout(&mut server);
        assert!(reused.is_reused(), "released at 5: not due at 11");
        drop(reused);
        clock.advance(9 * SEC);
        assert!(
            checkout(&mut server).is_reused(),
            "released at 11: not due at 20"
        );
        clock.advance(11 * SEC);
        assert!(
            !checkout(&mut server).is_reused(),
            "released at 20: due at 31"
        );
        let stats = stats_of(&pool);
        assert_eq!(stats.discarded(Discard::IdleTimeout), 1);
        assert_eq!((stats.opened, stats.reused), (2, 3));
    }

    #[test]
    fn checkouts_of_one_key_sweep_another_on_schedule_through_their_bound() {
        // Each key keeps a time the pool's sweep schedule had; a checkout
        // compares with it, and past it runs the pool's check, which
        // sweeps when due and moves the bound.
        let (clock, pool) = pool_idle_for_10s();
        let (a, b) = (key(), PoolKey::new("slot-test", "127.0.0.1", 2));
        let mut server = Server::new();
        let mut checkout = |key: &PoolKey| {
            pool.checkout(key, || -> crate::Result<_> { Ok((server.connect(), ())) })
                .unwrap()
        };
        drop(checkout(&a));
        drop(checkout(&b));
        let b_timeouts = |pool: &Pool<()>| pool.key_stats(&b).discarded(Discard::IdleTimeout);
        clock.advance(SEC / 2);
        drop(checkout(&a));
        clock.advance(10 * SEC);
        // b was released at 0: due at 10, swept by a's checkout at 10.5.
        drop(checkout(&a));
        assert_eq!(b_timeouts(&pool), 1);
        assert_eq!(pool.key_stats(&b).open_now, 0);
        drop(checkout(&b));
        clock.advance(10 * SEC + SEC / 10);
        // b released at 10.5 is due at 20.5; a's bound (11.5) has passed.
        drop(checkout(&a));
        assert_eq!(b_timeouts(&pool), 2);
        // a's own, released at 0.5 and 10.5, ran out at the same checkouts.
        let a_stats = pool.key_stats(&a);
        assert_eq!(a_stats.discarded(Discard::IdleTimeout), 2);
        assert_eq!((a_stats.opened, a_stats.reused), (3, 1));
    }

    #[test]
    fn verify_sees_the_idle_time_on_the_pool_clock() {
        let clock = Arc::new(ManualClock::new());
        let pool = Pool::with_clock(PoolConfig::default(), clock.clone()).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut server = Server::new();
        let mut checkout = || {
            pool.checkout(&key(), || -> crate::Result<_> {
                Ok((server.connect(), Recorder(seen.clone())))
            })
            .unwrap()
        };
        let held = checkout();
        clock.advance(30 * SEC);
        drop(held);
        clock.advance(7 * SEC);
        let held = checkout();
        assert!(held.is_reused());
        clock.advance(2 * SEC);
        drop(held);
        drop(checkout());
        assert_eq!(*seen.lock().unwrap(), vec![7 * SEC, Duration::ZERO]);
    }

    #[test]
    fn the_system_clock_pool_reuses_and_a_dead_idle_connection_is_replaced() {
        let pool: Pool<()> = Pool::new(PoolConfig::default()).unwrap();
        let mut server = Server::new();
        let checkout = |server: &mut Server| {
            pool.checkout(&key(), || -> crate::Result<_> {
                Ok((server.connect(), ()))
            })
            .unwrap()
        };
        drop(checkout(&mut server));
        assert!(checkout(&mut server).is_reused());
        // The peer closes the idle one: the quick reuse path finds it dead
        // and the full checkout opens another.
        server.accepted.clear();
        let mut fresh = checkout(&mut server);
        for _ in 0..1000 {
            if !fresh.is_reused() {
                break;
            }
            // The FIN had not arrived yet; try again.
            drop(fresh);
            std::thread::sleep(Duration::from_millis(1));
            fresh = checkout(&mut server);
        }
        assert!(!fresh.is_reused());
        let stats = stats_of(&pool);
        assert_eq!(stats.discarded(Discard::ProbeClosed), 1);
        assert_eq!(stats.opened, 2);
        assert_eq!(stats.open_now, 1);
    }
}
