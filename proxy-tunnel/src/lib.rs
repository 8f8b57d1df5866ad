//! proxy-tunnel (being written).
