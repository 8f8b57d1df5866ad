//! The blocking glue between the sans-IO core and a transport connection:
//! send commands, read replies, sort out-of-band pushes.

use std::collections::VecDeque;

use bytes::BytesMut;
use transport::Conn;

use crate::error::{Error, Result};
use crate::proto::{
    decode_leaf, decode_with, encode_command, write_bulk, Limits, Protocol, Scanner, SessionState,
};
use crate::value::Value;

/// Read buffer room beyond the largest reply: a read may bring the start of
/// the next pipelined reply along.
const SLACK: usize = 64 * 1024;

/// Starts an exchange on `conn`: the one preamble of every command,
/// pipeline, transaction and subscription. A connection that an earlier
/// failure left with unmatched replies (a read timeout mid-reply, an I/O or
/// protocol error, a reply abandoned halfway, `MONITOR`) is refused with
/// a typed error ([`Error::is_broken`]) before anything is sent: the
/// borrower never gets another command's reply.
pub(crate) fn begin(conn: &mut Conn) -> Result<()> {
    if conn.is_broken() {
        return Err(broken());
    }
    conn.begin_exchange();
    Ok(())
}

/// The error for a use of a broken connection.
pub(crate) fn broken() -> Error {
    Error::Transport(transport::Error::InvalidInput(BROKEN.into()))
}

/// Interim text of [`broken`] until the transport refuses broken
/// connections itself.
pub(crate) const BROKEN: &str = "connection unusable: an earlier failure left replies unmatched";

/// Gives up on the replies still owed: the connection refuses further use
/// and is closed on release.
pub(crate) fn abandon(conn: &mut Conn, e: Error) -> Error {
    conn.mark_broken();
    e
}

/// Reads one RESP value.
pub(crate) fn read_value(conn: &mut Conn, protocol: Protocol, limits: &Limits) -> Result<Value> {
    // One scanner for this reply: what arrived earlier is not rescanned.
    let mut scanner = Scanner::default();
    conn.read_frame(
        limits.max_reply_bytes.saturating_add(SLACK),
        |buf: &[u8]| decode_with(&mut scanner, buf, protocol, limits).map_err(Error::from),
    )
}

/// Appends a command given as raw parts to `out`.
pub(crate) fn encode_parts<P: AsRef<[u8]>>(out: &mut BytesMut, parts: &[P]) {
    encode_command(out, parts.len(), b"");
    for p in parts {
        write_bulk(out, p.as_ref());
    }
}

/// True for a published message (not a subscribe confirmation), RESP2 or RESP3.
pub(crate) fn is_message(v: &Value) -> bool {
    let (Value::Array(items) | Value::Push(items)) = v else {
        return false;
    };
    matches!(items.first().and_then(Value::as_bytes), Some(k)
        if k.eq_ignore_ascii_case(b"message") || k.eq_ignore_ascii_case(b"pmessage") || k.eq_ignore_ascii_case(b"smessage"))
}

/// Pushes received while waiting for a reply, kept for [`crate::Connection::receive`].
#[derive(Debug, Default)]
pub(crate) struct Pushes {
    pub(crate) queue: VecDeque<Value>,
}

impl Pushes {
    pub(crate) fn keep(&mut self, v: Value, limits: &Limits) -> Result<()> {
        if self.queue.len() >= limits.max_pending_pushes {
            // Refusing beats unbounded memory; the connection closes.
            return Err(Error::Protocol(crate::proto::ProtoError::Malformed(
                format!(
                    "more than {} unread push messages",
                    limits.max_pending_pushes
                ),
            )));
        }
        self.queue.push_back(v);
        Ok(())
    }
}

/// Reads the reply to a command, setting aside RESP3 pushes and (RESP2)
/// messages of a subscribed connection. `pubsub`: the reply is a
/// subscription confirmation, itself a push in RESP3.
pub(crate) fn read_reply(
    conn: &mut Conn,
    state: &SessionState,
    limits: &Limits,
    pushes: &mut Pushes,
    pubsub: bool,
) -> Result<Value> {
    loop {
        let v = read_value(conn, state.protocol, limits)?;
        let out_of_band = match &v {
            Value::Push(_) => !pubsub || is_message(&v) || !is_confirmation(&v),
            Value::Array(_) => (pubsub || state.subscriptions() > 0) && is_message(&v),
            _ => false,
        };
        if out_of_band {
            pushes.keep(v, limits).map_err(|e| abandon(conn, e))?;
            continue;
        }
        return Ok(v);
    }
}

/// Reads up to `want` replies of a pipeline whose commands change nothing
/// in the session (so protocol and subscription state hold for the whole
/// batch), appending them to `out`: every reply already complete in the
/// read buffer is taken in one pass, not one buffer round per reply. Each
/// reply is scanned against `limits` on its own, exactly as [`read_reply`]
/// does, and out-of-band pushes are set aside the same way. Returns once
/// at least one value was decoded (possibly only pushes); call again while
/// replies are missing.
pub(crate) fn read_replies(
    conn: &mut Conn,
    state: &SessionState,
    limits: &Limits,
    pushes: &mut Pushes,
    want: usize,
    out: &mut Vec<std::result::Result<Value, crate::value::ServerError>>,
) -> Result<()> {
    // One scanner: a reply cut off at the end of one batch keeps its place
    // (it becomes the start of the buffer the next call sees).
    let mut scanner = Scanner::default();
    let protocol = state.protocol;
    let subscribed = state.subscriptions() > 0;
    let mut got = 0;
    while got < want {
        conn.read_frame(
            limits.max_reply_bytes.saturating_add(SLACK),
            |buf: &[u8]| -> Result<Option<((), usize)>> {
                let mut used = 0;
                let mut decoded = false;
                while got < want {
                    // A reply whose first byte is here starts a fresh scan:
                    // the common leaf replies are kept without a second look.
                    if !scanner.is_midway() {
                        if let Some((reply, len)) = decode_leaf(&buf[used..], protocol, limits) {
                            used += len;
                            decoded = true;
                            got += 1;
                            out.push(reply);
                            continue;
                        }
                    }
                    let Some((v, len)) = decode_with(&mut scanner, &buf[used..], protocol, limits)?
                    else {
                        break;
                    };
                    used += len;
                    decoded = true;
                    let out_of_band = match &v {
                        // As `read_reply` with `pubsub: false`.
                        Value::Push(_) => true,
                        Value::Array(_) => subscribed && is_message(&v),
                        _ => false,
                    };
                    if out_of_band {
                        pushes.keep(v, limits)?;
                        continue;
                    }
                    got += 1;
                    out.push(match v {
                        Value::Error(e) => Err(e),
                        v => Ok(v),
                    });
                }
                Ok(decoded.then_some(((), used)))
            },
        )?;
    }
    Ok(())
}

/// True for a (un)subscribe confirmation: `[kind, channel, count]`.
pub(crate) fn is_confirmation(v: &Value) -> bool {
    let (Value::Array(items) | Value::Push(items)) = v else {
        return false;
    };
    items.len() == 3
        && matches!(items[0].as_bytes(), Some(k) if [
            &b"subscribe"[..], b"unsubscribe", b"psubscribe", b"punsubscribe", b"ssubscribe", b"sunsubscribe",
        ].iter().any(|n| k.eq_ignore_ascii_case(n)))
}
