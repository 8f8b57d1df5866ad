//! The sans-IO core: the `CONNECT` request and the proxy's reply head.
//! Bytes in, values out; no sockets.

pub mod reply;
pub mod request;

pub use reply::{decode_reply, Reply, ReplyError};
pub use request::{encode_connect, target_authority};
