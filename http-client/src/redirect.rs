//! Redirects: the caller's policy decides per hop whether to follow
//! ([`RedirectPolicy`], like reqwest's `Policy`); the rules every hop keeps
//! whatever the policy are here too, in one place:
//!
//! * only `http:` and `https:` targets (never `file:`, `data:`, ...);
//! * no `https:` to `http:` downgrade unless the client allows it;
//! * no loop: a URL already visited in this chain is refused;
//! * 301/302 turn a POST into a GET, 303 anything but HEAD, and the body
//!   goes; 307/308 keep method and body, and fail when the body was
//!   streamed from a reader and cannot be sent again;
//! * credentials (`Authorization`, `Cookie`, `Proxy-Authorization`) go
//!   when scheme, host or port changes;
//! * `Referer` names the previous URL (without fragment or credentials),
//!   never on a downgrade.

use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::error::{Error, RedirectError, Result};
use crate::headers::Headers;

/// True for the statuses that redirect.
pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// One hop a policy decides on.
#[derive(Debug)]
pub struct Hop<'a> {
    status: u16,
    url: &'a Url,
    previous: &'a [Url],
}

impl Hop<'_> {
    /// The redirect status (301, 302, 303, 307, 308).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Where the redirect points.
    pub fn url(&self) -> &Url {
        self.url
    }

    /// The URLs requested so far in this chain, the first one first; the
    /// last one sent this redirect.
    pub fn previous(&self) -> &[Url] {
        self.previous
    }
}

/// What a policy decides for a hop.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Follow the redirect.
    Follow,
    /// Hand the redirect response to the caller as it is.
    Stop,
    /// Fail the request with [`RedirectError::Refused`] and this reason.
    Refuse(String),
}

type Custom = Arc<dyn Fn(&Hop<'_>) -> Decision + Send + Sync>;

/// Which redirects a client follows.
#[derive(Clone)]
pub struct RedirectPolicy {
    limit: u32,
    custom: Option<Custom>,
}

impl fmt::Debug for RedirectPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedirectPolicy")
            .field("limit", &self.limit)
            .field("custom", &self.custom.is_some())
            .finish()
    }
}

impl Default for RedirectPolicy {
    /// Up to 5 redirects.
    fn default() -> Self {
        RedirectPolicy::limited(5)
    }
}

impl RedirectPolicy {
    /// Follows up to `max` redirects, then fails with
    /// [`Error::TooManyRedirects`]; 0 returns every redirect as it is.
    pub fn limited(max: u32) -> RedirectPolicy {
        RedirectPolicy {
            limit: max,
            custom: None,
        }
    }

    /// Follows none: every redirect is returned as it is.
    pub fn none() -> RedirectPolicy {
        RedirectPolicy::limited(0)
    }

    /// Decides each hop with `decide` (up to 100 hops, a hard limit).
    ///
    /// ```
    /// use pconn_http::{Decision, RedirectPolicy};
    /// let same_host_only = RedirectPolicy::custom(|hop| {
    ///     if hop.url().host_str() == hop.previous()[0].host_str() {
    ///         Decision::Follow
    ///     } else {
    ///         Decision::Stop
    ///     }
    /// });
    /// # let _ = same_host_only;
    /// ```
    pub fn custom(decide: impl Fn(&Hop<'_>) -> Decision + Send + Sync + 'static) -> RedirectPolicy {
        RedirectPolicy {
            limit: 100,
            custom: Some(Arc::new(decide)),
        }
    }

    /// The same policy with at most `max` hops.
    pub(crate) fn with_limit(&self, max: u32) -> RedirectPolicy {
        RedirectPolicy {
            limit: max,
            custom: self.custom.clone(),
        }
    }

    /// True when some redirect may be followed.
    pub(crate) fn follows(&self) -> bool {
        self.limit > 0
    }
}

/// How a client treats every hop, beside its policy.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) policy: RedirectPolicy,
    /// Allow `https:` to `http:`.
    pub(crate) allow_downgrade: bool,
    /// Send `Referer`.
    pub(crate) referer: bool,
}

