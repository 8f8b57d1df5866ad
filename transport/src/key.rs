//! Pool identity: everything that makes two connections "the same".

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::OnceLock;

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

/// The full identity of a pooled connection. Connections opened under one key
/// are only ever handed out under an equal key.
///
/// ```
/// use transport::{PoolKey, SecretHash};
/// let a = PoolKey::new("redis", "127.0.0.1", 6379).credentials(SecretHash::of(["alice", "pw"]));
/// let b = PoolKey::new("redis", "127.0.0.1", 6379).credentials(SecretHash::of(["bob", "pw"]));
/// assert_ne!(a, b);
/// assert!(!format!("{a:?}").contains("pw"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    protocol: &'static str,
    host: String,
    port: u16,
    tls: Option<u64>,
    via: Option<String>,
    credentials: Option<SecretHash>,
    database: Option<String>,
    persistent_id: Option<String>,
}

impl PoolKey {
    /// A key for `protocol` to `host:port`, plain TCP, direct, no credentials.
    pub fn new(protocol: &'static str, host: impl Into<String>, port: u16) -> PoolKey {
        PoolKey {
            protocol,
            host: host.into(),
            port,
            tls: None,
            via: None,
            credentials: None,
            database: None,
            persistent_id: None,
        }
    }

    /// The TLS settings' fingerprint ([`crate::TlsConfig::fingerprint`]).
    pub fn tls(mut self, fingerprint: u64) -> PoolKey {
        self.tls = Some(fingerprint);
        self
    }

    /// The identity of the tunnel or proxy the connection runs through
    /// ([`crate::Connector::identity`]); must not contain secrets in clear.
    pub fn via(mut self, identity: impl Into<String>) -> PoolKey {
        self.via = Some(identity.into());
        self
    }

    /// The hash of the credentials the connection is authenticated with.
    pub fn credentials(mut self, hash: SecretHash) -> PoolKey {
        self.credentials = Some(hash);
        self
    }

    /// The database (Redis db index, SQL schema, ...) selected on open.
    pub fn database(mut self, db: impl Into<String>) -> PoolKey {
        self.database = Some(db.into());
        self
    }

    /// A caller-chosen persistent id, like `pfsockopen`'s: separates
    /// otherwise equal identities.
    pub fn persistent_id(mut self, id: impl Into<String>) -> PoolKey {
        self.persistent_id = Some(id.into());
        self
    }

    /// The protocol name.
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// The host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for PoolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls.is_some() { "+tls" } else { "" };
        if self.host.contains(':') {
            write!(
                f,
                "{}{}://[{}]:{}",
                self.protocol, scheme, self.host, self.port
            )?;
        } else {
            write!(
                f,
                "{}{}://{}:{}",
                self.protocol, scheme, self.host, self.port
            )?;
        }
        if let Some(db) = &self.database {
            write!(f, "/{db}")?;
        }
        if let Some(via) = &self.via {
            write!(f, " via {via}")?;
        }
        if let Some(c) = &self.credentials {
            write!(f, " creds {c:?}")?;
        }
        if let Some(id) = &self.persistent_id {
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
    fn keys_differ_by_each_part() {
        let base = PoolKey::new("redis", "h", 1);
        let variants = [
            base.clone().tls(1),
            base.clone().via("http://proxy:3128"),
            base.clone().credentials(SecretHash::of(["x"])),
            base.clone().database("2"),
            base.clone().persistent_id("p"),
            PoolKey::new("http", "h", 1),
            PoolKey::new("redis", "h", 2),
        ];
        for v in &variants {
            assert_ne!(&base, v);
        }
        assert_eq!(
            PoolKey::new("redis", "::1", 6379).database("3").to_string(),
            "redis://[::1]:6379/3"
        );
    }
}
