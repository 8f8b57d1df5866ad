//! The sans-IO core: bytes in, replies out; commands and mail data encoded
//! into buffers. No sockets here, so every rule is tested with byte strings.

pub mod address;
pub mod command;
pub mod data;
pub mod dsn;
pub mod ehlo;
pub mod reply;
pub mod state;
