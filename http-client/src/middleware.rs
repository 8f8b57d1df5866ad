//! Middleware: code of the caller's that sees each request before it is
//! sent and each response head after it arrives, and can change or stop
//! either (tracing, auth refresh, metrics), shaped like ureq 3's: each
//! [`Middleware`] gets the request and the rest of the chain
//! ([`MiddlewareNext`]), and answers with a response, most often the one
//! [`MiddlewareNext::handle`] returned.
//!
//! Middlewares run in the order they were added
//! ([`ClientBuilder::middleware`]), the first one outermost, **once per
//! request sent**: each redirect hop and each retry of a
//! [`RetryPolicy`](crate::RetryPolicy) goes through the whole chain again
//! (and answering a Digest challenge sends the request again, so it does
//! too). The one resend that is not a new request, the same request sent
//! again on a new connection because a reused one turned out closed (see
//! the crate docs), happens inside the chain's end and is not seen twice.
//!
//! A middleware stops a request by returning an error instead of calling
//! `next` (nothing of that request is sent: [`Error::stopped`] makes a
//! typed one), and stops a response by returning an error instead of it
//! (the response is dropped: a small body is drained, keeping the
//! connection, as for any dropped response).
//!
//! With no middleware the client never builds the chain: a request costs
//! one check of an empty list more.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::error::{Error, Result};
use crate::headers::Headers;
use crate::response::Response;

/// A hook around each request a client sends (see the module docs of
/// [`ClientBuilder::middleware`](crate::ClientBuilder::middleware)).
/// Closures of the same signature are middlewares too.
///
/// ```no_run
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use pconn_http::{Client, Error, MiddlewareNext, MiddlewareRequest};
///
/// let responses = Arc::new(AtomicU64::new(0));
/// let seen = Arc::clone(&responses);
/// let client = Client::builder()
///     // Adds a header to every request.
///     .middleware(|req: &mut MiddlewareRequest<'_>, next: MiddlewareNext<'_>| {
///         req.set_header("Authorization", "Bearer fresh-token")?;
///         next.handle(req)
///     })
///     // Stops requests to one host before anything is sent.
///     .middleware(|req: &mut MiddlewareRequest<'_>, next: MiddlewareNext<'_>| {
///         if req.url().host_str() == Some("blocked.example") {
///             return Err(Error::stopped("blocked.example is off limits"));
///         }
///         next.handle(req)
///     })
///     // Counts responses.
///     .middleware(move |req: &mut MiddlewareRequest<'_>, next: MiddlewareNext<'_>| {
///         let resp = next.handle(req)?;
///         seen.fetch_add(1, Ordering::Relaxed);
///         Ok(resp)
///     })
///     .build()?;
/// client.get("http://127.0.0.1:8080/small").call()?;
/// assert_eq!(responses.load(Ordering::Relaxed), 1);
/// # Ok::<(), pconn_http::Error>(())
/// ```
pub trait Middleware: Send + Sync + 'static {
    /// Handles one request: usually changes it, calls `next.handle`, and
    /// looks at (or changes) the response head it returns. Returning an
    /// error without calling `next` sends nothing.
    fn handle(
        &self,
        request: &mut MiddlewareRequest<'_>,
        next: MiddlewareNext<'_>,
    ) -> Result<Response>;
}

impl<F> Middleware for F
where
    F: Fn(&mut MiddlewareRequest<'_>, MiddlewareNext<'_>) -> Result<Response>
        + Send
        + Sync
        + 'static,
{
    fn handle(
        &self,
        request: &mut MiddlewareRequest<'_>,
        next: MiddlewareNext<'_>,
    ) -> Result<Response> {
        self(request, next)
    }
}

/// The middlewares of a client, in order.
#[derive(Clone, Default)]
pub(crate) struct Chain(Vec<Arc<dyn Middleware>>);

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} middleware(s)", self.0.len())
    }
}

impl Chain {
    /// True when no middleware was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds one, innermost so far.
    pub(crate) fn push(&mut self, middleware: impl Middleware) {
        self.0.push(Arc::new(middleware));
    }

