//! Each client under test, set up once per workload the way its users would:
//! one shared client (one pool) for all threads. Peers get the same CA and
//! no proxy; pools are sized so no client waits for a connection.

use std::path::PathBuf;
use std::sync::Arc;

/// An HTTP(S) endpoint that answers `GET path` with a small body.
#[derive(Clone)]
pub struct HttpTarget {
    pub host: String,
    pub port: u16,
    pub path: String,
    pub https: bool,
    pub ca_pem: Vec<u8>,
    pub ca_file: PathBuf,
}

impl HttpTarget {
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}:{}{}", self.host, self.port, self.path)
    }

    /// The same target reached at another port (a relay in front of it).
    pub fn via_port(&self, port: u16) -> HttpTarget {
        HttpTarget {
            port,
            ..self.clone()
        }
    }
}

pub const BODY: &[u8] = b"hello\n";

/// http-client with `max` connections per host (0 idle: a new connection
/// per request).
pub fn ours_http(t: &HttpTarget, keepalive: bool, max: usize) -> http_client::Client {
    http_client::Client::builder()
        .proxy_from_env(false)
        .add_ca_file(&t.ca_file)
        .max_open_per_host(max)
        .max_idle_per_host(if keepalive { max } else { 0 })
        .build()
        .expect("http-client")
}

pub fn ureq_http(t: &HttpTarget, keepalive: bool, max: usize) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let cert = Certificate::from_pem(&t.ca_pem).expect("CA").to_owned();
    let idle = if keepalive { max } else { 0 };
    ureq::Agent::config_builder()
        .proxy(None)
        .max_idle_connections(idle)
        .max_idle_connections_per_host(idle)
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::Specific(Arc::new(vec![cert])))
                .build(),
        )
        .build()
        .into()
}

pub fn reqwest_http(t: &HttpTarget, keepalive: bool, max: usize) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .pool_max_idle_per_host(if keepalive { max } else { 0 })
        .add_root_certificate(reqwest::Certificate::from_pem(&t.ca_pem).expect("CA"))
        .build()
        .expect("reqwest")
}

pub fn ours_get(client: &http_client::Client, url: &str) {
    let body = client.get(url).call().expect("GET").bytes().expect("body");
    assert_eq!(&body[..], BODY);
}

pub fn ureq_get(agent: &ureq::Agent, url: &str) {
    let body = agent
        .get(url)
        .call()
        .expect("GET")
        .body_mut()
        .read_to_vec()
        .expect("body");
    assert_eq!(&body[..], BODY);
}

pub fn reqwest_get(client: &reqwest::blocking::Client, url: &str) {
    let body = client.get(url).send().expect("GET").bytes().expect("body");
    assert_eq!(&body[..], BODY);
}

/// redis-client with a pool of `max` connections.
pub fn ours_redis(url: &str, max: usize) -> redis_client::Client {
    redis_client::Client::builder()
        .url(url)
        .expect("redis url")
        .pool_config(transport::PoolConfig {
            max_open: max,
            max_idle: max,
            ..transport::PoolConfig::default()
        })
        .build()
        .expect("redis-client")
}

/// redis-rs behind its r2d2 pool of `max` connections.
pub fn r2d2_redis(url: &str, max: usize) -> r2d2::Pool<redis::Client> {
    r2d2::Pool::builder()
        .max_size(max as u32)
        .build(redis::Client::open(url).expect("redis-rs"))
        .expect("r2d2")
}
