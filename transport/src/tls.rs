//! TLS client settings: roots, extra CAs, client certificates, ALPN.

use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// Where trusted root certificates come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Roots {
    /// The operating system's store; Mozilla's list (webpki-roots) if the OS store is empty.
    #[default]
    System,
    /// Mozilla's list compiled into the binary.
    WebPki,
    /// No built-in roots: only the CA files added to the builder.
    None,
}

/// A reusable TLS client configuration. Cheap to clone; build it once per
/// client so sessions resume across connections.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
    fingerprint: u64,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsConfig(#{:016x})", self.fingerprint)
    }
}

/// Builder of a [`TlsConfig`]; every file is read and checked in [`build`](Self::build).
#[derive(Debug, Clone, Default)]
pub struct TlsConfigBuilder {
    roots: Roots,
    ca_files: Vec<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
    alpn: Vec<Vec<u8>>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn system_roots() -> &'static [CertificateDer<'static>] {
    // Loading the OS store parses hundreds of certificates: do it once per process.
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for e in &loaded.errors {
            tracing::debug!(error = %e, "skipping part of the OS certificate store");
        }
        loaded.certs
    })
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::InvalidConfig(format!("cannot read {what} {}: {e}", path.display())))
}

impl TlsConfigBuilder {
    /// Chooses the built-in roots (default: the OS store).
    pub fn roots(mut self, roots: Roots) -> Self {
        self.roots = roots;
        self
    }

    /// Trusts the CA certificates in a PEM file as well.
    pub fn add_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// Presents a client certificate chain and key (PEM files).
    pub fn client_cert_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// Offers these ALPN protocols, in order of preference.
    pub fn alpn<I, P>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<Vec<u8>>,
    {
        self.alpn = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Reads the files and builds the rustls configuration.
    pub fn build(self) -> Result<TlsConfig> {
        let mut hasher = DefaultHasher::new();
        self.roots.hash(&mut hasher);
        self.alpn.hash(&mut hasher);

        let mut store = RootCertStore::empty();
        match self.roots {
            Roots::System => {
                let (added, _ignored) =
                    store.add_parsable_certificates(system_roots().iter().cloned());
                if added == 0 {
                    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                }
            }
            Roots::WebPki => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::None => {}
        }
        for path in &self.ca_files {
            let pem = read_file(path, "CA file")?;
            pem.hash(&mut hasher);
            let mut found = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| {
                    Error::InvalidConfig(format!("bad PEM in CA file {}: {e}", path.display()))
                })?;
                store.add(cert).map_err(|e| {
                    Error::InvalidConfig(format!("unusable CA in {}: {e}", path.display()))
                })?;
                found += 1;
            }
            if found == 0 {
                return Err(Error::InvalidConfig(format!(
                    "no certificate in CA file {}",
                    path.display()
                )));
            }
        }
        if store.is_empty() {
            return Err(Error::InvalidConfig("no trusted root certificates".into()));
        }

        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::InvalidConfig(format!("TLS provider: {e}")))?
            .with_root_certificates(store);
        let mut config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert_path, key_path)) => {
                let cert_pem = read_file(cert_path, "client certificate")?;
                let key_pem = read_file(key_path, "client key")?;
                cert_pem.hash(&mut hasher);
                key_pem.hash(&mut hasher);
                let chain = CertificateDer::pem_slice_iter(&cert_pem)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        Error::InvalidConfig(format!("bad PEM in {}: {e}", cert_path.display()))
                    })?;
                if chain.is_empty() {
                    return Err(Error::InvalidConfig(format!(
                        "no certificate in {}",
                        cert_path.display()
                    )));
                }
                let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
                    Error::InvalidConfig(format!(
                        "no usable private key in {}: {e}",
                        key_path.display()
                    ))
                })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Error::InvalidConfig(format!("client certificate: {e}")))?
            }
        };
        config.alpn_protocols = self.alpn;
        Ok(TlsConfig {
            config: Arc::new(config),
            fingerprint: hasher.finish(),
        })
    }
}

impl TlsConfig {
    /// Starts a builder (OS roots, no client certificate, no ALPN).
    pub fn builder() -> TlsConfigBuilder {
        TlsConfigBuilder::default()
    }

    /// The default configuration: OS roots, shared by every caller in the
    /// process so TLS sessions resume across clients.
    pub fn system() -> Result<TlsConfig> {
        static DEFAULT: OnceLock<TlsConfig> = OnceLock::new();
        if let Some(c) = DEFAULT.get() {
            return Ok(c.clone());
        }
        let built = TlsConfig::builder().build()?;
        Ok(DEFAULT.get_or_init(|| built).clone())
    }

    /// Wraps a rustls configuration built elsewhere. Its fingerprint is the
    /// allocation's identity: two wrappers of one `Arc` pool together.
    pub fn from_rustls(config: Arc<ClientConfig>) -> TlsConfig {
        let fingerprint = Arc::as_ptr(&config) as usize as u64;
        TlsConfig {
            config,
            fingerprint,
        }
    }

    /// A hash of everything that shapes the TLS identity, for [`crate::PoolKey::tls`].
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The rustls configuration.
    pub fn rustls(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}
