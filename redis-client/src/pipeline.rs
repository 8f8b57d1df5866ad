//! Pipelines (many commands, one round trip) and transactions.

use crate::cmd::Cmd;
use crate::connection::Connection;
use crate::driver::{read_replies, send};
use crate::error::{Error, Result};
use crate::from_value::FromValue;
use crate::proto::Effect;
use crate::server_error::ServerError;
use crate::value::Value;

/// Commands sent together and answered together.
///
/// ```
/// let mut p = pconn_redis::Pipeline::new();
/// p.add(pconn_redis::cmd("SET").arg("k").arg(1)).add(pconn_redis::cmd("INCR").arg("k"));
/// assert_eq!(p.len(), 2);
/// ```
#[derive(Clone, Default)]
pub struct Pipeline {
    /// Every command's wire form, back to back: a pipeline goes out in one
    /// write straight from here, and one built once and sent many times is
    /// not copied again.
    wire: Vec<u8>,
    /// Number of commands.
    len: usize,
    /// The commands that need the full check when the pipeline is sent
    /// (usually none), by position, kept whole for that check and their
    /// effect on the session: the quick look at each name is done once,
    /// when the command is added.
    to_check: Vec<(usize, Cmd)>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the wire: arguments may be secrets or large values.
        f.debug_struct("Pipeline")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// An empty pipeline.
    pub fn new() -> Pipeline {
        Pipeline::default()
    }

    /// Adds a command.
    pub fn add(&mut self, cmd: Cmd) -> &mut Pipeline {
        self.wire.extend_from_slice(cmd.wire());
        // The common case in one look at the name: present, not empty, and
        // of a length no state-changing command has.
        let plain = cmd
            .part(0)
            .is_some_and(|name| !name.is_empty() && !Effect::may_change_state(name));
        if !plain {
            self.to_check.push((self.len, cmd));
        }
        self.len += 1;
        self
    }

    /// Number of commands.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every command (to reuse the allocation).
    pub fn clear(&mut self) {
        self.wire.clear();
        self.len = 0;
        self.to_check.clear();
    }

    /// Checks every command before anything is sent, and returns the
    /// state-changing ones by index (usually none: no allocation).
    fn check(&self) -> Result<Vec<(usize, Effect)>> {
        let mut effects = Vec::new();
        for (i, c) in &self.to_check {
            c.check()?;
            match c.effect() {
                Effect::None => {}
                Effect::PubSub | Effect::Unrecoverable | Effect::RepliesOff => {
                    return Err(Error::InvalidInput(format!(
                        "{} cannot be pipelined (its replies do not pair with commands)",
                        c.name()
                    )))
                }
                e => effects.push((*i, e)),
            }
        }
        Ok(effects)
    }
}

/// `MULTI` and `EXEC` as sent around a transaction's pipeline.
const MULTI: &[u8] = b"*1\r\n$5\r\nMULTI\r\n";
const EXEC: &[u8] = b"*1\r\n$4\r\nEXEC\r\n";

/// A server error reply as a pipeline keeps it: that command's `Err`.
fn as_result(v: Value) -> Result<Value, ServerError> {
    match v {
        Value::Error(e) => Err(e),
        v => Ok(v),
    }
}

impl Connection {
    /// Sends every command of `pipeline` in one write and reads one reply
    /// per command, in order. A server error is that command's result; the
    /// others are unaffected.
    pub fn pipeline(&mut self, pipeline: &Pipeline) -> Result<Vec<Result<Value, ServerError>>> {
        let effects = pipeline.check()?;
        let (conn, session) = self.guard.parts();
        send(conn, &[&pipeline.wire])?;
        let mut out = Vec::with_capacity(pipeline.len());
        let mut effects = effects.iter().peekable();
        read_replies(conn, session, false, pipeline.len(), |state, v| {
            if let Some((_, effect)) = effects.next_if(|(at, _)| *at == out.len()) {
                state.after_reply(effect, !matches!(v, Value::Error(_)));
            }
            out.push(as_result(v));
        })?;
        conn.end_exchange();
        Ok(out)
    }