/// The next request of a chain, when the redirect is followed.
#[derive(Debug)]
pub(crate) struct Next {
    pub(crate) url: Url,
    /// The method becomes GET and the body goes.
    pub(crate) to_get: bool,
}

/// Decides one hop: `Ok(None)` hands the redirect to the caller.
pub(crate) fn next_hop(
    rules: &Rules,
    status: u16,
    location: &str,
    method: &str,
    body_replayable: bool,
    chain: &[Url],
) -> Result<Option<Next>> {
    let refused = |reason| Error::Redirect {
        location: location.to_string(),
        reason,
    };
    let Some(from) = chain.last() else {
        return Ok(None);
    };
    let url = from
        .join(location)
        .map_err(|e| refused(RedirectError::InvalidUrl(e)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused(RedirectError::Scheme(url.scheme().to_string())));
    }
    if from.scheme() == "https" && url.scheme() == "http" && !rules.allow_downgrade {
        return Err(refused(RedirectError::Downgrade));
    }
    if chain.iter().any(|u| same_resource(u, &url)) {
        return Err(refused(RedirectError::Loop));
    }
    let limit = rules.policy.limit;
    if chain.len() > limit as usize {
        return Err(Error::TooManyRedirects {
            limit,
            location: url.to_string(),
        });
    }
    if let Some(decide) = &rules.policy.custom {
        let hop = Hop {
            status,
            url: &url,
            previous: chain,
        };
        match decide(&hop) {
            Decision::Follow => {}
            Decision::Stop => return Ok(None),
            Decision::Refuse(why) => return Err(refused(RedirectError::Refused(why))),
        }
    }
    let keep_method = matches!(status, 307 | 308);
    if keep_method && !body_replayable {
        return Err(refused(RedirectError::BodyNotReplayable));
    }
    let to_get = !keep_method && (status == 303 && method != "HEAD" || method == "POST");
    Ok(Some(Next { url, to_get }))
}

/// The same URL but for the fragment (which never reaches the server).
fn same_resource(a: &Url, b: &Url) -> bool {
    a[..url::Position::AfterQuery] == b[..url::Position::AfterQuery]
}

/// True when a hop from `a` to `b` changes scheme, host or port.
pub(crate) fn crosses_origin(a: &Url, b: &Url) -> bool {
    a.scheme() != b.scheme()
        || a.host_str() != b.host_str()
        || a.port_or_known_default() != b.port_or_known_default()
}

