//! What a borrower can change on a connection, and whether that can be
//! undone. Pure state: the blocking layer reports each command's [`Effect`]
//! and outcome; the pool asks [`SessionState::reuse`].

use std::collections::BTreeSet;

use transport::Reuse;

use super::limits::Protocol;

/// How a command changes connection state, from its name (and sub-command).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// No connection state touched.
    None,
    /// `MULTI`.
    Multi,
    /// `EXEC`.
    Exec,
    /// `DISCARD`.
    Discard,
    /// `WATCH`.
    Watch,
    /// `UNWATCH`.
    Unwatch,
    /// `SELECT n`.
    Select(i64),
    /// `CLIENT SETNAME`.
    SetName,
    /// `SUBSCRIBE` / `PSUBSCRIBE` / `SSUBSCRIBE` / and their `UN` forms:
    /// replies are one confirmation per channel.
    PubSub,
    /// `CLIENT TRACKING on|off`.
    Tracking(bool),
    /// `MONITOR`, `SYNC`, `PSYNC`, `QUIT`, `SHUTDOWN`: from here on the
    /// replies no longer match the commands. The driver marks the
    /// transport connection broken once it is sent: every later command of
    /// the borrow is refused, and the connection is closed on release.
    Unrecoverable,
    /// `CLIENT REPLY OFF|SKIP`: as [`Effect::Unrecoverable`], and the
    /// server does not even answer this command.
    RepliesOff,
    /// `AUTH`, `HELLO`, `RESET`: the identity or protocol of the connection.
    Identity,
    /// `READONLY`, `READWRITE`, `ASKING`, `CLIENT NO-EVICT|NO-TOUCH|CACHING`:
    /// flags only `RESET` clears.
    Flags,
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

impl Effect {
    /// False when a command of this name certainly has no effect (the
    /// names of those that may are 4 to 12 bytes long).
    pub fn may_change_state(name: &[u8]) -> bool {
        (4..=12).contains(&name.len())
    }

    /// The effect of a command given its arguments (name first).
    pub fn of(args: &[&[u8]]) -> Effect {
        let Some(name) = args.first() else {
            return Effect::None;
        };
        let arg = |i: usize| args.get(i).copied().unwrap_or(b"");
        if !Effect::may_change_state(name) {
            return Effect::None;
        }
        if eq(name, "MULTI") {
            Effect::Multi
        } else if eq(name, "EXEC") {
            Effect::Exec
        } else if eq(name, "DISCARD") {
            Effect::Discard
        } else if eq(name, "WATCH") {
            Effect::Watch
        } else if eq(name, "UNWATCH") {
            Effect::Unwatch
        } else if eq(name, "SELECT") {
            std::str::from_utf8(arg(1))
                .ok()
                .and_then(|s| s.parse().ok())
                .map_or(Effect::Flags, Effect::Select)
        } else if [
            "SUBSCRIBE",
            "PSUBSCRIBE",
            "SSUBSCRIBE",
            "UNSUBSCRIBE",
            "PUNSUBSCRIBE",
            "SUNSUBSCRIBE",
        ]
        .iter()
        .any(|n| eq(name, n))
        {
            Effect::PubSub
        } else if ["MONITOR", "SYNC", "PSYNC", "QUIT", "SHUTDOWN"]
            .iter()
            .any(|n| eq(name, n))
        {
            Effect::Unrecoverable
        } else if ["AUTH", "HELLO", "RESET"].iter().any(|n| eq(name, n)) {
            Effect::Identity
        } else if ["READONLY", "READWRITE", "ASKING"]
            .iter()
            .any(|n| eq(name, n))
        {
            Effect::Flags
        } else if eq(name, "CLIENT") {
            let sub = arg(1);
            if eq(sub, "SETNAME") {
                Effect::SetName
            } else if eq(sub, "TRACKING") {
                Effect::Tracking(eq(arg(2), "ON"))
            } else if eq(sub, "REPLY") {
                if eq(arg(2), "ON") {
                    Effect::None
                } else {
                    Effect::RepliesOff
                }
            } else if ["NO-EVICT", "NO-TOUCH", "CACHING"]
                .iter()
                .any(|n| eq(sub, n))
            {
                Effect::Flags
            } else {
                Effect::None
            }
        } else {
            Effect::None
        }
    }
}

