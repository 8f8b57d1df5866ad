//! What can go wrong routing through a cluster or following Sentinels:
//! the kinds nested in [`crate::Error::Cluster`].

use crate::server_error::ServerError;

/// A Redis Cluster or Sentinel failure, nested in [`crate::Error::Cluster`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A cluster URL or builder without any seed node.
    #[error("no seed nodes given")]
    NoSeeds,
    /// The keys of one command (or of one transaction) hash to different
    /// slots; nothing was sent.
    #[error("keys in different slots: {}", list(.keys))]
    CrossSlot {
        /// Each key (lossy UTF-8) with its slot, in command order.
        keys: Vec<(String, u16)>,
    },
    /// `MOVED`/`ASK` redirects did not settle within the bound.
    #[error("too many redirects ({attempts}); last: {last}")]
    TooManyRedirects {
        /// Attempts made.
        attempts: usize,
        /// The last redirect.
        last: ServerError,
    },
    /// `TRYAGAIN`, `CLUSTERDOWN`, `LOADING` (or a node that could not be
    /// reached) through every retry.
    #[error("cluster unavailable after {attempts} attempts; last: {last}")]
    Unavailable {
        /// Attempts made.
        attempts: usize,
        /// What the last attempt saw.
        last: String,
    },
    /// No node could tell the cluster's shape.
    #[error("no topology from any node: {detail}")]
    NoTopology {
        /// Each node asked and what went wrong.
        detail: String,
    },
    /// A topology reply that makes no sense.
    #[error("bad topology reply from {node}: {reason}")]
    BadTopology {
        /// The node that sent it.
        node: String,
        /// What was wrong.
        reason: String,
    },
    /// A Sentinel URL or builder without a master name.
    #[error("no master name given")]
    NoMasterName,
    /// No Sentinel knew a master by that name, or none could be reached.
    #[error("no Sentinel knows master {name:?}: {detail}")]
    MasterNotFound {
        /// The master name.
        name: String,
        /// Each Sentinel asked and what it said.
        detail: String,
    },
    /// The node a Sentinel named is not a master (its `ROLE` says otherwise).
    #[error("{addr} is not a master (ROLE says {role})")]
    NotMaster {
        /// The node.
        addr: String,
        /// Its role.
        role: String,
    },
}

fn list(keys: &[(String, u16)]) -> String {
    keys.iter()
        .map(|(k, s)| format!("{k:?} (slot {s})"))
        .collect::<Vec<_>>()
        .join(", ")
}
