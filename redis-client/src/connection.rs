//! A borrowed connection: commands, with the retry rule.

use std::sync::Arc;
use std::time::Duration;

use transport::{Pooled, Reuse};

use crate::cmd::Cmd;
use crate::driver::{read_reply, send};
use crate::error::{Error, Result};
use crate::from_value::FromValue;
use crate::origin::Origin;
use crate::proto::Effect;
use crate::session::Session;
use crate::value::Value;

/// A connection borrowed from the pool. Dropping it (however the borrow
/// ends, panics included) gives it back: reset to the state of a fresh
/// connection if the borrower changed any, or closed if that cannot be done
/// or a reply may still be owed.
#[derive(Debug)]
pub struct Connection {
    pub(crate) guard: Pooled<Session>,
    pub(crate) client: Arc<Origin>,
}

impl Connection {
    pub(crate) fn new(guard: Pooled<Session>, client: Arc<Origin>) -> Connection {
        Connection { guard, client }
    }

    /// True when this connection served an earlier borrower.
    pub fn is_reused(&self) -> bool {
        self.guard.is_reused()
    }

    /// The session state (protocol, what this borrow changed).
    pub fn session(&self) -> &Session {
        self.guard.session_ref()
    }

    /// The transport connection (peer address, TLS version, ...).
    pub fn transport(&mut self) -> &transport::Conn {
        self.guard.conn()
    }

    /// Changes the per-read timeout for the rest of this borrow (the
    /// configured one is restored on release).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.guard.conn().set_read_timeout(timeout);
    }

    /// Sends a command and returns its reply converted to `T`. An error
    /// reply is `Err(Error::Server)` and leaves the connection usable.
    pub fn query<T: FromValue>(&mut self, cmd: &Cmd) -> Result<T> {
        T::from_value(self.query_value(cmd)?)
    }

    /// Sends a command and returns the raw reply.
    pub fn query_value(&mut self, cmd: &Cmd) -> Result<Value> {
        cmd.check()?;
        let effect = cmd.effect();
        if effect == Effect::PubSub {
            return self.pubsub_command(cmd);
        }
        match self.exec_once(cmd, &effect) {
            Err(Error::Transport(e)) if self.may_retry(cmd, &e) => {
                tracing::debug!(event = "retry", command = %cmd.name(), error = %e, "redis: reused connection was dead; retrying once on a new one");
                self.guard = self.client.checkout_fresh()?;
                self.exec_once(cmd, &effect)
            }
            other => other,
        }
    }

    /// The retry rule: a read-only command, on a reused connection with no
    /// state of this borrower, failed before any reply byte arrived.
    fn may_retry(&mut self, cmd: &Cmd, e: &transport::Error) -> bool {
        e.is_connection_lost()
            && self.guard.is_reused()
            && !self.guard.conn().reply_started()
            && cmd.is_read_only()
            && self.guard.session_ref().state.reuse() == Reuse::Clean
    }

    fn exec_once(&mut self, cmd: &Cmd, effect: &Effect) -> Result<Value> {
        let (conn, session) = self.guard.parts();
        let sent = send(conn, &[cmd.wire()]);
        if matches!(effect, Effect::Unrecoverable | Effect::RepliesOff) {
            // From here on replies no longer pair with commands (MONITOR,
            // CLIENT REPLY OFF|SKIP, QUIT, SYNC): whatever happens next,
            // this connection takes no further command.
            let reply = match sent {
                // The server sends no reply to CLIENT REPLY OFF|SKIP.
                Ok(()) if *effect == Effect::RepliesOff => Ok(Value::Nil),
                Ok(()) => read_reply(conn, session, false),
                Err(e) => Err(e),
            };
            conn.end_exchange();
            conn.mark_broken();
            tracing::debug!(event = "discard", reason = "left request/reply mode", command = %cmd.name(), "redis: the connection takes no further command and is closed on release");
            return server_error(reply?);
        }
        sent?;
        let v = read_reply(conn, session, false)?;
        conn.end_exchange();
        session
            .state
            .after_reply(effect, !matches!(v, Value::Error(_)));
        server_error(v)
    }

    /// Closes the connection now instead of returning it to the pool.
    pub fn discard(mut self) {
        tracing::debug!(
            event = "discard",
            reason = "discarded by the caller",
            "redis: closing the connection instead of pooling it"
        );
        self.guard.mark(transport::Status::ABORTED);
    }
}

/// A top-level error reply as `Err`.
fn server_error(v: Value) -> Result<Value> {
    match v {
        Value::Error(e) => Err(Error::Server(e)),
        v => Ok(v),
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // A timeout changed by this borrower is connection state too.
        let read = self.client.read_timeout();
        self.guard.conn().set_read_timeout(read);
    }
}
