//! redis-client (being written).
