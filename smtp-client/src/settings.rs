//! What a connection is opened with: the STARTTLS policy, credentials and
//! the settings a built client shares between its clones. Plain data.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use transport::{ConnectOptions, Connector, Endpoint, TlsConfig};

use crate::error::{Error, Result};
use crate::proto::address::EhloName;

/// What to do about STARTTLS on a plain `smtp://` connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartTls {
    /// Upgrade with STARTTLS, and refuse a server that does not offer it
    /// (before any mail or credential is sent). The default.
    #[default]
    Required,
    /// Upgrade when offered, else continue in the clear.
    Opportunistic,
    /// Never upgrade: plain text (an explicit opt-in).
    None,
}

/// The secret part of credentials.
#[derive(Clone)]
pub(crate) enum Secret {
    Password(String),
    Token(String),
}

/// AUTH credentials. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    pub(crate) user: String,
    pub(crate) secret: Secret,
}

impl Credentials {
    /// A user and password (AUTH PLAIN, else LOGIN).
    pub fn password(user: &str, password: &str) -> Credentials {
        Credentials {
            user: user.into(),
            secret: Secret::Password(password.into()),
        }
    }

    /// A user and OAuth 2.0 bearer token (AUTH XOAUTH2).
    pub fn oauth2(user: &str, token: &str) -> Credentials {
        Credentials {
            user: user.into(),
            secret: Secret::Token(token.into()),
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        let secret = match &self.secret {
            Secret::Password(p) | Secret::Token(p) => p,
        };
        // NUL separates the fields of AUTH PLAIN, ^A those of XOAUTH2.
        if self.user.is_empty()
            || [&self.user, secret]
                .iter()
                .any(|s| s.contains(['\0', '\x01']))
        {
            return Err(Error::InvalidInput(
                "credentials must be non-empty and contain no NUL or \\x01".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn hash(&self) -> transport::SecretHash {
        let (kind, secret) = match &self.secret {
            Secret::Password(p) => ("password", p),
            Secret::Token(t) => ("token", t),
        };
        transport::SecretHash::of([kind, self.user.as_str(), secret.as_str()])
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Everything a connection is opened with (shared by the client's clones).
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) endpoint: Endpoint,
    pub(crate) implicit_tls: bool,
    /// None only when no TLS can happen (plain, STARTTLS never).
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) starttls: StartTls,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) allow_plaintext_auth: bool,
    pub(crate) ehlo_name: EhloName,
    pub(crate) connect: ConnectOptions,
    pub(crate) noop_after: Option<Duration>,
    pub(crate) connector: Arc<dyn Connector>,
    /// LMTP (RFC 2033): LHLO, and one reply per recipient after the data.
    pub(crate) lmtp: bool,
    /// BDAT chunk size when the server offers CHUNKING; 0: always DATA.
    pub(crate) chunk_size: usize,
    /// Signs every mail before it is sent.
    #[cfg(feature = "dkim")]
    pub(crate) dkim: Option<Arc<crate::dkim::DkimSigner>>,
}

/// The default BDAT chunk: large enough that most mails go in one chunk.
pub(crate) const DEFAULT_CHUNK_SIZE: usize = 1 << 20;
