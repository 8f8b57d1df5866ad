//! HTTP `CONNECT` tunnels through HTTP and HTTPS proxies, as a
//! [`transport::Connector`] every client can run through.
//!
//! A tunnel is a [`transport::Conn`] like any other: the HTTP, Redis and SMTP
//! clients take an `Arc<dyn Connector>` and get their streams from
//! [`Proxy::connector`]. What this crate gets right that the classic
//! "write CONNECT, `fgets` until a blank line" code does not:
//!
//! * the whole reply head is parsed with httparse, under a size limit;
//! * bytes that follow the head in the same read belong to the target and
//!   stay in the connection's read buffer (an SMTP server's `220` often
//!   arrives in the same packet as the proxy's `200`);
//! * any 2xx opens the tunnel; 407 (with the `Proxy-Authenticate` challenge),
//!   403, 502/503/504, other statuses, a closed connection, an oversize or
//!   non-HTTP head and timeouts are each a distinct [`Error`];
//! * the target goes into the request line only after validation (no CR, LF,
//!   space, `@` or `/`; IPv6 in brackets; port not 0);
//! * TLS to the target runs inside the tunnel and verifies the *target's*
//!   name; an `https://` proxy adds TLS to the proxy underneath (TLS in TLS);
//! * `Proxy-Authorization` goes only to the proxy, and pool keys carry
//!   [`Proxy::identity`] (URL without password, credentials hashed) so
//!   tunnelled and direct connections never mix.
//!
//! When a tunnel fails inside a client, the error arrives as
//! [`transport::Error::Tunnel`]; [`Error::find`] gets this crate's error back.
//!
//! ```no_run
//! use proxy_tunnel::Proxy;
//! use transport::{open, ConnectOptions, Endpoint, TlsConfig};
//!
//! let proxy = Proxy::parse("http://pconn:pconn-secret@127.0.0.1:3129")?;
//! let connector = proxy.connector();
//! let tls = TlsConfig::builder().add_ca_file(".servers/certs/ca.pem").build()?;
//! let endpoint = Endpoint::new("localhost", 8443)?.with_tls(tls);
//! // TCP to the proxy, CONNECT localhost:8443, then TLS to localhost inside.
//! let mut conn = open(&endpoint, &*connector, &ConnectOptions::default())?;
//! conn.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
//! let mut page = Vec::new();
//! let mut chunk = [0u8; 4096];
//! loop {
//!     let n = conn.read_into(&mut chunk)?;
//!     if n == 0 {
//!         break;
//!     }
//!     page.extend_from_slice(&chunk[..n]);
//! }
//! assert!(page.starts_with(b"HTTP/1.1 200"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Proxy settings from the environment (`https_proxy`, `no_proxy`, ...):
//!
//! ```
//! // Injected variables instead of the process environment.
//! let env = |name: &str| match name {
//!     "https_proxy" => Some("http://127.0.0.1:3128".to_string()),
//!     "no_proxy" => Some("localhost,10.0.0.0/8".to_string()),
//!     _ => None,
//! };
//! let proxy = proxy_tunnel::env::proxy_for_with(env, "https", "example.com", 443);
//! assert_eq!(proxy.unwrap().unwrap().to_string(), "http://127.0.0.1:3128");
//! assert!(proxy_tunnel::env::proxy_for_with(env, "https", "10.1.2.3", 443).is_none());
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod connector;
pub mod env;
mod error;
pub mod proto;
mod proxy;

pub use connector::TunnelConnector;
pub use error::{Error, TunnelPhase};
pub use proxy::{Proxy, ProxyScheme, DEFAULT_MAX_HEADER_BYTES};
