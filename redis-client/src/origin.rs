//! Where a client's connections come from and go back to: the endpoint,
//! the connector, the session settings and the pool key. Shared by the
//! client and every connection it lends.

use std::sync::Arc;

use transport::{ConnectOptions, Connector, Endpoint, KeyPool, Pooled};

use crate::error::Result;
use crate::handshake::handshake;
use crate::session::{Session, SessionConfig};

/// A client's identity and pool.
pub(crate) struct Origin {
    pub(crate) endpoint: Endpoint,
    pub(crate) connector: Arc<dyn Connector>,
    pub(crate) opts: ConnectOptions,
    pub(crate) session: Arc<SessionConfig>,
    pub(crate) keys: KeyPool<Session>,
    pub(crate) max_watch_attempts: usize,
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("key", self.keys.key())
            .field("handshake", &self.session.handshake)
            .finish()
    }
}

impl Origin {
    fn open(&self) -> Result<(transport::Conn, Session)> {
        let mut conn = transport::open(&self.endpoint, &*self.connector, &self.opts)?;
        let session = handshake(&mut conn, Arc::clone(&self.session))?;
        Ok((conn, session))
    }

    pub(crate) fn checkout(&self) -> Result<Pooled<Session>> {
        self.keys.checkout(|| self.open())
    }

    pub(crate) fn read_timeout(&self) -> Option<std::time::Duration> {
        self.opts.read_timeout
    }

    pub(crate) fn checkout_fresh(&self) -> Result<Pooled<Session>> {
        self.keys.checkout_fresh(|| self.open())
    }
}
