//! The opt-in cookie jar (feature `cookies`), on the `cookie_store` crate:
//! RFC 6265 domain, path, `Secure` and expiry rules, public suffixes
//! refused as cookie domains, saved and loaded as JSON. A jar is shared by
//! every clone of the client it is given to (and may be given to several).
//!
//! The `Cookie` field is made per request from the jar and the request's
//! URL, so a cookie goes only where its domain and path match, never over
//! plain http when `Secure`, and on a redirect to another origin only if
//! its domain matches that origin too.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use cookie_store::{CookieStore, RawCookie};
use url::Url;

use crate::error::{Error, Result};
use crate::headers::Headers;

/// Where Debian's `publicsuffix` package puts the public suffix list.
pub const SYSTEM_PUBLIC_SUFFIX_LIST: &str = "/usr/share/publicsuffix/public_suffix_list.dat";

/// A cookie jar shared by the clients it is given to
/// ([`crate::ClientBuilder::cookie_jar`]).
///
/// ```
/// use pconn_http::CookieJar;
/// let jar = CookieJar::new();
/// let url = "http://example.com/a".parse().unwrap();
/// jar.store(&url, ["id=7; Path=/", "theme=dark"]);
/// assert_eq!(jar.header_for(&url).as_deref(), Some("id=7; theme=dark"));
/// let mut saved = Vec::new();
/// jar.save_json(&mut saved).unwrap();
/// let again = CookieJar::load_json(&saved[..]).unwrap();
/// assert!(again.header_for(&url).unwrap().contains("id=7"));
/// ```
#[derive(Clone, Debug)]
pub struct CookieJar {
    store: Arc<Mutex<CookieStore>>,
}

impl Default for CookieJar {
    fn default() -> Self {
        CookieJar::new()
    }
}

fn jar_error(e: impl std::fmt::Display) -> Error {
    Error::CookieJar(e.to_string())
}

/// The system's public suffix list, if there is one that parses.
fn system_suffixes() -> Option<publicsuffix::List> {
    let text = std::fs::read_to_string(SYSTEM_PUBLIC_SUFFIX_LIST).ok()?;
    text.parse().ok()
}

impl CookieJar {
    /// An empty jar that knows the public suffixes of the system's list
    /// ([`SYSTEM_PUBLIC_SUFFIX_LIST`]) when it is there; without a list,
    /// a `Domain` that names a single label (`com`) is still refused.
    pub fn new() -> CookieJar {
        CookieJar::from_store(CookieStore::default())
    }

    /// An empty jar with the public suffix list given as text (the format
    /// of publicsuffix.org's `public_suffix_list.dat`).
    pub fn with_public_suffix_list(list: &str) -> Result<CookieJar> {
        let list: publicsuffix::List = list.parse().map_err(jar_error)?;
        Ok(CookieJar::wrap(
            CookieStore::default().with_suffix_list(list),
        ))
    }

    /// A jar saved with [`CookieJar::save_json`] (expired cookies dropped).
    pub fn load_json(reader: impl BufRead) -> Result<CookieJar> {
        let store = cookie_store::serde::json::load_all(reader).map_err(jar_error)?;
        Ok(CookieJar::from_store(store))
    }

    fn from_store(store: CookieStore) -> CookieJar {
        match system_suffixes() {
            Some(list) => CookieJar::wrap(store.with_suffix_list(list)),
            None => CookieJar::wrap(store),
        }
    }

