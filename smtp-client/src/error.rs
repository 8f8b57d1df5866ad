//! The crate's one error type.

use crate::proto::address::InvalidAddress;
use crate::proto::reply::{EnhancedCode, Reply, ReplyError};

/// A recipient the server refused, with its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The recipient.
    pub recipient: crate::Address,
    /// What the server answered to `RCPT TO`.
    pub reply: Reply,
}

/// Why a session refuses further use (see [`Error::Broken`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokenCause {
    /// A read or write timed out mid-exchange: a reply may still be on its way.
    Timeout,
    /// The connection failed or the server closed it.
    ConnectionLost,
    /// The server sent bytes that are not a valid reply (malformed, too long).
    Protocol,
    /// The server answered `421`: it is closing the session.
    ServerClosing,
    /// An exchange was abandoned halfway (its reply left unread).
    Abandoned,
}

impl std::fmt::Display for BrokenCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BrokenCause::Timeout => "a timeout mid-exchange",
            BrokenCause::ConnectionLost => "the connection failing",
            BrokenCause::Protocol => "a protocol error from the server",
            BrokenCause::ServerClosing => "the server closing the session (421)",
            BrokenCause::Abandoned => "an exchange abandoned halfway",
        })
    }
}

impl BrokenCause {
    /// What an exchange that failed with `err` leaves behind.
    pub(crate) fn of(err: &Error) -> BrokenCause {
        match err {
            Error::Transport(transport::Error::Broken { cause }) => BrokenCause::from(*cause),
            Error::Transport(e) if e.is_timeout() => BrokenCause::Timeout,
            Error::Transport(transport::Error::FrameTooLarge { .. }) | Error::Protocol(_) => {
                BrokenCause::Protocol
            }
            Error::Transport(_) => BrokenCause::ConnectionLost,
            Error::Broken { cause } => *cause,
            Error::DeliveryUnknown(inner) => BrokenCause::of(inner),
            _ => BrokenCause::Protocol,
        }
    }
}

impl From<transport::BrokenCause> for BrokenCause {
    fn from(cause: transport::BrokenCause) -> BrokenCause {
        use transport::BrokenCause as T;
        match cause {
            T::Timeout(_) => BrokenCause::Timeout,
            T::Io(_) | T::PeerClosed | T::Tls => BrokenCause::ConnectionLost,
            T::Protocol | T::FrameTooLarge | T::UnexpectedData => BrokenCause::Protocol,
            _ => BrokenCause::Abandoned,
        }
    }
}