    /// Runs `pipeline` inside `MULTI`/`EXEC`, in one round trip. `Ok(None)`
    /// when a `WATCH`ed key changed and the server did not run it; a
    /// command refused while queuing aborts it all (`EXECABORT`). Errors of
    /// single commands at run time are `Value::Error` items of the result.
    pub fn transaction(&mut self, pipeline: &Pipeline) -> Result<Option<Vec<Value>>> {
        let effects = pipeline.check()?;
        if self.guard.session_ref().state.in_multi {
            return Err(Error::InvalidInput(
                "a MULTI is already open on this connection".into(),
            ));
        }
        let (conn, session) = self.guard.parts();
        send(conn, &[MULTI, &pipeline.wire, EXEC])?;
        // Every reply is read, whatever comes, to stay in step: MULTI's,
        // QUEUED (or the error that makes EXEC answer EXECABORT) per
        // command, then EXEC's.
        let (mut multi, mut exec) = (Value::Nil, Value::Nil);
        let mut effects = effects.iter().peekable();
        let mut at = 0;
        read_replies(conn, session, false, pipeline.len() + 2, |state, v| {
            if at == 0 {
                state.after_reply(&Effect::Multi, !matches!(v, Value::Error(_)));
                multi = v;
            } else if at <= pipeline.len() {
                if let Some((_, effect)) = effects.next_if(|(i, _)| *i + 1 == at) {
                    state.after_reply(effect, true);
                }
            } else {
                state.after_reply(&Effect::Exec, !matches!(v, Value::Error(_)));
                exec = v;
            }
            at += 1;
        })?;
        conn.end_exchange();
        if let Value::Error(e) = multi {
            return Err(Error::Server(e));
        }
        match exec {
            Value::Nil => Ok(None),
            Value::Error(e) => Err(Error::Server(e)),
            v => Ok(Some(v.into_items().unwrap_or_default())),
        }
    }

    /// Optimistic locking: `WATCH keys`, let `build` read what it needs and
    /// fill the pipeline, run it in `MULTI`/`EXEC`; start over while a
    /// watched key changed underneath (up to the client's
    /// `max_watch_attempts`). Returns the `EXEC` results converted to `T`.
    pub fn watch_transaction<K, T, F>(&mut self, keys: &[K], mut build: F) -> Result<T>
    where
        K: crate::cmd::ToArg,
        T: FromValue,
        F: FnMut(&mut Connection, &mut Pipeline) -> Result<()>,
    {
        if keys.is_empty() {
            return Err(Error::InvalidInput("WATCH needs at least one key".into()));
        }
        let attempts = self.client.max_watch_attempts;
        for _ in 0..attempts {
            self.query::<()>(&crate::cmd::cmd("WATCH").args(keys))?;
            let mut pipe = Pipeline::new();
            if let Err(e) = build(self, &mut pipe) {
                let _ = self.query::<()>(&crate::cmd::cmd("UNWATCH"));
                return Err(e);
            }
            if let Some(results) = self.transaction(&pipe)? {
                return T::from_value(Value::Array(results));
            }
        }
        Err(Error::TransactionConflict { attempts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::cmd;

    #[test]
    fn check_refuses_and_records_as_the_full_lookup_does() {
        let mut p = Pipeline::new();
        p.add(cmd("SET").arg("k").arg(1))
            .add(cmd("multi"))
            .add(cmd("GET").arg("k"))
            .add(cmd("SELECT").arg(2));
        assert_eq!(
            p.check().unwrap(),
            vec![(1, Effect::Multi), (3, Effect::Select(2))]
        );
        for bad in [
            Cmd::new(),
            cmd(""),
            cmd("SUBSCRIBE").arg("c"),
            cmd("MONITOR"),
        ] {
            let mut p = Pipeline::new();
            p.add(cmd("PING")).add(bad);
            assert!(matches!(p.check(), Err(Error::InvalidInput(_))));
        }
    }
}