/// Rewrites the fields of the next request of a chain: credentials go
/// across origins, the body's `Content-Type` with the body, `Referer` set.
pub(crate) fn rewrite_headers(headers: &mut Headers, rules: &Rules, from: &Url, next: &Next) {
    if crosses_origin(from, &next.url) {
        // Credentials are for the origin they were given for.
        headers.remove("authorization");
        headers.remove("cookie");
        headers.remove("proxy-authorization");
    }
    if next.to_get {
        headers.remove("content-type");
    }
    headers.remove("referer");
    let downgrade = from.scheme() == "https" && next.url.scheme() == "http";
    if rules.referer && !downgrade {
        let mut referer = from.clone();
        referer.set_fragment(None);
        let _ = referer.set_username("");
        let _ = referer.set_password(None);
        headers.push_raw(b"Referer", referer.as_str().as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            policy: RedirectPolicy::default(),
            allow_downgrade: false,
            referer: true,
        }
    }

    fn chain(urls: &[&str]) -> Vec<Url> {
        urls.iter().map(|u| u.parse().unwrap()).collect()
    }

    fn refusal(r: Result<Option<Next>>) -> RedirectError {
        match r {
            Err(Error::Redirect { reason, .. }) => reason,
            other => panic!("expected a refused redirect, got {other:?}"),
        }
    }

    #[test]
    fn methods_and_bodies_per_status() {
        let c = chain(&["http://a/x"]);
        for (status, method, to_get) in [
            (301, "POST", true),
            (302, "POST", true),
            (303, "POST", true),
            (303, "PUT", true),
            (303, "HEAD", false),
            (301, "PUT", false),
            (307, "POST", false),
            (308, "POST", false),
        ] {
            let next = next_hop(&rules(), status, "/y", method, true, &c)
                .unwrap()
                .unwrap();
            assert_eq!(next.to_get, to_get, "{status} {method}");
            assert_eq!(next.url.as_str(), "http://a/y");
        }
        assert_eq!(
            refusal(next_hop(&rules(), 307, "/y", "POST", false, &c)),
            RedirectError::BodyNotReplayable
        );
    }

    #[test]
    fn hostile_targets_are_refused() {
        let c = chain(&["https://a/x", "https://a/y"]);
        assert_eq!(
            refusal(next_hop(
                &rules(),
                302,
                "file:///etc/passwd",
                "GET",
                true,
                &c
            )),
            RedirectError::Scheme("file".into())
        );
        assert_eq!(
            refusal(next_hop(
                &rules(),
                302,
                "data:text/plain,hi",
                "GET",
                true,
                &c
            )),
            RedirectError::Scheme("data".into())
        );
        assert_eq!(
            refusal(next_hop(&rules(), 302, "http://a/z", "GET", true, &c)),
            RedirectError::Downgrade
        );
        assert_eq!(
            refusal(next_hop(&rules(), 302, "/x#frag", "GET", true, &c)),
            RedirectError::Loop
        );
        let allowed = Rules {
            allow_downgrade: true,
            ..rules()
        };
        assert!(next_hop(&allowed, 302, "http://a/z", "GET", true, &c)
            .unwrap()
            .is_some());
    }

    #[test]
    fn limits_and_custom_policies() {
        let c = chain(&["http://a/1", "http://a/2", "http://a/3"]);
        let two = Rules {
            policy: RedirectPolicy::limited(2),
            ..rules()
        };
        assert!(matches!(
            next_hop(&two, 302, "/4", "GET", true, &c),
            Err(Error::TooManyRedirects { limit: 2, .. })
        ));
        let custom = Rules {
            policy: RedirectPolicy::custom(|hop| match hop.url().path() {
                "/stop" => Decision::Stop,
                "/no" => Decision::Refuse("not there".into()),
                _ => Decision::Follow,
            }),
            ..rules()
        };
        assert!(next_hop(&custom, 302, "/stop", "GET", true, &c)
            .unwrap()
            .is_none());
        assert_eq!(
            refusal(next_hop(&custom, 302, "/no", "GET", true, &c)),
            RedirectError::Refused("not there".into())
        );
        assert!(next_hop(&custom, 302, "/4", "GET", true, &c)
            .unwrap()
            .is_some());
    }

    #[test]
    fn credentials_stay_with_their_origin_and_referer_is_clean() {
        let from: Url = "https://u:p@a/x?q#frag".parse().unwrap();
        for (to, kept) in [
            ("https://a/y", true),
            ("https://a:8443/y", false),
            ("https://b/y", false),
            ("http://a/y", false),
        ] {
            let mut h = Headers::new();
            h.push_raw(b"Authorization", b"Bearer t");
            h.push_raw(b"Cookie", b"a=1");
            h.push_raw(b"Proxy-Authorization", b"Basic x");
            h.push_raw(b"Referer", b"http://caller/");
            let next = Next {
                url: to.parse().unwrap(),
                to_get: false,
            };
            rewrite_headers(
                &mut h,
                &Rules {
                    allow_downgrade: true,
                    ..rules()
                },
                &from,
                &next,
            );
            for name in ["authorization", "cookie", "proxy-authorization"] {
                assert_eq!(h.contains(name), kept, "{to} {name}");
            }
            let referer = h.get("referer");
            if to.starts_with("http:") {
                assert_eq!(referer, None);
            } else {
                assert_eq!(referer, Some("https://a/x?q"));
            }
        }
    }
}
