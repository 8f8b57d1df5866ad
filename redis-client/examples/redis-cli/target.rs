//! Where the commands go: one server (holding one pooled connection so
//! that `SELECT` and the prompt's `[db]` stay true), a cluster, or a
//! Sentinel-watched master.

use pconn_redis::{Client, ClusterClient, Cmd, Connection, Error, SentinelClient, Value};

use crate::args::Args;

/// Where the commands go: one server, a cluster, or a Sentinel-watched master.
pub enum Target {
    /// One server, and the connection borrowed for this run.
    Single(Client, Option<Connection>),
    /// A Redis Cluster.
    Cluster(ClusterClient),
    /// The master found through Sentinels.
    Sentinel(SentinelClient),
}

impl Target {
    /// Sends one command and returns its reply. On a connection-level error
    /// the held connection is dropped (the next command opens or reuses a
    /// checked one).
    pub fn query(&mut self, c: &Cmd) -> Result<Value, Error> {
        match self {
            Target::Single(client, held) => {
                let conn = match held {
                    Some(conn) => conn,
                    None => held.insert(client.get()?),
                };
                let r = conn.query_value(c);
                if matches!(r, Err(ref e) if !matches!(e, Error::Server(_))) {
                    *held = None;
                }
                r
            }
            // Whole-keyspace commands ask every master and add up.
            Target::Cluster(cluster) => match c.name().as_str() {
                "DBSIZE" => Ok(Value::Int(cluster.dbsize()? as i64)),
                "KEYS" if c.len() == 2 => {
                    let pattern = String::from_utf8_lossy(c.part(1).unwrap_or_default());
                    Ok(Value::Array(cluster.keys(&pattern)?))
                }
                _ => cluster.query_value(c),
            },
            Target::Sentinel(s) => s.query_value(c),
        }
    }

    /// The pool's counters as one JSON object.
    pub fn stats_json(&self) -> String {
        match self {
            Target::Single(client, _) => client.stats().to_json(),
            Target::Cluster(cluster) => cluster.pool().stats().to_json(),
            Target::Sentinel(s) => s
                .master_client()
                .map(|c| c.stats().to_json())
                .unwrap_or_default(),
        }
    }
}

/// Builds the target the arguments name.
pub fn target(args: &Args) -> Result<Target, Error> {
    let tls = args.url.starts_with("rediss");
    let with_ca = |mut b: pconn_redis::ClientBuilder| {
        if tls {
            if let Some(ca) = &args.cacert {
                b = b.ca_file(ca);
            }
        }
        b
    };
    if args.url.starts_with("redis+sentinel://") || args.url.starts_with("rediss+sentinel://") {
        let mut b = SentinelClient::builder()
            .url(&args.url)?
            .read_from_replicas(args.replicas);
        if let (true, Some(ca)) = (tls, &args.cacert) {
            b = b.ca_file(ca);
        }
        return Ok(Target::Sentinel(b.build()?));
    }
    if args.cluster {
        let mut b = ClusterClient::builder()
            .url(&args.url)?
            .read_from_replicas(args.replicas);
        if let (true, Some(ca)) = (tls, &args.cacert) {
            b = b.ca_file(ca);
        }
        return Ok(Target::Cluster(b.build()?));
    }
    Ok(Target::Single(
        with_ca(Client::builder().url(&args.url)?).build()?,
        None,
    ))
}
