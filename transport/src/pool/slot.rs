//! One key's connections: the idle list, the open count and the waiters,
//! and the way back into the list (park or close). The checkout loop lives
//! in `checkout`, the release decision in `release`, the idle list's expiry
//! rules in `idle`.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::clock::PoolClock;
use crate::key::PoolKey;
use crate::recycle::Recycle;
use crate::status::Status;
use crate::sys::fork_generation;

use super::idle::{Entry, Idle};
use super::release::{close, judge};
use super::stats::{Counters, Discard, Stats};
use super::PoolConfig;

pub(super) struct State<S> {
    pub(super) idle: Idle<S>,
    /// Idle, borrowed, being opened and being closed: a connection counts
    /// against `max_open` until its socket is closed.
    pub(super) open: usize,
    /// Checkouts blocked on `max_open`; notify only when someone waits.
    pub(super) waiters: usize,
    /// The pool is gone: releases close instead of parking.
    closed: bool,
    /// The pool's sweep of every key is not due before this: the time the
    /// pool's schedule gave at this key's last look (it only moves later).
    /// `None` until a checkout has looked.
    pub(super) sweep_due: Option<Instant>,
}

pub(crate) struct Slot<S> {
    pub(super) key: PoolKey,
    pub(super) config: PoolConfig,
    pub(super) clock: PoolClock,
    state: Mutex<State<S>>,
    pub(super) freed: Condvar,
    pub(super) counters: Counters,
}

impl<S: Recycle> Slot<S> {
    pub(crate) fn new(key: PoolKey, config: PoolConfig, clock: PoolClock) -> Slot<S> {
        Slot {
            state: Mutex::new(State {
                idle: Idle::new(config.idle_timeout),
                open: 0,
                waiters: 0,
                closed: false,
                sweep_due: None,
            }),
            key,
            config,
            clock,
            freed: Condvar::new(),
            counters: Counters::default(),
        }
    }

    pub(crate) fn key(&self) -> &PoolKey {
        &self.key
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State<S>> {
        // A panic never happens while the lock is held (no user code runs
        // under it), but stay usable if one ever does.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn stats(&self) -> Stats {
        let st = self.lock();
        self.counters.snapshot(st.open, st.idle.len())
    }

    /// Closes the idle connections expired at `now`.
    pub(crate) fn sweep(&self, now: Instant) {
        let gone = self.lock().idle.take_expired(now, fork_generation());
        self.close_all(gone.unwrap_or_default());
    }

    pub(crate) fn close_idle(&self, pool_dropped: bool) {
        let gone: Vec<_> = {
            let mut st = self.lock();
            st.closed |= pool_dropped;
            st.idle.take_all()
        };
        self.close_all(gone.into_iter().map(|e| (e, Discard::PoolClosed)).collect());
    }

    /// Closes connections taken off the idle list; each keeps its place in
    /// `max_open` until its socket is closed.
    pub(super) fn close_all(&self, gone: Vec<(Box<Entry<S>>, Discard)>) {
        for (entry, reason) in gone {
            self.discard(entry, reason);
        }
    }

    /// Gives back a place in `max_open` and wakes a waiter.
    pub(super) fn forget_one(&self) {
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
    pub(super) fn discard(&self, entry: Box<Entry<S>>, reason: Discard) {
        self.counters.discard(reason);
        close(entry, reason, &self.key);
        self.forget_one();
    }

    /// Parks a connection judged reusable, unless a limit says otherwise;
    /// hands it back with the reason then.
    #[inline]
    pub(super) fn park(
        &self,
        mut entry: Box<Entry<S>>,
        over_uses: bool,
        generation: u64,
    ) -> Result<(), (Box<Entry<S>>, Discard)> {
        let now = self.clock.now();
        let mut st = self.lock();
        let reason = if st.closed {
            Discard::PoolClosed
        } else if over_uses {
            Discard::MaxUses
        } else if let Some(reason) = entry.worn_out(now, generation) {
            // Not the idle timeout: it was in use until now.
            reason
        } else if st.idle.len() >= self.config.max_idle {
            Discard::IdleFull
        } else {
            entry.conn.restore_fresh_timeouts();
            st.idle.push(entry, now);
            if st.waiters > 0 {
                self.freed.notify_one();
            }
            return Ok(());
        };
        Err((entry, reason))
    }

    /// Parks `entry` if it can serve the next borrower exactly like a
    /// fresh connection; closes it otherwise.
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
        let reason = match judge(&mut entry, status, self.config.reset_timeout, &self.key) {
            Err(reason) => reason,
            Ok(()) => {
                let over_uses = self.config.max_uses.is_some_and(|max| entry.uses >= max);
                match self.park(entry, over_uses, generation) {
                    Ok(()) => return,
                    Err((back, reason)) => {
                        entry = back;
                        reason
                    }
                }
            }
        };
        self.discard(entry, reason);
    }
}
