//! DKIM signing (RFC 6376, RFC 8463) with `mail-auth`: RSA-SHA256 or
//! Ed25519-SHA256, relaxed/relaxed canonicalization, the headers of the
//! caller's choice. The signature covers exactly the bytes the server
//! reassembles: line ends normalised to CRLF, dot-stuffing undone.

use std::fmt;
use std::path::Path;

use mail_auth::common::crypto::{DkimKey, Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::dkim::{Canonicalization, DkimSigner as Signer, Done};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::PrivateKeyDer;

use crate::error::{Error, Result};
use crate::message::Message;

/// The headers signed by default (those present in a message are signed).
pub const DEFAULT_SIGNED_HEADERS: &[&str] = &[
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// Signs messages with one key for one domain and selector.
pub struct DkimSigner {
    signer: Signer<DkimKey, Done>,
    algorithm: &'static str,
    domain: String,
    selector: String,
}

impl fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkimSigner")
            .field("algorithm", &self.algorithm)
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .finish_non_exhaustive()
    }
}

/// A domain or selector: DNS labels of letters, digits and hyphens.
fn check_dns_name(what: &str, name: &str) -> Result<()> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(Error::Dkim(format!("invalid {what} {name:?}")));
    }
    Ok(())
}

impl DkimSigner {
    /// A signer from a PEM private key: RSA (`RSA PRIVATE KEY` or PKCS#8
    /// `PRIVATE KEY`) or Ed25519 (PKCS#8), signing
    /// [`DEFAULT_SIGNED_HEADERS`]. A key that does not parse is
    /// [`Error::Dkim`].
    pub fn from_pem(pem: &[u8], domain: &str, selector: &str) -> Result<DkimSigner> {
        DkimSigner::with_headers(pem, domain, selector, DEFAULT_SIGNED_HEADERS)
    }

    /// [`from_pem`](DkimSigner::from_pem) reading the key from a file.
    pub fn from_pem_file(
        path: impl AsRef<Path>,
        domain: &str,
        selector: &str,
    ) -> Result<DkimSigner> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|source| Error::ReadInput {
            what: path.display().to_string(),
            source,
        })?;
        DkimSigner::from_pem(&pem, domain, selector)
    }

    /// A signer for the chosen header names (`From` is always signed, as
    /// RFC 6376 5.4 requires).
    pub fn with_headers(
        pem: &[u8],
        domain: &str,
        selector: &str,
        headers: &[&str],
    ) -> Result<DkimSigner> {
        check_dns_name("domain", domain)?;
        check_dns_name("selector", selector)?;
        for h in headers {
            if h.is_empty() || !h.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return Err(Error::Dkim(format!("invalid header name {h:?}")));
            }
        }
        let der = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| Error::Dkim(format!("the private key is not PEM: {e}")))?;
        let (key, algorithm) = match &der {
            PrivateKeyDer::Pkcs8(p) => match Ed25519Key::from_pkcs8_der(p.secret_pkcs8_der()) {
                Ok(k) => (DkimKey::Ed25519(k), "ed25519-sha256"),
                Err(_) => (rsa(der.clone_key())?, "rsa-sha256"),
            },
            _ => (rsa(der.clone_key())?, "rsa-sha256"),
        };
        let mut names: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        if !names.iter().any(|h| h.eq_ignore_ascii_case("from")) {
            names.insert(0, "From".into());
        }
        let signer = Signer::from_key(key)
            .domain(domain)
            .selector(selector)
            .headers(names)
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed);
        Ok(DkimSigner {
            signer,
            algorithm,
            domain: domain.into(),
            selector: selector.into(),
        })
    }

    /// `rsa-sha256` or `ed25519-sha256`.
    pub fn algorithm(&self) -> &'static str {
        self.algorithm
    }

    /// The message with a `DKIM-Signature` header first, its content
    /// normalised as it will be sent (so the signed bytes are the bytes the
    /// server gets). Envelope and DSN request are kept.
    pub fn sign(&self, msg: &Message) -> Result<Message> {
        let wire = msg.wire_content();
        let signature = self
            .signer
            .sign(&wire)
            .map_err(|e| Error::Dkim(format!("signing failed: {e}")))?;
        let header = signature.to_header();
        tracing::trace!(algorithm = self.algorithm, domain = %self.domain, selector = %self.selector, "DKIM-signed");
        let mut content = Vec::with_capacity(header.len() + 2 + wire.len());
        content.extend_from_slice(header.as_bytes());
        if !header.ends_with("\r\n") {
            content.extend_from_slice(b"\r\n");
        }
        content.extend_from_slice(&wire);
        Ok(msg.clone().with_content(content))
    }
}

fn rsa(der: PrivateKeyDer<'static>) -> Result<DkimKey> {
    RsaKey::<Sha256>::from_key_der(der)
        .map(DkimKey::Rsa)
        .map_err(|e| Error::Dkim(format!("the private key is neither Ed25519 nor RSA: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_and_names_are_refused() {
        for pem in [
            &b"not a key"[..],
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
        ] {
            let err = DkimSigner::from_pem(pem, "example.com", "s1").unwrap_err();
            assert!(matches!(err, Error::Dkim(_)), "{err:?}");
        }
        let ok_pem = b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+0Fj1XcJ4Hk6yZy3ReGZC6AS7JV7dr9Y9q3XWZrX4K\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            DkimSigner::from_pem(ok_pem, "example.com", "s1")
                .unwrap()
                .algorithm(),
            "ed25519-sha256"
        );
        for (d, s) in [
            ("exa mple.com", "s1"),
            ("example.com", "s;1"),
            ("", "s"),
            ("a..b", "s"),
        ] {
            assert!(DkimSigner::from_pem(ok_pem, d, s).is_err(), "{d:?} {s:?}");
        }
    }
}
