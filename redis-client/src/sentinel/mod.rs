//! Redis Sentinel: a client that finds the current master of a monitored
//! set through the Sentinels and follows it across failovers.
//!
//! * [`SentinelBuilder`]: the `redis+sentinel://` URL and settings, with
//!   the Sentinels' credentials kept apart from the data nodes'.
//! * [`SentinelClient`]: discovery, the `ROLE` check, rediscovery on
//!   connection errors, `-READONLY` and `+switch-master`.

mod client;
mod config;

pub use client::SentinelClient;
pub use config::SentinelBuilder;
