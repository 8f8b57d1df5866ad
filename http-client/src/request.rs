//! Building a request: method, URL, query, headers, auth helpers, body,
//! and the redirect loop around each exchange.

use std::borrow::Cow;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use url::Url;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::headers::Headers;
use crate::origins::Origin;
use crate::outgoing::{Request, SendBody};
use crate::proto;
use crate::redirect::{self, Rules};
use crate::response::Response;

/// A request being built; nothing is sent until one of the `call`/`send_*`
/// methods. Invalid input given to the builder is reported by that call,
/// before any byte goes out.
#[must_use = "a request is sent only by call() or a send_* method"]
pub struct RequestBuilder<'c> {
    client: &'c Client,
    method: Cow<'static, str>,
    // Errors boxed: the builder moves through every call, and an error
    // is the rare case.
    url: std::result::Result<Arc<Url>, Box<Error>>,
    /// The origin of `url`; what the builder may change (the query) never
    /// changes it.
    origin: Option<Arc<Origin>>,
    headers: Headers,
    error: Option<Box<Error>>,
    replayable: bool,
    timeout: Option<Option<Duration>>,
    error_for_status: bool,
    max_redirects: Option<u32>,
    #[cfg(feature = "digest")]
    pub(crate) digest: Option<Arc<crate::digest_auth::Credentials>>,
}

impl std::fmt::Debug for RequestBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("url", &self.url.as_ref().map(|u| u.as_str()))
            .field("headers", &self.headers)
            .finish()
    }
}

fn static_method(method: &str) -> Cow<'static, str> {
    // The common methods without an allocation.
    for m in ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"] {
        if method == m {
            return Cow::Borrowed(m);
        }
    }
    Cow::Owned(method.to_string())
}

