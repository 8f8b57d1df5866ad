//! The checkout: one loop that sweeps when due, closes expired idle
//! connections, lends the most recently released one if it passes its
//! checks (the probe, then the protocol's health check), or opens a new
//! one within `max_open`, or waits for a release.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use crate::conn::{Conn, Probe};
use crate::error::Error;
use crate::recycle::Recycle;
use crate::sys::fork_generation;

use super::guard::Pooled;
use super::idle::Entry;
use super::release::close;
use super::slot::{Slot, State};
use super::stats::Discard;

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
    /// The checkout, one loop: the pool's sweep of every key run when due
    /// (`sweep` returns when it is next due), expired idle connections
    /// closed, the most recently released one lent if it passes its checks
    /// (unless `fresh`), else a new one opened while fewer than `max_open`
    /// exist, else a wait for a release. `now` is the pool clock at the
    /// start.
    #[inline]
    pub(crate) fn checkout<E, F>(
        this: &Arc<Self>,
        open: F,
        fresh: bool,
        mut now: Instant,
        mut sweep: impl FnMut(Instant) -> Instant,
    ) -> Result<Pooled<S>, E>
    where
        F: FnOnce() -> Result<(Conn, S), E>,
        E: From<Error>,
    {
        let generation = fork_generation();
        let mut open = Some(open);
        let mut waiting = None;
        loop {
            let mut st = this.lock();
            if st.sweep_due.is_none_or(|due| now >= due) {
                drop(st);
                let next = sweep(now);
                this.lock().sweep_due = Some(next);
                continue;
            }
            if let Some(gone) = st.idle.take_expired(now, generation) {
                drop(st);
                this.close_all(gone);
                continue;
            }
            if !fresh {
                if let Some(entry) = st.idle.pop_latest() {
                    drop(st);
                    if let Some(guard) = Self::lend_idle(this, entry, now) {
                        return Ok(guard);
                    }
                    continue;
                }
            }
            if let Some(guard) = Self::open_or_wait(
                this,
                st,
                &mut open,
                fresh,
                generation,
                &mut now,
                &mut waiting,
            )? {
                return Ok(guard);
            }
        }
    }

    /// No idle connection to lend: opens one if `max_open` allows (for a
    /// `fresh` checkout, after closing the oldest idle one to make room),
    /// else waits for a release. `None`: look again, at the new `now`.
    #[inline(never)]
    fn open_or_wait<E, F>(
        this: &Arc<Self>,
        mut st: MutexGuard<'_, State<S>>,
        open: &mut Option<F>,
        fresh: bool,
        generation: u64,
        now: &mut Instant,
        waiting_since: &mut Option<Instant>,
    ) -> Result<Option<Pooled<S>>, E>
    where
        F: FnOnce() -> Result<(Conn, S), E>,
        E: From<Error>,
    {
        let evicted = if fresh && st.open >= this.config.max_open {
            st.idle.take_oldest()
        } else {
            None
        };
        if evicted.is_some() || st.open < this.config.max_open {
            // An evicted one hands its place over once it is closed.
            if evicted.is_none() {
                st.open += 1;
            }
            drop(st);
            // The place in `max_open` is given back if `open` fails or panics.
            let reservation = Reservation {
                slot: &**this,
                armed: true,
            };
            if let Some(old) = evicted {
                this.counters.discard(Discard::Evicted);
                close(old, Discard::Evicted, &this.key);
            }
            let open = open.take().expect("a checkout opens at most once");
            let (conn, session) = open()?;
            reservation.disarm();
            this.counters.opened.fetch_add(1, Relaxed);
            tracing::debug!(key = %this.key, peer = ?conn.peer_addr(), "opened connection");
            let entry = this.new_entry(conn, session, generation);
            return Ok(Some(Pooled::new(entry, Arc::clone(this), false)));
        }
        // Read the real clock only if the checkout has to wait.
        let started = *waiting_since.get_or_insert_with(|| {
            this.counters.waits.fetch_add(1, Relaxed);
            Instant::now()
        });
        let left =
            (started + this.config.checkout_timeout).saturating_duration_since(Instant::now());
        if left.is_zero() {
            this.counters.wait_timeouts.fetch_add(1, Relaxed);
            tracing::debug!(key = %this.key, max_open = this.config.max_open, "checkout timed out waiting");
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
        *now = this.clock.now();
        Ok(None)
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
                tracing::debug!(key = %this.key, reason = reason.name(), "idle connection failed its checkout check");
                this.discard(entry, reason);
                None
            }
        }
    }

    /// The checkout check of an idle connection: the probe, then the
    /// protocol's own health check.
    #[inline]
    fn revalidate(entry: &mut Entry<S>, idle_for: Duration) -> Result<(), Discard> {
        let probe = entry.conn.probe();
        tracing::trace!(?probe, ?idle_for, "probed idle connection");
        match probe {
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
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::sync::Mutex;

    use super::*;
    use crate::clock::ManualClock;
    use crate::conn::Conn;
    use crate::error::BoxError;
    use crate::key::PoolKey;
    use crate::pool::PoolConfig;
    use crate::recycle::Reuse;
    use crate::{Pool, Stats};

    const SEC: Duration = Duration::from_secs(1);

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

    /// Collects what the fmt subscriber writes.
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_pool_tells_what_it_does_through_tracing() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let pool: Pool<()> = Pool::new(PoolConfig {
                max_uses: Some(2),
                ..PoolConfig::default()
            })
            .unwrap();
            let mut server = Server::new();
            let keys = pool.key_pool(&key());
            let mut checkout = || {
                keys.checkout(|| -> crate::Result<_> { Ok((server.connect(), ())) })
                    .unwrap()
            };
            drop(checkout());
            // Reused, then closed: it served max_uses borrows.
            let reused = checkout();
            assert!(reused.is_reused());
            drop(reused);
            let mut broken = checkout();
            broken.conn().mark_broken();
            drop(broken);
            drop(keys.checkout_fresh(|| -> crate::Result<_> { Ok((Server::new().connect(), ())) }));
        });
        let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
        for want in [
            "opened connection",
            "probed idle connection",
            "reusing connection",
            "closing connection",
            "max_uses",
            "connection broken",
            "broken",
            "fresh connection",
        ] {
            assert!(log.contains(want), "no {want:?} in:\n{log}");
        }
    }
}
