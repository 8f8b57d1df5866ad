//! One request/response exchange over a pooled connection, and the
//! stale-connection retry rule (DESIGN.md) around it.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use transport::Pooled;
use url::{Position, Url};

use crate::client::{Client, Origin};
use crate::error::{Error, Result};
use crate::headers::{Headers, Known};
use crate::proto::request::{encode_chunk, encode_head_with, Head, LAST_CHUNK};
use crate::proto::response::Parsed;
use crate::proto::{self, BodyDecoder, BodyLen, BodyPlan, Framing, ResponseHead};
use crate::request::SendBody;
use crate::response::{BodyReader, Response};
use crate::session::{Session, State};

/// The codings a decompressing client asks for.
pub(crate) const ACCEPT_ENCODING: &str = "gzip, deflate";

/// Bodies up to this size are appended to the head: one write per request.
const INLINE_BODY: usize = 16 * 1024;

/// Response bodies up to this size that arrived with the head are copied
/// out with it (see `finish`).
const SMALL_BODY: u64 = 16 * 1024;

impl Client {
    fn checkout(
        &self,
        origin: &Origin,
        deadline: Option<Instant>,
        fresh: bool,
    ) -> Result<Pooled<Session>> {
        let config = &self.inner.config;
        let open = || -> Result<_> {
            let mut opts = config.connect.clone();
            if let Some(d) = deadline {
                opts.connect_timeout = opts
                    .connect_timeout
                    .min(d.saturating_duration_since(Instant::now()));
            }
            let conn = match &origin.via_proxy {
                Some(mode) => mode
                    .proxy
                    .open_to_proxy(&opts, Instant::now() + opts.connect_timeout)?,
                None => transport::open(&origin.endpoint, &*origin.connector, &opts)?,
            };
            Ok((conn, Session::new(config.drain_limit, config.drain_time)))
        };
        if fresh {
            origin.key_pool.checkout_fresh(open)
        } else {
            origin.key_pool.checkout(open)
        }
    }

