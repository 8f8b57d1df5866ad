//! Sentinel settings: the `redis+sentinel://` URL and the builder.

use std::time::Duration;

use transport::Pool;

use crate::cluster::topology::Addr;
use crate::cluster::ClusterError;
use crate::config::ClientBuilder;
use crate::error::{Error, Result};
use crate::session::Session;

/// Builds a [`super::SentinelClient`].
///
/// URL form (as other clients accept it):
/// `redis+sentinel://[user:password@]host:port[,host:port...]/master-name[/db][?option=value&...]`,
/// `rediss+sentinel://` for TLS to the data nodes. The hosts are the
/// Sentinels (default port 26379). The user and password are the **data
/// nodes'** credentials; the Sentinels' own are the options
/// `sentinel_user` and `sentinel_password` (or
/// [`sentinel_credentials`](SentinelBuilder::sentinel_credentials)), so
/// neither is ever sent to the other. Other options are those of a
/// single-node URL (see [`ClientBuilder`]) and apply to the data nodes.
#[derive(Debug, Clone)]
pub struct SentinelBuilder {
    pub(crate) sentinels: Vec<Addr>,
    pub(crate) master_name: Option<String>,
    pub(crate) node: ClientBuilder,
    pub(crate) sentinel: ClientBuilder,
    pub(crate) read_from_replicas: bool,
    pub(crate) watch: bool,
    pub(crate) max_retries: usize,
    pub(crate) retry_delay: Duration,
    pub(crate) pool: Option<Pool<Session>>,
}

impl Default for SentinelBuilder {
    fn default() -> Self {
        SentinelBuilder {
            sentinels: Vec::new(),
            master_name: None,
            node: ClientBuilder::new(),
            sentinel: ClientBuilder::new()
                .connect_timeout(Duration::from_secs(2))
                .read_timeout(Some(Duration::from_secs(2))),
            read_from_replicas: false,
            watch: true,
            max_retries: 40,
            retry_delay: Duration::from_millis(50),
            pool: None,
        }
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidInput(msg.into())
}

impl SentinelBuilder {
    /// Defaults: no Sentinels, reads and writes on the master, the
    /// `+switch-master` watcher on.
    pub fn new() -> SentinelBuilder {
        SentinelBuilder::default()
    }

