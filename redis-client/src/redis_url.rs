//! Redis URLs to builder settings: `redis://`, `rediss://`, and the Unix
//! socket forms `unix://` and `redis+unix://` (as redis-rs and redis-py
//! accept them). See [`ClientBuilder`] for the options.

use std::path::PathBuf;

use percent_encoding::percent_decode_str;

use crate::config::{has_control, invalid, ClientBuilder};
use crate::error::Result;
use crate::proto::Protocol;

impl ClientBuilder {
    /// Applies a URL (see the type docs for the forms).
    pub fn url(self, url: &str) -> Result<ClientBuilder> {
        apply(self, url)
    }
}

/// Applies `url` to `b`.
fn apply(mut b: ClientBuilder, url: &str) -> Result<ClientBuilder> {
    // The URL parser silently drops tabs and line ends; a URL that holds
    // any control character is refused instead.
    if has_control(url) {
        return Err(invalid(
            "the URL contains a control character (CR, LF, NUL, ...)",
        ));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid(format!("invalid URL {url:?}: no scheme")))?;
    match scheme.to_ascii_lowercase().as_str() {
        "unix" | "redis+unix" => apply_unix(b, rest),
        "rediss+unix" => Err(invalid(
            "TLS over a Unix socket is not supported (use unix:// or redis+unix://)",
        )),
        "redis" | "rediss" => {
            let parsed =
                url::Url::parse(url).map_err(|e| invalid(format!("invalid URL {url:?}: {e}")))?;
            b.tls = scheme.eq_ignore_ascii_case("rediss");
            let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| {
                if parsed.path().len() > 1 {
                    invalid(format!(
                        "URL {url:?} has a path but no host: a Unix socket is \
                         unix:///path (never with TLS)"
                    ))
                } else {
                    invalid(format!("URL {url:?} has no host"))
                }
            })?;
            b.host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            b.port = parsed.port().unwrap_or(6379);
            b.unix_path = None;
            set_credentials(&mut b, &parsed)?;
            let path = parsed.path().trim_start_matches('/');
            if !path.is_empty() {
                b.handshake.db = parse_db(path)?;
            }
            apply_query(b, parsed.query().unwrap_or(""))
        }
        other => Err(invalid(format!(
            "unknown scheme {other:?} (expected redis://, rediss://, unix:// or redis+unix://)"
        ))),
    }
}

/// `[user[:password]@]/absolute/path[?query]`.
fn apply_unix(mut b: ClientBuilder, rest: &str) -> Result<ClientBuilder> {
    if rest.contains('#') {
        return Err(invalid("a Unix socket URL takes no #fragment"));
    }
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (userinfo_part, path) = match location.split_once('@') {
        Some((info, path)) if !info.contains('/') => (Some(info), path),
        _ => (None, location),
    };
    if let Some(info) = userinfo_part {
        // A Unix URL has no host, which the URL parser refuses next to
        // credentials: the userinfo is decoded on a stand-in authority so
        // that it goes through the same rule as every other URL's.
        let stand_in = url::Url::parse(&format!("unix://{info}@localhost"))
            .map_err(|e| invalid(format!("invalid user info in the Unix socket URL: {e}")))?;
        set_credentials(&mut b, &stand_in)?;
    }
    let path = socket_path(path)?;
    if !path.starts_with('/') {
        return Err(invalid(format!(
            "Unix socket URL needs an absolute path (unix:///path/to/redis.sock), not {path:?}"
        )));
    }
    b.unix_path = Some(PathBuf::from(path));
    b.tls = false;
    apply_query(b, query)
}

/// The URL's user and password (RFC 3986 userinfo, decoded by
/// [`transport::url_userinfo`]); an empty user is none.
fn set_credentials(b: &mut ClientBuilder, url: &url::Url) -> Result<()> {
    let (user, password) = transport::url_userinfo(url).map_err(|e| invalid(e.to_string()))?;
    for (what, part) in [("user", Some(&user)), ("password", password.as_ref())] {
        if part.is_some_and(|p| has_control(p)) {
            return Err(invalid(format!(
                "the {what} in the URL contains a control character"
            )));
        }
    }
    if !user.is_empty() {
        b.handshake.user = Some(user);
    }
    if password.is_some() {
        b.handshake.password = password;
    }
    Ok(())
}

/// The socket path of a Unix URL, percent-decoded (`+` stays a plus).
fn socket_path(s: &str) -> Result<String> {
    let decoded = percent_decode_str(s)
        .decode_utf8()
        .map_err(|_| invalid("the socket path in the URL is not UTF-8"))?;
    if has_control(&decoded) {
        return Err(invalid(
            "the socket path in the URL contains a control character",
        ));
    }
    Ok(decoded.into_owned())
}

