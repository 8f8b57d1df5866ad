//! An HTTP/1.1 keep-alive client that reuses connections safely.
//!
//! The HTTP member of the family on the shared [`transport`]: every origin
//! (scheme, host, port, TLS settings, proxy) has its own pool of connections,
//! checked for liveness before reuse and returned to the pool only when the
//! exchange on them is complete.
//!
//! * **Keep-alive rules.** A connection goes back to the pool only when the
//!   response was read to its end and neither side said close
//!   (`Connection: close`, HTTP/1.0 without keep-alive, a body delimited by
//!   the connection closing, or Content-Length together with chunked).
//!   A small body that arrived whole with its head is taken with it, so
//!   its connection is free before the caller reads it.
//!   A response dropped with its body unread is drained up to a bounded
//!   size and time, then reused; beyond that the connection is closed.
//! * **Stale connections.** A request that fails on a *reused* connection
//!   before any byte of the response arrived is sent once more on a new
//!   connection if its method is idempotent, or if the caller marked it
//!   [`replayable`](RequestBuilder::replayable) and its body is bytes.
//!   Never otherwise: a POST is not sent twice behind the caller's back.
//! * **Bad input.** CR, LF, NUL in a method, header, or URL, and unknown
//!   schemes are refused before anything is sent. A server that breaks the
//!   protocol (malformed head, oversize or too many headers, conflicting
//!   `Content-Length`, bad chunk size, short body) gets a clear
//!   [`Error::Protocol`], bounded memory, and its connection closed.
//! * **Lean hot path.** No DNS lookup on reuse, the request head (and a
//!   small body) in one write, the response head in one allocation.
//!
//! * **Redirects.** Followed up to a [`RedirectPolicy`] (a limit, none, or
//!   a function deciding per hop); never to `file:`/`data:` targets, never
//!   in a loop, never from https down to http unless allowed; `Referer`
//!   set, credentials dropped across origins, the chain on
//!   [`Response::history`].
//! * **Bodies.** Bytes, text, a reader (streamed, chunked when its length
//!   is unknown), a form from pairs ([`RequestBuilder::send_form`]), a
//!   streamed [`Multipart`] form, JSON (feature `json`). An empty response
//!   body is empty whatever its `Content-Encoding`.
//! * **Middleware and timings.** [`Middleware`]s added with
//!   [`ClientBuilder::middleware`] see each request sent (every redirect
//!   hop and retry) and its response head, and may change or stop either
//!   ([`Error::Stopped`]); none costs nothing. [`Response::timings`]
//!   tells DNS, connect, TLS (`None` on a reused connection) and the time
//!   to the first byte.
//! * **A broken exchange stays broken.** A body that failed halfway (a
//!   timeout, a framing error, the peer closing) refuses every later read
//!   ([`Error::is_broken`]): no later byte of that exchange reaches anyone,
//!   and its connection is closed, never reused.
//! * **Unix sockets.** [`ClientBuilder::unix_socket`] sends every request
//!   of a client to a local HTTP service's socket (curl's `--unix-socket`,
//!   reqwest's `unix_socket`); the URL's host (and port) fill `Host`, the
//!   pool keys the connections by the socket path, and an `https:` URL is
//!   [`Error::TlsOverUnixSocket`] before anything is sent.
//! * **TLS.** rustls (TLS 1.2 and 1.3), bounded with
//!   [`ClientBuilder::min_tls_version`] and
//!   [`ClientBuilder::max_tls_version`] (a minimum above the maximum fails
//!   `build`); [`Response::tls_info`] gives the negotiated version and the
//!   server's certificate (DER), read once per connection.
//! * **Retries.** Opt-in ([`RetryPolicy`]): backoff with jitter, a budget,
//!   and `Retry-After` as seconds or an HTTP date, capped.
//!
//! ## Features
//!
//! None is on by default; each costs nothing when unused.
//!
//! | feature | what it adds |
//! |---|---|
//! | `json` | `Response::json` and `RequestBuilder::send_json` (serde, serde_json) |
//! | `gzip` | gzip/deflate response decoding, and `Accept-Encoding` sent for them (flate2) |
//! | `brotli`, `zstd` | the same for `br` and `zstd` (pure Rust); a decoded body is capped at `max_body_bytes`, a bomb fails with `Error::BodyTooLarge` |
//! | `cookies` | an opt-in cookie jar, `ClientBuilder::cookie_jar` (cookie_store, RFC 6265 and public suffixes) |
//! | `charset` | `Response::text` decodes the charset the server names (encoding_rs) |
//! | `digest` | Digest authentication (RFC 7616): `RequestBuilder::digest_auth` answers a 401 challenge once, on the same connection, never for another origin (md-5, sha2) |
//!
//! ## Layers
//!
//! The layers read one way: [`proto`] is the sans-IO core (request
//! encoding, response head parsing, body framing, and one exchange as a
//! state machine, [`proto::call::Call`]), tested with byte strings; the
//! session (`session.rs`) is the reuse decision the pool asks for; the
//! driver (`driver.rs`) moves the bytes a call asks for over a
//! [`transport::Conn`]; the client (`client.rs`, `request.rs`) is the
//! public face, with the origin table (`origins.rs`) and the settings
//! (`builder.rs`).
//!
//! ## Example
//!
//! ```no_run
//! use pconn_http::Client;
//!
//! let client = Client::builder().user_agent(Some("docs/1")).build()?;
//! for _ in 0..3 {
//!     // One connection serves all three requests.
//!     let resp = client.get("http://127.0.0.1:8080/small").query("q", "a b").call()?;
//!     assert_eq!(resp.status(), 200);
//!     let body = resp.text()?;
//!     assert_eq!(body, "hello\n");
//! }
//! let resp = client
//!     .post("http://127.0.0.1:8080/echo")
//!     .header("Content-Type", "text/plain")
//!     .send_string("ping")?;
//! assert!(resp.text()?.ends_with("ping"));
//! assert_eq!(client.stats().opened, 1);
//! # Ok::<(), pconn_http::Error>(())
//! ```
//!
//! Caller mistakes never reach the wire:
//!
//! ```
//! use pconn_http::{Client, Error};
//! let client = Client::builder().proxy_from_env(false).build()?;
//! let err = client
//!     .get("http://127.0.0.1:9/")
//!     .header("X-Injected", "a\r\nEvil: 1")
//!     .call()
//!     .unwrap_err();
//! assert!(matches!(err, Error::InvalidInput(_)));
//! assert_eq!(client.stats().opened, 0);
//!
//! let local = Client::builder().unix_socket("/run/app.sock").build()?;
//! let err = local.get("https://app.local/").call().unwrap_err();
//! assert!(matches!(err, Error::TlsOverUnixSocket { .. }));
//! assert_eq!(local.stats().opened, 0);
//! # Ok::<(), pconn_http::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod body_reader;
mod builder;
mod client;
mod content_encoding;
#[cfg(feature = "cookies")]
mod cookies;
#[cfg(feature = "digest")]
mod digest_auth;
mod driver;
mod error;
mod headers;
mod methods;
mod middleware;
mod multipart;
mod origins;
mod outgoing;
pub mod proto;
mod proxy;
mod redirect;
mod request;
mod response;
mod retry;
mod session;
mod timing;
mod tls_info;

pub use body_reader::BodyReader;
pub use builder::{ClientBuilder, DEFAULT_USER_AGENT};
pub use client::Client;
pub use content_encoding::ResponseReader;
#[cfg(feature = "cookies")]
pub use cookies::{CookieJar, SYSTEM_PUBLIC_SUFFIX_LIST};
pub use error::{DecodeError, Error, InvalidInput, Part, ProtocolError, RedirectError, Result};
pub use headers::Headers;
pub use middleware::{Middleware, MiddlewareNext, MiddlewareRequest};
pub use multipart::Multipart;
pub use redirect::{Decision, Hop, RedirectPolicy};
pub use request::RequestBuilder;
pub use response::Response;
pub use retry::RetryPolicy;
pub use session::Session;
pub use timing::Timings;
pub use tls_info::TlsInfo;
pub use transport::TlsVersion;

/// Re-exported so callers name the same transport types (pool stats, TLS, connectors).
pub use transport;
