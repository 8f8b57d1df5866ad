//! An SMTP submission client on persistent, pooled connections that sends
//! each mail exactly once.
//!
//! * A sans-IO core in [`proto`]: commands built only from checked types
//!   (no CR, LF, NUL or angle brackets can reach a command line), multi-line
//!   replies with enhanced status codes and hard size limits, EHLO
//!   extensions, and DATA encoding that normalises bare CR and bare LF to
//!   CRLF *before* dot-stuffing (the SMTP smuggling class of bugs).
//! * Sessions: EHLO with HELO fallback, STARTTLS (Required by default;
//!   bytes pipelined ahead of the handshake are refused), AUTH PLAIN, LOGIN
//!   and XOAUTH2 (never in the clear unless allowed), SIZE, 8BITMIME,
//!   SMTPUTF8, PIPELINING.
//! * Persistent: many mails per connection; a transaction left open is
//!   reset with RSET before reuse, a connection left inside DATA or told
//!   `421` is closed, an idle one answers NOOP with exactly `250` first,
//!   and QUIT is sent when the pool closes a clean connection.
//! * Exactly once: a mail is retried once on a fresh connection only if a
//!   stale pooled connection failed before the mail was complete; once the
//!   final `.` (or the `LAST` BDAT chunk) is sent and no reply comes, the
//!   error is [`Error::DeliveryUnknown`] and the mail is not sent again.
//! * Never a wrong reply: an exchange that fails so that replies can no
//!   longer be matched (a timeout mid-reply, a pipelined batch read
//!   halfway, a malformed reply) breaks its session; any further use of it
//!   ([`SmtpClient::send_on`]) is [`Error::Broken`], before a byte is sent.
//! * Messages through `mail-builder`'s own API ([`MessageBuilder`]):
//!   text and HTML alternatives, attachments from bytes, files or readers,
//!   inline images referenced by `cid:`, Reply-To/Cc/Bcc (Bcc only in the
//!   envelope), custom headers; every name and value checked for CR/LF.
//! * DSN (RFC 3461, [`Dsn`]), CHUNKING/BDAT with BINARYMIME (RFC 3030),
//!   LMTP (RFC 2033, `lmtp://host`, or over a Unix socket
//!   `lmtp+unix:///path/to/sock`, one result per recipient), local
//!   submission through the system's sendmail ([`Sendmail`]).
//! * Feature `dkim` (off by default): DKIM signing with `mail-auth`,
//!   RSA-SHA256 or Ed25519-SHA256, relaxed/relaxed (`DkimSigner`,
//!   `Builder::dkim`). Off by default because mail-auth 0.13 builds its DNS
//!   resolver (and tokio) in any case; smtp-client never runs either.
//! * Events through `tracing` (sessions opened, reset, probed, broken,
//!   closed; mails accepted; delivery unknown).
//!
//! Building a message needs no server (this example runs as a doctest):
//!
//! ```
//! use pconn_smtp::{Attachment, Dsn, Message, Notify};
//!
//! let mail = Message::builder()
//!     .from_named(Some("Reports"), "reports@example.com")
//!     .to("team@example.com")
//!     .bcc("archive@example.com")
//!     .subject("Monthly report")
//!     .text_body("The report is attached.\n")
//!     .html_body("<p>The report is attached. <img src=\"cid:chart\"></p>")
//!     .inline("chart", "image/png", &b"\x89PNG..."[..])
//!     .attach(Attachment::from_bytes("report.csv", "text/csv", "month,total\n11,42\n"))
//!     .dsn(Dsn::new().notify(Notify::FAILURE_DELAY))
//!     .build()?;
//! let text = String::from_utf8_lossy(mail.content());
//! assert!(text.contains("multipart/related") && text.contains("filename=\"report.csv\""));
//! assert!(!text.contains("archive@example.com")); // Bcc: envelope only
//! assert_eq!(mail.envelope().to().len(), 2);
//!
//! // A name that would inject a header is refused before anything is sent.
//! let bad = Message::builder()
//!     .from("a@example.com")
//!     .to("b@example.com")
//!     .attach(Attachment::from_bytes("x\r\nBcc: victim@example.com", "text/plain", "x"))
//!     .build();
//! assert!(matches!(bad, Err(pconn_smtp::Error::InvalidInput(_))));
//! # Ok::<(), pconn_smtp::Error>(())
//! ```
//!
//! Sending over a pooled session:
//!
//! ```no_run
//! use pconn_smtp::{Credentials, Message, SmtpClient};
//! use transport::TlsConfig;
//!
//! let client = SmtpClient::from_url("smtp://127.0.0.1:2525")?
//!     .tls_config(TlsConfig::builder().add_ca_file(".servers/certs/ca.pem").build()?)
//!     .credentials(Credentials::password("pconn", "pconn-secret"))
//!     .build()?;
//! for i in 0..3 {
//!     let mail = Message::builder()
//!         .from("sender@example.com")
//!         .to("rcpt@example.com")
//!         .subject(&format!("hello {i}"))
//!         .text_body("one session, three mails\n")
//!         .build()?;
//!     let sent = client.send(&mail)?;
//!     println!("{} (queue id {:?})", sent.reply, sent.queue_id());
//! }
//! assert_eq!(client.stats().opened, 1);
//! # Ok::<(), pconn_smtp::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// Layers, each importing only those above it: `proto` (pure) -> `settings`,
// `session` (the state and the reuse decision) -> `driver` (bytes on a
// Conn) -> `handshake`, `transaction` -> `client` -> `builder`.
pub mod proto;

#[cfg(feature = "dkim")]
mod dkim;
mod error;
mod message;
mod sendmail;
mod settings;

mod session;

mod content;
mod driver;
mod handshake;
mod transaction;

mod client;

mod builder;

pub use builder::Builder;
pub use client::SmtpClient;
#[cfg(feature = "dkim")]
pub use dkim::{DkimSigner, DEFAULT_SIGNED_HEADERS};
pub use error::{BrokenCause, Error, Refused, Result};
pub use message::{Attachment, Envelope, Message, MessageBuilder};
pub use proto::address::{Address, EhloName};
pub use proto::dsn::{Dsn, Notify, Ret};
pub use proto::reply::{EnhancedCode, Reply};
pub use sendmail::{Sendmail, DEFAULT_SENDMAIL};
pub use session::Session;
pub use settings::{Credentials, StartTls};
pub use transaction::Sent;
