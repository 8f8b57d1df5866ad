//! A key's idle connections and their expiry rules, as pure functions of
//! `now` and the fork generation: no clock, no lock, no I/O here.

use std::time::{Duration, Instant};

use crate::conn::Conn;

use super::stats::Discard;

/// A connection and its protocol session, with the facts the limits need.
/// Always boxed: it moves between the idle list and guards on every borrow,
/// and a pointer moves cheaper than a connection with its buffers.
pub(crate) struct Entry<S> {
    pub(crate) conn: Conn,
    pub(crate) session: S,
    /// When `max_lifetime` (minus jitter) runs out.
    pub(crate) expires: Option<Instant>,
    /// Completed borrows.
    pub(crate) uses: u64,
    /// The fork generation of the process that opened it.
    pub(crate) generation: u64,
    /// When it was last released (pool clock).
    pub(crate) idle_since: Instant,
}

impl<S> Entry<S> {
    /// Why it may not be parked or used again whether or not it sat idle:
    /// another process's, or past its lifetime.
    pub(crate) fn worn_out(&self, now: Instant, generation: u64) -> Option<Discard> {
        if self.generation != generation {
            return Some(Discard::Forked);
        }
        match self.expires {
            Some(at) if now >= at => Some(Discard::Lifetime),
            _ => None,
        }
    }

    /// Why it may no longer be used after sitting idle, if it may not.
    pub(crate) fn expired(
        &self,
        now: Instant,
        generation: u64,
        idle_timeout: Option<Duration>,
    ) -> Option<Discard> {
        match idle_timeout.and_then(|t| self.idle_since.checked_add(t)) {
            Some(at) if now >= at => Some(Discard::IdleTimeout),
            _ => self.worn_out(now, generation),
        }
    }
}

/// Idle connections, most recently released last (LIFO reuse), with a
/// bound that says when one may have expired.
pub(crate) struct Idle<S> {
    entries: Vec<Box<Entry<S>>>,
    lookout: Lookout,
    idle_timeout: Option<Duration>,
}

