//! One request/response exchange as a state machine, with no I/O: the
//! order of the steps (prepare, send head, await `100 Continue`, send
//! body, receive head, receive body, clean up), interim responses, an
//! early final response, and the keep-alive decision, each in one place.
//! The blocking driver (`driver.rs`) moves the bytes it asks for.
//!
//! ```
//! use pconn_http::proto::call::{Call, Step};
//! use pconn_http::proto::request::{BodyLen, Head};
//! use pconn_http::Headers;
//!
//! let mut out = bytes::BytesMut::new();
//! let headers = Headers::new();
//! let head = Head {
//!     method: "GET", target: "/", host: "example.com", headers: &headers,
//!     user_agent: None, extra: &[], body: BodyLen::None, expect_continue: false,
//! };
//! let mut call = Call::start(&mut out, head, u64::MAX);
//! assert_eq!(&out[..], b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
//! assert_eq!(call.step(), Step::SendBody);
//! call.body_sent();
//! let reply = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
//! // An interim response is skipped...
//! let ((_, none), used) = call.receive(reply, 4096).unwrap().unwrap();
//! assert!(none.is_none());
//! // ...the final one plans the body.
//! let ((head, plan), _) = call.receive(&reply[used..], 4096).unwrap().unwrap();
//! let plan = plan.unwrap();
//! assert_eq!((head.status, plan.keep_alive), (200, true));
//! assert_eq!(call.step(), Step::ReceiveBody);
//! ```

use bytes::BytesMut;

use super::body::BodyDecoder;
use super::request::{encode_head_with, BodyLen, Head};
use super::response::{parse_head_then, BodyPlan, Framing, Parsed, ProtocolError};
use crate::headers::Known;

/// Where an exchange stands: what the driver does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// The head is written (in the caller's buffer) and carries
    /// `Expect: 100-continue`: send it, then wait a little for the server
    /// ([`Call::receive`], or [`Call::continue_wait_over`] when nothing came).
    AwaitContinue,
    /// Send the head (if not sent yet) and the body, then [`Call::body_sent`].
    SendBody,
    /// Read the response head with [`Call::receive`].
    ReceiveHead,
    /// The final head is in; read the body it planned.
    ReceiveBody,
}

/// One exchange (see the module docs).
#[derive(Debug)]
pub struct Call {
    step: Step,
    head_request: bool,
    /// The caller said `Connection: close`.
    close_requested: bool,
    /// The final response came before the body was sent.
    early: bool,
}

/// What a received response head says, beside the head itself: `None` for
/// an interim (1xx) response, the body plan for the final one.
pub type Received = Option<BodyPlan>;

impl Call {
    /// Prepares the exchange and writes the request head into `out`.
    /// A body of more than `expect_continue_above` bytes is announced with
    /// `Expect: 100-continue` (unless the caller set `Expect`).
    pub fn start(out: &mut BytesMut, head: Head<'_>, expect_continue_above: u64) -> Call {
        Call::start_with(out, head, expect_continue_above, None)
    }

    /// [`Call::start`] with the origin's precomputed head defaults
    /// (`proto::request::head_defaults`).
    pub(crate) fn start_with(
        out: &mut BytesMut,
        mut head: Head<'_>,
        expect_continue_above: u64,
        defaults: Option<&[u8]>,
    ) -> Call {
        head.expect_continue = matches!(head.body, BodyLen::Known(n) if n > expect_continue_above)
            && !head.headers.has(Known::Expect);
        encode_head_with(out, &head, defaults);
        Call {
            step: if head.expect_continue {
                Step::AwaitContinue
            } else {
                Step::SendBody
            },
            head_request: head.method == "HEAD",
            close_requested: head.headers.has_token_known(Known::Connection, "close"),
            early: false,
        }
    }

    /// What to do next.
    pub fn step(&self) -> Step {
        self.step
    }

    /// Nothing came while waiting for `100 Continue`: send the body anyway.
    pub fn continue_wait_over(&mut self) {
        if self.step == Step::AwaitContinue {
            self.step = Step::SendBody;
        }
    }

    /// The whole body is sent.
    pub fn body_sent(&mut self) {
        if self.step == Step::SendBody {
            self.step = Step::ReceiveHead;
        }
    }

