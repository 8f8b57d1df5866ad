//! Redis Cluster: a client that routes every command to the node serving
//! its keys' hash slot, on the same pooled transport as [`crate::Client`].
//!
//! * [`slot`]: CRC16 and hash tags (pure).
//! * [`keys`]: which arguments of a command are keys (pure).
//! * [`topology`]: the slot map from `CLUSTER SHARDS` / `CLUSTER SLOTS` (pure).
//! * [`ClusterBuilder`], [`ClusterClient`]: settings, node clients, the
//!   redirect (`MOVED`, `ASK`) and retry (`TRYAGAIN`, `CLUSTERDOWN`,
//!   `LOADING`) rules.
//! * [`ClusterConnection`]: node connections held for a run of commands.
//! * [`ClusterPipeline`]: pipelines split per node and put back in order
//!   (the split kept while the slot map stays: `plan`); transactions
//!   pinned to one slot's master.
//! * [`ClusterScan`] and the fan-out commands: `SCAN` over every master in
//!   turn, `PING`, `DBSIZE`, `KEYS`, `FLUSHALL` on all masters.
//! * [`ShardedSubscriber`]: `SSUBSCRIBE` by slot, following slot moves.
//!
//! Layers read one way: `slot`, `keys`, `topology` (pure) <- `client`
//! (routing, redirects) <- `refresh`, `pipeline`, `fanout`, `pubsub`.

mod client;
mod config;
mod connection;
mod error;
mod fanout;
pub mod keys;
mod pipeline;
mod plan;
mod pubsub;
mod refresh;
pub mod slot;
pub mod topology;

pub use client::ClusterClient;
pub use config::ClusterBuilder;
pub use connection::ClusterConnection;
pub use error::ClusterError;
pub use fanout::ClusterScan;
pub use pipeline::ClusterPipeline;
pub use pubsub::ShardedSubscriber;
