//! Pool identity: everything that makes two connections "the same".
//!
//! A key's settings are hashed once, when it is built, and kept behind an
//! `Arc`: a pool lookup then hashes one word, and a key cloned from the
//! pool's compares by pointer. Measured with bench/scale `keys` (10,000
//! keys, their strings cold in memory): ~1 µs less per lookup.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::connect::{Connector, Endpoint};

/// A 128-bit keyed hash of a secret (credentials, proxy password). Two
/// identities with different secrets get different hashes, and the secret
/// itself never appears in `Debug`, logs or errors. The hash keys are random
/// per process, so a printed hash reveals nothing that could be brute-forced
/// offline against a known key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u64; 2]);

fn hash_keys() -> &'static [RandomState; 2] {
    static KEYS: OnceLock<[RandomState; 2]> = OnceLock::new();
    KEYS.get_or_init(|| [RandomState::new(), RandomState::new()])
}

impl SecretHash {
    /// Hashes the parts of a secret (e.g. user and password) in order. Parts
    /// are length-prefixed so ("ab", "c") and ("a", "bc") differ.
    pub fn of<I, B>(parts: I) -> SecretHash
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let keys = hash_keys();
        let mut a = keys[0].build_hasher();
        let mut b = keys[1].build_hasher();
        for part in parts {
            let part = part.as_ref();
            for h in [&mut a, &mut b] {
                h.write_usize(part.len());
                h.write(part);
            }
        }
        SecretHash([a.finish(), b.finish()])
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A short prefix is enough to tell identities apart in logs.
        write!(f, "#{:08x}", self.0[0] >> 32)
    }
}

/// The full identity of a pooled connection: where it goes, how, and every
/// setting its handshake applied, each under its own name. Connections
/// opened under one key are only ever handed out under an equal key.
///
/// Build it with [`PoolKey::for_endpoint`] (the route: host, port or Unix
/// path, TLS settings, proxy) and add the protocol's handshake settings.
///
/// ```
/// use pconn_transport::{Direct, Endpoint, PoolKey, SecretHash};
/// let endpoint = Endpoint::new("127.0.0.1", 6379)?;
/// let key = |user: &str| {
///     PoolKey::for_endpoint("redis", &endpoint, &Direct)
///         .credentials(SecretHash::of([user, "pw"]))
///         .database("2")
///         .protocol_version(3)
/// };
/// assert_ne!(key("alice"), key("bob"));
/// assert!(!format!("{:?}", key("alice")).contains("pw"));
/// # Ok::<(), pconn_transport::Error>(())
/// ```
#[derive(Clone)]
pub struct PoolKey {
    parts: Arc<Parts>,
    /// `parts` hashed once, when the key is built: a pool lookup hashes
    /// and compares this word instead of walking the strings, and a key
    /// cloned from the one the pool holds compares by pointer. With 10,000
    /// keys the strings are cold memory, and a lookup that touched them
    /// cost ~1 µs more than one that did not (bench/scale `keys`).
    hash: u64,
}

/// The named settings of a [`PoolKey`].
#[derive(Clone, PartialEq, Eq, Hash)]
struct Parts {
    protocol: &'static str,
    host: String,
    port: u16,
    unix_path: Option<PathBuf>,
    tls: Option<u64>,
    tls_mode: Option<&'static str>,
    via: Option<String>,
    credentials: Option<SecretHash>,
    database: Option<String>,
    persistent_id: Option<String>,
    client_name: Option<String>,
    protocol_version: Option<u8>,
    local_name: Option<String>,
    read_only: bool,
}

impl PartialEq for PoolKey {
    fn eq(&self, other: &PoolKey) -> bool {
        self.hash == other.hash
            && (Arc::ptr_eq(&self.parts, &other.parts) || self.parts == other.parts)
    }
}

impl Eq for PoolKey {}

impl Hash for PoolKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PoolKey {
    /// A key for `protocol` to `host:port`, plain TCP, direct, no credentials.
    pub fn new(protocol: &'static str, host: impl Into<String>, port: u16) -> PoolKey {
        PoolKey::of(Parts {
            protocol,
            host: host.into(),
            port,
            unix_path: None,
            tls: None,
            tls_mode: None,
            via: None,
            credentials: None,
            database: None,
            persistent_id: None,
            client_name: None,
            protocol_version: None,
            local_name: None,
            read_only: false,
        })
    }

