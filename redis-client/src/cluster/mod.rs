//! Redis Cluster: a client that routes every command to the node serving
//! its keys' hash slot, on the same pooled transport as [`crate::Client`].
//!
//! * [`slot`]: CRC16 and hash tags (pure).
//! * [`keys`]: which arguments of a command are keys (pure).
//! * [`topology`]: the slot map from `CLUSTER SHARDS` / `CLUSTER SLOTS` (pure).
//! * [`ClusterBuilder`], [`ClusterClient`]: settings, node clients, the
//!   redirect (`MOVED`, `ASK`) and retry (`TRYAGAIN`, `CLUSTERDOWN`,
//!   `LOADING`) rules.
//! * [`ClusterPipeline`]: pipelines split per node and put back in order.
//! * [`ClusterScan`]: `SCAN` over every master in turn.

mod client;
mod config;
mod error;
mod fanout;
pub mod keys;
mod pipeline;
mod plan;
mod pubsub;
mod refresh;
pub mod slot;
pub mod topology;

pub use client::{ClusterClient, ClusterConnection};
pub use config::ClusterBuilder;
pub use error::ClusterError;
pub use fanout::ClusterScan;
pub use pipeline::ClusterPipeline;
pub use pubsub::ShardedSubscriber;