    fn wrap(store: CookieStore) -> CookieJar {
        CookieJar {
            store: Arc::new(Mutex::new(store)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CookieStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves every unexpired cookie, session cookies too (as curl's `-c`).
    pub fn save_json(&self, writer: &mut impl Write) -> Result<()> {
        cookie_store::serde::json::save_incl_expired_and_nonpersistent(&self.lock(), writer)
            .map_err(jar_error)
    }

    /// Stores the `Set-Cookie` values a response from `url` sent; values
    /// the rules refuse (another site, a public suffix, `Secure` over plain
    /// http, a malformed value) are dropped.
    pub fn store<'a>(&self, url: &Url, set_cookie: impl IntoIterator<Item = &'a str>) {
        let secure = url.scheme() == "https";
        let cookies: Vec<RawCookie<'static>> = set_cookie
            .into_iter()
            .filter_map(|v| RawCookie::parse(v.to_string()).ok())
            // Only an https response may set a Secure cookie (cookie_store
            // also trusts plain http to loopback hosts; this jar does not).
            .filter(|c| secure || c.secure() != Some(true))
            .filter(|c| {
                // Without a public suffix list, at least no single-label domain.
                c.domain()
                    .is_none_or(|d| d.trim_start_matches('.').contains('.'))
            })
            .collect();
        if !cookies.is_empty() {
            self.lock().store_response_cookies(cookies.into_iter(), url);
        }
    }

    /// The `Cookie` value for a request to `url`, if any cookie matches.
    pub fn header_for(&self, url: &Url) -> Option<String> {
        let store = self.lock();
        let secure = url.scheme() == "https";
        let mut out = String::new();
        // Secure cookies only over https, loopback hosts included.
        let mut cookies: Vec<_> = store
            .matches(url)
            .into_iter()
            .filter(|c| secure || c.secure() != Some(true))
            .collect();
        // Longer paths first (RFC 6265 5.4), then by name: a stable order.
        cookies.sort_by(|a, b| {
            let path_len = |c: &&cookie_store::Cookie<'_>| c.path().map_or(0, str::len);
            path_len(b)
                .cmp(&path_len(a))
                .then_with(|| a.name().cmp(b.name()))
        });
        for c in cookies {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(c.name());
            out.push('=');
            out.push_str(c.value());
        }
        (!out.is_empty()).then_some(out)
    }

    /// Every cookie name and value in the jar, for any site.
    pub fn names_and_values(&self) -> Vec<(String, String)> {
        self.lock()
            .iter_unexpired()
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect()
    }

    /// Stores the `Set-Cookie` fields of a response head from `url`.
    pub(crate) fn store_from(&self, url: &Url, headers: &Headers) {
        let values = headers
            .get_all("set-cookie")
            .filter_map(|v| std::str::from_utf8(v).ok());
        self.store(url, values);
    }

    /// `headers` with the jar's cookies for `url` in one `Cookie` field
    /// (after the caller's own, when there is one), or `None` when the jar
    /// has nothing for `url`.
    pub(crate) fn request_headers(&self, url: &Url, headers: &Headers) -> Option<Headers> {
        let ours = self.header_for(url)?;
        let mut out = Headers::with_capacity(headers.len() + 1, 256);
        let mut merged = false;
        for (name, value) in headers.iter() {
            if name.eq_ignore_ascii_case("cookie") && !merged {
                let mut joined = value.to_vec();
                joined.extend_from_slice(b"; ");
                joined.extend_from_slice(ours.as_bytes());
                out.push_raw(name.as_bytes(), &joined);
                merged = true;
            } else {
                out.push_raw(name.as_bytes(), value);
            }
        }
        if !merged {
            out.push_raw(b"Cookie", ours.as_bytes());
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> Url {
        u.parse().unwrap()
    }

    const LIST: &str = "// ===BEGIN ICANN DOMAINS===\ncom\nuk\nco.uk\n// ===END ICANN DOMAINS===\n";

    /// The cookies of a `Cookie` value, in name order.
    fn sorted(header: Option<String>) -> Vec<String> {
        let mut v: Vec<String> = header
            .unwrap_or_default()
            .split("; ")
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_public_suffix_is_no_cookie_domain() {
        let jar = CookieJar::with_public_suffix_list(LIST).unwrap();
        let from = url("http://shop.example.co.uk/");
        jar.store(
            &from,
            ["wide=1; Domain=co.uk", "site=2; Domain=example.co.uk"],
        );
        assert_eq!(
            jar.header_for(&url("http://other.co.uk/")),
            None,
            "a cookie for a public suffix reached another site"
        );
        assert_eq!(
            jar.header_for(&url("http://www.example.co.uk/")).as_deref(),
            Some("site=2")
        );
        // The system list (or the single-label rule) refuses `com` too.
        let jar = CookieJar::new();
        jar.store(&url("http://a.example.com/"), ["tld=1; Domain=com"]);
        assert_eq!(jar.header_for(&url("http://b.com/")), None);
        assert_eq!(jar.header_for(&url("http://a.example.com/")), None);
    }

    #[test]
    fn secure_path_and_site_rules() {
        let jar = CookieJar::new();
        jar.store(
            &url("https://example.com/app/x"),
            ["s=1; Secure", "p=2; Path=/app", "h=3"],
        );
        assert_eq!(
            sorted(jar.header_for(&url("https://example.com/app/y"))),
            ["h=3", "p=2", "s=1"]
        );
        // Not over plain http when Secure; the default path is the
        // directory of the URL that set it.
        assert_eq!(
            sorted(jar.header_for(&url("http://example.com/app/z"))),
            ["h=3", "p=2"]
        );
        assert_eq!(jar.header_for(&url("https://example.com/other")), None);
        assert_eq!(jar.header_for(&url("https://example.org/app/")), None);
        // A site cannot set a cookie for another one.
        jar.store(&url("http://evil.org/"), ["x=1; Domain=example.com"]);
        assert!(!jar.names_and_values().iter().any(|(n, _)| n == "x"));
    }

    #[test]
    fn the_jar_field_joins_the_callers_cookie() {
        let jar = CookieJar::new();
        let u = url("http://example.com/");
        let empty = Headers::new();
        assert!(jar.request_headers(&u, &empty).is_none());
        jar.store(&u, ["a=1"]);
        let mut h = Headers::new();
        h.push_raw(b"Cookie", b"mine=0");
        h.push_raw(b"X", b"y");
        let out = jar.request_headers(&u, &h).unwrap();
        assert_eq!(out.get_all("cookie").count(), 1);
        assert_eq!(out.get("cookie"), Some("mine=0; a=1"));
        assert_eq!(out.get("x"), Some("y"));
        assert_eq!(
            jar.request_headers(&u, &empty).unwrap().get("cookie"),
            Some("a=1")
        );
    }
}
