//! The sans-IO core: bytes in, frames out. No sockets here; every decoder
//! is tested with byte strings.
//!
//! * [`request`]: checks of caller input and request head encoding.
//! * [`response`]: response head parsing and the framing/keep-alive decision.
//! * [`body`]: body framing (Content-Length, chunked with trailers, until close).
//! * [`digest`] (feature `digest`): Digest authentication challenges and
//!   answers (RFC 7616).
//! * [`call`]: one exchange as a state machine (100-continue, interim and
//!   early responses, the keep-alive decision) and the connection state
//!   the pool's reuse decision reads.
//! * [`retry_after`]: the wait a `Retry-After` field asks for (seconds or
//!   an HTTP date).

pub mod body;
pub mod call;
#[cfg(feature = "digest")]
pub mod digest;
pub mod request;
pub mod response;
pub mod retry_after;

pub use body::{BodyDecoder, Poll};
pub use request::{
    check_header, check_method, check_target, check_url_text, BodyLen, InvalidInput, Part,
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

/// Mutated real responses through the whole decode path: any outcome but a
/// panic, an endless loop, or more output than input is fine.
#[cfg(test)]
mod robustness {
    use super::*;

    const SEEDS: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\nuntil close",
    ];

    fn decode_all(input: &[u8]) {
        let Ok(Some((head, used))) = parse_head(input, 4096) else {
            return;
        };
        let Ok(plan) = plan_body(&head, false) else {
            return;
        };
        let mut decoder = BodyDecoder::new(plan.framing);
        let mut rest = &input[used..];
        let mut out = 0usize;
        for _ in 0..input.len() * 4 + 8 {
            match decoder.poll(rest) {
                Ok(Poll::Data { skip, len }) => {
                    assert!(skip + len <= rest.len());
                    out += len;
                    decoder.taken(len);
                    rest = &rest[skip + len..];
                }
                Ok(Poll::NeedMore { skip }) => {
                    rest = &rest[skip..];
                    if decoder.eof().is_err() || decoder.is_done() {
                        break;
                    }
                }
                Ok(Poll::Done { .. }) | Err(_) => break,
            }
        }
        assert!(out <= input.len());
    }

    #[test]
    fn mutated_responses_never_panic() {
        // xorshift: deterministic, no dependency.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in SEEDS {
            decode_all(seed);
            for _ in 0..3000 {
                let mut buf = seed.to_vec();
                for _ in 0..(next() % 4 + 1) {
                    let i = (next() % buf.len() as u64) as usize;
                    match next() % 4 {
                        0 => buf[i] = next() as u8,
                        1 => buf.insert(i, b"\r\n0123456789abcdef:; "[(next() % 20) as usize]),
                        2 => {
                            buf.remove(i);
                        }
                        _ => buf.truncate(i),
                    }
                    if buf.is_empty() {
                        break;
                    }
                }
                decode_all(&buf);
            }
        }
    }
}
