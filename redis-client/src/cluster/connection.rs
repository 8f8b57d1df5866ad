//! Node connections held for a run of commands.

use super::client::{ClusterClient, Held};
use crate::cmd::Cmd;
use crate::error::Result;
use crate::from_value::FromValue;
use crate::value::Value;

impl ClusterClient {
    /// Borrows connections for a run of commands: each node's connection
    /// is checked out on first use and kept until the [`ClusterConnection`]
    /// is dropped (as [`Client::get`] does for one server; named apart so
    /// that [`Commands::get`](crate::Commands::get) stays usable here).
    pub fn connection(&self) -> ClusterConnection {
        ClusterConnection {
            client: self.clone(),
            held: Vec::new(),
        }
    }
}

/// Connections to the cluster's nodes held for a run of commands (see
/// [`ClusterClient::connection`]): the same routing and redirect rules as
/// [`ClusterClient::query_value`], without a pool checkout per command.
/// Dropping it returns every connection to the pool.
#[derive(Debug)]
pub struct ClusterConnection {
    pub(super) client: ClusterClient,
    pub(super) held: Held,
}

impl ClusterConnection {
    /// Sends a command to the node serving its keys and converts the reply.
    pub fn query<T: FromValue>(&mut self, c: &Cmd) -> Result<T> {
        T::from_value(self.query_value(c)?)
    }

    /// Sends a command to the node serving its keys; the raw reply.
    pub fn query_value(&mut self, c: &Cmd) -> Result<Value> {
        self.client.run(c, Some(&mut self.held))
    }
}

impl crate::commands::Commands for ClusterConnection {
    fn query<T: FromValue>(&mut self, c: &Cmd) -> Result<T> {
        ClusterConnection::query(self, c)
    }
}
