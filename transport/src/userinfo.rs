//! The user and password of a URL's userinfo, percent-decoded as RFC 3986
//! says (`+` stays a plus: form decoding is for query strings, not here).
//! The one decoder every protocol crate uses for its URLs.

use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

/// The decoded user (empty when the URL has none) and password of `url`.
///
/// ```
/// let url = pconn_transport::url::Url::parse("redis://al%40ice:p%3Aw+rd%25@localhost:6379")?;
/// let (user, password) = pconn_transport::url_userinfo(&url)?;
/// assert_eq!(user, "al@ice");
/// assert_eq!(password.as_deref(), Some("p:w+rd%"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A part with a `%` not followed by two hex digits (`%zz`), or that does
/// not decode to UTF-8, is [`Error::InvalidInput`] naming which part (the
/// value itself is never shown: it may be a secret).
pub fn url_userinfo(url: &url::Url) -> Result<(String, Option<String>)> {
    let user = decode(url.username(), "user")?;
    let password = url.password().map(|p| decode(p, "password")).transpose()?;
    Ok((user, password))
}

fn decode(part: &str, what: &str) -> Result<String> {
    let bytes = part.as_bytes();
    let malformed = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if malformed {
        return Err(Error::InvalidInput(format!(
            "the URL's {what} has a `%` not followed by two hex digits"
        )));
    }
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            Error::InvalidInput(format!(
                "the URL's {what} is not UTF-8 once percent-decoded"
            ))
        })
}

#[cfg(test)]
mod tests {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

    use super::*;

    /// Every reserved character of RFC 3986 (gen-delims and sub-delims),
    /// the percent sign, a space and non-ASCII, in user and password.
    const ALL: &str = ":/?#[]@!$&'()*+,;=% é";

    #[test]
    fn every_reserved_character_round_trips_in_user_and_password() {
        let enc = utf8_percent_encode(ALL, NON_ALPHANUMERIC).to_string();
        let url = url::Url::parse(&format!("redis://u{enc}:p{enc}@host:1/0")).unwrap();
        let (user, password) = url_userinfo(&url).unwrap();
        assert_eq!(user, format!("u{ALL}"));
        assert_eq!(password, Some(format!("p{ALL}")));
        for c in ALL.chars() {
            let enc = utf8_percent_encode(&c.to_string(), NON_ALPHANUMERIC).to_string();
            let url = url::Url::parse(&format!("smtp://{enc}:{enc}@host")).unwrap();
            let (user, password) = url_userinfo(&url).unwrap();
            assert_eq!(
                (user.as_str(), password.as_deref()),
                (c.to_string().as_str(), Some(c.to_string().as_str())),
                "{c:?}"
            );
        }
    }

    #[test]
    fn plus_stays_a_plus_and_absent_parts_are_empty_or_none() {
        let url = url::Url::parse("http://a+b:c+d@host").unwrap();
        assert_eq!(
            url_userinfo(&url).unwrap(),
            ("a+b".to_string(), Some("c+d".to_string()))
        );
        let url = url::Url::parse("http://host").unwrap();
        assert_eq!(url_userinfo(&url).unwrap(), (String::new(), None));
        let url = url::Url::parse("http://user@host").unwrap();
        assert_eq!(url_userinfo(&url).unwrap(), ("user".to_string(), None));
        let url = url::Url::parse("http://:pw@host").unwrap();
        assert_eq!(
            url_userinfo(&url).unwrap(),
            (String::new(), Some("pw".to_string()))
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_naming_the_part_not_the_value() {
        let url = url::Url::parse("redis://ok:secret%FF@host").unwrap();
        let err = url_userinfo(&url).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidInput(_)));
        assert!(
            text.contains("password") && !text.contains("secret"),
            "{text}"
        );
        let url = url::Url::parse("redis://%C3@host").unwrap();
        assert!(url_userinfo(&url).unwrap_err().to_string().contains("user"));
    }

    #[test]
    fn a_bad_escape_is_an_error_naming_the_part() {
        for (url, part) in [
            ("smtp://u%zz:pw@host", "user"),
            ("smtp://u:pw%@host", "password"),
            ("smtp://u:pw%4@host", "password"),
        ] {
            let err = url_userinfo(&url::Url::parse(url).unwrap()).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{url}");
            assert!(err.to_string().contains(part), "{url}: {err}");
        }
    }
}
