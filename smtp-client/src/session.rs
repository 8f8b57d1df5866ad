//! The pooled session: opening handshake (greeting, EHLO/HELO, STARTTLS,
//! AUTH) and the [`Recycle`] rules that decide whether a connection may
//! serve the next mail.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use transport::{BoxError, Conn, Recycle, Reuse};

use crate::config::{Credentials, Secret, Settings, StartTls};
use crate::error::{Error, Result};
use crate::proto::command::Command;
use crate::proto::ehlo::{Extensions, Mechanism};
use crate::proto::reply::Reply;
use crate::proto::state::Stage;
use crate::wire::{command, read_reply};

/// The SMTP state kept with each pooled connection.
#[derive(Debug)]
pub struct Session {
    pub(crate) stage: Stage,
    ext: Extensions,
    noop_after: Option<Duration>,
}

impl Session {
    /// What the server offered in its (last) EHLO reply.
    pub fn extensions(&self) -> &Extensions {
        &self.ext
    }

    /// The transaction stage.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// Notes what a reply means for the connection: 421 at any point means
    /// the server is closing it.
    pub(crate) fn observe(&mut self, reply: &Reply) {
        if reply.is_closing() {
            self.stage = Stage::Closed;
        }
    }

    /// Opens the session on a connected `conn`: greeting, EHLO (HELO when
    /// refused), STARTTLS per policy and EHLO again, then AUTH.
    pub(crate) fn open(mut conn: Conn, settings: &Settings) -> Result<(Conn, Session)> {
        conn.begin_exchange()?;
        let greeting = read_reply(&mut conn)?;
        conn.end_exchange();
        if greeting.code != 220 {
            conn.mark_broken();
            return Err(Error::server("connection (greeting)", &greeting));
        }
        let mut ext = hello(&mut conn, settings)?;
        if !conn.is_tls() {
            let upgrade = match settings.starttls {
                StartTls::None => false,
                StartTls::Opportunistic => ext.starttls,
                StartTls::Required if ext.starttls => true,
                StartTls::Required => {
                    return Err(Error::Unsupported(
                        "STARTTLS, which the Required policy demands (nothing was sent)".into(),
                    ))
                }
            };
            if upgrade {
                let reply = command(&mut conn, &Command::StartTls)?;
                if reply.code != 220 {
                    return Err(Error::server("STARTTLS", &reply));
                }
                let tls = settings
                    .tls
                    .as_ref()
                    .ok_or_else(|| Error::InvalidConfig("STARTTLS without TLS settings".into()))?;
                let deadline = Instant::now() + settings.connect.connect_timeout;
                let host = settings.endpoint.host().to_string();
                conn = conn.start_tls(tls, &host, deadline).map_err(|e| match e {
                    // Bytes pipelined behind the 220 would be read as if
                    // they came over TLS: the STARTTLS injection attack.
                    transport::Error::InvalidInput(m) => Error::Protocol(format!(
                        "reply injected before the STARTTLS handshake: {m}"
                    )),
                    other => Error::Transport(other),
                })?;
                // RFC 3207: forget everything learned before TLS.
                ext = hello(&mut conn, settings)?;
            }
        }
        if let Some(creds) = &settings.credentials {
            if !conn.is_tls() && !settings.allow_plaintext_auth {
                return Err(Error::InvalidInput(
                    "refusing to send credentials over an unencrypted connection \
                     (allow_plaintext_auth opts in)"
                        .into(),
                ));
            }
            authenticate(&mut conn, &ext, creds)?;
        }
        let session = Session {
            stage: Stage::Ready,
            ext,
            noop_after: settings.noop_after,
        };
        Ok((conn, session))
    }
}

