//! Digest authentication (RFC 7616, feature `digest`): opt-in credentials
//! on the client or a request ([`ClientBuilder::digest_auth`],
//! [`RequestBuilder::digest_auth`]) that answer a `401` with a `Digest`
//! challenge by sending the request once more with `Authorization`.
//!
//! * The answer goes on the same kept connection when the 401's body was
//!   small enough to drain (it usually is): the pool hands it back.
//! * Only to the origin (scheme, host, port) of the request's first URL:
//!   a challenge after a redirect to another origin is not answered, and
//!   the `Authorization` sent goes when a redirect changes origin.
//! * Once per request (twice when the server says the nonce was `stale`):
//!   wrong credentials come back as the server's second `401` (an
//!   [`Error::Server`](crate::Error::Server) with `error_for_status`).
//! * A body streamed from a reader cannot be sent again: its 401 is
//!   returned as it came.
//! * A user name with CR, LF or another control is refused before
//!   anything is sent ([`crate::InvalidInput`]).

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use url::Url;

use crate::error::Result;
use crate::proto::digest::{authorization, best_challenge, check_user, Answer};
use crate::redirect::crosses_origin;
use crate::response::Response;

/// A user name and password for Digest authentication.
pub(crate) struct Credentials {
    user: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password.
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub(crate) fn new(user: &str, password: &str) -> Arc<Credentials> {
        Arc::new(Credentials {
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    /// The user name can go into a header.
    pub(crate) fn check(&self) -> Result<()> {
        Ok(check_user(&self.user)?)
    }

    /// The `Authorization` value answering `response`, when it is a 401
    /// with a challenge this client answers and may answer here: the
    /// origin of `first` (the chain's first URL), `answered` answers so far
    /// in this hop, a body that can be sent again.
    pub(crate) fn answer(
        &self,
        response: &Response,
        method: &str,
        first: &Url,
        answered: u8,
        body_replayable: bool,
    ) -> Option<String> {
        if response.status() != 401 || !body_replayable || answered > 1 {
            return None;
        }
        let url = response.url();
        if crosses_origin(first, url) {
            return None;
        }
        let challenge = best_challenge(response.headers().get_all("www-authenticate"))?;
        if answered == 1 && !challenge.stale {
            return None; // the credentials were wrong: the 401 stays
        }
        let cnonce = cnonce();
        Some(authorization(
            &challenge,
            &Answer {
                user: &self.user,
                password: &self.password,
                method,
                uri: &url[url::Position::BeforePath..url::Position::AfterQuery],
                cnonce: &cnonce,
            },
        ))
    }
}

/// 128 unpredictable bits in hex (the std hasher's random keys, fresh per
/// call, over a process-wide counter).
fn cnonce() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let a = RandomState::new().hash_one(n);
    let b = RandomState::new().hash_one(!n);
    format!("{a:016x}{b:016x}")
}
