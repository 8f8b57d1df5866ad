//! Persistent, liveness-checked TCP/TLS connections with guaranteed
//! reset-on-release.
//!
//! The idea is PHP's `pfsockopen()`/`pconnect()`: a connection outlives one
//! use and goes to the next user who asks for the same identity, after a
//! non-blocking check that the peer has not closed it. The rule PHP stated
//! and did not keep is kept here: **a reused connection behaves exactly like
//! a fresh one.** Each protocol's session implements [`Recycle`]; when a
//! [`Pooled`] guard is dropped, however the borrow ended, the connection is
//! parked only if its [`Status`] is `NORMAL` and the session is clean or was
//! reset, and closed otherwise.
//!
//! * [`Conn`]: TCP or TLS (rustls, also TLS inside a tunnel) with a read
//!   buffer for codecs, timeouts, deadlines and [`Conn::probe`], and how
//!   long opening it took ([`ConnectTimings`]: DNS, connect, TLS).
//! * [`Pool`]: idle connections per [`PoolKey`] (the full identity), with
//!   `max_open`, `max_idle`, idle timeout, lifetime and use limits, and [`Stats`].
//! * [`registry`]: pools looked up by persistent id, process-wide.
//! * [`Connector`]: the seam through which a proxy tunnel supplies the stream;
//!   [`Direct`] and [`Dialer`] (resolver overrides, a local address, the
//!   Happy Eyeballs delay) connect straight to the target.
//! * [`Endpoint::unix`]: Unix domain sockets, with the same timeouts,
//!   probe, pooling and reset as TCP.
//! * [`Error::Broken`]: once an exchange failed so that replies can no
//!   longer be matched, the [`Conn`] refuses every further read and write.
//!
//! ## Features
//!
//! This crate has no optional features: TLS (rustls with the ring
//! provider, the system's and webpki's root certificates) and Unix sockets
//! are always built.
//!
//! ## Example
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::TcpListener;
//! use pconn_transport::{open, ConnectOptions, Direct, Endpoint, Pool, PoolConfig, PoolKey};
//!
//! // A line-echo server standing in for any peer.
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let port = listener.local_addr()?.port();
//! std::thread::spawn(move || {
//!     let (sock, _) = listener.accept().unwrap();
//!     let mut reader = BufReader::new(sock.try_clone().unwrap());
//!     let mut writer = sock;
//!     let mut line = String::new();
//!     while reader.read_line(&mut line).unwrap() > 0 {
//!         writer.write_all(line.as_bytes()).unwrap();
//!         line.clear();
//!     }
//! });
//!
//! let pool: Pool<()> = Pool::new(PoolConfig::default())?;
//! let endpoint = Endpoint::new("127.0.0.1", port)?;
//! let key = PoolKey::new("echo", endpoint.host(), endpoint.port());
//! for _ in 0..3 {
//!     let mut guard = pool.checkout(&key, || -> pconn_transport::Result<_> {
//!         Ok((open(&endpoint, &Direct, &ConnectOptions::default())?, ()))
//!     })?;
//!     let conn = guard.conn();
//!     conn.begin_exchange()?;
//!     conn.write_all(b"ping\n")?;
//!     let line: Vec<u8> = conn.read_frame(1024, |buf: &[u8]| -> pconn_transport::Result<_> {
//!         Ok(buf.iter().position(|b| *b == b'\n').map(|i| (buf[..i].to_vec(), i + 1)))
//!     })?;
//!     conn.end_exchange();
//!     assert_eq!(line, b"ping");
//! }
//! let stats = pool.stats();
//! assert_eq!((stats.opened, stats.reused), (1, 2));
//! # Ok::<(), pconn_transport::Error>(())
//! ```
#![deny(missing_docs)]
// All unsafe code is the two syscalls in `sys`, each with a SAFETY note.
#![deny(unsafe_code)]

mod clock;
mod conn;
mod connect;
mod error;
mod io;
mod key;
mod pool;
mod readbuf;
mod recycle;
pub mod registry;
mod socket;
mod status;
#[allow(
    unsafe_code,
    reason = "recv(MSG_DONTWAIT) and pthread_atfork have no safe std wrapper"
)]
mod sys;
mod timeouts;
mod tls;
mod userinfo;

pub use clock::{Clock, ManualClock, SystemClock};
pub use conn::{Conn, ConnectTimings, Probe};
pub use connect::{
    open, tcp_connect, validate_host, ConnectOptions, Connector, Dialer, Direct, Endpoint, Resolve,
    ResolveFn,
};
pub use error::{BoxError, BrokenCause, Error, Phase, Result};
pub use key::{PoolKey, SecretHash};
pub use pool::{Discard, KeyPool, Pool, PoolConfig, Pooled, Stats};
pub use recycle::{Recycle, Reuse};
pub use status::Status;
pub use tls::{Roots, TlsConfig, TlsConfigBuilder, TlsVersion};
pub use userinfo::url_userinfo;

/// Re-exported so callers of [`url_userinfo`] name the same `url`.
pub use url;

/// Re-exported so protocol crates and tests name the same rustls.
pub use rustls;
