//! The HTTP session kept next to each pooled connection, and the release
//! rule: a connection is reused only between complete exchanges.

use std::time::{Duration, Instant};

use transport::{BoxError, Conn, Recycle, Reuse};

use crate::error::{Error, Result};
use crate::proto::{BodyDecoder, Poll};

/// Where a connection stands between the client and the pool.
#[derive(Debug)]
pub(crate) enum State {
    /// Between exchanges: as good as a fresh connection.
    Idle,
    /// A response body is (partly) unread. `keep_alive` says whether the
    /// connection may serve another request once it is read to its end.
    Body {
        decoder: BodyDecoder,
        keep_alive: bool,
    },
    /// Either side said close, or the framing was not trustworthy.
    Close,
}

/// The HTTP/1.1 state of one pooled connection ([`transport::Recycle`]).
///
/// Dropping a response with its body unread leaves the session in the
/// body state: the release path then drains the rest (up to a byte limit
/// and a time limit) and parks the connection, or closes it.
#[derive(Debug)]
pub struct Session {
    pub(crate) state: State,
    drain_limit: u64,
    drain_time: Duration,
}

impl Session {
    pub(crate) fn new(drain_limit: u64, drain_time: Duration) -> Session {
        Session {
            state: State::Idle,
            drain_limit,
            drain_time,
        }
    }

    /// True between exchanges.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }
}

impl Recycle for Session {
    fn reuse(&self) -> Reuse {
        match &self.state {
            State::Idle => Reuse::Clean,
            State::Body {
                keep_alive: true, ..
            } => Reuse::NeedsReset,
            State::Body {
                keep_alive: false, ..
            }
            | State::Close => Reuse::MustClose,
        }
    }

    /// Drains the unread rest of a response body, bounded in bytes and time:
    /// cheaper than a new connection for a small rest, never a long stall.
    fn reset(&mut self, conn: &mut Conn, deadline: Instant) -> Result<(), BoxError> {
        let State::Body { decoder, .. } = &mut self.state else {
            return Err("no body to drain".into());
        };
        let limit = self.drain_limit;
        if decoder.known_remaining().is_some_and(|left| left > limit) {
            return Err(format!("unread body larger than the drain limit of {limit} bytes").into());
        }
        conn.set_deadline(Some(deadline.min(Instant::now() + self.drain_time)));
        let start = decoder.delivered();
        let mut scratch = [0u8; 8192];
        loop {
            let n = read_body(conn, decoder, &mut scratch)?;
            if n == 0 {
                break;
            }
            if decoder.delivered() - start > limit {
                return Err(
                    format!("unread body larger than the drain limit of {limit} bytes").into(),
                );
            }
        }
        tracing::trace!(drained = decoder.delivered() - start, "drained unread body");
        self.state = State::Idle;
        Ok(())
    }
}

/// Reads the next body bytes into `out`; `Ok(0)` once the body is complete.
/// Large reads of known-length data go straight from the socket to `out`.
/// A framing error marks the connection broken.
pub(crate) fn read_body(
    conn: &mut Conn,
    decoder: &mut BodyDecoder,
    out: &mut [u8],
) -> Result<usize> {
    if out.is_empty() {
        return Ok(0);
    }
    loop {
        let poll = match decoder.poll(conn.read_buf()) {
            Ok(p) => p,
            Err(e) => {
                conn.mark_broken();
                return Err(e.into());
            }
        };
        match poll {
            Poll::Data { skip, len } => {
                let k = len.min(out.len());
                out[..k].copy_from_slice(&conn.read_buf()[skip..skip + k]);
                conn.consume(skip + k);
                decoder.taken(k);
                return Ok(k);
            }
            Poll::Done { skip } => {
                conn.consume(skip);
                return Ok(0);
            }
            Poll::NeedMore { skip } => {
                conn.consume(skip);
                if conn.read_buf().is_empty() {
                    if let Some(limit) = decoder.direct_limit() {
                        let want = out.len().min(usize::try_from(limit).unwrap_or(usize::MAX));
                        let n = conn.read_into(&mut out[..want])?;
                        if n == 0 {
                            eof(conn, decoder)?;
                            continue;
                        }
                        decoder.taken(n);
                        return Ok(n);
                    }
                }
                if conn.fill()? == 0 {
                    eof(conn, decoder)?;
                }
            }
        }
    }
}

fn eof(conn: &mut Conn, decoder: &mut BodyDecoder) -> Result<()> {
    decoder.eof().map_err(|e| {
        conn.mark_broken();
        Error::from(e)
    })
}