    /// Applies a `redis+sentinel://` URL (see the type docs).
    pub fn url(mut self, url: &str) -> Result<SentinelBuilder> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid(format!("invalid Sentinel URL {url:?}: no scheme")))?;
        let data_scheme = match scheme {
            "redis+sentinel" => "redis",
            "rediss+sentinel" => "rediss",
            other => {
                return Err(invalid(format!(
                    "unknown scheme {other:?} (expected redis+sentinel:// or rediss+sentinel://)"
                )))
            }
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(at) => (&authority[..=at], &authority[at + 1..]),
            None => ("", authority),
        };
        for h in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            let addr = Addr::parse(h)
                .or_else(|| {
                    (!h.contains(':')).then(|| Addr {
                        host: h.to_string(),
                        port: 26379,
                    })
                })
                .ok_or_else(|| invalid(format!("invalid Sentinel address {h:?}")))?;
            self.sentinels.push(addr);
        }
        if self.sentinels.is_empty() {
            return Err(ClusterError::NoSeeds.into());
        }
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        let name = segments.next().ok_or(ClusterError::NoMasterName)?;
        let name = percent_encoding::percent_decode_str(name)
            .decode_utf8_lossy()
            .into_owned();
        let db = segments.next().unwrap_or("0");
        if segments.next().is_some() {
            return Err(invalid(format!("invalid Sentinel URL path {path:?}")));
        }
        // Split the Sentinels' options from the data nodes'.
        let mut node_query = Vec::new();
        let (mut s_user, mut s_pass) = (None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned();
            match k {
                "sentinel_user" | "sentinel_username" => s_user = Some(v),
                "sentinel_password" => s_pass = Some(v),
                _ => node_query.push(pair),
            }
        }
        // The data nodes' settings, checked through the single-node parser
        // (the address is replaced by each discovered master).
        let first = &self.sentinels[0];
        let node_url = format!(
            "{data_scheme}://{userinfo}{first}/{db}{}{}",
            if node_query.is_empty() { "" } else { "?" },
            node_query.join("&")
        );
        self.node = self.node.url(&node_url)?;
        if let Some(pw) = s_pass {
            self.sentinel = self.sentinel.credentials(s_user.as_deref(), &pw);
        } else if s_user.is_some() {
            return Err(invalid("sentinel_user without sentinel_password"));
        }
        self.master_name = Some(name);
        Ok(self)
    }

    /// Adds a Sentinel.
    pub fn sentinel(mut self, host: &str, port: u16) -> SentinelBuilder {
        self.sentinels.push(Addr {
            host: host.to_string(),
            port,
        });
        self
    }

    /// The name the Sentinels monitor the master under.
    pub fn master_name(mut self, name: &str) -> SentinelBuilder {
        self.master_name = Some(name.to_string());
        self
    }

    /// Settings for the data nodes (credentials, db, TLS, timeouts); the
    /// address is replaced by the discovered master's.
    pub fn node_settings(mut self, node: ClientBuilder) -> SentinelBuilder {
        self.node = node;
        self
    }

    /// CA certificates (PEM file) to trust for `rediss+sentinel://` data nodes.
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> SentinelBuilder {
        self.node = self.node.ca_file(path);
        self
    }

    /// The Sentinels' own user and password (never sent to data nodes).
    pub fn sentinel_credentials(mut self, user: Option<&str>, password: &str) -> SentinelBuilder {
        self.sentinel = self.sentinel.credentials(user, password);
        self
    }

    /// Settings for the connections to the Sentinels (timeouts, TLS).
    pub fn sentinel_settings(mut self, sentinel: ClientBuilder) -> SentinelBuilder {
        self.sentinel = sentinel;
        self
    }

    /// Commands that only read go to a replica (checked with `ROLE`).
    pub fn read_from_replicas(mut self, yes: bool) -> SentinelBuilder {
        self.read_from_replicas = yes;
        self
    }

    /// Whether a background thread listens for `+switch-master` on a
    /// Sentinel to drop the old master at once (default on).
    pub fn watch_switch_master(mut self, yes: bool) -> SentinelBuilder {
        self.watch = yes;
        self
    }

    /// How often discovery is retried while no master is confirmed, with
    /// this delay between tries (default 40 x 50 ms: a failover's length).
    pub fn retries(mut self, n: usize, delay: Duration) -> SentinelBuilder {
        self.max_retries = n;
        self.retry_delay = delay;
        self
    }

    /// The pool for the data-node connections.
    pub fn pool(mut self, pool: Pool<Session>) -> SentinelBuilder {
        self.pool = Some(pool);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.sentinels.is_empty() {
            return Err(ClusterError::NoSeeds.into());
        }
        if self.master_name.as_deref().is_none_or(str::is_empty) {
            return Err(ClusterError::NoMasterName.into());
        }
        self.node.validate()?;
        self.sentinel.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let b = SentinelBuilder::new()
            .url("redis+sentinel://u:p%40ss@h1:26390,h2/mymaster/2?sentinel_password=sp&protocol=3")
            .unwrap();
        assert_eq!(
            b.sentinels,
            [
                Addr {
                    host: "h1".into(),
                    port: 26390
                },
                Addr {
                    host: "h2".into(),
                    port: 26379
                }
            ]
        );
        assert_eq!(b.master_name.as_deref(), Some("mymaster"));
        assert_eq!(b.node.handshake.db, 2);
        assert_eq!(b.node.handshake.password.as_deref(), Some("p@ss"));
        assert_eq!(b.node.handshake.user.as_deref(), Some("u"));
        // Sentinel credentials kept apart from the data nodes'.
        assert_eq!(b.sentinel.handshake.password.as_deref(), Some("sp"));
        assert_eq!(b.sentinel.handshake.user, None);
        assert!(!b.node.tls);
        assert!(
            SentinelBuilder::new()
                .url("rediss+sentinel://h:1/m")
                .unwrap()
                .node
                .tls
        );
    }

    #[test]
    fn bad_urls() {
        assert!(matches!(
            SentinelBuilder::new().url("redis+sentinel://h:26379"),
            Err(Error::Cluster(ClusterError::NoMasterName))
        ));
        assert!(matches!(
            SentinelBuilder::new().url("redis+sentinel://h:26379/"),
            Err(Error::Cluster(ClusterError::NoMasterName))
        ));
        assert!(matches!(
            SentinelBuilder::new().url("redis+sentinel:///m"),
            Err(Error::Cluster(ClusterError::NoSeeds))
        ));
        assert!(SentinelBuilder::new().url("redis://h:1/m").is_err());
        assert!(SentinelBuilder::new()
            .url("redis+sentinel://h:1/m/1/x")
            .is_err());
        assert!(SentinelBuilder::new()
            .url("redis+sentinel://h:1/m/notadb")
            .is_err());
        assert!(matches!(
            SentinelBuilder::new().sentinel("h", 1).validate(),
            Err(Error::Cluster(ClusterError::NoMasterName))
        ));
    }
}
