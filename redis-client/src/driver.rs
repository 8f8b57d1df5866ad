//! The blocking driver: bytes on a transport [`Conn`]. Sends encoded
//! commands, reads replies through the sans-IO decoder, and sets
//! out-of-band pushes aside. Every exchange starts in [`send`].

use transport::{BrokenCause, Conn};

use crate::error::{Error, Result};
use crate::proto::{decode_with, is_out_of_band, Limits, Protocol, Scanner, SessionState};
use crate::session::Session;
use crate::value::Value;

/// Read buffer room beyond the largest reply: a read may bring the start of
/// the next pipelined reply along.
const SLACK: usize = 64 * 1024;

/// The exchange preamble of every command, pipeline, transaction,
/// subscription and reset: refuse a broken connection, mark the exchange
/// begun, send `chunks` (in one write when they fit the write buffer).
///
/// A connection that an earlier failure left with unmatched replies (a
/// read timeout mid-reply, an I/O or protocol error, a reply abandoned
/// halfway, `MONITOR`) is refused with a typed error
/// ([`Error::is_broken`]) before anything is sent: a borrower never gets
/// another command's reply.
pub(crate) fn send(conn: &mut Conn, chunks: &[&[u8]]) -> Result<()> {
    begin(conn)?;
    match chunks {
        [one] => conn.write_all(one)?,
        _ => {
            for c in chunks {
                conn.write_buf().extend_from_slice(c);
            }
            conn.flush()?;
        }
    }
    Ok(())
}

/// [`send`] without the sending: for a reader of unsolicited values. The
/// transport refuses a broken connection ([`transport::Error::Broken`]).
pub(crate) fn begin(conn: &mut Conn) -> Result<()> {
    Ok(conn.begin_exchange()?)
}

/// Gives up on the replies still owed: the connection refuses further use
/// and is closed on release.
pub(crate) fn abandon(conn: &mut Conn, e: Error) -> Error {
    tracing::debug!(event = "discard", reason = "reply abandoned", error = %e, "redis: replies are still owed; the connection is closed on release");
    conn.mark_broken_with(BrokenCause::Abandoned);
    e
}

/// Reads one RESP value, whatever it is (the handshake, `receive`).
pub(crate) fn read_value(conn: &mut Conn, protocol: Protocol, limits: &Limits) -> Result<Value> {
    // One scanner for this reply: what arrived earlier is not rescanned.
    let mut scanner = Scanner::default();
    conn.read_frame(max_buffered(limits), |buf: &[u8]| {
        decode_with(&mut scanner, buf, protocol, limits).map_err(Error::from)
    })
}

fn max_buffered(limits: &Limits) -> usize {
    limits.max_reply_bytes.saturating_add(SLACK)
}

/// Reads the reply to one command, setting pushes aside. `confirming`: the
/// reply is a subscription confirmation (itself a push in RESP3).
pub(crate) fn read_reply(
    conn: &mut Conn,
    session: &mut Session,
    confirming: bool,
) -> Result<Value> {
    let mut reply = Value::Nil;
    read_replies(conn, session, confirming, 1, |_, v| reply = v)?;
    Ok(reply)
}

/// Reads `want` replies in order, handing each to `each` with the session
/// state (for a command's effect). Out-of-band values are set aside for
/// [`crate::Connection::receive`]. Every reply already complete in the
/// read buffer is taken in one pass, not one buffer round per reply.
///
/// The protocol and subscriptions are taken as they are at the start: a
/// command that changes them is never sent with others (see `Pipeline`).
pub(crate) fn read_replies(
    conn: &mut Conn,
    session: &mut Session,
    confirming: bool,
    want: usize,
    mut each: impl FnMut(&mut SessionState, Value),
) -> Result<()> {
    let Session {
        state,
        pushes,
        config,
        ..
    } = session;
    let limits = &config.limits;
    let protocol = state.protocol;
    let subscribed = state.subscriptions() > 0;
    // One scanner: a reply cut off at the end of one pass keeps its place
    // (it becomes the start of the buffer the next pass sees).
    let mut scanner = Scanner::default();
    let mut got = 0;
    while got < want {
        conn.read_frame(max_buffered(limits), |buf: &[u8]| -> Result<_> {
            let mut used = 0;
            while got < want {
                let Some((v, len)) = decode_with(&mut scanner, &buf[used..], protocol, limits)?
                else {
                    break;
                };
                used += len;
                if is_out_of_band(&v, subscribed, confirming) {
                    // Refusing beats unbounded memory; the connection closes.
                    pushes.keep(v, limits)?;
                } else {
                    got += 1;
                    each(state, v);
                }
            }
            Ok((used > 0).then_some(((), used)))
        })?;
    }
    Ok(())
}
