//! Limits on what a peer may make us buffer (enforced by [`super::scan`]),
//! and the RESP version that decides which type bytes are legal.

/// Limits on replies, configurable per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string (and simple line) accepted, in bytes.
    pub max_bulk_len: usize,
    /// Most elements in one array, set, push or map (pairs count twice).
    pub max_aggregate_len: usize,
    /// Deepest nesting of aggregates.
    pub max_depth: usize,
    /// Largest whole reply, in bytes.
    pub max_reply_bytes: usize,
    /// Push messages (pub/sub, invalidations) kept unread before the
    /// connection is given up.
    pub max_pending_pushes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Redis' own proto-max-bulk-len default.
            max_bulk_len: 512 * 1024 * 1024,
            max_aggregate_len: 16 * 1024 * 1024,
            // Redis replies nest a handful of levels deep (XINFO, COMMAND DOCS).
            max_depth: 32,
            max_reply_bytes: 1024 * 1024 * 1024,
            max_pending_pushes: 100_000,
        }
    }
}

/// The RESP version a connection speaks; decides which type bytes are legal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// RESP2: `+ - : $ *`.
    Resp2,
    /// RESP3: RESP2 plus `_ , # ( ! = % ~ > |`.
    Resp3,
}
