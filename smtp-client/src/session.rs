//! The state a pooled connection carries from one mail to the next, and
//! the reuse decision made from it. No I/O here: the driver moves the bytes.

use std::time::Duration;

use transport::{Conn, Reuse};

use crate::error::{BrokenCause, Error, Result};
use crate::proto::ehlo::Extensions;
use crate::proto::reply::Reply;
use crate::proto::state::Stage;
use crate::settings::Settings;

/// The SMTP state kept with each pooled connection.
#[derive(Debug)]
pub struct Session {
    pub(crate) stage: Stage,
    pub(crate) ext: Extensions,
    noop_after: Option<Duration>,
    broken: Option<BrokenCause>,
    pub(crate) lmtp: bool,
    pub(crate) chunk_size: usize,
}

impl Session {
    /// A session about to be greeted.
    pub(crate) fn new(settings: &Settings) -> Session {
        Session {
            stage: Stage::Ready,
            ext: Extensions::default(),
            noop_after: settings.noop_after,
            broken: None,
            lmtp: settings.lmtp,
            chunk_size: settings.chunk_size,
        }
    }

    /// True when mail goes with BDAT: the server offers CHUNKING and the
    /// client did not turn it off.
    pub(crate) fn uses_bdat(&self) -> bool {
        self.ext.chunking && self.chunk_size > 0
    }

    /// What the pool must do with this session's connection.
    pub(crate) fn reuse(&self) -> Reuse {
        match self.broken {
            Some(_) => Reuse::MustClose,
            None => self.stage.reuse(),
        }
    }

    /// True when a connection idle for `idle_for` must answer NOOP first.
    pub(crate) fn needs_noop(&self, idle_for: Duration) -> bool {
        self.noop_after.is_some_and(|after| idle_for >= after)
    }

    /// What the server offered in its (last) EHLO reply.
    pub fn extensions(&self) -> &Extensions {
        &self.ext
    }

    /// The transaction stage.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// Why the session refuses further use, once it does.
    pub fn broken(&self) -> Option<BrokenCause> {
        self.broken
    }

    /// Notes what a reply means for the connection: 421 at any point means
    /// the server is closing it.
    pub(crate) fn observe(&mut self, reply: &Reply) {
        if reply.is_closing() {
            self.break_with(BrokenCause::ServerClosing);
        }
    }

    /// The session can serve nothing more (the first cause is kept).
    pub(crate) fn break_with(&mut self, cause: BrokenCause) {
        if self.broken.is_none() && cause == BrokenCause::ServerClosing {
            tracing::debug!("SMTP server said 421: the session will be closed");
        }
        self.stage = Stage::Closed;
        self.broken.get_or_insert(cause);
    }

    /// `Err(Broken)` once the session or its connection refuses further use.
    pub(crate) fn check_usable(&mut self, conn: &Conn) -> Result<()> {
        if let Some(cause) = conn.broken_cause() {
            self.break_with(cause.into());
        }
        match self.broken {
            Some(cause) => Err(Error::Broken { cause }),
            None => Ok(()),
        }
    }
}
