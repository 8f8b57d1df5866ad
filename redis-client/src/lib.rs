//! A RESP2/RESP3 Redis client on the persistent `transport`, whose pooled
//! connections never leak one borrower's state to the next.
//!
//! What `phpredis->pconnect()` is to PHP, done right: connections outlive a
//! borrow and are found again by their full identity (host, port, TLS,
//! proxy, user and password, db, client name, persistent id), checked for
//! liveness before reuse, and **reset on release**: an open `MULTI`, a
//! `WATCH`, another `SELECT`ed db, a changed client name, subscriptions,
//! `CLIENT TRACKING` are undone (`RESET` plus the handshake again where the
//! server has `RESET`), and a connection whose replies can no longer be
//! matched (a read timeout, a pipeline read halfway, `MONITOR`,
//! `CLIENT REPLY OFF`) is closed, never guessed at.
//!
//! * [`Client`]: settings from a URL or the builder, and a pool (its own, a
//!   shared [`transport::Pool`], or the process-wide one by persistent id).
//! * [`Connection`]: a borrowed connection with [`Connection::query`],
//!   [`Commands`] helpers, [`Pipeline`]s, transactions, pub/sub, SCAN
//!   iterators and [`Script`]s.
//! * [`ClusterClient`] ([`cluster`]): Redis Cluster: commands routed by
//!   hash slot, `MOVED`/`ASK` followed, `TRYAGAIN`/`CLUSTERDOWN`/`LOADING`
//!   retried with backoff, cross-slot commands refused before sending,
//!   pipelines split per node and put back in order, replica reads,
//!   fan-out (`SCAN`, `KEYS`, `DBSIZE`, `FLUSHALL`, `PING`); one pool key
//!   per node on the same pool.
//! * [`SentinelClient`] ([`sentinel`]): the master of a Sentinel-watched
//!   set (`redis+sentinel://` URLs), checked with `ROLE`, followed across
//!   failovers.
//! * [`proto`]: the sans-IO core (one resumable scanner that checks the
//!   limits and builds replies, the encoder, out-of-band replies, session
//!   state).
//!
//! ```no_run
//! use pconn_redis::{cmd, Client, Commands, Pipeline};
//!
//! let client = Client::open("redis://127.0.0.1:6379/0?name=example&protocol=3")?;
//! let mut conn = client.get()?;
//! conn.set("greeting", "hello")?;
//! let v: String = conn.get("greeting")?;
//! assert_eq!(v, "hello");
//!
//! let mut p = Pipeline::new();
//! p.add(cmd("INCR").arg("counter")).add(cmd("GET").arg("counter"));
//! let results = conn.pipeline(&p)?;
//! assert_eq!(results.len(), 2);
//!
//! let done = conn.transaction(&p)?; // MULTI ... EXEC in one round trip
//! assert!(done.is_some());
//! drop(conn); // back to the pool, as fresh as a new connection
//! println!("{}", client.stats().to_json());
//! # Ok::<(), pconn_redis::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod client;
pub mod cluster;
mod cmd;
mod commands;
mod config;
mod connection;
mod driver;
mod error;
mod from_value;
mod handshake;
mod origin;
mod pipeline;
pub mod proto;
mod pubsub;
mod redis_url;
mod scan;
mod script;
pub mod sentinel;
mod server_error;
mod session;
mod value;

pub use client::Client;
pub use cluster::{
    ClusterBuilder, ClusterClient, ClusterConnection, ClusterError, ClusterPipeline,
};
pub use cmd::{cmd, Cmd, ToArg};
pub use commands::Commands;
pub use config::ClientBuilder;
pub use connection::Connection;
pub use error::{Error, Result};
pub use from_value::FromValue;
pub use pipeline::Pipeline;
pub use proto::{Limits, Protocol};
pub use pubsub::Message;
pub use scan::ScanIter;
pub use script::Script;
pub use sentinel::{SentinelBuilder, SentinelClient};
pub use server_error::{ServerError, ServerErrorKind};
pub use session::{Handshake, Session};
pub use value::{Value, VerbatimFormat};
