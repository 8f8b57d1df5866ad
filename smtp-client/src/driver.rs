//! The thin I/O layer: commands out, replies in, over a transport
//! connection. Every exchange goes through [`exchange`], the one place that
//! applies the rule: an exchange that fails leaves replies unmatched, so the
//! session and its connection refuse every further use.

use std::time::{Duration, Instant};

use transport::{BoxError, Conn, Recycle, Reuse};

use crate::error::{BrokenCause, Error, Result};
use crate::proto::command::Command;
use crate::proto::reply::{self, Reply, MAX_LINE, MAX_REPLY_BYTES};
use crate::proto::state::Stage;
use crate::session::Session;

/// The most the reader buffers: one maximal reply plus a line of the next
/// (pipelined replies arrive together). The decoder refuses long lines and
/// endless replies itself well before this.
const MAX_BUFFERED: usize = MAX_REPLY_BYTES + MAX_LINE;

/// Reads one reply. A malformed one marks the connection broken.
pub(crate) fn read_reply(conn: &mut Conn) -> Result<Reply> {
    conn.read_frame(MAX_BUFFERED, |buf: &[u8]| {
        reply::decode(buf).map_err(Error::from)
    })
}

/// Runs `io` as one exchange on a usable session. If it fails, whatever
/// it left unread or unsent can never be matched again: the session is
/// broken with the failure's cause and the connection marked, so the next
/// use gets [`Error::Broken`] instead of another command's reply.
pub(crate) fn exchange<T>(
    conn: &mut Conn,
    session: &mut Session,
    io: impl FnOnce(&mut Conn) -> Result<T>,
) -> Result<T> {
    session.check_usable(conn)?;
    conn.begin_exchange()?;
    match io(conn) {
        Ok(v) => {
            conn.end_exchange();
            Ok(v)
        }
        Err(e) => {
            let cause = BrokenCause::of(&e);
            tracing::debug!(%cause, error = %e, "SMTP exchange failed; the session refuses further use");
            session.break_with(cause);
            conn.mark_broken();
            Err(e)
        }
    }
}

/// Sends `cmd` and reads its reply as one exchange; a `421` closes the session.
pub(crate) fn command(conn: &mut Conn, session: &mut Session, cmd: &Command<'_>) -> Result<Reply> {
    let reply = exchange(conn, session, |conn| {
        cmd.encode(conn.write_buf());
        conn.flush()?;
        read_reply(conn)
    })?;
    session.observe(&reply);
    Ok(reply)
}

/// Sends `cmds` in one flight (PIPELINING) and reads their replies in
/// order, as one exchange: a batch read halfway breaks the session.
pub(crate) fn pipeline(
    conn: &mut Conn,
    session: &mut Session,
    cmds: &[Command<'_>],
) -> Result<Vec<Reply>> {
    let replies = exchange(conn, session, |conn| {
        for cmd in cmds {
            cmd.encode(conn.write_buf());
        }
        conn.flush()?;
        let mut replies = Vec::with_capacity(cmds.len());
        for _ in cmds {
            replies.push(read_reply(conn)?);
        }
        Ok(replies)
    })?;
    replies.iter().for_each(|r| session.observe(r));
    Ok(replies)
}

/// The pool's side of a session: the reuse decision is the session's;
/// RSET, NOOP and QUIT are exchanges like any other.
impl Recycle for Session {
    fn reuse(&self) -> Reuse {
        Session::reuse(self)
    }

    /// RSET ends a transaction a borrower left open (an error after MAIL or RCPT).
    fn reset(&mut self, conn: &mut Conn, _deadline: Instant) -> Result<(), BoxError> {
        if self.stage != Stage::Transaction {
            return Err(format!("cannot reset a session in stage {:?}", self.stage).into());
        }
        tracing::debug!("SMTP session reset with RSET before reuse");
        let reply = command(conn, self, &Command::Rset)?;
        if reply.code != 250 {
            self.break_with(BrokenCause::Protocol);
            return Err(Error::server("RSET", &reply).into());
        }
        self.stage = Stage::Ready;
        Ok(())
    }

    /// NOOP after the idle interval; only exactly `250` counts as alive, so a
    /// queued `421` (or anything else) closes the connection.
    fn verify(&mut self, conn: &mut Conn, idle_for: Duration) -> Result<(), BoxError> {
        if !self.needs_noop(idle_for) {
            return Ok(());
        }
        let reply = command(conn, self, &Command::Noop)?;
        tracing::debug!(
            idle_ms = idle_for.as_millis() as u64,
            code = reply.code,
            "SMTP NOOP probe"
        );
        if reply.code != 250 {
            self.break_with(BrokenCause::Protocol);
            return Err(Error::server("NOOP", &reply).into());
        }
        Ok(())
    }

    /// QUIT for a clean connection the pool closes; the reply is read so the
    /// server logs an orderly end, but its content no longer matters.
    fn close(&mut self, conn: &mut Conn) {
        tracing::debug!(stage = ?self.stage, "SMTP session closing");
        if self.stage == Stage::Ready && command(conn, self, &Command::Quit).is_ok() {
            self.stage = Stage::Closed;
        }
    }
}
