//! smtp-client (being written).