    /// Runs a request (`method`, `url`, `headers`) through every
    /// middleware, in order; `send` is the end of the chain, the exchange
    /// with the server, given the fields as the middlewares left them.
    pub(crate) fn run(
        &self,
        method: &str,
        url: &Url,
        headers: &Headers,
        mut send: impl FnMut(&Headers) -> Result<Response>,
    ) -> Result<Response> {
        let mut request = MiddlewareRequest {
            method,
            url,
            headers: Cow::Borrowed(headers),
        };
        let mut end = |m: &MiddlewareRequest<'_>| send(&m.headers);
        let next = MiddlewareNext {
            rest: &self.0,
            end: &mut end,
        };
        next.handle(&mut request)
    }
}

/// A request as a middleware sees it: method and URL to read, header
/// fields to read and change (the body is not shown).
pub struct MiddlewareRequest<'a> {
    method: &'a str,
    url: &'a Url,
    headers: Cow<'a, Headers>,
}

impl fmt::Debug for MiddlewareRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MiddlewareRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &self.headers)
            .finish()
    }
}

impl MiddlewareRequest<'_> {
    /// The method.
    pub fn method(&self) -> &str {
        self.method
    }

    /// The URL (of this hop, when following redirects).
    pub fn url(&self) -> &Url {
        self.url
    }

    /// The header fields the caller set (and the client added: cookies,
    /// `Referer`, Digest `Authorization`); `Host`, `User-Agent` and
    /// `Accept-Encoding` defaults are added when the head is written.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of a header (any case), if UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Adds a header field, checked as [`RequestBuilder::header`] checks
    /// it (controls, `Content-Length`, `Transfer-Encoding` refused with
    /// [`Error::InvalidInput`]).
    ///
    /// [`RequestBuilder::header`]: crate::RequestBuilder::header
    pub fn append_header(&mut self, name: &str, value: &str) -> Result<()> {
        crate::proto::request::check_caller_header(name, value.as_bytes())?;
        self.headers
            .to_mut()
            .push_raw(name.as_bytes(), value.as_bytes());
        Ok(())
    }

    /// Replaces every field of that name with one (checked as
    /// [`append_header`](Self::append_header) checks it).
    pub fn set_header(&mut self, name: &str, value: &str) -> Result<()> {
        crate::proto::request::check_caller_header(name, value.as_bytes())?;
        let headers = self.headers.to_mut();
        headers.remove(name);
        headers.push_raw(name.as_bytes(), value.as_bytes());
        Ok(())
    }

    /// Removes every field of that name; true if there was one.
    pub fn remove_header(&mut self, name: &str) -> bool {
        self.headers.contains(name) && self.headers.to_mut().remove(name)
    }
}

type End<'a> = dyn FnMut(&MiddlewareRequest<'_>) -> Result<Response> + 'a;

/// The rest of the chain after a middleware: the next middleware, or at
/// the end the exchange with the server.
pub struct MiddlewareNext<'a> {
    rest: &'a [Arc<dyn Middleware>],
    end: &'a mut End<'a>,
}

impl fmt::Debug for MiddlewareNext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MiddlewareNext({} more)", self.rest.len())
    }
}

impl MiddlewareNext<'_> {
    /// Passes `request` on: to the next middleware, or, after the last
    /// one, to the server; returns the response head (or the error).
    pub fn handle(self, request: &mut MiddlewareRequest<'_>) -> Result<Response> {
        match self.rest.split_first() {
            Some((first, rest)) => first.handle(
                request,
                MiddlewareNext {
                    rest,
                    end: self.end,
                },
            ),
            None => (self.end)(request),
        }
    }
}

impl Error {
    /// The error a middleware returns to stop a request or a response:
    /// [`Error::Stopped`] with `reason` as its source (a caller's own
    /// error type is found again with `downcast_ref` on it).
    pub fn stopped(reason: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Stopped(reason.into())
    }
}