/// The state of one connection as far as a borrower could change it.
#[derive(Debug, Clone)]
pub struct SessionState {
    /// The RESP version negotiated by the handshake.
    pub protocol: Protocol,
    /// The server has `RESET` (Redis >= 6.2).
    pub has_reset: bool,
    /// The db the handshake selected.
    pub configured_db: i64,
    /// The db now selected.
    pub db: i64,
    /// `MULTI` is open.
    pub in_multi: bool,
    /// `WATCH` is in force.
    pub watching: bool,
    /// `CLIENT SETNAME` was called.
    pub name_changed: bool,
    /// Subscribed channels.
    pub channels: BTreeSet<Vec<u8>>,
    /// Subscribed patterns.
    pub patterns: BTreeSet<Vec<u8>>,
    /// Subscribed shard channels.
    pub shard_channels: BTreeSet<Vec<u8>>,
    /// `CLIENT TRACKING on`.
    pub tracking: bool,
    /// `AUTH`/`HELLO`/`RESET` was sent by the borrower.
    pub identity_changed: bool,
    /// Flags only `RESET` clears, or state changes queued inside `MULTI`.
    pub flags: bool,
}

impl SessionState {
    /// The state right after a handshake.
    pub fn fresh(protocol: Protocol, has_reset: bool, db: i64) -> SessionState {
        SessionState {
            protocol,
            has_reset,
            configured_db: db,
            db,
            in_multi: false,
            watching: false,
            name_changed: false,
            channels: BTreeSet::new(),
            patterns: BTreeSet::new(),
            shard_channels: BTreeSet::new(),
            tracking: false,
            identity_changed: false,
            flags: false,
        }
    }