fn hello(conn: &mut Conn, settings: &Settings) -> Result<Extensions> {
    let reply = command(conn, &Command::Ehlo(&settings.ehlo_name))?;
    if reply.is_positive() {
        return Ok(Extensions::parse(&reply));
    }
    if reply.is_closing() {
        return Err(Error::server("EHLO", &reply));
    }
    // RFC 5321 4.1.4: a server that does not know EHLO gets HELO.
    let helo = command(conn, &Command::Helo(&settings.ehlo_name))?;
    if !helo.is_positive() {
        return Err(Error::server("HELO", &helo));
    }
    Ok(Extensions::default())
}

fn authenticate(conn: &mut Conn, ext: &Extensions, creds: &Credentials) -> Result<()> {
    let reply = match &creds.secret {
        Secret::Token(token) => {
            if !ext.auth.contains(&Mechanism::XOAuth2) {
                return Err(Error::Unsupported("AUTH XOAUTH2".into()));
            }
            let initial = B64.encode(format!(
                "user={}\x01auth=Bearer {token}\x01\x01",
                creds.user
            ));
            let reply = command(
                conn,
                &Command::Auth {
                    mechanism: Mechanism::XOAuth2,
                    initial: Some(&initial),
                },
            )?;
            if reply.code == 334 {
                // The server's JSON error challenge; an empty line ends the attempt.
                command(conn, &Command::AuthResponse(""))?
            } else {
                reply
            }
        }
        Secret::Password(password) => {
            if ext.auth.contains(&Mechanism::Plain) {
                let initial = B64.encode(format!("\0{}\0{password}", creds.user));
                command(
                    conn,
                    &Command::Auth {
                        mechanism: Mechanism::Plain,
                        initial: Some(&initial),
                    },
                )?
            } else if ext.auth.contains(&Mechanism::Login) {
                let mut reply = command(
                    conn,
                    &Command::Auth {
                        mechanism: Mechanism::Login,
                        initial: None,
                    },
                )?;
                for answer in [creds.user.as_str(), password.as_str()] {
                    if reply.code != 334 {
                        break;
                    }
                    reply = command(conn, &Command::AuthResponse(&B64.encode(answer)))?;
                }
                reply
            } else {
                return Err(Error::Unsupported(format!(
                    "AUTH PLAIN or LOGIN (server offers {:?})",
                    ext.auth
                )));
            }
        }
    };
    if reply.code != 235 {
        return Err(Error::server("AUTH", &reply));
    }
    Ok(())
}

impl Recycle for Session {
    fn reuse(&self) -> Reuse {
        self.stage.reuse()
    }

    /// RSET ends a transaction a borrower left open (an error after MAIL or RCPT).
    fn reset(&mut self, conn: &mut Conn, _deadline: Instant) -> Result<(), BoxError> {
        if self.stage != Stage::Transaction {
            return Err(format!("cannot reset a session in stage {:?}", self.stage).into());
        }
        let reply = command(conn, &Command::Rset)?;
        self.observe(&reply);
        if reply.code != 250 {
            self.stage = Stage::Closed;
            return Err(Error::server("RSET", &reply).into());
        }
        self.stage = Stage::Ready;
        Ok(())
    }

    /// NOOP after the idle interval; only exactly `250` counts as alive, so a
    /// queued `421` (or anything else) closes the connection.
    fn verify(&mut self, conn: &mut Conn, idle_for: Duration) -> Result<(), BoxError> {
        if self.noop_after.is_none_or(|after| idle_for < after) {
            return Ok(());
        }
        let reply = command(conn, &Command::Noop)?;
        self.observe(&reply);
        if reply.code != 250 {
            self.stage = Stage::Closed;
            return Err(Error::server("NOOP", &reply).into());
        }
        Ok(())
    }

    /// QUIT for a clean connection the pool closes; the reply is read so the
    /// server logs an orderly end, but its content no longer matters.
    fn close(&mut self, conn: &mut Conn) {
        if self.stage == Stage::Ready && command(conn, &Command::Quit).is_ok() {
            self.stage = Stage::Closed;
        }
    }
}
