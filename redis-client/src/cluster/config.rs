//! Cluster settings: seed URLs and the builder.

use std::time::Duration;

use transport::{Pool, TlsConfig};

use super::error::ClusterError;
use super::topology::Addr;
use crate::config::ClientBuilder;
use crate::error::{Error, Result};
use crate::session::Session;

/// Builds a [`super::ClusterClient`].
///
/// URL form: `redis://[user[:password]@]host:port[,host:port...][?option=value&...]`
/// (`rediss://` for TLS): one or more seed nodes, the credentials and the
/// options of a single-node URL (see [`ClientBuilder`]), which every node
/// connection uses. A cluster has only database 0. Several URLs may be
/// given with [`url`](ClusterBuilder::url) too.
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    pub(crate) seeds: Vec<Addr>,
    pub(crate) node: ClientBuilder,
    pub(crate) tls: bool,
    pub(crate) read_from_replicas: bool,
    pub(crate) max_redirects: usize,
    pub(crate) max_retries: usize,
    pub(crate) retry_delay: Duration,
    pub(crate) refresh_interval: Duration,
    pub(crate) pool: Option<Pool<Session>>,
    pub(crate) persistent_id: Option<String>,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        ClusterBuilder {
            seeds: Vec::new(),
            node: ClientBuilder::new(),
            tls: false,
            read_from_replicas: false,
            max_redirects: 16,
            max_retries: 12,
            retry_delay: Duration::from_millis(20),
            refresh_interval: Duration::from_millis(100),
            pool: None,
            persistent_id: None,
        }
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidInput(msg.into())
}

/// Splits a cluster URL into one single-node URL per seed.
pub(crate) fn split_seeds(url: &str) -> Result<Vec<String>> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid(format!("invalid cluster URL {url:?}: no scheme")))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let seeds: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| format!("{scheme}://{userinfo}{h}{tail}"))
        .collect();
    if seeds.is_empty() {
        return Err(ClusterError::NoSeeds.into());
    }
    Ok(seeds)
}

impl ClusterBuilder {
    /// Defaults: no seeds, primaries only, 16 redirects, 12 retries.
    pub fn new() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// Adds the seeds of a cluster URL (see the type docs); its
    /// credentials and options apply to every node.
    pub fn url(mut self, url: &str) -> Result<ClusterBuilder> {
        for seed in split_seeds(url)? {
            let b = self.node.clone().url(&seed)?;
            if b.handshake.db != 0 {
                return Err(invalid("a cluster has only database 0"));
            }
            self.tls = b.tls;
            self.seeds.push(Addr {
                host: b.host.clone(),
                port: b.port,
            });
            self.node = b;
        }
        if let Some(id) = self.node.persistent_id.take() {
            self.persistent_id = Some(id);
        }
        Ok(self)
    }

    /// Adds a seed node.
    pub fn seed(mut self, host: &str, port: u16) -> ClusterBuilder {
        self.seeds.push(Addr {
            host: host.to_string(),
            port,
        });
        self
    }

    /// Settings for every node connection (credentials, TLS, timeouts,
    /// limits, protocol) from a single-node builder; its address is not used.
    pub fn node_settings(mut self, node: ClientBuilder) -> ClusterBuilder {
        self.tls = node.tls;
        self.node = node;
        self
    }

    /// ACL user and password for every node.
    pub fn credentials(mut self, user: Option<&str>, password: &str) -> ClusterBuilder {
        self.node = self.node.credentials(user, password);
        self
    }

    /// TLS with this configuration for every node.
    pub fn tls_config(mut self, tls: TlsConfig) -> ClusterBuilder {
        self.tls = true;
        self.node = self.node.tls_config(tls);
        self
    }

    /// CA certificates (PEM file) to trust for `rediss://` nodes.
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> ClusterBuilder {
        self.node = self.node.ca_file(path);
        self
    }

    /// Reads (commands that only read) go to replicas, round-robin, on
    /// connections in `READONLY` mode, pooled apart from the others.
    pub fn read_from_replicas(mut self, yes: bool) -> ClusterBuilder {
        self.read_from_replicas = yes;
        self
    }

    /// How many `MOVED`/`ASK` redirects one command may follow.
    pub fn max_redirects(mut self, n: usize) -> ClusterBuilder {
        self.max_redirects = n.max(1);
        self
    }

    /// How many times `TRYAGAIN`, `CLUSTERDOWN`, `LOADING` or an
    /// unreachable node is retried, with a delay doubling from
    /// `delay` (capped at 32 times it).
    pub fn retries(mut self, n: usize, delay: Duration) -> ClusterBuilder {
        self.max_retries = n;
        self.retry_delay = delay;
        self
    }

    /// The shortest time between two topology refreshes.
    pub fn refresh_interval(mut self, d: Duration) -> ClusterBuilder {
        self.refresh_interval = d;
        self
    }

    /// The pool every node connection lives in (shared with other clients).
    pub fn pool(mut self, pool: Pool<Session>) -> ClusterBuilder {
        self.pool = Some(pool);
        self
    }

    /// Binds the client to the process-wide pool of this persistent id
    /// (the registry), so that clients built later with the same id reuse
    /// its node connections.
    pub fn persistent_id(mut self, id: &str) -> ClusterBuilder {
        self.persistent_id = Some(id.to_string());
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.seeds.is_empty() {
            return Err(ClusterError::NoSeeds.into());
        }
        if self.node.handshake.db != 0 {
            return Err(invalid("a cluster has only database 0"));
        }
        self.node.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_from_url() {
        let s = split_seeds("redis://u:p@a:7000,b:7001/0?protocol=3").unwrap();
        assert_eq!(
            s,
            [
                "redis://u:p@a:7000/0?protocol=3",
                "redis://u:p@b:7001/0?protocol=3"
            ]
        );
        let b = ClusterBuilder::new()
            .url("rediss://h1:7100,h2:7101")
            .unwrap();
        assert!(b.tls);
        assert_eq!(b.seeds.len(), 2);
        assert_eq!(
            b.seeds[1],
            Addr {
                host: "h2".into(),
                port: 7101
            }
        );
    }

    #[test]
    fn bad_urls() {
        assert!(matches!(
            split_seeds("redis://"),
            Err(Error::Cluster(ClusterError::NoSeeds))
        ));
        assert!(matches!(
            ClusterBuilder::new().url("redis:///0"),
            Err(Error::Cluster(ClusterError::NoSeeds))
        ));
        assert!(ClusterBuilder::new().url("redis://a:1/3").is_err());
        assert!(ClusterBuilder::new().url("http://a:1").is_err());
        assert!(matches!(
            ClusterBuilder::new().validate(),
            Err(Error::Cluster(ClusterError::NoSeeds))
        ));
    }
}
