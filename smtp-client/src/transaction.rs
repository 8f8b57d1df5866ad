//! One mail over an open session: MAIL, RCPT (pipelined when offered),
//! DATA, and the body with its terminator in a single write.

use transport::Conn;

use crate::error::{Error, Refused, Result};
use crate::message::Message;
use crate::proto::address::Address;
use crate::proto::command::{Body, Command};
use crate::proto::data;
use crate::proto::reply::Reply;
use crate::proto::state::Stage;
use crate::session::Session;
use crate::wire::{command, read_reply};

/// What the server said about a mail it accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The server's reply to the final `.` (often carries a queue id).
    pub reply: Reply,
    /// Recipients the server accepted.
    pub accepted: Vec<Address>,
    /// Recipients the server refused, with their replies.
    pub refused: Vec<Refused>,
    /// True when the mail went over a connection reused from the pool.
    pub reused: bool,
    /// True when a stale pooled connection failed before any of the mail was
    /// accepted and the mail was sent again on a fresh connection.
    pub retried: bool,
}

impl Sent {
    /// The queue id in a `250 ... queued as ID` reply, if the server gave one.
    pub fn queue_id(&self) -> Option<&str> {
        let last = self.reply.lines.last()?;
        let at = last.to_ascii_lowercase().find("queued as ")?;
        last[at + "queued as ".len()..].split_whitespace().next()
    }
}

/// Checks the mail against what the server offered; nothing is sent.
fn preflight(session: &Session, msg: &Message) -> Result<(u64, Option<Body>, bool)> {
    let ext = session.extensions();
    let size = msg.wire_size();
    if let Some(limit) = ext.size_limit() {
        if size > limit {
            return Err(Error::MessageTooLarge { size, limit });
        }
    }
    let body = if msg.needs_8bit() {
        if !ext.eight_bit_mime {
            return Err(Error::Unsupported(
                "8BITMIME, which this message's 8-bit content needs".into(),
            ));
        }
        Some(Body::EightBitMime)
    } else {
        None
    };
    let utf8 = msg.envelope().needs_smtputf8();
    if utf8 && !ext.smtputf8 {
        return Err(Error::Unsupported(
            "SMTPUTF8, which this message's non-ASCII addresses need".into(),
        ));
    }
    Ok((size, body, utf8))
}

/// Sends `msg` on a session in the Ready stage.
pub(crate) fn send(conn: &mut Conn, session: &mut Session, msg: &Message) -> Result<Sent> {
    if session.stage != Stage::Ready {
        return Err(Error::Protocol(format!(
            "session in stage {:?} cannot start a mail",
            session.stage
        )));
    }
    let (size, body, smtputf8) = preflight(session, msg)?;
    let envelope = msg.envelope();
    let mail = Command::Mail {
        from: envelope.from(),
        size: session.extensions().size.map(|_| size),
        body,
        smtputf8,
    };

    // From here on the server may hold a transaction: RSET before reuse
    // unless it completes.
    session.stage = Stage::Transaction;
    let mut replies = Vec::with_capacity(envelope.to().len());
    let mail_reply;
    if session.extensions().pipelining {
        // One flight: MAIL and every RCPT, then their replies in order.
        conn.begin_exchange()?;
        mail.encode(conn.write_buf());
        for rcpt in envelope.to() {
            Command::Rcpt(rcpt).encode(conn.write_buf());
        }
        conn.flush()?;
        mail_reply = read_reply(conn)?;
        for _ in envelope.to() {
            replies.push(read_reply(conn)?);
        }
        conn.end_exchange();
        session.observe(&mail_reply);
        replies.iter().for_each(|r| session.observe(r));
    } else {
        mail_reply = command(conn, &mail)?;
        session.observe(&mail_reply);
        if mail_reply.is_positive() {
            for rcpt in envelope.to() {
                let reply = command(conn, &Command::Rcpt(rcpt))?;
                session.observe(&reply);
                let closing = reply.is_closing();
                replies.push(reply);
                if closing {
                    break;
                }
            }
        }
    }
    if !mail_reply.is_positive() {
        return Err(Error::server("MAIL FROM", &mail_reply));
    }
    if let Some(closing) = replies.iter().find(|r| r.is_closing()) {
        return Err(Error::server("RCPT TO", closing));
    }
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for (rcpt, reply) in envelope.to().iter().zip(replies) {
        if reply.is_positive() {
            accepted.push(rcpt.clone());
        } else {
            refused.push(Refused {
                recipient: rcpt.clone(),
                reply,
            });
        }
    }
    if accepted.is_empty() {
        return Err(Error::RecipientsRefused(refused));
    }

    let reply = command(conn, &Command::Data)?;
    session.observe(&reply);
    if reply.code != 354 {
        return Err(Error::server("DATA", &reply));
    }
    session.stage = Stage::Data;

    // Body and terminator in one write: on a TCP_NODELAY socket the server
    // gets the whole mail in one go, and no delayed ACK holds back a second
    // small write (lettre's 40 ms per mail).
    conn.begin_exchange()?;
    data::encode(msg.content(), conn.write_buf());
    let outcome = conn.flush().map(|()| read_reply(conn));
    let reply = match outcome {
        Ok(Ok(reply)) => reply,
        // The final '.' may have reached the server: whatever happened,
        // this mail must never be sent again.
        Ok(Err(e)) => return Err(Error::DeliveryUnknown(Box::new(e))),
        Err(e) => return Err(Error::DeliveryUnknown(Box::new(Error::Transport(e)))),
    };
    conn.end_exchange();
    session.stage = Stage::Ready;
    session.observe(&reply);
    if !reply.is_positive() {
        return Err(Error::server("end of DATA", &reply));
    }
    Ok(Sent {
        reply,
        accepted,
        refused,
        reused: false,
        retried: false,
    })
}
