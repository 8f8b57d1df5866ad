//! Error replies: the code, the message, and the typed kind of the code.

use std::fmt;

/// An error reply: the code (first word, e.g. `ERR`, `WRONGTYPE`, `MOVED`)
/// and the rest of the message. A normal reply: it never closes the connection.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerError(
    // Boxed: errors are rare, and a pipeline result (`Result<Value,
    // ServerError>`) then stays the size of a `Value`.
    Box<ErrorText>,
);

#[derive(Clone, PartialEq, Eq)]
struct ErrorText {
    code: String,
    message: String,
}

impl fmt::Debug for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerError")
            .field("code", &self.0.code)
            .field("message", &self.0.message)
            .finish()
    }
}

/// What kind of error the server reported, from its code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// `ERR`: a generic error.
    Generic,
    /// `WRONGTYPE`: the key holds another type.
    WrongType,
    /// `NOAUTH`: authentication required.
    NoAuth,
    /// `WRONGPASS`: bad user or password.
    WrongPass,
    /// `NOPERM`: the ACL user lacks the right.
    NoPerm,
    /// `MOVED slot host:port`: cluster redirect.
    Moved {
        /// The hash slot.
        slot: u16,
        /// Where it lives now.
        addr: String,
    },
    /// `ASK slot host:port`: one-time cluster redirect.
    Ask {
        /// The hash slot.
        slot: u16,
        /// Where to ask.
        addr: String,
    },
    /// `NOSCRIPT`: EVALSHA of an unknown script.
    NoScript,
    /// `EXECABORT`: the transaction was discarded because of queuing errors.
    ExecAbort,
    /// `BUSY`: a script is running.
    Busy,
    /// `LOADING`: the server is loading its dataset.
    Loading,
    /// `READONLY`: a write against a replica.
    ReadOnly,
    /// `NOPROTO`: unsupported protocol version in HELLO.
    NoProto,
    /// `ERR max number of clients reached`: the server's `maxclients` limit;
    /// it closes the connection after saying so. A fleet of processes whose
    /// pools together may open more than the server's limit gets this.
    MaxClients,
    /// Any other code.
    Other,
}

impl ServerError {
    /// Splits `CODE message` as Redis sends it.
    pub fn parse(line: &str) -> ServerError {
        let (code, message) = line.split_once(' ').unwrap_or((line, ""));
        ServerError(Box::new(ErrorText {
            code: code.to_string(),
            message: message.to_string(),
        }))
    }

    /// The error code (first word).
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// The message after the code.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The typed kind of the code.
    pub fn kind(&self) -> ServerErrorKind {
        let redirect = || {
            let mut parts = self.0.message.split_whitespace();
            let slot = parts.next()?.parse().ok()?;
            let addr = parts.next()?.to_string();
            Some((slot, addr))
        };
        match self.0.code.as_str() {
            "ERR" if self.0.message.starts_with("max number of clients reached") => {
                ServerErrorKind::MaxClients
            }
            "ERR" => ServerErrorKind::Generic,
            "WRONGTYPE" => ServerErrorKind::WrongType,
            "NOAUTH" => ServerErrorKind::NoAuth,
            "WRONGPASS" => ServerErrorKind::WrongPass,
            "NOPERM" => ServerErrorKind::NoPerm,
            "NOSCRIPT" => ServerErrorKind::NoScript,
            "EXECABORT" => ServerErrorKind::ExecAbort,
            "BUSY" => ServerErrorKind::Busy,
            "LOADING" => ServerErrorKind::Loading,
            "READONLY" => ServerErrorKind::ReadOnly,
            "NOPROTO" => ServerErrorKind::NoProto,
            "MOVED" => redirect().map_or(ServerErrorKind::Other, |(slot, addr)| {
                ServerErrorKind::Moved { slot, addr }
            }),
            "ASK" => redirect().map_or(ServerErrorKind::Other, |(slot, addr)| {
                ServerErrorKind::Ask { slot, addr }
            }),
            _ => ServerErrorKind::Other,
        }
    }

    /// True for "unknown command" errors (servers without HELLO).
    pub fn is_unknown_command(&self) -> bool {
        self.0.code == "ERR" && self.0.message.starts_with("unknown command")
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.message.is_empty() {
            f.write_str(&self.0.code)
        } else {
            write!(f, "{} {}", self.0.code, self.0.message)
        }
    }
}

impl std::error::Error for ServerError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_kinds() {
        let e = ServerError::parse("MOVED 3999 127.0.0.1:6381");
        assert_eq!(
            e.kind(),
            ServerErrorKind::Moved {
                slot: 3999,
                addr: "127.0.0.1:6381".into()
            }
        );
        assert_eq!(
            ServerError::parse("WRONGTYPE x").kind(),
            ServerErrorKind::WrongType
        );
        assert_eq!(
            ServerError::parse("ASK 1 h:1").kind(),
            ServerErrorKind::Ask {
                slot: 1,
                addr: "h:1".into()
            }
        );
        assert!(ServerError::parse("ERR unknown command 'HELLO'").is_unknown_command());
        assert_eq!(ServerError::parse("NOSCRIPT x").to_string(), "NOSCRIPT x");
        assert_eq!(
            ServerError::parse("ERR max number of clients reached").kind(),
            ServerErrorKind::MaxClients
        );
        assert_eq!(
            ServerError::parse("ERR other").kind(),
            ServerErrorKind::Generic
        );
    }
}