/// Everything that can go wrong sending mail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection failed or timed out (see [`transport::Error`]).
    #[error(transparent)]
    Transport(#[from] transport::Error),
    /// The server broke the protocol (malformed or oversized reply, bytes
    /// pipelined ahead of the TLS handshake, ...). The connection was closed.
    #[error("SMTP protocol error: {0}")]
    Protocol(String),
    /// Caller input that must not reach the wire; raised before anything is sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Reading caller input failed (an attachment file, a key file).
    #[error("cannot read {what}: {source}")]
    ReadInput {
        /// What was being read (a path or a name).
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The sendmail program failed: it could not be run (`status: None`),
    /// exited non-zero, was killed, or stopped reading the message.
    #[error("sendmail failed (exit status {status:?}): {stderr}")]
    Sendmail {
        /// The exit status, `None` when killed by a signal.
        status: Option<i32>,
        /// What it wrote to standard error.
        stderr: String,
    },
    /// A DKIM key that does not parse, or signing that failed.
    #[error("DKIM: {0}")]
    Dkim(String),
    /// A setting that cannot work (bad URL, unknown option).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The server refused a command.
    #[error("server refused {command}: {code}{} {message}", .enhanced.map(|e| format!(" {e}")).unwrap_or_default())]
    Server {
        /// The command that was refused (`MAIL`, `DATA`, `AUTH`, ...).
        command: &'static str,
        /// The reply code.
        code: u16,
        /// The enhanced status code, if any.
        enhanced: Option<EnhancedCode>,
        /// The reply text.
        message: String,
    },
    /// Every recipient was refused; nothing was sent.
    #[error("all {} recipients refused (first: {})", .0.len(), .0.first().map(|r| r.reply.to_string()).unwrap_or_default())]
    RecipientsRefused(Vec<Refused>),
    /// The server lacks something this mail or the configuration requires
    /// (STARTTLS under the Required policy, SMTPUTF8, 8BITMIME, an AUTH
    /// mechanism). Nothing of the mail was sent.
    #[error("server does not support {0}")]
    Unsupported(String),
    /// The message is larger than the server's declared SIZE limit; refused before MAIL.
    #[error("message of {size} bytes exceeds the server's limit of {limit} bytes")]
    MessageTooLarge {
        /// The message's size on the wire.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// The session refuses further use: an earlier exchange on it failed in
    /// a way that leaves replies unmatched (a timeout mid-reply, a pipelined
    /// batch read halfway, a malformed reply) or the server closed it. Nothing
    /// was sent; the connection is closed when its guard is dropped. Never
    /// another command's reply.
    #[error("SMTP session unusable after {cause}; nothing was sent")]
    Broken {
        /// What broke it.
        cause: BrokenCause,
    },
    /// The whole message and its final `.` were sent, but no reply came: the
    /// server may or may not have accepted it. Never retried, so that a mail
    /// is not delivered twice.
    #[error("delivery state unknown: the final '.' was sent but got no reply ({0})")]
    DeliveryUnknown(#[source] Box<Error>),
}

impl Error {
    pub(crate) fn server(command: &'static str, reply: &Reply) -> Error {
        Error::Server {
            command,
            code: reply.code,
            enhanced: reply.enhanced,
            message: reply.message(),
        }
    }

    /// True for a transient condition worth trying again later (4xx, a lost
    /// or timed-out connection before the message was complete). Never true
    /// for [`Error::DeliveryUnknown`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Server { code, .. } => (400..500).contains(code),
            Error::Transport(e) => e.is_connection_lost() || e.is_timeout(),
            Error::RecipientsRefused(r) => r.iter().all(|r| r.reply.is_transient()),
            _ => false,
        }
    }

    /// True for [`Error::Broken`]: this session can serve nothing more.
    pub fn is_broken(&self) -> bool {
        matches!(self, Error::Broken { .. })
    }

    /// True for a timeout of any phase.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_timeout(),
            Error::DeliveryUnknown(e) => e.is_timeout(),
            _ => false,
        }
    }

    /// The server's reply code, for [`Error::Server`].
    pub fn code(&self) -> Option<u16> {
        match self {
            Error::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<ReplyError> for Error {
    fn from(e: ReplyError) -> Self {
        Error::Protocol(e.to_string())
    }
}

impl From<InvalidAddress> for Error {
    fn from(e: InvalidAddress) -> Self {
        Error::InvalidInput(e.0)
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_causes_from_errors_and_from_transport() {
        use transport::BrokenCause as T;
        let t = |c| Error::Transport(transport::Error::Broken { cause: c });
        assert_eq!(
            BrokenCause::of(&t(T::Timeout(transport::Phase::Read))),
            BrokenCause::Timeout
        );
        assert_eq!(
            BrokenCause::of(&t(T::PeerClosed)),
            BrokenCause::ConnectionLost
        );
        assert_eq!(BrokenCause::of(&t(T::FrameTooLarge)), BrokenCause::Protocol);
        assert_eq!(BrokenCause::of(&t(T::Abandoned)), BrokenCause::Abandoned);
        assert_eq!(
            BrokenCause::of(&Error::Protocol("x".into())),
            BrokenCause::Protocol
        );
        let unknown =
            Error::DeliveryUnknown(Box::new(Error::Transport(transport::Error::Closed {
                mid_frame: false,
            })));
        assert_eq!(BrokenCause::of(&unknown), BrokenCause::ConnectionLost);
        let broken = Error::Broken {
            cause: BrokenCause::ServerClosing,
        };
        assert!(broken.is_broken() && !broken.is_retryable());
        assert!(broken.to_string().contains("421"), "{broken}");
    }
}
