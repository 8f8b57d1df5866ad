//! One mail over an open session: checks against what the server offered,
//! MAIL and RCPT (pipelined when offered), the content (see `content`), and
//! the result per recipient.

use transport::Conn;

use crate::content;
use crate::driver::{command, pipeline};
use crate::error::{Error, Refused, Result};
use crate::message::Message;
use crate::proto::address::Address;
use crate::proto::command::{Body, Command};
use crate::proto::reply::Reply;
use crate::proto::state::Stage;
use crate::session::Session;

/// What the server said about a mail it accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The server's reply to the end of the data (often carries a queue
    /// id). With LMTP, the first recipient's positive reply.
    pub reply: Reply,
    /// Recipients the server accepted (with LMTP: that got the mail).
    pub accepted: Vec<Address>,
    /// Recipients the server refused, with their replies (with LMTP also
    /// those refused after the data).
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

/// How the content goes: DATA with the given SIZE, or BDAT with these bytes.
enum Plan {
    Data { size: u64 },
    Bdat { wire: Vec<u8> },
}

/// Checks the mail against what the server offered; nothing is sent.
fn preflight(session: &Session, msg: &Message) -> Result<(Plan, Option<Body>, bool)> {
    let ext = session.extensions();
    if msg.dsn().is_some() && !ext.dsn {
        return Err(Error::Unsupported(
            "DSN, which this message asks for (nothing was sent)".into(),
        ));
    }
    let body = if msg.needs_binary() {
        if !(session.uses_bdat() && ext.binarymime) {
            return Err(Error::Unsupported(
                "BINARYMIME over CHUNKING, which this message's binary content needs".into(),
            ));
        }
        Some(Body::BinaryMime)
    } else if msg.needs_8bit() {
        if !ext.eight_bit_mime {
            return Err(Error::Unsupported(
                "8BITMIME, which this message's 8-bit content needs".into(),
            ));
        }
        Some(Body::EightBitMime)
    } else {
        None
    };
    let plan = if session.uses_bdat() {
        Plan::Bdat {
            wire: msg.wire_content(),
        }
    } else {
        Plan::Data {
            size: msg.wire_size(),
        }
    };
    let size = match &plan {
        Plan::Data { size } => *size,
        Plan::Bdat { wire } => wire.len() as u64,
    };
    if let Some(limit) = ext.size_limit() {
        if size > limit {
            return Err(Error::MessageTooLarge { size, limit });
        }
    }
    let utf8 = msg.envelope().needs_smtputf8();
    if utf8 && !ext.smtputf8 {
        return Err(Error::Unsupported(
            "SMTPUTF8, which this message's non-ASCII addresses need".into(),
        ));
    }
    Ok((plan, body, utf8))
}

/// Brings a held session to the Ready stage: RSET ends a transaction an
/// earlier refusal left open; a broken session refuses.
fn ready(conn: &mut Conn, session: &mut Session) -> Result<()> {
    session.check_usable(conn)?;
    if session.stage == Stage::Transaction {
        let reply = command(conn, session, &Command::Rset)?;
        if reply.code != 250 {
            return Err(Error::server("RSET", &reply));
        }
        session.stage = Stage::Ready;
    }
    debug_assert_eq!(session.stage, Stage::Ready);
    Ok(())
}

/// MAIL and every RCPT: the MAIL reply and one reply per recipient sent.
fn envelope(
    conn: &mut Conn,
    session: &mut Session,
    mail: Command<'_>,
    rcpts: Vec<Command<'_>>,
) -> Result<(Reply, Vec<Reply>)> {
    if session.extensions().pipelining {
        // One flight: MAIL and every RCPT, then their replies in order.
        let mut cmds = Vec::with_capacity(rcpts.len() + 1);
        cmds.push(mail);
        cmds.extend(rcpts);
        let mut all = pipeline(conn, session, &cmds)?.into_iter();
        let mail_reply = all.next().expect("one reply per command");
        return Ok((mail_reply, all.collect()));
    }
    let mail_reply = command(conn, session, &mail)?;
    let mut replies = Vec::with_capacity(rcpts.len());
    if mail_reply.is_positive() {
        for rcpt in &rcpts {
            let reply = command(conn, session, rcpt)?;
            let closing = reply.is_closing();
            replies.push(reply);
            if closing {
                break;
            }
        }
    }
    Ok((mail_reply, replies))
}

/// Sends `msg` on a session (RSET first if a transaction was left open).
pub(crate) fn send(conn: &mut Conn, session: &mut Session, msg: &Message) -> Result<Sent> {
    let (plan, body, smtputf8) = preflight(session, msg)?;
    ready(conn, session)?;
    let envelope_ = msg.envelope();
    let dsn = msg.dsn();
    let mail = Command::Mail {
        from: envelope_.from(),
        size: session.extensions().size.map(|_| match &plan {
            Plan::Data { size } => *size,
            Plan::Bdat { wire } => wire.len() as u64,
        }),
        body,
        smtputf8,
        dsn,
    };
    let rcpts = envelope_
        .to()
        .iter()
        .map(|a| Command::Rcpt(a, dsn))
        .collect();

    // From here on the server may hold a transaction: RSET before reuse
    // unless it completes.
    session.stage = Stage::Transaction;
    let (mail_reply, replies) = envelope(conn, session, mail, rcpts)?;
    if !mail_reply.is_positive() {
        return Err(Error::server("MAIL FROM", &mail_reply));
    }
    if let Some(closing) = replies.iter().find(|r| r.is_closing()) {
        return Err(Error::server("RCPT TO", closing));
    }
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for (rcpt, reply) in envelope_.to().iter().zip(replies) {
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

    // LMTP owes one reply per accepted recipient after the data (RFC 2033 4.2).
    let finals = if session.lmtp { accepted.len() } else { 1 };
    let replies = match &plan {
        Plan::Data { .. } => content::data(conn, session, msg.content(), finals)?,
        Plan::Bdat { wire } => content::bdat(conn, session, wire, finals)?,
    };
    session.stage = Stage::Ready;
    replies.iter().for_each(|r| session.observe(r));
    if !session.lmtp {
        let reply = replies.into_iter().next().expect("one final reply");
        if !reply.is_positive() {
            return Err(Error::server("end of DATA", &reply));
        }
        tracing::debug!(
            accepted = accepted.len(),
            refused = refused.len(),
            reply = %reply,
            "mail accepted"
        );
        return Ok(Sent {
            reply,
            accepted,
            refused,
            reused: false,
            retried: false,
        });
    }
    lmtp_result(accepted, refused, replies)
}

/// Each accepted recipient's own final reply decides whether it got the mail.
fn lmtp_result(
    accepted: Vec<Address>,
    mut refused: Vec<Refused>,
    replies: Vec<Reply>,
) -> Result<Sent> {
    let mut delivered = Vec::new();
    let mut first_ok = None;
    for (rcpt, reply) in accepted.into_iter().zip(replies) {
        if reply.is_positive() {
            delivered.push(rcpt);
            first_ok.get_or_insert(reply);
        } else {
            refused.push(Refused {
                recipient: rcpt,
                reply,
            });
        }
    }
    tracing::debug!(
        delivered = delivered.len(),
        refused = refused.len(),
        "LMTP: one reply per recipient after the data"
    );
    match first_ok {
        Some(reply) => Ok(Sent {
            reply,
            accepted: delivered,
            refused,
            reused: false,
            retried: false,
        }),
        None => Err(Error::RecipientsRefused(refused)),
    }
}