fn parse_db(s: &str) -> Result<i64> {
    s.parse::<i64>()
        .map_err(|_| invalid(format!("database {s:?} is not a number")))
}

/// The `?option=value&...` part, form-decoded as query strings are.
fn apply_query(mut b: ClientBuilder, query: &str) -> Result<ClientBuilder> {
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = value.as_ref();
        if has_control(value) {
            return Err(invalid(format!(
                "URL option {key}: control character in the value"
            )));
        }
        let key = key.as_ref();
        match key {
            "db" => b.handshake.db = parse_db(value)?,
            "user" | "username" => b.handshake.user = Some(value.to_string()),
            "password" | "pass" => b.handshake.password = Some(value.to_string()),
            "name" | "client_name" => b.handshake.client_name = Some(value.to_string()),
            "protocol" | "resp" => {
                b.handshake.protocol = match value {
                    "2" => Protocol::Resp2,
                    "3" => Protocol::Resp3,
                    _ => return Err(invalid(format!("protocol must be 2 or 3, not {value:?}"))),
                }
            }
            "connect_timeout" => b.connect_timeout = parse_duration(key, value)?,
            "read_timeout" => b.read_timeout = Some(parse_duration(key, value)?),
            "write_timeout" => b.write_timeout = Some(parse_duration(key, value)?),
            "timeout" => {
                let t = parse_duration(key, value)?;
                b.read_timeout = Some(t);
                b.write_timeout = Some(t);
            }
            "idle_check" => b.idle_check = Some(parse_duration(key, value)?),
            "max_open" => {
                b.pool_config.max_open = value
                    .parse()
                    .map_err(|_| invalid(format!("max_open: not a number: {value:?}")))?
            }
            "persistent_id" => b.persistent_id = Some(value.to_string()),
            "databases" => {
                b.databases = value
                    .parse()
                    .map_err(|_| invalid(format!("databases: not a number: {value:?}")))?
            }
            "cacert" => b.ca_file = Some(PathBuf::from(value)),
            other => return Err(invalid(format!("unknown URL option {other:?}"))),
        }
    }
    Ok(b)
}