    /// Parses a response head at the start of `input`, in the shape
    /// `transport::Conn::read_frame` takes: `Ok(None)` until it is whole.
    ///
    /// An interim response (1xx but 101) gives no plan: while awaiting
    /// `100 Continue` it means "send the body"; after the body the final
    /// response follows. A final response plans the body and decides
    /// keep-alive once: the server's framing, the caller's
    /// `Connection: close`, and an early answer (the server answered before
    /// the body was sent and may still expect it: never reused).
    pub fn receive(
        &mut self,
        input: &[u8],
        max_head: usize,
    ) -> Result<Parsed<Received>, ProtocolError> {
        let head_request = self.head_request;
        let parsed = parse_head_then(input, max_head, |head, framer| {
            if is_interim(head.status) {
                return Ok(None);
            }
            framer.plan(head.status, head_request).map(Some)
        })?;
        Ok(parsed.map(|((head, plan), used)| {
            let plan = match plan {
                None => {
                    self.continue_wait_over();
                    None
                }
                Some(mut plan) => {
                    self.early = self.step != Step::ReceiveHead;
                    plan.keep_alive &= !self.early && !self.close_requested;
                    self.step = Step::ReceiveBody;
                    Some(plan)
                }
            };
            ((head, plan), used)
        }))
    }

    /// True when the final response came before the body was sent.
    pub fn answered_early(&self) -> bool {
        self.early
    }
}

// 1xx other than 101: a final response follows. The rule lives in
// pconn-proxy's `proto::http1` (its docs come with it), where a `CONNECT`
// reply follows it too.
pub use proxy_tunnel::proto::http1::is_interim;

/// Where a connection stands between exchanges: the state the pool's
/// reuse decision reads.
#[derive(Debug)]
pub enum ConnState {
    /// Between exchanges: as good as a fresh connection.
    Idle,
    /// A response body is (partly) unread; `keep_alive` says whether the
    /// connection may serve another request once it is read to its end.
    Body {
        /// The framing of the rest of the body.
        decoder: BodyDecoder,
        /// The plan's keep-alive decision.
        keep_alive: bool,
    },
    /// Either side said close, or the framing was not trustworthy.
    Close,
}

impl ConnState {
    /// The state once a body planned `plan` has been read to its end.
    pub fn after_body(keep_alive: bool) -> ConnState {
        if keep_alive {
            ConnState::Idle
        } else {
            ConnState::Close
        }
    }

    /// The state while a body framed by `plan` is still to be read.
    pub fn reading(plan: BodyPlan) -> ConnState {
        match plan.framing {
            Framing::Empty => ConnState::after_body(plan.keep_alive),
            framing => ConnState::Body {
                decoder: BodyDecoder::new(framing),
                keep_alive: plan.keep_alive,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Headers;

    fn start(body: BodyLen, headers: &Headers, above: u64) -> (Call, Vec<u8>) {
        let mut out = BytesMut::new();
        let head = Head {
            method: "POST",
            target: "/",
            host: "h",
            headers,
            user_agent: None,
            extra: &[],
            body,
            expect_continue: false,
        };
        let call = Call::start(&mut out, head, above);
        (call, out.to_vec())
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn a_large_body_awaits_continue_and_a_100_sends_it() {
        let (mut call, head) = start(BodyLen::Known(10), &Headers::new(), 5);
        assert!(String::from_utf8(head)
            .unwrap()
            .contains("\r\nExpect: 100-continue\r\n"));
        assert_eq!(call.step(), Step::AwaitContinue);
        let ((_, plan), _) = call
            .receive(b"HTTP/1.1 100 Continue\r\n\r\n", 1024)
            .unwrap()
            .unwrap();
        assert!(plan.is_none());
        assert_eq!(call.step(), Step::SendBody);
        call.body_sent();
        let ((_, plan), _) = call.receive(OK, 1024).unwrap().unwrap();
        assert!(plan.unwrap().keep_alive && !call.answered_early());
    }

    #[test]
    fn an_early_final_response_is_never_reused() {
        let (mut call, _) = start(BodyLen::Known(10), &Headers::new(), 5);
        let ((head, plan), _) = call.receive(OK, 1024).unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert!(!plan.unwrap().keep_alive && call.answered_early());
        assert_eq!(call.step(), Step::ReceiveBody);
    }

    #[test]
    fn expect_set_by_the_caller_or_a_small_body_does_not_wait() {
        let mut h = Headers::new();
        h.push_raw(b"Expect", b"100-continue");
        assert_eq!(start(BodyLen::Known(10), &h, 5).0.step(), Step::SendBody);
        assert_eq!(
            start(BodyLen::Known(5), &Headers::new(), 5).0.step(),
            Step::SendBody
        );
        assert_eq!(
            start(BodyLen::Chunked, &Headers::new(), 0).0.step(),
            Step::SendBody
        );
    }

    #[test]
    fn connection_close_from_the_caller_ends_reuse() {
        let mut h = Headers::new();
        h.push_raw(b"Connection", b"close");
        let (mut call, _) = start(BodyLen::None, &h, 5);
        call.body_sent();
        let ((_, plan), _) = call.receive(OK, 1024).unwrap().unwrap();
        assert!(!plan.unwrap().keep_alive);
    }

    #[test]
    fn interim_and_final() {
        assert!(is_interim(100) && is_interim(103) && !is_interim(101) && !is_interim(200));
    }
}
