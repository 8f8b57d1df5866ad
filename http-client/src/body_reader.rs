//! The raw body of a response: read from the connection as it is
//! consumed, holding the pooled connection until the body ends.

use std::fmt;
use std::io::{self, Read};

use transport::{BrokenCause, Pooled, Status};

use crate::driver::read_body;
use crate::error::{Error, ProtocolError, Result};
use crate::headers::Headers;
use crate::proto::call::ConnState as State;
use crate::session::Session;

/// The raw body of a [`Response`](crate::Response), read from the connection as it is
/// consumed. It holds the pooled connection until the body ends.
pub struct BodyReader {
    source: Source,
    // Boxed: trailers are rare, and the reader moves with every response.
    trailers: Option<Box<Headers>>,
}

/// Where the rest of a body comes from.
enum Source {
    /// The connection, held until the body ends.
    Conn(Pooled<Session>),
    /// A body that arrived whole with the head, its connection already
    /// back in the pool; `at` bytes of it have been read.
    Buffered { bytes: Vec<u8>, at: usize },
    /// Read to its end.
    Done,
    /// Abandoned halfway by an error; the connection was closed. Every
    /// later read fails with [`transport::Error::Broken`] and this cause:
    /// no later byte of this exchange reaches anyone. The peer's protocol
    /// error, when that was the failure, is kept for a decoder that wrapped
    /// it (see [`BodyReader::failure`]).
    Failed(BrokenCause, Option<ProtocolError>),
}

impl fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader")
            .field("done", &self.is_done())
            .finish()
    }
}

impl BodyReader {
    /// A body still to be read from the connection (its session is in the body state).
    pub(crate) fn streaming(guard: Pooled<Session>) -> BodyReader {
        BodyReader {
            source: Source::Conn(guard),
            trailers: None,
        }
    }

    /// A body already read whole (possibly empty).
    pub(crate) fn buffered(bytes: Vec<u8>) -> BodyReader {
        let source = if bytes.is_empty() {
            Source::Done
        } else {
            Source::Buffered { bytes, at: 0 }
        };
        BodyReader {
            source,
            trailers: None,
        }
    }

    /// The whole body when it was buffered and none of it has been read yet.
    pub(crate) fn take_unread(&mut self) -> Option<Vec<u8>> {
        match std::mem::replace(&mut self.source, Source::Done) {
            Source::Buffered { bytes, at: 0 } => Some(bytes),
            Source::Done => Some(Vec::new()),
            other => {
                self.source = other;
                None
            }
        }
    }

    /// The trailer fields of a chunked body, once it has been read to its end.
    pub fn trailers(&self) -> Option<&Headers> {
        self.trailers.as_deref()
    }

    /// The body bytes still to come, when the framing says (Content-Length).
    pub(crate) fn known_remaining(&self) -> Option<u64> {
        match &self.source {
            Source::Conn(guard) => match &guard.session_ref().state {
                State::Body { decoder, .. } => decoder.known_remaining(),
                _ => None,
            },
            Source::Buffered { bytes, at } => Some((bytes.len() - at) as u64),
            Source::Done => Some(0),
            Source::Failed(..) => None,
        }
    }

    /// True once the body has been read to its end, or failed.
    pub fn is_done(&self) -> bool {
        matches!(self.source, Source::Done | Source::Failed(..))
    }

    /// Why the body failed halfway, if it did.
    pub fn broken_cause(&self) -> Option<BrokenCause> {
        match self.source {
            Source::Failed(cause, _) => Some(cause),
            _ => None,
        }
    }

    /// The error that failed the body halfway, if it did: the peer's
    /// protocol error, or the broken exchange. A decoder in front may have
    /// wrapped the error it read in its own; this is the original.
    pub(crate) fn failure(&self) -> Option<Error> {
        match &self.source {
            Source::Failed(_, Some(protocol)) => Some(Error::Protocol(protocol.clone())),
            Source::Failed(cause, None) => {
                Some(Error::Transport(transport::Error::Broken { cause: *cause }))
            }
            _ => None,
        }
    }

    pub(crate) fn read_inner(&mut self, out: &mut [u8]) -> Result<usize> {
        let guard = match &mut self.source {
            Source::Conn(guard) => guard,
            Source::Buffered { bytes, at } => {
                let rest = &bytes[*at..];
                let n = rest.len().min(out.len());
                out[..n].copy_from_slice(&rest[..n]);
                *at += n;
                if *at == bytes.len() {
                    self.source = Source::Done;
                }
                return Ok(n);
            }
            Source::Done => return Ok(0),
            Source::Failed(cause, _) => {
                return Err(Error::Transport(transport::Error::Broken { cause: *cause }))
            }
        };
        let (conn, session) = guard.parts();
        let State::Body {
            decoder,
            keep_alive,
        } = &mut session.state
        else {
            return Ok(0);
        };
        match read_body(conn, decoder, out) {
            Ok(n) => {
                if n == 0 || decoder.known_remaining() == Some(0) {
                    // The end: release the connection now, not when the
                    // response is dropped.
                    self.trailers = decoder.take_trailers_boxed();
                    session.state = State::after_body(*keep_alive);
                    conn.end_exchange();
                    self.source = Source::Done;
                }
                Ok(n)
            }
            Err(e) => {
                // The exchange is abandoned halfway: the connection closes
                // on release, and this body refuses every later read.
                let cause = conn.broken_cause().unwrap_or(BrokenCause::Abandoned);
                tracing::debug!(%cause, error = %e, "response body failed halfway; its connection is closed");
                guard.mark(Status::ABORTED);
                let protocol = match &e {
                    Error::Protocol(p) => Some(p.clone()),
                    _ => None,
                };
                self.source = Source::Failed(cause, protocol);
                Err(e)
            }
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Wrapped whole, so `bytes()` and callers can get our error back.
        self.read_inner(out).map_err(io::Error::other)
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        if let Source::Conn(guard) = &mut self.source {
            // The session is in its body state: the release path drains the
            // rest within its limits, or closes the connection.
            guard.conn().end_exchange();
        }
    }
}
