//! http-client (being written).