    fn of(parts: Parts) -> PoolKey {
        // The process's random hash keys: the same parts give the same
        // word in every key, and nobody outside can aim keys at one word.
        PoolKey {
            hash: hash_keys()[0].hash_one(&parts),
            parts: Arc::new(parts),
        }
    }

    /// A key with one setting changed (the builder methods below).
    fn with(self, change: impl FnOnce(&mut Parts)) -> PoolKey {
        let mut parts = Arc::unwrap_or_clone(self.parts);
        change(&mut parts);
        PoolKey::of(parts)
    }

    /// The one way to start a key for a connection opened with
    /// [`crate::open`]`(endpoint, connector, ..)`: host and port (or the
    /// Unix socket path), the TLS settings' fingerprint, and the
    /// connector's identity (a proxy, resolver overrides).
    pub fn for_endpoint(
        protocol: &'static str,
        endpoint: &Endpoint,
        connector: &dyn Connector,
    ) -> PoolKey {
        PoolKey::new(protocol, endpoint.host(), endpoint.port()).with(|key| {
            key.unix_path = endpoint.unix_path().map(Path::to_path_buf);
            key.tls = endpoint.tls().map(|tls| tls.fingerprint());
            key.via = connector.identity();
        })
    }

    /// The Unix domain socket path the connection goes to.
    pub fn unix_path(self, path: impl Into<PathBuf>) -> PoolKey {
        self.with(|key| key.unix_path = Some(path.into()))
    }

    /// How TLS comes about when it is not the endpoint's from the start
    /// (e.g. SMTP's `"starttls"` or `"plain"`).
    pub fn tls_mode(self, mode: &'static str) -> PoolKey {
        self.with(|key| key.tls_mode = Some(mode))
    }

    /// The client name the handshake sets (Redis `CLIENT SETNAME`).
    pub fn client_name(self, name: impl Into<String>) -> PoolKey {
        self.with(|key| key.client_name = Some(name.into()))
    }

    /// The protocol version the handshake negotiates (RESP 2 or 3).
    pub fn protocol_version(self, version: u8) -> PoolKey {
        self.with(|key| key.protocol_version = Some(version))
    }

    /// The name the client gives itself in the handshake (SMTP EHLO).
    pub fn local_name(self, name: impl Into<String>) -> PoolKey {
        self.with(|key| key.local_name = Some(name.into()))
    }

    /// Whether the handshake put the connection in read-only mode (Redis
    /// `READONLY` on a cluster replica).
    pub fn read_only(self, on: bool) -> PoolKey {
        self.with(|key| key.read_only = on)
    }

    /// The TLS settings' fingerprint ([`crate::TlsConfig::fingerprint`]).
    pub fn tls(self, fingerprint: u64) -> PoolKey {
        self.with(|key| key.tls = Some(fingerprint))
    }

    /// The identity of the tunnel or proxy the connection runs through
    /// ([`crate::Connector::identity`]); must not contain secrets in clear.
    pub fn via(self, identity: impl Into<String>) -> PoolKey {
        self.with(|key| key.via = Some(identity.into()))
    }

    /// The hash of the credentials the connection is authenticated with.
    pub fn credentials(self, hash: SecretHash) -> PoolKey {
        self.with(|key| key.credentials = Some(hash))
    }

    /// The database (Redis db index, SQL schema, ...) selected on open.
    pub fn database(self, db: impl Into<String>) -> PoolKey {
        self.with(|key| key.database = Some(db.into()))
    }

    /// A caller-chosen persistent id, like `pfsockopen`'s: separates
    /// otherwise equal identities.
    pub fn persistent_id(self, id: impl Into<String>) -> PoolKey {
        self.with(|key| key.persistent_id = Some(id.into()))
    }

    /// The protocol name.
    pub fn protocol(&self) -> &'static str {
        self.parts.protocol
    }

    /// The host name or address.
    pub fn host(&self) -> &str {
        &self.parts.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.parts.port
    }

    /// The Unix socket path, for a key of a Unix socket connection.
    pub fn unix_socket_path(&self) -> Option<&Path> {
        self.parts.unix_path.as_deref()
    }
}

