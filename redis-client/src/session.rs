//! The pooled session: handshake, reset-on-release, health check, goodbye.

use std::sync::Arc;
use std::time::{Duration, Instant};

use transport::{BoxError, Conn, Recycle, Reuse};

use crate::cmd::Cmd;
use crate::config::Handshake;
use crate::error::{Error, Result};
use crate::proto::{Limits, Protocol, SessionState};
use crate::value::Value;
use crate::wire::{encode_parts, is_confirmation, is_message, read_reply, read_value, Pushes};

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
    nonce: u64,
    /// The buffer of the last helper command, lent to the next one.
    pub(crate) scratch: Cmd,
}

/// A helper command buffer larger than this is not kept with the session.
const MAX_SCRATCH: usize = 16 * 1024;

impl Session {
    /// Keeps a helper command's buffer for the next one, unless it grew
    /// large (a big value must not stay allocated with an idle connection).
    pub(crate) fn keep_scratch(&mut self, cmd: Cmd) {
        if cmd.capacity() <= MAX_SCRATCH {
            self.scratch = cmd;
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

fn hello_parts(h: &Handshake) -> Vec<Vec<u8>> {
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

fn select_parts(db: i64) -> Vec<Vec<u8>> {
    vec![b"SELECT".to_vec(), db.to_string().into_bytes()]
}

/// `(major, minor)` from HELLO's `version` field.
fn server_version(hello: &Value) -> Option<(u32, u32)> {
    let items = hello.clone().into_items()?;
    let mut it = items.chunks(2);
    let version = it.find(|kv| kv.len() == 2 && kv[0].as_bytes() == Some(b"version"))?;
    let text = std::str::from_utf8(version[1].as_bytes()?).ok()?;
    let mut nums = text.split('.').map(|n| n.parse::<u32>().ok());
    Some((nums.next()??, nums.next()??))
}

fn expect_ok(v: Value, what: &str) -> Result<()> {
    match v {
        Value::Error(e) => Err(Error::Server(e)),
        Value::Simple(_) => Ok(()),
        other => Err(Error::Protocol(crate::proto::ProtoError::Malformed(
            format!("unexpected reply to {what}: {other:?}"),
        ))),
    }
}

/// Runs the handshake on a new connection: HELLO (with AUTH and SETNAME),
/// SELECT; falls back to AUTH / CLIENT SETNAME / SELECT on servers without
/// HELLO. Returns the session of a fresh connection.
pub(crate) fn handshake(conn: &mut Conn, config: Arc<SessionConfig>) -> Result<Session> {
    let h = &config.handshake;
    let limits = &config.limits;
    conn.begin_exchange()?;
    let buf = conn.write_buf();
    encode_parts(buf, &hello_parts(h));
    if h.db != 0 {
        encode_parts(buf, &select_parts(h.db));
    }
    if config.readonly {
        encode_parts(buf, &[b"READONLY".as_slice()]);
    }
    conn.flush()?;
    let hello = read_value(conn, h.protocol, limits)?;
    // SELECT's reply is +OK or -ERR: the same bytes in both RESP versions.
    let select = if h.db != 0 {
        Some(read_value(conn, Protocol::Resp2, limits)?)
    } else {
        None
    };
    let readonly = if config.readonly {
        Some(read_value(conn, Protocol::Resp2, limits)?)
    } else {
        None
    };
    let state = match hello {
        Value::Error(e) if e.is_unknown_command() => {
            // A server before 6.0: no HELLO, no RESP3, no RESET.
            let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
            if let Some(pw) = &h.password {
                let mut auth = vec![b"AUTH".to_vec()];
                if let Some(user) = &h.user {
                    auth.push(user.as_bytes().to_vec());
                }
                auth.push(pw.as_bytes().to_vec());
                cmds.push(auth);
            }
            if let Some(name) = &h.client_name {
                cmds.push(vec![
                    b"CLIENT".to_vec(),
                    b"SETNAME".to_vec(),
                    name.as_bytes().to_vec(),
                ]);
            }
            if h.db != 0 {
                cmds.push(select_parts(h.db));
            }
            if readonly.is_some() {
                cmds.push(vec![b"READONLY".to_vec()]);
            }
            for c in &cmds {
                encode_parts(conn.write_buf(), c);
            }
            conn.flush()?;
            for c in &cmds {
                let v = read_value(conn, Protocol::Resp2, limits)?;
                expect_ok(v, &String::from_utf8_lossy(&c[0]))?;
            }
            SessionState::fresh(Protocol::Resp2, false, h.db)
        }
        Value::Error(e) => return Err(Error::Server(e)),
        v => {
            if let Some(select) = select {
                expect_ok(select, "SELECT")?;
            }
            if let Some(readonly) = readonly {
                expect_ok(readonly, "READONLY")?;
            }
            let has_reset = server_version(&v).is_some_and(|ver| ver >= (6, 2));
            SessionState::fresh(h.protocol, has_reset, h.db)
        }
    };
    conn.end_exchange();
    Ok(Session {
        state,
        pushes: Pushes::default(),
        config,
        nonce: 0,
        scratch: Cmd::new(),
    })
}

impl Session {
    fn reset_inner(&mut self, conn: &mut Conn) -> Result<()> {
        self.pushes.queue.clear();
        let h = &self.config.handshake;
        let limits = &self.config.limits;
        conn.begin_exchange()?;
        if self.state.has_reset {
            // RESET undoes everything a borrower can do, but also logs the
            // connection out to `default` and back to RESP2 and db 0: the
            // handshake must follow, in the same round trip.
            let buf = conn.write_buf();
            encode_parts(buf, &[b"RESET".as_slice()]);
            encode_parts(buf, &hello_parts(h));
            if h.db != 0 {
                encode_parts(buf, &select_parts(h.db));
            }
            if self.config.readonly {
                encode_parts(buf, &[b"READONLY".as_slice()]);
            }
            conn.flush()?;
            let mut skipped = 0usize;
            loop {
                let v = read_value(conn, self.state.protocol, limits)?;
                match v {
                    Value::Simple(s) if s == "RESET" => break,
                    v if (matches!(v, Value::Push(_)) || is_message(&v) || is_confirmation(&v))
                        && skipped < limits.max_pending_pushes =>
                    {
                        // Messages published before RESET took effect.
                        skipped += 1;
                    }
                    other => {
                        return Err(Error::Protocol(crate::proto::ProtoError::Malformed(
                            format!("unexpected reply before RESET: {other:?}"),
                        )))
                    }
                }
            }
            if let Value::Error(e) = read_value(conn, h.protocol, limits)? {
                return Err(Error::Server(e));
            }
            if h.db != 0 {
                expect_ok(read_value(conn, Protocol::Resp2, limits)?, "SELECT")?;
            }
            if self.config.readonly {
                expect_ok(read_value(conn, Protocol::Resp2, limits)?, "READONLY")?;
            }
        } else {
            let cmds = self.state.undo_commands(h.client_name.as_deref());
            for c in &cmds {
                encode_parts(conn.write_buf(), c);
            }
            conn.flush()?;
            for c in &cmds {
                let v = read_reply(conn, &self.state, limits, &mut self.pushes, false)?;
                expect_ok(v, &String::from_utf8_lossy(&c[0]))?;
            }
        }
        conn.end_exchange();
        self.pushes.queue.clear();
        self.state.mark_fresh();
        Ok(())
    }
}

impl Recycle for Session {
    fn reuse(&self) -> Reuse {
        match self.state.reuse() {
            // Unread pushes belong to this borrower; the next must not see them.
            Reuse::Clean if !self.pushes.queue.is_empty() => Reuse::NeedsReset,
            r => r,
        }
    }

    fn reset(&mut self, conn: &mut Conn, _deadline: Instant) -> Result<(), BoxError> {
        if !self.state.is_dirty() {
            self.pushes.queue.clear();
            return Ok(());
        }
        self.reset_inner(conn).map_err(|e| Box::new(e) as BoxError)
    }

    fn verify(&mut self, conn: &mut Conn, idle_for: Duration) -> Result<(), BoxError> {
        let Some(after) = self.config.idle_check else {
            return Ok(());
        };
        if idle_for < after {
            return Ok(());
        }
        // A nonce, so a stale reply still in flight cannot pass for ours.
        self.nonce += 1;
        let nonce = format!("pconn-{}-{}", std::process::id(), self.nonce);
        conn.begin_exchange()?;
        encode_parts(conn.write_buf(), &[b"PING".as_slice(), nonce.as_bytes()]);
        conn.flush()?;
        let v = read_reply(
            conn,
            &self.state,
            &self.config.limits,
            &mut self.pushes,
            false,
        )?;
        conn.end_exchange();
        if v.as_bytes() != Some(nonce.as_bytes()) {
            return Err(format!("PING returned {v:?}, not the nonce").into());
        }
        Ok(())
    }

    fn close(&mut self, conn: &mut Conn) {
        encode_parts(conn.write_buf(), &[b"QUIT".as_slice()]);
        let _ = conn.flush();
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