impl<S> Idle<S> {
    pub(crate) fn new(idle_timeout: Option<Duration>) -> Idle<S> {
        Idle {
            entries: Vec::new(),
            lookout: Lookout::NOTHING,
            idle_timeout,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Parks `entry`, released at `now`.
    #[inline]
    pub(crate) fn push(&mut self, mut entry: Box<Entry<S>>, now: Instant) {
        entry.idle_since = now;
        self.lookout.cover(&entry, self.idle_timeout);
        self.entries.push(entry);
    }

    /// The most recently released one.
    #[inline]
    pub(crate) fn pop_latest(&mut self) -> Option<Box<Entry<S>>> {
        self.entries.pop()
    }

    /// The least recently released one (to make room for a fresh one).
    pub(crate) fn take_oldest(&mut self) -> Option<Box<Entry<S>>> {
        (!self.entries.is_empty()).then(|| self.entries.remove(0))
    }

    /// Everything, for closing the pool.
    pub(crate) fn take_all(&mut self) -> Vec<Box<Entry<S>>> {
        self.lookout = Lookout::NOTHING;
        std::mem::take(&mut self.entries)
    }

    /// Takes out the entries expired at `now` in the process of fork
    /// generation `generation`, with the reason; `None` when there are
    /// none. The entries are looked at only when the bound says one may
    /// have expired.
    #[inline]
    pub(crate) fn take_expired(
        &mut self,
        now: Instant,
        generation: u64,
    ) -> Option<Vec<(Box<Entry<S>>, Discard)>> {
        if !self.lookout.may_have_expired(now, generation) {
            return None;
        }
        Some(self.scan(now, generation)).filter(|gone| !gone.is_empty())
    }

    /// Entry by entry: takes out the expired ones and makes the bound
    /// exact for those that stay.
    #[inline(never)]
    fn scan(&mut self, now: Instant, generation: u64) -> Vec<(Box<Entry<S>>, Discard)> {
        let mut gone = Vec::new();
        let mut lookout = Lookout::NOTHING;
        let mut i = 0;
        while i < self.entries.len() {
            if let Some(reason) = self.entries[i].expired(now, generation, self.idle_timeout) {
                gone.push((self.entries.remove(i), reason));
            } else {
                lookout.cover(&self.entries[i], self.idle_timeout);
                i += 1;
            }
        }
        self.lookout = lookout;
        gone
    }
}

/// A bound on the idle entries' expiry facts, kept as they are parked: no
/// idle entry's lifetime or idle timeout runs out before `earliest`, none
/// was released before `oldest_release`, and none was opened in a fork
/// generation before `oldest_generation`. Taking entries off the list
/// leaves it as it is, so it may be early, never late; a scan of the list
/// makes it exact again. It spares every checkout a walk over the list.
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

    /// Widens the bound to cover `entry`. The idle deadline is summed only
    /// for an entry released before every one covered so far: a later
    /// release runs out no earlier, and is the usual case.
    #[inline]
    fn cover<S>(&mut self, entry: &Entry<S>, idle_timeout: Option<Duration>) {
        if let Some(at) = entry.expires {
            self.lower(at);
        }
        if let Some(timeout) = idle_timeout {
            let released = entry.idle_since;
            if self.oldest_release.is_none_or(|oldest| released < oldest) {
                self.oldest_release = Some(released);
                // Beyond what an `Instant` can hold, it (and every later
                // release) never runs out.
                if let Some(at) = released.checked_add(timeout) {
                    self.lower(at);
                }
            }
        }
        self.oldest_generation = self.oldest_generation.min(entry.generation);
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

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn entry(idle_since: Instant, expires: Option<Instant>, generation: u64) -> Box<Entry<()>> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        Box::new(Entry {
            conn: Conn::from_tcp(stream, "127.0.0.1"),
            session: (),
            expires,
            uses: 0,
            generation,
            idle_since,
        })
    }

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
        l.cover(&entry(t0 + 5 * SEC, None, 3), idle);
        assert!(!l.may_have_expired(t0 + 14 * SEC, 3));
        assert!(l.may_have_expired(t0 + 15 * SEC, 3), "idle deadline");
        // A later release never moves the bound; an earlier one lowers it.
        l.cover(&entry(t0 + 8 * SEC, None, 3), idle);
        assert!(l.may_have_expired(t0 + 15 * SEC, 3));
        l.cover(&entry(t0 + 2 * SEC, None, 3), idle);
        assert!(l.may_have_expired(t0 + 12 * SEC, 3));
        assert!(!l.may_have_expired(t0 + 11 * SEC, 3));
        // A lifetime deadline before the idle ones.
        l.cover(&entry(t0 + 9 * SEC, Some(t0 + 4 * SEC), 3), idle);
        assert!(l.may_have_expired(t0 + 4 * SEC, 3));
        assert!(!l.may_have_expired(t0 + 3 * SEC, 3));
        // An entry of an older fork generation is due at once.
        assert!(l.may_have_expired(t0, 4));
    }

    #[test]
    fn the_lookout_without_idle_timeout_or_within_instant_range() {
        let t0 = Instant::now();
        let mut l = Lookout::NOTHING;
        l.cover(&entry(t0, None, 0), None);
        assert!(!l.may_have_expired(t0 + 1000 * SEC, 0), "no timeout");
        l.cover(&entry(t0, None, 0), Some(Duration::MAX));
        assert!(
            !l.may_have_expired(t0 + 1000 * SEC, 0),
            "beyond any Instant"
        );
    }

    #[test]
    fn take_expired_is_a_function_of_now_and_the_generation() {
        let t0 = Instant::now();
        let mut idle: Idle<()> = Idle::new(Some(10 * SEC));
        idle.push(entry(t0, Some(t0 + 30 * SEC), 1), t0);
        idle.push(entry(t0, None, 1), t0 + 5 * SEC);
        assert!(idle.take_expired(t0 + 9 * SEC, 1).is_none());
        let gone = idle.take_expired(t0 + 10 * SEC, 1).unwrap();
        assert_eq!(
            gone.iter().map(|g| g.1).collect::<Vec<_>>(),
            [Discard::IdleTimeout]
        );
        assert_eq!(idle.len(), 1);
        let gone = idle.take_expired(t0 + 11 * SEC, 2).unwrap();
        assert_eq!(
            gone.iter().map(|g| g.1).collect::<Vec<_>>(),
            [Discard::Forked]
        );
        assert_eq!(idle.len(), 0);
        idle.push(entry(t0, Some(t0 + 12 * SEC), 1), t0 + 11 * SEC);
        let gone = idle.take_expired(t0 + 12 * SEC, 1).unwrap();
        assert_eq!(
            gone.iter().map(|g| g.1).collect::<Vec<_>>(),
            [Discard::Lifetime]
        );
    }
}
