//! The sans-IO core: the `CONNECT` request and the proxy's reply head, the
//! SOCKS handshakes, and the target check they share. Bytes in, values out;
//! no sockets. [`http1`] holds the HTTP/1.x head rules the reply shares with
//! pconn-http's response heads.

pub mod http1;
pub mod reply;
pub mod request;
pub mod socks;
pub mod target;

pub use reply::{decode_reply, Reply, ReplyError};
pub use request::{encode_connect, target_authority};
pub use socks::{SocksAddr, SocksError, SocksReply};
pub use target::Target;