    /// Subscriptions of any kind.
    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }

    /// Records the outcome of a command (`ok`: not an error reply).
    pub fn after_reply(&mut self, effect: &Effect, ok: bool) {
        if self.in_multi
            && !matches!(
                effect,
                Effect::Exec | Effect::Discard | Effect::Multi | Effect::Watch | Effect::None
            )
        {
            // Queued: it takes effect at EXEC, in an order we do not replay.
            self.flags = true;
            if *effect == Effect::Identity {
                // RESET runs at once even inside MULTI.
                self.identity_changed = true;
            }
            return;
        }
        match effect {
            // Unrecoverable: the driver marks the connection itself broken,
            // which is the one rule for "replies can no longer be matched".
            Effect::None | Effect::PubSub | Effect::Unrecoverable | Effect::RepliesOff => {}
            Effect::Multi if ok => self.in_multi = true,
            Effect::Multi => {}
            Effect::Exec | Effect::Discard => {
                // EXEC and DISCARD end the transaction and unwatch, also when they fail.
                self.in_multi = false;
                self.watching = false;
            }
            Effect::Watch if ok => self.watching = true,
            Effect::Watch => {}
            Effect::Unwatch => self.watching = false,
            Effect::Select(db) if ok => self.db = *db,
            Effect::Select(_) => {}
            Effect::SetName => self.name_changed = true,
            Effect::Tracking(on) if ok => self.tracking = *on,
            Effect::Tracking(_) => {}
            Effect::Identity => self.identity_changed = true,
            Effect::Flags => self.flags = true,
        }
    }

    /// Whether something needs undoing.
    pub fn is_dirty(&self) -> bool {
        self.in_multi
            || self.watching
            || self.db != self.configured_db
            || self.name_changed
            || self.subscriptions() > 0
            || self.tracking
            || self.identity_changed
            || self.flags
    }

    /// What the release path must do. Without `RESET`, only the state a
    /// command can undo precisely is reset; the rest closes.
    pub fn reuse(&self) -> Reuse {
        if !self.is_dirty() {
            return Reuse::Clean;
        }
        if !self.has_reset
            && (self.subscriptions() > 0 || self.tracking || self.identity_changed || self.flags)
        {
            return Reuse::MustClose;
        }
        Reuse::NeedsReset
    }

    /// Commands that undo the changes one by one, for servers without
    /// `RESET`. `name` is the configured client name.
    pub fn undo_commands(&self, name: Option<&str>) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        if self.in_multi {
            out.push(vec![b"DISCARD".to_vec()]);
        }
        if self.watching {
            out.push(vec![b"UNWATCH".to_vec()]);
        }
        if self.db != self.configured_db {
            out.push(vec![
                b"SELECT".to_vec(),
                self.configured_db.to_string().into_bytes(),
            ]);
        }
        if self.name_changed {
            out.push(vec![
                b"CLIENT".to_vec(),
                b"SETNAME".to_vec(),
                name.unwrap_or("").as_bytes().to_vec(),
            ]);
        }
        out
    }

    /// Back to the state of a fresh connection (after a successful reset).
    pub fn mark_fresh(&mut self) {
        *self = SessionState::fresh(self.protocol, self.has_reset, self.configured_db);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(cmd: &str) -> Effect {
        let parts: Vec<&[u8]> = cmd.split(' ').map(str::as_bytes).collect();
        Effect::of(&parts)
    }

    #[test]
    fn classifies_commands() {
        assert_eq!(effect("multi"), Effect::Multi);
        assert_eq!(effect("SELECT 3"), Effect::Select(3));
        assert_eq!(effect("SELECT x"), Effect::Flags);
        assert_eq!(effect("client setname x"), Effect::SetName);
        assert_eq!(effect("CLIENT TRACKING on"), Effect::Tracking(true));
        assert_eq!(effect("CLIENT REPLY OFF"), Effect::RepliesOff);
        assert_eq!(effect("client reply skip"), Effect::RepliesOff);
        assert_eq!(effect("CLIENT REPLY ON"), Effect::None);
        assert_eq!(effect("MONITOR"), Effect::Unrecoverable);
        assert_eq!(effect("psubscribe a*"), Effect::PubSub);
        assert_eq!(effect("AUTH u p"), Effect::Identity);
        assert_eq!(effect("GET k"), Effect::None);
        assert_eq!(effect("CLIENT ID"), Effect::None);
    }

    #[test]
    fn tracks_and_judges_state() {
        let mut s = SessionState::fresh(Protocol::Resp2, true, 0);
        assert_eq!(s.reuse(), Reuse::Clean);
        s.after_reply(&Effect::Multi, true);
        s.after_reply(&effect("SELECT 2"), true); // queued
        assert!(s.in_multi && s.flags && s.db == 0);
        assert_eq!(s.reuse(), Reuse::NeedsReset);
        s.after_reply(&Effect::Exec, true);
        assert!(!s.in_multi);
        s.mark_fresh();
        assert_eq!(s.reuse(), Reuse::Clean);
        s.after_reply(&Effect::Select(2), true);
        s.after_reply(&Effect::Watch, true);
        assert_eq!(
            s.undo_commands(None),
            vec![
                vec![b"UNWATCH".to_vec()],
                vec![b"SELECT".to_vec(), b"0".to_vec()]
            ]
        );
        s.after_reply(&Effect::Select(0), true);
        s.after_reply(&Effect::Unwatch, true);
        assert_eq!(s.reuse(), Reuse::Clean);
    }

    #[test]
    fn without_reset_only_precise_undo() {
        let mut s = SessionState::fresh(Protocol::Resp2, false, 1);
        s.after_reply(&Effect::Select(4), true);
        assert_eq!(s.reuse(), Reuse::NeedsReset);
        s.channels.insert(b"c".to_vec());
        assert_eq!(s.reuse(), Reuse::MustClose);
        let mut t = SessionState::fresh(Protocol::Resp3, false, 0);
        t.after_reply(&Effect::Tracking(true), true);
        assert_eq!(t.reuse(), Reuse::MustClose);
        // A failed SELECT changes nothing.
        let mut u = SessionState::fresh(Protocol::Resp2, false, 0);
        u.after_reply(&Effect::Select(99), false);
        assert_eq!(u.reuse(), Reuse::Clean);
    }
}