    /// Sends one request and reads the response head. A request that failed
    /// on a reused connection before any response byte is sent once more on
    /// a new connection, if it is idempotent (or marked replayable) and its
    /// body can be sent again; never otherwise.
    #[allow(clippy::too_many_arguments, reason = "internal: one call site")]
    pub(crate) fn execute(
        &self,
        origin: &Origin,
        method: &str,
        url: Arc<Url>,
        checked_target: Option<(u32, u32)>,
        get_head: Option<&[u8]>,
        headers: &Headers,
        body: &mut SendBody<'_>,
        replayable: bool,
        deadline: Option<Instant>,
    ) -> Result<Response> {
        let head = match get_head {
            Some(whole) if self.adds_nothing(method, headers, body) => HeadSource::Whole(whole),
            _ => HeadSource::Target(match checked_target {
                // The parse cache checked it when it parsed this very URL.
                Some((start, end)) if origin.via_proxy.is_none() => {
                    &url.as_str()[start as usize..end as usize]
                }
                _ => {
                    let target = if origin.via_proxy.is_some() {
                        &url[..Position::AfterQuery]
                    } else {
                        &url[Position::BeforePath..Position::AfterQuery]
                    };
                    proto::check_target(target)?;
                    target
                }
            }),
        };
        // The first attempt on a pooled connection; a second one, on a new
        // connection, only under the retry rule above.
        let mut fresh = false;
        loop {
            let mut guard = self.checkout(origin, deadline, fresh)?;
            match self.attempt(&mut guard, origin, method, head, headers, body, deadline) {
                Ok((head, plan)) => return Ok(self.finish(guard, head, plan, url)),
                Err(Error::Transport(e))
                    if !fresh
                        && guard.is_reused()
                        && !guard.conn().reply_started()
                        && e.is_connection_lost() =>
                {
                    drop(guard);
                    let may_resend =
                        body.replayable() && (proto::is_idempotent(method) || replayable);
                    if !may_resend {
                        return Err(Error::NotReplayed {
                            method: method.to_string(),
                            source: e,
                        });
                    }
                    tracing::debug!(%method, error = %e, "stale pooled connection; re-sending on a new one");
                    fresh = true;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One request on `guard`'s connection, up to the final response head.
    /// Inlined into its one call site: it moves the head and takes eight
    /// arguments, which a call would copy on every request.
    #[allow(clippy::too_many_arguments, reason = "internal: one call site")]
    #[inline]
    fn attempt(
        &self,
        guard: &mut Pooled<Session>,
        origin: &Origin,
        method: &str,
        head: HeadSource<'_>,
        headers: &Headers,
        body: &mut SendBody<'_>,
        deadline: Option<Instant>,
    ) -> Result<(ResponseHead, BodyPlan)> {
        let config = &self.inner.config;
        let (conn, session) = guard.parts();
        session.state = State::Idle;
        conn.set_deadline(deadline);
        conn.begin_exchange()?;
        let framing = body.framing();
        let expect_continue = match framing {
            BodyLen::Known(n) => n > config.expect_continue_above,
            BodyLen::Chunked => false,
            BodyLen::None => false,
        } && !headers.has(Known::Expect);

        match head {
            HeadSource::Whole(whole) => conn.write_buf().extend_from_slice(whole),
            HeadSource::Target(target) => {
                let mut extra: [(&str, &str); 2] = [("", ""); 2];
                let mut n_extra = 0;
                if let Some(auth) = origin
                    .via_proxy
                    .as_ref()
                    .and_then(|m| m.authorization.as_deref())
                {
                    extra[n_extra] = ("Proxy-Authorization", auth);
                    n_extra += 1;
                }
                if self.adds_accept_encoding(headers) {
                    extra[n_extra] = ("Accept-Encoding", ACCEPT_ENCODING);
                    n_extra += 1;
                }
                encode_head_with(
                    conn.write_buf(),
                    &Head {
                        method,
                        target,
                        host: &origin.host_header,
                        headers,
                        user_agent: config.user_agent.as_deref(),
                        extra: &extra[..n_extra],
                        body: framing,
                        expect_continue,
                    },
                    Some(&origin.head_defaults),
                );
            }
        }

        let mut early = None;
        if expect_continue {
            conn.flush()?;
            early = wait_continue(
                conn,
                method,
                config.max_head_bytes,
                config.expect_continue_wait,
            )?;
        }
        if early.is_none() {
            match body {
                SendBody::Empty => conn.flush()?,
                SendBody::Bytes(b) if b.len() <= INLINE_BODY => {
                    conn.write_buf().extend_from_slice(b);
                    conn.flush()?;
                }
                SendBody::Bytes(b) => {
                    // Bounded pieces: a TLS connection buffers each write whole.
                    for piece in b.chunks(INLINE_BODY) {
                        conn.write_all(piece)?;
                    }
                }
                SendBody::Reader(reader, len) => {
                    conn.flush()?;
                    send_reader(conn, &mut **reader, *len)?;
                }
            }
        }
        let (head, mut plan) = match early {
            Some(early) => {
                // The server answered before the body was sent; it may still
                // expect it, so the connection cannot be trusted afterwards.
                let (head, mut plan) = early;
                plan.keep_alive = false;
                (head, plan)
            }
            None => read_head(conn, method, config.max_head_bytes)?,
        };
        if headers.has_token_known(Known::Connection, "close") {
            plan.keep_alive = false;
        }
        Ok((head, plan))
    }

    #[inline]
    fn finish(
        &self,
        mut guard: Pooled<Session>,
        head: ResponseHead,
        plan: BodyPlan,
        url: Arc<Url>,
    ) -> Response {
        let (conn, session) = guard.parts();
        // A small body that arrived whole with the head is taken out of the
        // read buffer now: the exchange is complete and the connection goes
        // back to the pool before the caller reads the body.
        let whole = match plan.framing {
            Framing::Empty => Some(Vec::new()),
            Framing::Length(n) if n <= SMALL_BODY => {
                // One look at the buffer (`read_buf` is a call into the transport).
                let n = n as usize;
                let bytes = conn.read_buf().get(..n).map(<[u8]>::to_vec);
                if bytes.is_some() {
                    conn.consume(n);
                }
                bytes
            }
            _ => None,
        };
        let body = match whole {
            Some(bytes) => {
                session.state = if plan.keep_alive {
                    State::Idle
                } else {
                    State::Close
                };
                conn.end_exchange();
                drop(guard); // back to the pool now: nothing more to read
                BodyReader::buffered(bytes)
            }
            None => {
                session.state = State::Body {
                    decoder: BodyDecoder::new(plan.framing),
                    keep_alive: plan.keep_alive,
                };
                BodyReader::streaming(guard)
            }
        };
        let config = &self.inner.config;
        Response::new(head, url, body, config.max_body_bytes, config.decompress)
    }
}

/// What a request head is made from.
#[derive(Clone, Copy)]
enum HeadSource<'a> {
    /// The whole head, made by the parse cache for a GET of its URL
    /// ([`crate::client::get_head`]), for a request that adds nothing to it.
    Whole(&'a [u8]),
    /// The checked request target, to encode the head around.
    Target(&'a str),
}

impl Client {
    /// True when a request adds nothing to the head of a plain GET of its
    /// URL: no field of its own or of the client's, no body. (Through a
    /// proxy there is no such head to begin with.)
    /// (The cached head has the `Accept-Encoding` of a client that
    /// decompresses, as the encoder would add it.)
    fn adds_nothing(&self, method: &str, headers: &Headers, body: &SendBody<'_>) -> bool {
        method == "GET" && headers.is_empty() && matches!(body, SendBody::Empty)
    }

    /// True when the client asks for compressed bodies on this request.
    fn adds_accept_encoding(&self, headers: &Headers) -> bool {
        self.decompresses() && !headers.has(Known::AcceptEncoding)
    }

    /// True when the client decodes gzip/deflate bodies (and says so).
    pub(crate) fn decompresses(&self) -> bool {
        cfg!(feature = "gzip") && self.inner.config.decompress
    }
}

/// Reads the final response head, skipping interim (1xx) responses.
#[inline]
fn read_head(
    conn: &mut transport::Conn,
    method: &str,
    max_head: usize,
) -> Result<(ResponseHead, BodyPlan)> {
    loop {
        let (head, plan) = conn
            .read_frame(max_head, |buf: &[u8]| parse_planned(buf, method, max_head))
            .map_err(|e| match e {
                Error::Transport(transport::Error::FrameTooLarge { limit }) => {
                    Error::Protocol(format!("response head larger than {limit} bytes"))
                }
                e => e,
            })?;
        if let Some(plan) = plan {
            return Ok((head, plan));
        }
    }
}

/// Parses a response head and, unless it is an interim (1xx) one, plans
/// its body. A bad plan is an error of the decode, so `read_frame` marks
/// the connection broken.
#[inline]
fn parse_planned(buf: &[u8], method: &str, max_head: usize) -> Result<Parsed<Option<BodyPlan>>> {
    let planned = proto::response::parse_head_then(buf, max_head, |head, framer| {
        if is_interim(head.status) {
            return Ok(None);
        }
        framer.plan(head.status, method == "HEAD").map(Some)
    })?;
    Ok(planned)
}

/// 1xx other than 101: a final response follows.
fn is_interim(status: u16) -> bool {
    (100..200).contains(&status) && status != 101
}

/// After sending a head with `Expect: 100-continue`: waits a little for the
/// server. `None` means send the body (a `100` came, or nothing in time);
/// `Some` is a final response that came instead.
fn wait_continue(
    conn: &mut transport::Conn,
    method: &str,
    max_head: usize,
    wait_for: std::time::Duration,
) -> Result<Option<(ResponseHead, BodyPlan)>> {
    // Unlike a read timeout, an empty wait leaves the connection usable.
    if !conn.wait_readable(wait_for)? {
        return Ok(None);
    }
    // A 100, or another interim response: the final one follows the body.
    let (head, plan) =
        conn.read_frame(max_head, |buf: &[u8]| parse_planned(buf, method, max_head))?;
    Ok(plan.map(|plan| (head, plan)))
}

/// Streams a body from the caller's reader: exactly `len` bytes, or chunked.
fn send_reader(conn: &mut transport::Conn, reader: &mut dyn Read, len: Option<u64>) -> Result<()> {
    let mut chunk = vec![0u8; INLINE_BODY];
    let mut sent = 0u64;
    loop {
        let want = match len {
            Some(total) => (total - sent).min(chunk.len() as u64) as usize,
            None => chunk.len(),
        };
        if want == 0 {
            break;
        }
        let n = match reader.read(&mut chunk[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A half-sent request: the guard closes the connection.
            Err(e) => return Err(Error::BodyRead(e)),
        };
        if n == 0 {
            if let Some(total) = len {
                return Err(Error::BodyRead(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the body reader ended after {sent} of {total} bytes"),
                )));
            }
            break;
        }
        sent += n as u64;
        match len {
            Some(_) => conn.write_all(&chunk[..n])?,
            None => {
                encode_chunk(conn.write_buf(), &chunk[..n]);
                conn.flush()?;
            }
        }
    }
    if len.is_none() {
        conn.write_all(LAST_CHUNK)?;
    }
    Ok(())
}