impl<'c> RequestBuilder<'c> {
    pub(crate) fn new(client: &'c Client, method: &str, url: &str) -> RequestBuilder<'c> {
        let method = static_method(method);
        let error = match method {
            // The usual methods are known tokens.
            Cow::Borrowed(_) => None,
            Cow::Owned(ref m) => proto::check_method(m)
                .err()
                .map(|e| Box::new(Error::from(e))),
        };
        let (url, origin) = match client.inner.origins.resolve(url) {
            Ok((url, origin)) => (Ok(url), Some(origin)),
            Err(e) => (Err(Box::new(e)), None),
        };
        RequestBuilder {
            client,
            method,
            url,
            origin,
            headers: Headers::new(),
            error,
            replayable: false,
            timeout: None,
            error_for_status: false,
            max_redirects: None,
            #[cfg(feature = "digest")]
            digest: None,
        }
    }

    pub(crate) fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(Box::new(e));
        }
    }

    /// Adds a header field (names are case-insensitive and may repeat).
    /// CR, LF, NUL and other controls are refused; so are `Content-Length`
    /// and `Transfer-Encoding`, which the client derives from the body.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match proto::request::check_caller_header(name, value.as_bytes()) {
            Ok(()) => {
                self.headers.push_raw(name.as_bytes(), value.as_bytes());
            }
            Err(e) => self.fail(e.into()),
        }
        self
    }

    /// Appends `name=value` to the query string (percent-encoded).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        if let Ok(url) = &mut self.url {
            Arc::make_mut(url)
                .query_pairs_mut()
                .append_pair(name, value);
        }
        self
    }

    /// `Authorization: Basic ...`.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("Authorization", &format!("Basic {token}"))
    }

    /// `Authorization: Bearer ...`.
    pub fn bearer_auth(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    /// A timeout for this whole request, redirects and body included
    /// (overrides the client's).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(Some(t));
        self
    }

    /// Marks a non-idempotent request (POST, PATCH) safe to re-send once on
    /// a new connection when a reused one turns out to be closed before any
    /// byte of the response arrived. Only bytes bodies can be re-sent.
    pub fn replayable(mut self, yes: bool) -> Self {
        self.replayable = yes;
        self
    }

    /// Turns 4xx and 5xx responses into [`Error::Server`].
    pub fn error_for_status(mut self, yes: bool) -> Self {
        self.error_for_status = yes;
        self
    }

    /// Redirects followed for this request (overrides the client's).
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.max_redirects = Some(n);
        self
    }

    /// Sends the request without a body.
    #[inline]
    pub fn call(self) -> Result<Response> {
        self.send(SendBody::Empty)
    }

    /// Sends the request with `body` (`Content-Length` framing).
    pub fn send_bytes(self, body: &[u8]) -> Result<Response> {
        self.send(SendBody::Bytes(body))
    }

    /// Sends the request with a text body.
    pub fn send_string(self, body: &str) -> Result<Response> {
        self.send(SendBody::Bytes(body.as_bytes()))
    }

    /// Sends a body read from `reader`: `Content-Length` when `len` is
    /// known, chunked otherwise. Such a body is never re-sent.
    pub fn send_reader(self, reader: &mut dyn Read, len: Option<u64>) -> Result<Response> {
        self.send(SendBody::Reader(reader, len))
    }

    /// Sends `pairs` as an `application/x-www-form-urlencoded` body (the
    /// `Content-Type` unless set).
    ///
    /// ```no_run
    /// # let client = pconn_http::Client::new()?;
    /// let resp = client
    ///     .post("http://127.0.0.1:8080/echo")
    ///     .send_form(&[("q", "a b&c"), ("lang", "en")])?;
    /// # Ok::<(), pconn_http::Error>(())
    /// ```
    pub fn send_form(self, pairs: &[(&str, &str)]) -> Result<Response> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let this = if self.headers.contains("content-type") {
            self
        } else {
            self.header("Content-Type", "application/x-www-form-urlencoded")
        };
        this.send(SendBody::Bytes(body.as_bytes()))
    }

    /// Sends a `multipart/form-data` body, streamed: `Content-Length` when
    /// every part is in memory, chunked otherwise. A form with a streamed
    /// part is never re-sent.
    pub fn send_multipart(self, form: crate::Multipart) -> Result<Response> {
        let (boundary, mut reader, len) = form.into_body()?;
        let this = self.header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        );
        this.send(SendBody::Reader(&mut reader, len))
    }

    /// Sends `value` as JSON (`Content-Type: application/json` unless set).
    #[cfg(feature = "json")]
    pub fn send_json<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Response> {
        let body = serde_json::to_vec(value).map_err(|e| crate::error::InvalidInput::Body {
            reason: e.to_string(),
        })?;
        let this = if self.headers.contains("content-type") {
            self
        } else {
            self.header("Content-Type", "application/json")
        };
        this.send(SendBody::Bytes(&body))
    }

    fn send(self, mut body: SendBody<'_>) -> Result<Response> {
        if let Some(e) = self.error {
            return Err(*e);
        }
        let mut url = self.url.map_err(|e| *e)?;
        let client = self.client;
        let config = &client.inner.config;
        let timeout = self.timeout.unwrap_or(config.timeout);
        let deadline = timeout.map(|t| Instant::now() + t);
        let rules = match self.max_redirects {
            Some(n) => Cow::Owned(Rules {
                policy: config.redirects.policy.with_limit(n),
                ..config.redirects.clone()
            }),
            None => Cow::Borrowed(&config.redirects),
        };
        let mut method = self.method;
        let mut headers = self.headers;
        let mut chain: Vec<Url> = Vec::new();
        let mut known_origin = self.origin;
        #[cfg(feature = "digest")]
        let digest = self.digest.as_ref().or(config.digest.as_ref());
        #[cfg(feature = "digest")]
        let mut digest_answers = 0u8;
        loop {
            let origin = match known_origin.take() {
                Some(origin) => origin,
                None => client.inner.origins.origin(&url)?,
            };
            #[cfg(feature = "cookies")]
            let with_cookies = config
                .cookies
                .as_ref()
                .and_then(|jar| jar.request_headers(&url, &headers));
            #[cfg(feature = "cookies")]
            let sent = with_cookies.as_ref().unwrap_or(&headers);
            #[cfg(not(feature = "cookies"))]
            let sent = &headers;
            let mut request = Request {
                method: &method,
                headers: sent,
                body: &mut body,
                replayable: self.replayable,
                deadline,
            };
            let result = match &config.retry {
                Some(policy) => client.execute_retrying(&origin, url, &mut request, policy),
                None => client.send_one(&origin, url, &mut request),
            };
            #[cfg(feature = "cookies")]
            if let (Some(jar), Ok(response)) = (&config.cookies, &result) {
                jar.store_from(response.url(), response.headers());
            }
            #[cfg(feature = "digest")]
            if let (Some(credentials), Ok(response)) = (digest, &result) {
                let first = chain.first().unwrap_or(response.url());
                let replayable = body.replayable();
                if let Some(value) =
                    credentials.answer(response, &method, first, digest_answers, replayable)
                {
                    url = Arc::new(response.url().clone());
                    drop(result); // drains the 401's body, keeping the connection
                    digest_answers += 1;
                    headers.remove("authorization");
                    headers.push_raw(b"Authorization", value.as_bytes());
                    known_origin = Some(origin);
                    continue;
                }
            }
            let follow_up = match &result {
                Ok(response) => {
                    let status = response.status();
                    rules.policy.follows() && redirect::is_redirect(status)
                        || self.error_for_status && status >= 400
                        || !chain.is_empty()
                }
                Err(_) => true,
            };
            if !follow_up {
                // The usual response, handed on as it came (not moved
                // through the checks below).
                return result;
            }
            let mut response = result.map_err(|e| match (e, timeout) {
                (e, Some(t))
                    if e.is_timeout()
                        && deadline
                            .is_some_and(|d| Instant::now() + Duration::from_millis(2) >= d) =>
                {
                    Error::Timeout(t)
                }
                (e, _) => e,
            })?;
            let status = response.status();
            let location = response.headers().get("location").map(str::to_string);
            if let (true, Some(location)) = (
                rules.policy.follows() && redirect::is_redirect(status),
                location,
            ) {
                chain.push(response.url().clone());
                let next = redirect::next_hop(
                    &rules,
                    status,
                    &location,
                    &method,
                    body.replayable(),
                    &chain,
                )?;
                if let Some(next) = next {
                    tracing::debug!(status, from = %response.url(), to = %next.url, to_get = next.to_get, "following redirect");
                    drop(response); // drains a small body, keeping the connection
                    if let Some(from) = chain.last() {
                        redirect::rewrite_headers(&mut headers, &rules, from, &next);
                    }
                    #[cfg(feature = "digest")]
                    if std::mem::take(&mut digest_answers) > 0 {
                        // An answer is for one URI: the next hop is challenged anew.
                        headers.remove("authorization");
                    }
                    if next.to_get {
                        method = Cow::Borrowed("GET");
                        body = SendBody::Empty;
                    }
                    url = Arc::new(next.url);
                    continue;
                }
                chain.pop();
            }
            response.set_history(chain);
            if self.error_for_status && status >= 400 {
                return Err(Error::Server {
                    code: status,
                    message: response.reason().to_string(),
                });
            }
            return Ok(response);
        }
    }
}

#[cfg(feature = "digest")]
impl RequestBuilder<'_> {
    /// Answers a `401` Digest challenge (RFC 7616: MD5, SHA-256 and their
    /// `-sess` forms, `qop=auth`) by sending the request once more with
    /// `Authorization` (feature `digest`; overrides the client's).
    ///
    /// Only within the origin of the request's URL: a redirect to another
    /// origin takes no credentials along and its challenges are not
    /// answered. Wrong credentials come back as the server's second `401`.
    /// A body streamed from a reader cannot be sent again: its `401` is
    /// returned. A user name with CR, LF or another control is refused
    /// before anything is sent.
    ///
    /// ```no_run
    /// # let client = pconn_http::Client::new()?;
    /// let resp = client
    ///     .get("http://127.0.0.1:8095/md5/")
    ///     .digest_auth("pconn", "pconn-secret")
    ///     .call()?;
    /// assert_eq!(resp.status(), 200);
    /// # Ok::<(), pconn_http::Error>(())
    /// ```
    pub fn digest_auth(mut self, user: &str, password: &str) -> Self {
        let credentials = crate::digest_auth::Credentials::new(user, password);
        if let Err(e) = credentials.check() {
            self.fail(e);
        }
        self.digest = Some(credentials);
        self
    }
}
