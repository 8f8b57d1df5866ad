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
        let key = self.keys.key();
        let mut conn = transport::open(&self.endpoint, &*self.connector, &self.opts)?;
        match handshake(&mut conn, Arc::clone(&self.session)) {
            Ok(session) => {
                tracing::debug!(
                    event = "connect",
                    %key,
                    protocol = ?session.protocol(),
                    has_reset = session.has_reset(),
                    "redis: connected and handshake done"
                );
                Ok((conn, session))
            }
            Err(e) => {
                tracing::debug!(event = "connect", %key, error = %e, "redis: handshake failed");
                Err(e)
            }
        }
    }

    pub(crate) fn checkout(&self) -> Result<Pooled<Session>> {
        let guard = self.keys.checkout(|| self.open())?;
        if guard.is_reused() {
            tracing::trace!(event = "reuse", key = %self.keys.key(), uses = guard.uses(), "redis: reusing a pooled connection");
        }
        Ok(guard)
    }

    pub(crate) fn read_timeout(&self) -> Option<std::time::Duration> {
        self.opts.read_timeout
    }

    pub(crate) fn checkout_fresh(&self) -> Result<Pooled<Session>> {
        self.keys.checkout_fresh(|| self.open())
    }
}
