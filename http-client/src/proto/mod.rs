//! The sans-IO core: bytes in, frames out. No sockets here; every decoder
//! is tested with byte strings.
//!
//! * [`request`]: checks of caller input and request head encoding.
//! * [`response`]: response head parsing and the framing/keep-alive decision.
//! * [`body`]: body framing (Content-Length, chunked with trailers, until close).

pub mod body;
pub mod request;
pub mod response;

pub use body::{BodyDecoder, Poll};
pub use request::{
    check_header, check_method, check_target, check_url_text, BodyLen, InvalidInput,
};
pub use response::{parse_head, plan_body, BodyPlan, Framing, ProtocolError, ResponseHead};

/// Methods that may be re-sent after a stale connection (RFC 9110 9.2.2).
pub fn is_idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn idempotent_methods() {
        for m in ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"] {
            assert!(super::is_idempotent(m));
        }
        for m in ["POST", "PATCH", "CONNECT", "get"] {
            assert!(!super::is_idempotent(m));
        }
    }
}
