//! The client: settings plus a pool (own, shared, or process-wide).

use std::sync::Arc;

use transport::{registry, ConnectOptions, Endpoint, Pool, PoolKey, SecretHash, Stats, TlsConfig};

use crate::config::ClientBuilder;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::origin::Origin;
use crate::proto::Protocol;
use crate::session::{Session, SessionConfig};

/// A Redis client: connection settings and the pool its connections live
/// in. Cheap to clone; clones share the pool.
#[derive(Clone, Debug)]
pub struct Client {
    origin: Arc<Origin>,
}

impl Client {
    /// A client for `url` with its own pool (see [`ClientBuilder`] for the URL form).
    pub fn open(url: &str) -> Result<Client> {
        ClientBuilder::new().url(url)?.build()
    }

    /// A builder with defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Borrows a connection: an idle one that passes the liveness probe, or
    /// a new one after the handshake. Dropping it returns it to the pool,
    /// reset to the state of a fresh connection, or closes it.
    pub fn get(&self) -> Result<Connection> {
        Ok(Connection::new(
            self.origin.checkout()?,
            Arc::clone(&self.origin),
        ))
    }

    /// Counters of this client's identity in the pool.
    pub fn stats(&self) -> Stats {
        self.origin.keys.stats()
    }

    /// The pool (shared with every client built on it).
    pub fn pool(&self) -> Pool<Session> {
        self.origin.keys.pool()
    }

    /// The pool key (identity) of this client's connections.
    pub fn key(&self) -> &PoolKey {
        self.origin.keys.key()
    }
}

impl ClientBuilder {
    /// Checks the settings and builds the client. Nothing is connected yet.
    pub fn build(self) -> Result<Client> {
        self.validate()?;
        let tls = if self.tls {
            Some(match (&self.tls_config, &self.ca_file) {
                (Some(cfg), _) => cfg.clone(),
                (None, Some(ca)) => TlsConfig::builder().add_ca_file(ca).build()?,
                (None, None) => TlsConfig::system()?,
            })
        } else {
            None
        };
        let mut endpoint = match &self.unix_path {
            Some(path) => Endpoint::unix(path),
            None => Endpoint::new(&self.host, self.port),
        }
        .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let h = &self.handshake;
        if let Some(tls) = tls {
            endpoint = endpoint.with_tls(tls);
        }
        let mut key = PoolKey::for_endpoint("redis", &endpoint, &*self.connector)
            .database(h.db.to_string())
            .protocol_version(match h.protocol {
                Protocol::Resp2 => 2,
                Protocol::Resp3 => 3,
            });
        if let Some(pw) = &h.password {
            key = key.credentials(SecretHash::of([
                h.user.as_deref().unwrap_or("default"),
                pw.as_str(),
            ]));
        }
        if let Some(id) = &self.persistent_id {
            key = key.persistent_id(id.clone());
        }
        // The client name is part of what a fresh connection is.
        if let Some(name) = &h.client_name {
            key = key.client_name(name.clone());
        }
        // READONLY (cluster replica reads) is part of what a fresh connection is.
        key = key.read_only(self.readonly);
        let pool = match (self.pool, &self.persistent_id) {
            (Some(pool), _) => pool,
            (None, Some(id)) => {
                let cfg = self.pool_config.clone();
                registry::pool(id, || Pool::new(cfg))?
            }
            (None, None) => Pool::new(self.pool_config.clone())?,
        };
        let opts = ConnectOptions {
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            write_timeout: self.write_timeout,
            ..ConnectOptions::default()
        };
        Ok(Client {
            origin: Arc::new(Origin {
                endpoint,
                connector: self.connector,
                opts,
                session: Arc::new(SessionConfig {
                    handshake: self.handshake,
                    limits: self.limits,
                    idle_check: self.idle_check,
                    readonly: self.readonly,
                }),
                keys: pool.key_pool(&key),
                max_watch_attempts: self.max_watch_attempts,
            }),
        })
    }
}
