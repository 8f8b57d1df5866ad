//! The content phase of a mail: DATA (the body dot-stuffed, terminator in
//! the same write) or BDAT chunks (RFC 3030, pipelined when offered), then
//! the final replies: one for SMTP, one per accepted recipient for LMTP.
//!
//! The exactly-once rule lives here: once the write that holds the final
//! `.` or the `LAST` chunk has started, a failure is
//! [`Error::DeliveryUnknown`] and the mail is never sent again.

use transport::Conn;

use crate::driver::{command, exchange, read_reply};
use crate::error::{Error, Result};
use crate::proto::command::Command;
use crate::proto::data;
use crate::proto::reply::Reply;
use crate::proto::state::Stage;
use crate::session::Session;

/// Sends `content` as DATA; `finals` replies are owed after the final dot.
pub(crate) fn data(
    conn: &mut Conn,
    session: &mut Session,
    content: &[u8],
    finals: usize,
) -> Result<Vec<Reply>> {
    let reply = command(conn, session, &Command::Data)?;
    if reply.code != 354 {
        return Err(Error::server("DATA", &reply));
    }
    session.stage = Stage::Data;
    // Body and terminator in one write: on a TCP_NODELAY socket the server
    // gets the whole mail in one go, and no delayed ACK holds back a second
    // small write (lettre's 40 ms per mail).
    exchange(conn, session, |conn| {
        data::encode(content, conn.write_buf());
        conn.flush()?;
        read_n(conn, finals)
    })
    .map_err(unknown)
}

/// Sends `wire` (already normalised, or binary) as BDAT chunks of the
/// session's chunk size; `finals` replies are owed after the LAST chunk.
pub(crate) fn bdat(
    conn: &mut Conn,
    session: &mut Session,
    wire: &[u8],
    finals: usize,
) -> Result<Vec<Reply>> {
    let size = session.chunk_size.max(1);
    let chunks: Vec<&[u8]> = if wire.is_empty() {
        vec![wire]
    } else {
        wire.chunks(size).collect()
    };
    let (last, rest) = chunks.split_last().expect("at least one chunk");
    tracing::trace!(
        chunks = chunks.len(),
        bytes = wire.len(),
        "sending with BDAT"
    );
    // Bytes of the message may be inside the server from here: only the end
    // of the transaction brings the session back.
    session.stage = Stage::Data;
    if session.extensions().pipelining {
        // Every chunk in one flight, LAST included: a failure anywhere in it
        // may have delivered the mail.
        let replies = exchange(conn, session, |conn| {
            for (i, chunk) in chunks.iter().enumerate() {
                put_chunk(conn, chunk, i + 1 == chunks.len());
            }
            conn.flush()?;
            read_n(conn, rest.len() + finals)
        })
        .map_err(unknown)?;
        let (chunk_replies, finals) = replies.split_at(rest.len());
        if let Some(bad) = chunk_replies.iter().find(|r| !r.is_positive()) {
            // RFC 3030: the transaction failed; the server discarded the rest.
            session.stage = Stage::Transaction;
            return Err(Error::server("BDAT", bad));
        }
        return Ok(finals.to_vec());
    }
    for chunk in rest {
        let reply = exchange(conn, session, |conn| {
            put_chunk(conn, chunk, false);
            conn.flush()?;
            read_reply(conn)
        })?;
        session.observe(&reply);
        if !reply.is_positive() {
            session.stage = Stage::Transaction;
            return Err(Error::server("BDAT", &reply));
        }
    }
    exchange(conn, session, |conn| {
        put_chunk(conn, last, true);
        conn.flush()?;
        read_n(conn, finals)
    })
    .map_err(unknown)
}

fn put_chunk(conn: &mut Conn, chunk: &[u8], last: bool) {
    Command::Bdat {
        size: chunk.len() as u64,
        last,
    }
    .encode(conn.write_buf());
    conn.write_buf().extend_from_slice(chunk);
}

fn read_n(conn: &mut Conn, n: usize) -> Result<Vec<Reply>> {
    (0..n).map(|_| read_reply(conn)).collect()
}

/// The final `.` or LAST chunk may have reached the server: whatever
/// happened, this mail must never be sent again (the session is broken by now).
fn unknown(e: Error) -> Error {
    tracing::warn!(error = %e, "the end of the mail got no reply: delivery unknown, not retried");
    Error::DeliveryUnknown(Box::new(e))
}
