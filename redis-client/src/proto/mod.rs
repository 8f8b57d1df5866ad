//! The sans-IO core: bytes in, values out; commands in, bytes out; and the
//! session state a borrower can change. No sockets here.

mod decode;
mod encode;
mod leaf;
mod limits;
mod push;
mod scan;
mod session;

pub use decode::{decode, decode_with};
pub use encode::{encode_command, encode_parts, write_bulk, Sink};
pub use limits::{Limits, Protocol};
pub(crate) use push::{is_confirmation, is_message, is_out_of_band};
pub use scan::{scan, Scanner};
pub use session::{Effect, SessionState};

/// The peer broke RESP or one of our limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// A type byte that is not RESP (or not of the negotiated version).
    #[error("invalid RESP type byte 0x{0:02x}")]
    BadType(u8),
    /// Syntax that RESP does not allow.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// A bulk string longer than `max_bulk_len`.
    #[error("bulk string of {len} bytes exceeds the limit of {limit}")]
    BulkTooLong {
        /// The announced length.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A line (simple string, error, double) longer than the limit.
    #[error("reply line exceeds the limit of {limit} bytes")]
    LineTooLong {
        /// The configured limit.
        limit: usize,
    },
    /// An aggregate with more elements than `max_aggregate_len`.
    #[error("aggregate of {len} elements exceeds the limit of {limit}")]
    AggregateTooLong {
        /// The announced element count (map pairs count twice).
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// Aggregates nested deeper than `max_depth`.
    #[error("reply nests deeper than the limit of {limit}")]
    TooDeep {
        /// The configured limit.
        limit: usize,
    },
    /// A whole reply larger than `max_reply_bytes`.
    #[error("reply exceeds the limit of {limit} bytes")]
    ReplyTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// Valid RESP3 that this client does not accept (Redis never sends it).
    #[error("unsupported RESP feature: {0}")]
    Unsupported(&'static str),
}