/// Parses `250`, `250ms`, `2s`.
fn parse_duration(name: &str, value: &str) -> Result<std::time::Duration> {
    let (digits, scale) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1000)
    } else {
        (value, 1)
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .map(std::time::Duration::from_millis)
        .ok_or_else(|| invalid(format!("option {name}: invalid duration {value:?}")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::Error;

    #[test]
    fn parses_urls() {
        let b = ClientBuilder::new()
            .url("rediss://al%40ice:p%3Ass@example.com:7000/3?name=app&protocol=3&timeout=250ms&idle_check=2s")
            .unwrap();
        assert!(b.tls);
        assert_eq!((b.host.as_str(), b.port), ("example.com", 7000));
        assert_eq!(b.handshake.user.as_deref(), Some("al@ice"));
        assert_eq!(b.handshake.password.as_deref(), Some("p:ss"));
        assert_eq!(b.handshake.db, 3);
        assert_eq!(b.handshake.client_name.as_deref(), Some("app"));
        assert_eq!(b.handshake.protocol, Protocol::Resp3);
        assert_eq!(b.read_timeout, Some(Duration::from_millis(250)));
        assert_eq!(b.idle_check, Some(Duration::from_secs(2)));
        assert!(!format!("{b:?}").contains("p:ss"));
        let pw_only = ClientBuilder::new().url("redis://:pw@[::1]").unwrap();
        assert_eq!(pw_only.handshake.user, None);
        assert_eq!(pw_only.handshake.password.as_deref(), Some("pw"));
        assert_eq!((pw_only.host.as_str(), pw_only.port), ("::1", 6379));
    }

    #[test]
    fn refuses_bad_urls() {
        for bad in [
            "http://localhost",
            "not a url",
            "redis://",
            "redis://h/x",
            "redis://h?protocol=4",
            "redis://h?bogus=1",
            "redis://h?timeout=soon",
            "rediss:///run/redis.sock",
            "redis:///run/redis.sock",
            "rediss+unix:///run/redis.sock",
            "unix://relative/redis.sock",
            "unix:///run/redis.sock#frag",
            "unix:///run/redis.sock?db=x",
            "redis://h\r\n/1",
            "redis://h/1\nPING",
            "redis://u:p%0D%0Aw@h",
            "redis://u%0A:p@h",
            "unix:///run/redis%0a.sock",
            "redis://h?name=a%0D%0Ab",
            "redis://u:%FF@h",
        ] {
            assert!(
                matches!(ClientBuilder::new().url(bad), Err(Error::InvalidInput(_))),
                "{bad}"
            );
        }
        let out_of_range = ClientBuilder::new().url("redis://h/16").unwrap();
        assert!(matches!(
            out_of_range.validate(),
            Err(Error::InvalidInput(_))
        ));
        let negative = ClientBuilder::new().url("redis://h/-1").unwrap();
        assert!(negative.validate().is_err());
        assert!(ClientBuilder::new().client_name("a b").validate().is_err());
        assert!(ClientBuilder::new()
            .unix_socket("/run/redis.sock")
            .tls_config(transport::TlsConfig::system().unwrap())
            .validate()
            .is_err());
        assert!(ClientBuilder::new()
            .unix_socket("relative.sock")
            .validate()
            .is_err());
        assert!(ClientBuilder::new()
            .credentials(None, "pass\r\nword")
            .validate()
            .is_err());
    }

    #[test]
    fn unix_socket_urls() {
        for url in [
            "unix:///run/redis/redis.sock?db=3&password=pw&name=app",
            "redis+unix:///run/redis/redis.sock?db=3&pass=pw&name=app",
            "unix://:pw@/run/redis/redis.sock?db=3&name=app",
        ] {
            let b = ClientBuilder::new().url(url).unwrap();
            assert_eq!(
                b.unix_path.as_deref(),
                Some(std::path::Path::new("/run/redis/redis.sock")),
                "{url}"
            );
            assert!(!b.tls);
            assert_eq!(b.handshake.db, 3, "{url}");
            assert_eq!(b.handshake.user, None, "{url}");
            assert_eq!(b.handshake.password.as_deref(), Some("pw"), "{url}");
            assert_eq!(b.handshake.client_name.as_deref(), Some("app"), "{url}");
            b.validate().unwrap();
        }
        let b = ClientBuilder::new()
            .url("unix://al%40ice:p%2Bw@/tmp/with%20space.sock?protocol=3")
            .unwrap();
        assert_eq!(b.handshake.user.as_deref(), Some("al@ice"));
        assert_eq!(b.handshake.password.as_deref(), Some("p+w"));
        assert_eq!(
            b.unix_path.as_deref(),
            Some(std::path::Path::new("/tmp/with space.sock"))
        );
        let b = ClientBuilder::new()
            .url("unix:///tmp/r.sock?user=bob&password=s3cret")
            .unwrap();
        assert_eq!(b.handshake.user.as_deref(), Some("bob"));
        assert_eq!(b.handshake.password.as_deref(), Some("s3cret"));
        // A later TCP URL or address replaces the socket.
        let b = b.url("redis://127.0.0.1:6379").unwrap();
        assert_eq!(b.unix_path, None);
    }

    /// RFC 3986 userinfo: percent-decoded, `+` a plus; every reserved
    /// character survives the round trip through the URL.
    #[test]
    fn every_reserved_character_in_user_and_password() {
        const RESERVED: &str = ":/?#[]@!$&'()*+,;=% ";
        let encode = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        for c in RESERVED.chars() {
            let user = format!("u{c}x");
            let password = format!("p{c}w{c}");
            for url in [
                format!("redis://{}:{}@h:1/2", encode(&user), encode(&password)),
                format!("unix://{}:{}@/tmp/r.sock", encode(&user), encode(&password)),
            ] {
                let b = ClientBuilder::new().url(&url).unwrap();
                assert_eq!(b.handshake.user.as_deref(), Some(user.as_str()), "{url}");
                assert_eq!(
                    b.handshake.password.as_deref(),
                    Some(password.as_str()),
                    "{url}"
                );
            }
        }
        // Unencoded where the URL grammar allows it: still literal.
        // A bad escape is refused, naming the part and not its value.
        for url in ["redis://u:secret%zz@h", "unix://u:secret%zz@/tmp/r.sock"] {
            let err = ClientBuilder::new().url(url).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, crate::Error::InvalidInput(_)), "{url}");
            assert!(
                text.contains("password") && !text.contains("secret"),
                "{text}"
            );
        }
        let b = ClientBuilder::new().url("redis://us+er:pa+ss$!@h").unwrap();
        assert_eq!(b.handshake.user.as_deref(), Some("us+er"));
        assert_eq!(b.handshake.password.as_deref(), Some("pa+ss$!"));
    }
}
