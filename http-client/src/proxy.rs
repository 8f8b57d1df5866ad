//! The proxy option: CONNECT tunnels (proxy-tunnel) for https, and
//! absolute-form requests to the proxy for plain http.

use std::sync::Arc;

use proxy_tunnel::Proxy;
use transport::Connector;

use crate::error::{Error, Result};

/// A parsed proxy, from the builder or the environment.
#[derive(Debug, Clone)]
pub(crate) struct ProxySetting {
    proxy: Proxy,
}

/// Plain http through a proxy: requests in absolute form on a connection
/// to the proxy, with `Proxy-Authorization` (which only the proxy sees:
/// it is hop-by-hop and the proxy removes it).
#[derive(Debug, Clone)]
pub(crate) struct ProxyMode {
    pub(crate) proxy: Proxy,
    pub(crate) authorization: Option<String>,
}

impl ProxyMode {
    pub(crate) fn identity(&self) -> String {
        self.proxy.identity()
    }
}

impl ProxySetting {
    pub(crate) fn parse(url: &str) -> Result<ProxySetting> {
        Ok(ProxySetting {
            proxy: Proxy::parse(url)?,
        })
    }

    /// `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`, unless `NO_PROXY` matches.
    pub(crate) fn from_env(scheme: &str, host: &str, port: u16) -> Result<Option<ProxySetting>> {
        match proxy_tunnel::env::proxy_for(scheme, host, port) {
            None => Ok(None),
            Some(Ok(proxy)) => Ok(Some(ProxySetting { proxy })),
            Some(Err(e)) => Err(Error::Proxy(e)),
        }
    }

    /// False for SOCKS, which cannot take absolute-form requests.
    pub(crate) fn forwards_http(&self) -> bool {
        self.proxy.forwards_http()
    }

    pub(crate) fn tunnel_connector(&self) -> Arc<dyn Connector> {
        self.proxy.connector()
    }

    pub(crate) fn absolute_form(&self) -> ProxyMode {
        ProxyMode {
            proxy: self.proxy.clone(),
            authorization: self.proxy.basic_auth(),
        }
    }
}
