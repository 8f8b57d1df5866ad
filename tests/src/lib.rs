//! Shared helpers for the integration tests: endpoints of the real test
//! servers (from the environment, with loopback defaults) and small tools.

pub mod server_process;

use std::path::PathBuf;

/// The value of an endpoint variable, or its default when unset or empty.
pub fn env_or(name: &str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

/// The test CA that signed the servers' certificates (`PCONN_TEST_CA`).
pub fn test_ca() -> PathBuf {
    PathBuf::from(env_or(
        "PCONN_TEST_CA",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.servers/certs/ca.pem"),
    ))
}

/// The client certificate and key signed by the test CA.
pub fn test_client_cert() -> (PathBuf, PathBuf) {
    (
        PathBuf::from(env_or(
            "PCONN_TEST_CLIENT_CERT",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.servers/certs/client.pem"),
        )),
        PathBuf::from(env_or(
            "PCONN_TEST_CLIENT_KEY",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.servers/certs/client.key"),
        )),
    )
}

/// Splits `scheme://host:port...` into host and port (IPv6 in brackets
/// comes back without them), for tests that need the raw address.
pub fn host_port(url: &str, default_port: u16) -> (String, u16) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').expect("closing bracket");
        let port = after
            .strip_prefix(':')
            .map_or(default_port, |p| p.parse().expect("port"));
        return (host.to_string(), port);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().expect("port")),
        None => (authority.to_string(), default_port),
    }
}

/// A name unique within this test run, for keys, subjects and markers.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Established TCP connections from this machine to `port` on loopback,
/// read from the kernel's socket table: the server's view of how many
/// connections a client really holds.
pub fn established_to(port: u16) -> usize {
    let mut count = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 4 {
                continue;
            }
            // local_address rem_address st; st 01 = ESTABLISHED.
            let remote_port = fields[2]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if remote_port == Some(port) && fields[3] == "01" {
                count += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(
            host_port("redis://127.0.0.1:6379", 1),
            ("127.0.0.1".into(), 6379)
        );
        assert_eq!(
            host_port("rediss://localhost:6380/2", 1),
            ("localhost".into(), 6380)
        );
        assert_eq!(host_port("http://u:p@[::1]:81/x", 1), ("::1".into(), 81));
        assert_eq!(
            host_port("https://example.com", 443),
            ("example.com".into(), 443)
        );
    }
}
