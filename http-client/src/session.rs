//! The HTTP session kept next to each pooled connection, and the release
//! rule: a connection is reused only between complete exchanges.

use std::sync::Arc;
use std::time::{Duration, Instant};

use transport::{BoxError, Conn, Recycle, Reuse};

use crate::driver::read_body;
use crate::proto::call::ConnState as State;
use crate::tls_info::TlsInfo;

/// The HTTP/1.1 state of one pooled connection ([`transport::Recycle`]).
///
/// Dropping a response with its body unread leaves the session in the
/// body state: the release path then drains the rest (up to a byte limit
/// and a time limit) and parks the connection, or closes it.
#[derive(Debug)]
pub struct Session {
    pub(crate) state: State,
    /// The TLS version and certificate of this connection, read when it
    /// opened (`None` without TLS).
    pub(crate) tls: Option<Arc<TlsInfo>>,
    drain_limit: u64,
    drain_time: Duration,
}

impl Session {
    /// The session of `conn`, a connection just opened.
    pub(crate) fn new(conn: &Conn, drain_limit: u64, drain_time: Duration) -> Session {
        Session {
            state: State::Idle,
            tls: TlsInfo::of(conn).map(Arc::new),
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
