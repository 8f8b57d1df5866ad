//! The session on the wire: the handshake of a new connection, and the
//! reset, idle check and goodbye the pool runs on release and reuse.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use transport::{BoxError, Conn, Recycle, Reuse};

use crate::driver::{read_reply, read_value, send};
use crate::error::{Error, Result};
use crate::proto::{encode_parts, is_confirmation, is_message, Protocol, SessionState};
use crate::session::{
    expect_ok, hello_parts, select_parts, server_version, Session, SessionConfig,
};
use crate::value::Value;

/// The handshake's commands, pipelined: HELLO (with AUTH and SETNAME), then
/// SELECT and READONLY when the session asks for them. Sent on a new
/// connection and again after RESET.
fn encode_handshake(out: &mut BytesMut, config: &SessionConfig) {
    let h = &config.handshake;
    encode_parts(out, &hello_parts(h));
    if h.db != 0 {
        encode_parts(out, &select_parts(h.db));
    }
    if config.readonly {
        encode_parts(out, &[b"READONLY".as_slice()]);
    }
}

/// Runs the handshake on a new connection: HELLO (with AUTH and SETNAME),
/// SELECT; falls back to AUTH / CLIENT SETNAME / SELECT on servers without
/// HELLO. Returns the session of a fresh connection.
pub(crate) fn handshake(conn: &mut Conn, config: Arc<SessionConfig>) -> Result<Session> {
    let h = &config.handshake;
    let limits = &config.limits;
    let mut out = BytesMut::new();
    encode_handshake(&mut out, &config);
    send(conn, &[&out])?;
    let hello = read_value(conn, h.protocol, limits)?;
    // SELECT's and READONLY's replies are +OK or -ERR: the same bytes in
    // both RESP versions.
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
            let mut out = BytesMut::new();
            for c in &cmds {
                encode_parts(&mut out, c);
            }
            send(conn, &[&out])?;
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
    Ok(Session::new(state, config))
}

impl Session {
    fn reset_inner(&mut self, conn: &mut Conn) -> Result<()> {
        self.pushes.queue.clear();
        let config = Arc::clone(&self.config);
        let (h, limits) = (&config.handshake, &config.limits);
        let mut out = BytesMut::new();
        if self.state.has_reset {
            // RESET undoes everything a borrower can do, but also logs the
            // connection out to `default` and back to RESP2 and db 0: the
            // handshake must follow, in the same round trip.
            encode_parts(&mut out, &[b"RESET".as_slice()]);
            encode_handshake(&mut out, &config);
            send(conn, &[&out])?;
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
            if config.readonly {
                expect_ok(read_value(conn, Protocol::Resp2, limits)?, "READONLY")?;
            }
        } else {
            let cmds = self.state.undo_commands(h.client_name.as_deref());
            for c in &cmds {
                encode_parts(&mut out, c);
            }
            send(conn, &[&out])?;
            for c in &cmds {
                let v = read_reply(conn, self, false)?;
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
        let with = if self.state.has_reset {
            "RESET"
        } else {
            "undo commands"
        };
        match self.reset_inner(conn) {
            Ok(()) => {
                tracing::debug!(
                    event = "reset",
                    with,
                    "redis: connection reset to its fresh state"
                );
                Ok(())
            }
            Err(e) => {
                tracing::debug!(event = "discard", reason = "reset failed", with, error = %e, "redis: reset failed; the connection is closed");
                Err(Box::new(e))
            }
        }
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
        let mut out = BytesMut::new();
        encode_parts(&mut out, &[b"PING".as_slice(), nonce.as_bytes()]);
        send(conn, &[&out])?;
        let v = read_reply(conn, self, false)?;
        conn.end_exchange();
        if v.as_bytes() != Some(nonce.as_bytes()) {
            tracing::debug!(
                event = "discard",
                reason = "idle check failed",
                "redis: idle check PING did not return its nonce"
            );
            return Err(format!("PING returned {v:?}, not the nonce").into());
        }
        Ok(())
    }

    fn close(&mut self, conn: &mut Conn) {
        encode_parts(conn.write_buf(), &[b"QUIT".as_slice()]);
        let _ = conn.flush();
    }
}
