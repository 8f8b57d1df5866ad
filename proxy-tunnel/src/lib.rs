//! Tunnels through proxies, as a [`transport::Connector`] every client can
//! run through: HTTP `CONNECT` through HTTP and HTTPS proxies, and SOCKS5
//! (RFC 1928, with RFC 1929 username/password) and SOCKS4/4a.
//!
//! | URL | handshake | who resolves the target's name |
//! |---|---|---|
//! | `http://[user:pw@]host[:80]` | `CONNECT`, Basic auth | the proxy |
//! | `https://[user:pw@]host[:443]` | TLS to the proxy, then `CONNECT` | the proxy |
//! | `socks5h://[user:pw@]host[:1080]` | SOCKS5 | the proxy |
//! | `socks5://[user:pw@]host[:1080]` | SOCKS5 | this client |
//! | `socks4a://[userid@]host[:1080]` | SOCKS4a | the proxy |
//! | `socks4://[userid@]host[:1080]` | SOCKS4 (IPv4 only) | this client |
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
//! * SOCKS: every reply code is its own [`proto::SocksReply`] in
//!   [`Error::SocksRefused`]; a wrong version, a refused method, refused
//!   credentials, a malformed reply, and a proxy that closes or stalls (the
//!   [`TunnelPhase`] says in which step) are each a distinct [`Error`];
//!   bytes after the SOCKS reply stay buffered for the target as above;
//! * bad input is refused before anything is sent: an unknown scheme, CR,
//!   LF, NUL in the target or the credentials, a SOCKS user or password
//!   over 255 bytes, a host name over 255 bytes;
//! * `Proxy-Authorization` and SOCKS credentials go only to the proxy, and pool keys carry
//!   [`Proxy::identity`] (URL without password, credentials hashed) so
//!   tunnelled and direct connections never mix.
//!
//! When a tunnel fails inside a client, the error arrives as
//! [`transport::Error::Tunnel`]; [`Error::find`] gets this crate's error back.
//!
//! ```no_run
//! use pconn_proxy::Proxy;
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
//! The same through SOCKS5, the proxy resolving the name (`socks5h`), with
//! Redis (the password goes only into the SOCKS handshake; a pool key from
//! [`Proxy::identity`] keeps connections through it apart from direct ones
//! and from other credentials).
//!
//! ```no_run
//! use pconn_proxy::Proxy;
//! use transport::{open, ConnectOptions, Endpoint};
//!
//! let proxy = Proxy::parse("socks5h://pconn-socks:pconn-secret@127.0.0.1:1081")?;
//! let endpoint = Endpoint::new("localhost", 6379)?;
//! let mut conn = open(&endpoint, &*proxy.connector(), &ConnectOptions::default())?;
//! conn.write_all(b"PING\r\n")?;
//! let mut reply = [0u8; 7];
//! let n = conn.read_into(&mut reply)?;
//! assert_eq!(&reply[..n], b"+PONG\r\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Proxy settings from the environment (`https_proxy`, `all_proxy=socks5h://...`, `no_proxy`, ...):
//!
//! ```
//! // Injected variables instead of the process environment.
//! let env = |name: &str| match name {
//!     "https_proxy" => Some("http://127.0.0.1:3128".to_string()),
//!     "no_proxy" => Some("localhost,10.0.0.0/8".to_string()),
//!     _ => None,
//! };
//! let proxy = pconn_proxy::env::proxy_for_with(env, "https", "example.com", 443);
//! assert_eq!(proxy.unwrap().unwrap().to_string(), "http://127.0.0.1:3128");
//! assert!(pconn_proxy::env::proxy_for_with(env, "https", "10.1.2.3", 443).is_none());
//!
//! // ALL_PROXY applies to every scheme (redis, smtp, ...), SOCKS included.
//! let env = |name: &str| (name == "ALL_PROXY").then(|| "socks5h://u:pw@127.0.0.1:1081".to_string());
//! let proxy = pconn_proxy::env::proxy_for_with(env, "redis", "cache.example", 6379);
//! let proxy = proxy.unwrap().unwrap();
//! assert_eq!(proxy.scheme(), pconn_proxy::ProxyScheme::Socks5h);
//! assert_eq!(proxy.to_string(), "socks5h://u@127.0.0.1:1081"); // never the password
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod driver;
pub mod env;
mod error;
pub mod proto;
mod proxy;

pub use driver::TunnelConnector;
pub use error::{Error, TunnelPhase};
pub use proxy::{Proxy, ProxyScheme, DEFAULT_MAX_HEADER_BYTES, MAX_SOCKS_CREDENTIAL};
