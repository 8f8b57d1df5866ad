//! The pooled session: what a fresh connection is ([`Handshake`]), the
//! state a borrower changed, and the pushes it left unread. No I/O here:
//! the handshake and the reset run in `handshake.rs`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::proto::{Limits, ProtoError, Protocol, SessionState};
use crate::value::Value;

/// What a fresh connection is: the state the handshake establishes and
/// every release restores.
#[derive(Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The RESP version asked for.
    pub protocol: Protocol,
    /// ACL user (`None`: `default`).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Database index.
    pub db: i64,
    /// `CLIENT SETNAME` value.
    pub client_name: Option<String>,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("protocol", &self.protocol)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("client_name", &self.client_name)
            .finish()
    }
}

/// Settings every session of one client shares.
#[derive(Debug)]
pub(crate) struct SessionConfig {
    pub(crate) handshake: Handshake,
    pub(crate) limits: Limits,
    pub(crate) idle_check: Option<Duration>,
    /// `READONLY` after the handshake (cluster replica reads).
    pub(crate) readonly: bool,
}

/// The protocol state kept with each pooled connection. The pool asks it on
/// release whether the connection is as fresh, and has it reset it if not.
#[derive(Debug)]
pub struct Session {
    pub(crate) state: SessionState,
    pub(crate) pushes: Pushes,
    pub(crate) config: Arc<SessionConfig>,
    /// Counts idle-check PINGs, so a stale reply cannot pass for ours.
    pub(crate) nonce: u64,
}

impl Session {
    pub(crate) fn new(state: SessionState, config: Arc<SessionConfig>) -> Session {
        Session {
            state,
            pushes: Pushes::default(),
            config,
            nonce: 0,
        }
    }

    /// The RESP version this connection speaks.
    pub fn protocol(&self) -> Protocol {
        self.state.protocol
    }

    /// True when the server has `RESET` (used for reset-on-release).
    pub fn has_reset(&self) -> bool {
        self.state.has_reset
    }

    /// The state a borrower changed so far (for diagnostics and tests).
    pub fn state(&self) -> &SessionState {
        &self.state
    }
}

/// Pushes received while waiting for a reply, kept for [`crate::Connection::receive`].
#[derive(Debug, Default)]
pub(crate) struct Pushes {
    pub(crate) queue: VecDeque<Value>,
}

impl Pushes {
    /// Keeps `v`, or refuses when `max_pending_pushes` are unread.
    pub(crate) fn keep(&mut self, v: Value, limits: &Limits) -> Result<()> {
        if self.queue.len() >= limits.max_pending_pushes {
            return Err(Error::Protocol(ProtoError::Malformed(format!(
                "more than {} unread push messages",
                limits.max_pending_pushes
            ))));
        }
        self.queue.push_back(v);
        Ok(())
    }
}

pub(crate) fn hello_parts(h: &Handshake) -> Vec<Vec<u8>> {
    let mut parts = vec![
        b"HELLO".to_vec(),
        match h.protocol {
            Protocol::Resp2 => b"2".to_vec(),
            Protocol::Resp3 => b"3".to_vec(),
        },
    ];
    if let Some(pw) = &h.password {
        parts.push(b"AUTH".to_vec());
        parts.push(h.user.as_deref().unwrap_or("default").as_bytes().to_vec());
        parts.push(pw.as_bytes().to_vec());
    }
    if let Some(name) = &h.client_name {
        parts.push(b"SETNAME".to_vec());
        parts.push(name.as_bytes().to_vec());
    }
    parts
}

pub(crate) fn select_parts(db: i64) -> Vec<Vec<u8>> {
    vec![b"SELECT".to_vec(), db.to_string().into_bytes()]
}

/// `(major, minor)` from HELLO's `version` field.
pub(crate) fn server_version(hello: &Value) -> Option<(u32, u32)> {
    let items = hello.clone().into_items()?;
    let mut it = items.chunks(2);
    let version = it.find(|kv| kv.len() == 2 && kv[0].as_bytes() == Some(b"version"))?;
    let text = std::str::from_utf8(version[1].as_bytes()?).ok()?;
    let mut nums = text.split('.').map(|n| n.parse::<u32>().ok());
    Some((nums.next()??, nums.next()??))
}

pub(crate) fn expect_ok(v: Value, what: &str) -> Result<()> {
    match v {
        Value::Error(e) => Err(Error::Server(e)),
        Value::Simple(_) => Ok(()),
        other => Err(Error::Protocol(crate::proto::ProtoError::Malformed(
            format!("unexpected reply to {what}: {other:?}"),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_hello() {
        let resp3 = Value::Map(vec![
            (
                Value::Bulk(b"server".to_vec()),
                Value::Bulk(b"redis".to_vec()),
            ),
            (
                Value::Bulk(b"version".to_vec()),
                Value::Bulk(b"7.0.15".to_vec()),
            ),
        ]);
        assert_eq!(server_version(&resp3), Some((7, 0)));
        let resp2 = Value::Array(vec![
            Value::Bulk(b"version".to_vec()),
            Value::Bulk(b"6.0.9".to_vec()),
        ]);
        assert_eq!(server_version(&resp2), Some((6, 0)));
    }

    #[test]
    fn hello_carries_auth_and_name() {
        let h = Handshake {
            protocol: Protocol::Resp3,
            user: None,
            password: Some("pw".into()),
            db: 2,
            client_name: Some("app".into()),
        };
        let parts: Vec<String> = hello_parts(&h)
            .into_iter()
            .map(|p| String::from_utf8(p).unwrap())
            .collect();
        assert_eq!(
            parts,
            ["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "app"]
        );
    }
}
