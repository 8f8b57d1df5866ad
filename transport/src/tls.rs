//! TLS client settings: roots, extra CAs, client certificates, ALPN, the
//! protocol versions offered.

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

/// A TLS protocol version this crate speaks (rustls: 1.2 and 1.3), ordered
/// oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

impl TlsVersion {
    /// The version rustls negotiated, when it is one of ours.
    pub fn from_rustls(version: rustls::ProtocolVersion) -> Option<TlsVersion> {
        match version {
            rustls::ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
            rustls::ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
            _ => None,
        }
    }

    /// rustls's name of it: `"TLSv1_2"`, `"TLSv1_3"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1_2",
            TlsVersion::Tls13 => "TLSv1_3",
        }
    }

    fn rustls(self) -> &'static rustls::SupportedProtocolVersion {
        match self {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        })
    }
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
    min_version: Option<TlsVersion>,
    max_version: Option<TlsVersion>,
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

    /// The oldest TLS version offered (default: TLS 1.2).
    pub fn min_version(mut self, version: TlsVersion) -> Self {
        self.min_version = Some(version);
        self
    }

    /// The newest TLS version offered (default: TLS 1.3).
    pub fn max_version(mut self, version: TlsVersion) -> Self {
        self.max_version = Some(version);
        self
    }

    /// The versions from the minimum to the maximum; a minimum above the
    /// maximum is an error.
    fn versions(&self) -> Result<Vec<&'static rustls::SupportedProtocolVersion>> {
        let min = self.min_version.unwrap_or(TlsVersion::Tls12);
        let max = self.max_version.unwrap_or(TlsVersion::Tls13);
        if min > max {
            return Err(Error::InvalidConfig(format!(
                "the minimum TLS version ({min}) is above the maximum ({max})"
            )));
        }
        Ok([TlsVersion::Tls12, TlsVersion::Tls13]
            .into_iter()
            .filter(|v| (min..=max).contains(v))
            .map(TlsVersion::rustls)
            .collect())
    }

    /// Reads the files and builds the rustls configuration.
    pub fn build(self) -> Result<TlsConfig> {
        let versions = self.versions()?;
        let mut hasher = DefaultHasher::new();
        self.roots.hash(&mut hasher);
        self.alpn.hash(&mut hasher);
        self.min_version.hash(&mut hasher);
        self.max_version.hash(&mut hasher);

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
            .with_protocol_versions(&versions)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_the_minimum_to_the_maximum() {
        let names = |b: TlsConfigBuilder| -> Vec<rustls::ProtocolVersion> {
            b.versions().unwrap().iter().map(|v| v.version).collect()
        };
        let (v12, v13) = (
            rustls::ProtocolVersion::TLSv1_2,
            rustls::ProtocolVersion::TLSv1_3,
        );
        assert_eq!(names(TlsConfig::builder()), [v12, v13]);
        let only13 = TlsConfig::builder().min_version(TlsVersion::Tls13);
        assert_eq!(names(only13), [v13]);
        let only12 = TlsConfig::builder().max_version(TlsVersion::Tls12);
        assert_eq!(names(only12), [v12]);
        let same = TlsConfig::builder()
            .min_version(TlsVersion::Tls12)
            .max_version(TlsVersion::Tls12);
        assert_eq!(names(same), [v12]);
    }

    #[test]
    fn a_minimum_above_the_maximum_is_refused_at_build() {
        let err = TlsConfig::builder()
            .roots(Roots::WebPki)
            .min_version(TlsVersion::Tls13)
            .max_version(TlsVersion::Tls12)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("minimum TLS version (TLS 1.3) is above the maximum (TLS 1.2)"),
            "{text}"
        );
        // Bounds shape the identity: a client limited to 1.2 pools apart.
        let a = TlsConfig::builder().roots(Roots::WebPki).build().unwrap();
        let b = TlsConfig::builder()
            .roots(Roots::WebPki)
            .max_version(TlsVersion::Tls12)
            .build()
            .unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            TlsVersion::from_rustls(rustls::ProtocolVersion::TLSv1_3),
            Some(TlsVersion::Tls13)
        );
        assert_eq!(TlsVersion::Tls12.as_str(), "TLSv1_2");
    }
}
