//! Command encoding. Every argument is a checked type ([`Address`],
//! [`EhloName`]) or base64, so no caller string reaches the wire unchecked.

use bytes::{BufMut, BytesMut};

use super::address::{Address, EhloName};
use super::dsn::Dsn;

/// The BODY parameter of MAIL FROM (RFC 6152).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// 7-bit ASCII.
    SevenBit,
    /// 8-bit MIME content.
    EightBitMime,
    /// Unencoded binary content (RFC 3030; BDAT only).
    BinaryMime,
}

/// A client command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `EHLO name`.
    Ehlo(&'a EhloName),
    /// `HELO name`, for servers that refuse EHLO.
    Helo(&'a EhloName),
    /// `LHLO name`, LMTP's greeting (RFC 2033).
    Lhlo(&'a EhloName),
    /// `STARTTLS`.
    StartTls,
    /// `AUTH mechanism [initial-response]`; the response is base64.
    Auth {
        /// The mechanism.
        mechanism: super::ehlo::Mechanism,
        /// The base64 initial response, if any.
        initial: Option<&'a str>,
    },
    /// A base64 line answering an AUTH challenge (may be empty).
    AuthResponse(&'a str),
    /// `MAIL FROM:<addr>` with the extensions' parameters; `None` is the null path `<>`.
    Mail {
        /// The reverse path.
        from: Option<&'a Address>,
        /// Declared size (SIZE extension).
        size: Option<u64>,
        /// BODY parameter (8BITMIME extension).
        body: Option<Body>,
        /// SMTPUTF8 parameter.
        smtputf8: bool,
        /// `RET` and `ENVID` (DSN extension).
        dsn: Option<&'a Dsn>,
    },
    /// `RCPT TO:<addr>`, with `NOTIFY` and `ORCPT` when DSN is asked for.
    Rcpt(&'a Address, Option<&'a Dsn>),
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030); the chunk's bytes follow the line.
    Bdat {
        /// The chunk's size in bytes.
        size: u64,
        /// True for the message's last chunk.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
}

fn is_base64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

impl Command<'_> {
    /// Appends the command and its CRLF to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        match self {
            Command::Ehlo(name) => {
                out.put_slice(b"EHLO ");
                out.put_slice(name.as_str().as_bytes());
            }
            Command::Helo(name) => {
                out.put_slice(b"HELO ");
                out.put_slice(name.as_str().as_bytes());
            }
            Command::Lhlo(name) => {
                out.put_slice(b"LHLO ");
                out.put_slice(name.as_str().as_bytes());
            }
            Command::StartTls => out.put_slice(b"STARTTLS"),
            Command::Auth { mechanism, initial } => {
                out.put_slice(b"AUTH ");
                out.put_slice(mechanism.name().as_bytes());
                if let Some(initial) = initial {
                    assert!(is_base64(initial), "AUTH initial response must be base64");
                    out.put_u8(b' ');
                    // RFC 4954: an empty initial response is sent as "=".
                    out.put_slice(if initial.is_empty() {
                        b"="
                    } else {
                        initial.as_bytes()
                    });
                }
            }
            Command::AuthResponse(line) => {
                assert!(is_base64(line), "AUTH response must be base64");
                out.put_slice(line.as_bytes());
            }
            Command::Mail {
                from,
                size,
                body,
                smtputf8,
                dsn,
            } => {
                out.put_slice(b"MAIL FROM:<");
                if let Some(from) = from {
                    out.put_slice(from.as_str().as_bytes());
                }
                out.put_u8(b'>');
                if let Some(size) = size {
                    out.put_slice(b" SIZE=");
                    out.put_slice(itoa::Buffer::new().format(*size).as_bytes());
                }
                match body {
                    Some(Body::EightBitMime) => out.put_slice(b" BODY=8BITMIME"),
                    Some(Body::SevenBit) => out.put_slice(b" BODY=7BIT"),
                    Some(Body::BinaryMime) => out.put_slice(b" BODY=BINARYMIME"),
                    None => {}
                }
                if *smtputf8 {
                    out.put_slice(b" SMTPUTF8");
                }
                if let Some(dsn) = dsn {
                    dsn.encode_mail(out);
                }
            }
            Command::Rcpt(to, dsn) => {
                out.put_slice(b"RCPT TO:<");
                out.put_slice(to.as_str().as_bytes());
                out.put_u8(b'>');
                if let Some(dsn) = dsn {
                    dsn.encode_rcpt(to, out);
                }
            }
            Command::Data => out.put_slice(b"DATA"),
            Command::Bdat { size, last } => {
                out.put_slice(b"BDAT ");
                out.put_slice(itoa::Buffer::new().format(*size).as_bytes());
                if *last {
                    out.put_slice(b" LAST");
                }
            }
            Command::Rset => out.put_slice(b"RSET"),
            Command::Noop => out.put_slice(b"NOOP"),
            Command::Quit => out.put_slice(b"QUIT"),
        }
        // The checked types make this unreachable; it stays as the last line
        // of the injection defence.
        assert!(
            !out[start..]
                .iter()
                .any(|&b| b == b'\r' || b == b'\n' || b == 0),
            "line break inside an SMTP command"
        );
        out.put_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ehlo::Mechanism;

    fn enc(cmd: Command<'_>) -> Vec<u8> {
        let mut out = BytesMut::new();
        cmd.encode(&mut out);
        out.to_vec()
    }

    #[test]
    fn commands_on_the_wire() {
        let from = Address::new("a@b.c").unwrap();
        let to = Address::new("d@e.f").unwrap();
        let name = EhloName::new("client.example").unwrap();
        assert_eq!(enc(Command::Ehlo(&name)), b"EHLO client.example\r\n");
        assert_eq!(enc(Command::Helo(&name)), b"HELO client.example\r\n");
        assert_eq!(
            enc(Command::Mail {
                from: Some(&from),
                size: Some(1234),
                body: Some(Body::EightBitMime),
                smtputf8: true,
                dsn: None,
            }),
            b"MAIL FROM:<a@b.c> SIZE=1234 BODY=8BITMIME SMTPUTF8\r\n"
        );
        let dsn = crate::proto::dsn::Dsn::new()
            .ret(crate::proto::dsn::Ret::Full)
            .envid("e1")
            .unwrap()
            .notify(crate::proto::dsn::Notify::NEVER)
            .orcpt(true);
        assert_eq!(
            enc(Command::Mail {
                from: Some(&from),
                size: None,
                body: Some(Body::BinaryMime),
                smtputf8: false,
                dsn: Some(&dsn),
            }),
            b"MAIL FROM:<a@b.c> BODY=BINARYMIME RET=FULL ENVID=e1\r\n"
        );
        assert_eq!(
            enc(Command::Rcpt(&to, Some(&dsn))),
            b"RCPT TO:<d@e.f> NOTIFY=NEVER ORCPT=rfc822;d@e.f\r\n"
        );
        assert_eq!(enc(Command::Lhlo(&name)), b"LHLO client.example\r\n");
        assert_eq!(
            enc(Command::Bdat {
                size: 42,
                last: false
            }),
            b"BDAT 42\r\n"
        );
        assert_eq!(
            enc(Command::Bdat {
                size: 0,
                last: true
            }),
            b"BDAT 0 LAST\r\n"
        );
        assert_eq!(
            enc(Command::Mail {
                from: None,
                size: None,
                body: None,
                smtputf8: false,
                dsn: None,
            }),
            b"MAIL FROM:<>\r\n"
        );
        assert_eq!(enc(Command::Rcpt(&to, None)), b"RCPT TO:<d@e.f>\r\n");
        assert_eq!(
            enc(Command::Auth {
                mechanism: Mechanism::Plain,
                initial: Some("AHUAcA==")
            }),
            b"AUTH PLAIN AHUAcA==\r\n"
        );
        assert_eq!(
            enc(Command::Auth {
                mechanism: Mechanism::Login,
                initial: None
            }),
            b"AUTH LOGIN\r\n"
        );
        assert_eq!(enc(Command::AuthResponse("")), b"\r\n");
        for (cmd, wire) in [
            (Command::StartTls, &b"STARTTLS\r\n"[..]),
            (Command::Data, b"DATA\r\n"),
            (Command::Rset, b"RSET\r\n"),
            (Command::Noop, b"NOOP\r\n"),
            (Command::Quit, b"QUIT\r\n"),
        ] {
            assert_eq!(enc(cmd), wire);
        }
    }

    #[test]
    #[should_panic(expected = "base64")]
    fn auth_response_must_be_base64() {
        enc(Command::AuthResponse("x\r\nDATA"));
    }
}
