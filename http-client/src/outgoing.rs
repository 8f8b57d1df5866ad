//! A request on its way out: what one attempt sends, as one value.

use std::io::Read;
use std::time::Instant;

use crate::headers::Headers;
use crate::proto::BodyLen;

/// What is sent as the request body.
pub(crate) enum SendBody<'b> {
    Empty,
    Bytes(&'b [u8]),
    Reader(&'b mut dyn Read, Option<u64>),
}

impl SendBody<'_> {
    pub(crate) fn framing(&self) -> BodyLen {
        match self {
            SendBody::Empty => BodyLen::None,
            SendBody::Bytes(b) => BodyLen::Known(b.len() as u64),
            SendBody::Reader(_, Some(n)) => BodyLen::Known(*n),
            SendBody::Reader(_, None) => BodyLen::Chunked,
        }
    }

    /// A reader is consumed by the first attempt; bytes can be sent again.
    pub(crate) fn replayable(&self) -> bool {
        !matches!(self, SendBody::Reader(..))
    }
}

/// One request as the client sends it (after redirects rewrote it).
pub(crate) struct Request<'r, 'b> {
    pub(crate) method: &'r str,
    pub(crate) headers: &'r Headers,
    pub(crate) body: &'r mut SendBody<'b>,
    /// The caller marked a non-idempotent request safe to send twice.
    pub(crate) replayable: bool,
    pub(crate) deadline: Option<Instant>,
}
