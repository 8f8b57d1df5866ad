//! Opening a session on a connected stream: greeting, EHLO (HELO when
//! refused), STARTTLS per policy and EHLO again, then AUTH.

use std::time::Instant;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use transport::Conn;

use crate::driver::{command, exchange, read_reply};
use crate::error::{Error, Result};
use crate::proto::command::Command;
use crate::proto::ehlo::{Extensions, Mechanism};
use crate::session::Session;
use crate::settings::{Credentials, Secret, Settings, StartTls};

/// Opens the session on a connected `conn`: greeting, EHLO (HELO when
/// refused), STARTTLS per policy and EHLO again, then AUTH.
pub(crate) fn open(mut conn: Conn, settings: &Settings) -> Result<(Conn, Session)> {
    let mut session = Session::new(settings);
    let greeting = exchange(&mut conn, &mut session, read_reply)?;
    if greeting.code != 220 {
        conn.mark_broken();
        return Err(Error::server("connection (greeting)", &greeting));
    }
    let s = &mut session;
    let mut ext = hello(&mut conn, s, settings)?;
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
            let reply = command(&mut conn, s, &Command::StartTls)?;
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
                transport::Error::InvalidInput(m) => {
                    Error::Protocol(format!("reply injected before the STARTTLS handshake: {m}"))
                }
                other => Error::Transport(other),
            })?;
            // RFC 3207: forget everything learned before TLS.
            ext = hello(&mut conn, s, settings)?;
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
        authenticate(&mut conn, s, &ext, creds)?;
    }
    tracing::debug!(
        server = %ext.server_name,
        tls = conn.is_tls(),
        lmtp = settings.lmtp,
        pipelining = ext.pipelining,
        chunking = ext.chunking,
        dsn = ext.dsn,
        authenticated = settings.credentials.is_some(),
        "SMTP session opened"
    );
    session.ext = ext;
    Ok((conn, session))
}

fn hello(conn: &mut Conn, s: &mut Session, settings: &Settings) -> Result<Extensions> {
    let (cmd, name) = if settings.lmtp {
        (Command::Lhlo(&settings.ehlo_name), "LHLO")
    } else {
        (Command::Ehlo(&settings.ehlo_name), "EHLO")
    };
    let reply = command(conn, s, &cmd)?;
    if reply.is_positive() {
        return Ok(Extensions::parse(&reply));
    }
    // LMTP has no HELO to fall back to (RFC 2033 4.1).
    if reply.is_closing() || settings.lmtp {
        return Err(Error::server(name, &reply));
    }
    // RFC 5321 4.1.4: a server that does not know EHLO gets HELO.
    let helo = command(conn, s, &Command::Helo(&settings.ehlo_name))?;
    if !helo.is_positive() {
        return Err(Error::server("HELO", &helo));
    }
    Ok(Extensions::default())
}

fn authenticate(
    conn: &mut Conn,
    s: &mut Session,
    ext: &Extensions,
    creds: &Credentials,
) -> Result<()> {
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
                s,
                &Command::Auth {
                    mechanism: Mechanism::XOAuth2,
                    initial: Some(&initial),
                },
            )?;
            if reply.code == 334 {
                // The server's JSON error challenge; an empty line ends the attempt.
                command(conn, s, &Command::AuthResponse(""))?
            } else {
                reply
            }
        }
        Secret::Password(password) => {
            if ext.auth.contains(&Mechanism::Plain) {
                let initial = B64.encode(format!("\0{}\0{password}", creds.user));
                command(
                    conn,
                    s,
                    &Command::Auth {
                        mechanism: Mechanism::Plain,
                        initial: Some(&initial),
                    },
                )?
            } else if ext.auth.contains(&Mechanism::Login) {
                let mut reply = command(
                    conn,
                    s,
                    &Command::Auth {
                        mechanism: Mechanism::Login,
                        initial: None,
                    },
                )?;
                for answer in [creds.user.as_str(), password.as_str()] {
                    if reply.code != 334 {
                        break;
                    }
                    reply = command(conn, s, &Command::AuthResponse(&B64.encode(answer)))?;
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
