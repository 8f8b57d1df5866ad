//! Publish/subscribe on a borrowed connection. Subscriptions are undone on
//! release (RESET), so the next borrower never gets this one's messages.

use std::time::{Duration, Instant};

use crate::cmd::{cmd, Cmd, ToArg};
use crate::connection::Connection;
use crate::driver::{abandon, begin, read_reply, read_value, send};
use crate::error::{Error, Result};
use crate::proto::is_confirmation;
use crate::value::Value;

/// A published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel it was published to.
    pub channel: Vec<u8>,
    /// The pattern that matched, for `PSUBSCRIBE`.
    pub pattern: Option<Vec<u8>>,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Message {
    fn from_value(v: Value) -> Option<Message> {
        let items = v.into_items()?;
        let kind = items.first()?.as_bytes()?.to_ascii_lowercase();
        let bytes = |i: usize| items.get(i).and_then(Value::as_bytes).map(<[u8]>::to_vec);
        match kind.as_slice() {
            b"message" | b"smessage" if items.len() == 3 => Some(Message {
                channel: bytes(1)?,
                pattern: None,
                payload: bytes(2)?,
            }),
            b"pmessage" if items.len() == 4 => Some(Message {
                pattern: Some(bytes(1)?),
                channel: bytes(2)?,
                payload: bytes(3)?,
            }),
            _ => None,
        }
    }

    /// The payload as text (lossy).
    pub fn payload_str(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

impl Connection {
    /// Subscribes to channels.
    pub fn subscribe<C: ToArg>(&mut self, channels: &[C]) -> Result<()> {
        self.pubsub_command(&cmd("SUBSCRIBE").args(channels))
            .map(drop)
    }

    /// Subscribes to patterns.
    pub fn psubscribe<C: ToArg>(&mut self, patterns: &[C]) -> Result<()> {
        self.pubsub_command(&cmd("PSUBSCRIBE").args(patterns))
            .map(drop)
    }

    /// Unsubscribes from channels (all of them when `channels` is empty).
    pub fn unsubscribe<C: ToArg>(&mut self, channels: &[C]) -> Result<()> {
        self.pubsub_command(&cmd("UNSUBSCRIBE").args(channels))
            .map(drop)
    }

    /// Unsubscribes from patterns (all of them when `patterns` is empty).
    pub fn punsubscribe<C: ToArg>(&mut self, patterns: &[C]) -> Result<()> {
        self.pubsub_command(&cmd("PUNSUBSCRIBE").args(patterns))
            .map(drop)
    }

    /// Runs a (un)subscribe command: one confirmation per channel, each
    /// updating what the session knows is subscribed.
    pub(crate) fn pubsub_command(&mut self, c: &Cmd) -> Result<Value> {
        let name = c.name();
        let targets = c.len() - 1;
        let subscribing = !name.contains("UNSUB");
        if subscribing && targets == 0 {
            return Err(Error::InvalidInput(format!(
                "{name} needs at least one channel"
            )));
        }
        let (conn, session) = self.guard.parts();
        let state = &session.state;
        let expected = if targets > 0 {
            targets
        } else {
            let current = match name.as_str() {
                "PUNSUBSCRIBE" => state.patterns.len(),
                "SUNSUBSCRIBE" => state.shard_channels.len(),
                _ => state.channels.len(),
            };
            current.max(1)
        };
        send(conn, &[c.wire()])?;
        let mut confirmations = Vec::with_capacity(expected);
        for _ in 0..expected {
            let v = read_reply(conn, session, true)?;
            if let Value::Error(e) = v {
                // One error replaces all the confirmations.
                conn.end_exchange();
                return Err(Error::Server(e));
            }
            if !is_confirmation(&v) {
                // The confirmations still owed would answer later commands.
                return Err(abandon(
                    conn,
                    Error::Protocol(crate::proto::ProtoError::Malformed(format!(
                        "expected a {name} confirmation, got {v:?}"
                    ))),
                ));
            }
            apply_confirmation(&mut session.state, &v);
            confirmations.push(v);
        }
        conn.end_exchange();
        Ok(Value::Array(confirmations))
    }

    /// The next published message, waiting up to `timeout`. `Ok(None)` when
    /// none arrived in time; the connection stays usable.
    pub fn receive(&mut self, timeout: Duration) -> Result<Option<Message>> {
        let give_up = Instant::now() + timeout;
        loop {
            match self.receive_value(give_up.saturating_duration_since(Instant::now()))? {
                None => return Ok(None),
                Some(v) => {
                    if let Some(m) = Message::from_value(v) {
                        return Ok(Some(m));
                    }
                    // Other pushes (invalidations) are not messages.
                }
            }
        }
    }

    /// The next unsolicited value (push, message), waiting up to
    /// `timeout`. (After `MONITOR` the connection takes no further use: its
    /// stream of lines no longer pairs with anything.)
    pub fn receive_value(&mut self, timeout: Duration) -> Result<Option<Value>> {
        let give_up = Instant::now() + timeout;
        let (conn, session) = self.guard.parts();
        loop {
            if let Some(v) = session.pushes.queue.pop_front() {
                return Ok(Some(v));
            }
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() || !conn.wait_readable(left)? {
                return Ok(None);
            }
            begin(conn)?;
            let v = read_value(conn, session.state.protocol, &session.config.limits)?;
            conn.end_exchange();
            if is_confirmation(&v) {
                apply_confirmation(&mut session.state, &v);
                continue;
            }
            return Ok(Some(v));
        }
    }
}

fn apply_confirmation(state: &mut crate::proto::SessionState, v: &Value) {
    let (Value::Array(items) | Value::Push(items)) = v else {
        return;
    };
    let kind = items[0].as_bytes().unwrap_or_default().to_ascii_lowercase();
    let Some(target) = items[1].as_bytes().map(<[u8]>::to_vec) else {
        return;
    };
    match kind.as_slice() {
        b"subscribe" => {
            state.channels.insert(target);
        }
        b"psubscribe" => {
            state.patterns.insert(target);
        }
        b"ssubscribe" => {
            state.shard_channels.insert(target);
        }
        b"unsubscribe" => {
            state.channels.remove(&target);
        }
        b"punsubscribe" => {
            state.patterns.remove(&target);
        }
        b"sunsubscribe" => {
            state.shard_channels.remove(&target);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_from_resp2_and_resp3() {
        let b = |s: &str| Value::Bulk(s.as_bytes().to_vec());
        let m = Message::from_value(Value::Array(vec![b("message"), b("ch"), b("hi")])).unwrap();
        assert_eq!(
            (m.channel.as_slice(), m.payload_str().as_str()),
            (&b"ch"[..], "hi")
        );
        let p = Message::from_value(Value::Push(vec![b("pmessage"), b("c*"), b("ch"), b("x")]))
            .unwrap();
        assert_eq!(p.pattern.as_deref(), Some(&b"c*"[..]));
        assert!(Message::from_value(Value::Push(vec![b("invalidate"), Value::Nil])).is_none());
    }
}
