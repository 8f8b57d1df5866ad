//! The blocking client: checks a connection out of the pool, sends one mail
//! over it, and applies the exactly-once retry rule.

use std::fmt;
use std::sync::Arc;

use transport::{KeyPool, Pool, Pooled, Stats};

use crate::error::{Error, Result};
use crate::handshake;
use crate::message::Message;
use crate::session::Session;
use crate::settings::Settings;
use crate::transaction::{self, Sent};

/// An SMTP client with a pool of persistent sessions. Cheap to clone.
#[derive(Clone)]
pub struct SmtpClient {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    pool: KeyPool<Session>,
}

impl fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpClient")
            .field("endpoint", &self.inner.settings.endpoint.authority())
            .field("implicit_tls", &self.inner.settings.implicit_tls)
            .field("pool", &self.inner.pool)
            .finish()
    }
}

/// May a failed attempt be made again on a fresh connection? Only when the
/// connection came from the pool (it may simply have gone stale), the mail
/// was not complete on the wire (so the server cannot have accepted it),
/// and the failure is the connection going away.
fn may_retry(err: &Error, reused: bool) -> bool {
    reused
        && match err {
            Error::Transport(e) => e.is_connection_lost(),
            Error::Server { code: 421, .. } => true,
            _ => false,
        }
}

impl SmtpClient {
    pub(crate) fn new(settings: Settings, pool: KeyPool<Session>) -> SmtpClient {
        SmtpClient {
            inner: Arc::new(Inner { settings, pool }),
        }
    }

    fn open(&self) -> Result<(transport::Conn, Session)> {
        let s = &self.inner.settings;
        let conn = transport::open(&s.endpoint, &*s.connector, &s.connect)?;
        handshake::open(conn, s)
    }

    /// Checks out a session (opening and greeting a new one if none is
    /// idle). Dropping the guard returns it to the pool, after RSET if a
    /// transaction was left open.
    pub fn session(&self) -> Result<Pooled<Session>> {
        self.inner.pool.checkout(|| self.open())
    }

    /// Sends one mail. Some recipients refused and others accepted: `Ok`,
    /// with the refused ones in [`Sent::refused`]. A mail whose final `.`
    /// got no reply is [`Error::DeliveryUnknown`] and is never re-sent.
    pub fn send(&self, msg: &Message) -> Result<Sent> {
        let signed = self.sign(msg)?;
        let msg = signed.as_ref().unwrap_or(msg);
        let mut guard = self.session()?;
        let reused = guard.is_reused();
        let first = {
            let (conn, session) = guard.parts();
            transaction::send(conn, session, msg)
        };
        match first {
            Ok(mut sent) => {
                sent.reused = reused;
                Ok(sent)
            }
            Err(e) if may_retry(&e, reused) => {
                tracing::debug!(error = %e, "pooled SMTP connection went stale before the mail; retrying once on a new one");
                guard.discard();
                let mut guard = self.inner.pool.checkout_fresh(|| self.open())?;
                let (conn, session) = guard.parts();
                let mut sent = transaction::send(conn, session, msg)?;
                sent.retried = true;
                Ok(sent)
            }
            Err(e) => Err(e),
        }
    }

    /// Sends one mail on a session the caller holds (from
    /// [`session`](SmtpClient::session)), so that several mails share it or
    /// its timeouts can be set per mail. No retry: the caller chose the
    /// connection. After an error that leaves replies unmatched (a timeout
    /// mid-reply, a pipelined batch read halfway, a malformed reply,
    /// [`Error::DeliveryUnknown`]) every further use of this session is
    /// [`Error::Broken`], before anything is sent; drop it and take another.
    ///
    /// ```no_run
    /// # use pconn_smtp::{Message, SmtpClient};
    /// # let client = SmtpClient::from_url("smtp://127.0.0.1:2525")?.build()?;
    /// # let mail = Message::builder().from("a@example.com").to("b@example.com").build()?;
    /// let mut session = client.session()?;
    /// client.send_on(&mut session, &mail)?;
    /// client.send_on(&mut session, &mail)?;
    /// # Ok::<(), pconn_smtp::Error>(())
    /// ```
    pub fn send_on(&self, session: &mut Pooled<Session>, msg: &Message) -> Result<Sent> {
        let signed = self.sign(msg)?;
        let msg = signed.as_ref().unwrap_or(msg);
        let reused = session.is_reused();
        let (conn, s) = session.parts();
        let mut sent = transaction::send(conn, s, msg)?;
        sent.reused = reused;
        Ok(sent)
    }

    /// The message signed with the client's DKIM key, if it has one.
    #[cfg(feature = "dkim")]
    fn sign(&self, msg: &Message) -> Result<Option<Message>> {
        self.inner
            .settings
            .dkim
            .as_ref()
            .map(|signer| signer.sign(msg))
            .transpose()
    }

    #[cfg(not(feature = "dkim"))]
    fn sign(&self, _msg: &Message) -> Result<Option<Message>> {
        Ok(None)
    }

    /// This client's pool counters (`opened`, `reused`, discards, ...).
    pub fn stats(&self) -> Stats {
        self.inner.pool.stats()
    }

    /// The pool the client's connections live in.
    pub fn pool(&self) -> Pool<Session> {
        self.inner.pool.pool()
    }
}