impl fmt::Display for PoolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &*self.parts;
        let scheme = if key.tls.is_some() { "+tls" } else { "" };
        if let Some(path) = &key.unix_path {
            write!(f, "{}{}+unix://{}", key.protocol, scheme, path.display())?;
        } else if key.host.contains(':') {
            write!(
                f,
                "{}{}://[{}]:{}",
                key.protocol, scheme, key.host, key.port
            )?;
        } else {
            write!(f, "{}{}://{}:{}", key.protocol, scheme, key.host, key.port)?;
        }
        if let Some(db) = &key.database {
            write!(f, "/{db}")?;
        }
        if let Some(v) = key.protocol_version {
            write!(f, " v{v}")?;
        }
        if let Some(mode) = key.tls_mode {
            write!(f, " {mode}")?;
        }
        if let Some(name) = &key.local_name {
            write!(f, " as {name}")?;
        }
        if let Some(name) = &key.client_name {
            write!(f, " name {name}")?;
        }
        if key.read_only {
            f.write_str(" read-only")?;
        }
        if let Some(via) = &key.via {
            write!(f, " via {via}")?;
        }
        if let Some(c) = &key.credentials {
            write!(f, " creds {c:?}")?;
        }
        if let Some(id) = &key.persistent_id {
            write!(f, " id {id}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PoolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PoolKey({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_separates_parts_and_hides_secret() {
        assert_ne!(SecretHash::of(["ab", "c"]), SecretHash::of(["a", "bc"]));
        assert_eq!(SecretHash::of(["u", "p"]), SecretHash::of(["u", "p"]));
        let shown = format!("{:?}", SecretHash::of(["user", "hunter2"]));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn equal_settings_make_equal_keys_with_equal_hashes() {
        use std::collections::HashMap;
        let build = || {
            PoolKey::new("redis", "h", 1)
                .database("2")
                .credentials(SecretHash::of(["u", "p"]))
                .protocol_version(3)
        };
        let (a, b) = (build(), build());
        assert!(!Arc::ptr_eq(&a.parts, &b.parts), "built apart");
        assert_eq!(a, b);
        assert_eq!(a, a.clone());
        let mut map = HashMap::new();
        map.insert(a.clone(), 1);
        assert_eq!(map.get(&b), Some(&1), "found by a key built apart");
        // A setting changed after a clone changes only the new key.
        let c = a.clone().database("3");
        assert_ne!(a, c);
        assert_eq!(a, b);
        assert_eq!(map.get(&c), None);
    }

    #[test]
    fn keys_differ_by_each_part() {
        let base = PoolKey::new("redis", "h", 1);
        let variants = [
            base.clone().tls(1),
            base.clone().via("http://proxy:3128"),
            base.clone().credentials(SecretHash::of(["x"])),
            base.clone().database("2"),
            base.clone().persistent_id("p"),
            base.clone().unix_path("/run/r.sock"),
            base.clone().tls_mode("starttls"),
            base.clone().client_name("n"),
            base.clone().protocol_version(3),
            base.clone().local_name("client.example"),
            base.clone().read_only(true),
            PoolKey::new("http", "h", 1),
            PoolKey::new("redis", "h", 2),
        ];
        for v in &variants {
            assert_ne!(&base, v);
        }
        for (i, a) in variants.iter().enumerate() {
            for b in &variants[i + 1..] {
                assert_ne!(a, b, "each named setting is its own part");
            }
        }
        assert_eq!(
            PoolKey::new("redis", "::1", 6379).database("3").to_string(),
            "redis://[::1]:6379/3"
        );
    }

    #[test]
    fn for_endpoint_takes_the_route_from_the_endpoint_and_connector() {
        use crate::connect::{Dialer, Direct, Resolve};
        let tcp = Endpoint::new("h", 1).unwrap();
        assert_eq!(
            PoolKey::for_endpoint("redis", &tcp, &Direct),
            PoolKey::new("redis", "h", 1)
        );
        let unix = Endpoint::unix("/run/r.sock").unwrap();
        let key = PoolKey::for_endpoint("redis", &unix, &Direct);
        assert_eq!(key.unix_socket_path(), Some(Path::new("/run/r.sock")));
        assert_eq!(key.to_string(), "redis+unix:///run/r.sock");
        let other = Endpoint::unix("/run/other.sock").unwrap();
        assert_ne!(key, PoolKey::for_endpoint("redis", &other, &Direct));
        let pinned = Dialer::new().resolve(
            Resolve::default()
                .fixed("h", ["10.0.0.1".parse().unwrap()])
                .unwrap(),
        );
        assert_ne!(
            PoolKey::for_endpoint("redis", &tcp, &pinned),
            PoolKey::for_endpoint("redis", &tcp, &Direct)
        );
    }
}
