//! HTTP Digest access authentication (RFC 7616), sans IO: reading the
//! challenges of a `WWW-Authenticate` field and computing the
//! `Authorization` value that answers one. MD5 and SHA-256 (and their
//! `-sess` variants), `qop=auth`, `userhash`, and the RFC 2069 form a
//! server that names no `qop` still asks for. `qop=auth-int` (a hash of the
//! body) is not offered by this client: a challenge that allows only it is
//! not answered.

use std::fmt::Write as _;

use md5::Md5;
use sha2::Sha256;

use super::request::{InvalidInput, Part};

/// The hash a challenge names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5` (the default when none is named).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Algorithm> {
        [
            ("MD5", Algorithm::Md5),
            ("MD5-sess", Algorithm::Md5Sess),
            ("SHA-256", Algorithm::Sha256),
            ("SHA-256-sess", Algorithm::Sha256Sess),
        ]
        .into_iter()
        .find_map(|(n, a)| n.eq_ignore_ascii_case(name).then_some(a))
    }

    /// The name as sent back.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
        }
    }

    fn sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// The lowercase hex digest of `parts` joined with `:`.
    fn hex(self, parts: &[&str]) -> String {
        fn run<D: sha2::Digest>(parts: &[&str]) -> String {
            let mut d = D::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    d.update(b":");
                }
                d.update(p.as_bytes());
            }
            let mut out = String::with_capacity(64);
            for b in d.finalize().iter() {
                let _ = write!(out, "{b:02x}");
            }
            out
        }
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => run::<Md5>(parts),
            Algorithm::Sha256 | Algorithm::Sha256Sess => run::<Sha256>(parts),
        }
    }
}

/// One `Digest` challenge this client can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, sent back as it came.
    pub opaque: Option<String>,
    /// `algorithm`.
    pub algorithm: Algorithm,
    /// True when the server offers `qop=auth` (false: the RFC 2069 form).
    pub qop_auth: bool,
    /// `userhash=true`: the user name goes hashed.
    pub userhash: bool,
    /// `stale=true`: the nonce was old, the credentials were not wrong.
    pub stale: bool,
}

/// The strongest `Digest` challenge among the values of the
/// `WWW-Authenticate` fields that this client can answer (SHA-256 before
/// MD5), if any.
pub fn best_challenge<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Option<Challenge> {
    values
        .into_iter()
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(challenges)
        .filter_map(|(scheme, params)| {
            scheme
                .eq_ignore_ascii_case("Digest")
                .then(|| digest_challenge(&params))?
        })
        .max_by_key(|c| c.algorithm.strength())
}

fn digest_challenge(params: &[(String, String)]) -> Option<Challenge> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let algorithm = match get("algorithm") {
        Some(a) => Algorithm::parse(a)?,
        None => Algorithm::Md5,
    };
    let qop_auth = match get("qop") {
        Some(qop) => {
            if !qop
                .split(',')
                .any(|q| q.trim().eq_ignore_ascii_case("auth"))
            {
                return None; // auth-int only
            }
            true
        }
        None => false,
    };
    let is_true = |name| get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Some(Challenge {
        realm: get("realm")?.to_string(),
        nonce: get("nonce")?.to_string(),
        opaque: get("opaque").map(str::to_string),
        algorithm,
        qop_auth,
        userhash: is_true("userhash"),
        stale: is_true("stale"),
    })
}

/// Splits a `WWW-Authenticate` value into its challenges: a scheme and its
/// `name=value` parameters (quoted strings unescaped). Token68 forms
/// (`Basic abc==`) come back with no parameters.
fn challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return out;
        }
        let end = rest.find([' ', '\t', ',', '=']).unwrap_or(rest.len());
        let token = &rest[..end];
        let after = rest[end..].trim_start_matches([' ', '\t']);
        if let Some(value_part) = after.strip_prefix('=') {
            // name=value of the current challenge (or a token68's padding).
            let (v, next) = param_value(value_part.trim_start_matches([' ', '\t']));
            if let Some((_, params)) = out.last_mut() {
                params.push((token.to_string(), v));
            }
            rest = next;
        } else {
            out.push((token.to_string(), Vec::new()));
            rest = after;
        }
    }
}

/// A token or quoted string, and what follows it.
fn param_value(s: &str) -> (String, &str) {
    let Some(quoted) = s.strip_prefix('"') else {
        let end = s.find([',', ' ', '\t']).unwrap_or(s.len());
        return (s[..end].to_string(), &s[end..]);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &quoted[i + 1..]),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            c => value.push(c),
        }
    }
    (value, "") // unterminated: what there was
}

/// Checks a user name before anything is sent: it goes into a header.
pub fn check_user(user: &str) -> Result<(), InvalidInput> {
    super::request::check_no_controls(Part::UserName, user)
}

/// What an answer is computed from besides the challenge.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// The user name (checked with [`check_user`]).
    pub user: &'a str,
    /// The password.
    pub password: &'a str,
    /// The request method.
    pub method: &'a str,
    /// The request target as sent (path and query).
    pub uri: &'a str,
    /// A fresh client nonce (hex).
    pub cnonce: &'a str,
}

/// The `Authorization` value answering `challenge` (nonce count 1: each
/// answer is to a fresh challenge).
pub fn authorization(challenge: &Challenge, a: &Answer<'_>) -> String {
    let alg = challenge.algorithm;
    let nc = "00000001";
    let mut ha1 = alg.hex(&[a.user, &challenge.realm, a.password]);
    if alg.sess() {
        ha1 = alg.hex(&[&ha1, &challenge.nonce, a.cnonce]);
    }
    let ha2 = alg.hex(&[a.method, a.uri]);
    let response = if challenge.qop_auth {
        alg.hex(&[&ha1, &challenge.nonce, nc, a.cnonce, "auth", &ha2])
    } else {
        alg.hex(&[&ha1, &challenge.nonce, &ha2])
    };
    let mut out = String::from("Digest ");
    if challenge.userhash {
        let hashed = alg.hex(&[a.user, &challenge.realm]);
        let _ = write!(out, "username=\"{hashed}\", userhash=true, ");
    } else if a.user.is_ascii() {
        let _ = write!(out, "username={}, ", quote(a.user));
    } else {
        // RFC 7616 3.4.4: a name outside ASCII goes as an ext-value.
        let encoded = percent_encoding::utf8_percent_encode(a.user, ATTR_CHAR);
        let _ = write!(out, "username*=UTF-8''{encoded}, ");
    }
    let _ = write!(
        out,
        "realm={}, uri={}, algorithm={}, nonce={}, ",
        quote(&challenge.realm),
        quote(a.uri),
        alg.name(),
        quote(&challenge.nonce)
    );
    if challenge.qop_auth {
        let _ = write!(out, "nc={nc}, cnonce=\"{}\", qop=auth, ", a.cnonce);
    }
    let _ = write!(out, "response=\"{response}\"");
    if let Some(opaque) = &challenge.opaque {
        let _ = write!(out, ", opaque={}", quote(opaque));
    }
    out
}

/// Everything but RFC 5987's attr-char is percent-encoded.
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A quoted string, `"` and `\` escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7616_example_sha256_and_md5() {
        // RFC 7616 section 3.9.1.
        let value = br#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let md5 = br#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let best = best_challenge([&md5[..], &value[..]]).unwrap();
        assert_eq!(best.algorithm, Algorithm::Sha256);
        let answer = Answer {
            user: "Mufasa",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        };
        let auth = authorization(&best, &answer);
        assert!(auth.contains(
            r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1""#
        ));
        assert!(auth.contains(r#"opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#));
        let md5 = best_challenge([&md5[..]]).unwrap();
        assert!(
            authorization(&md5, &answer).contains(r#"response="8ca523f5e9506fed4657c9700eebdbec""#)
        );
    }

    #[test]
    fn challenges_among_others_and_what_is_not_answered() {
        let c = best_challenge([
            &b"Basic realm=\"x\", Digest realm=\"a\\\"b\", nonce=n1, stale=TRUE"[..],
            b"Bearer abc==",
        ])
        .unwrap();
        assert_eq!((c.realm.as_str(), c.nonce.as_str()), ("a\"b", "n1"));
        assert!(c.stale && !c.qop_auth && !c.userhash);
        assert_eq!(c.algorithm, Algorithm::Md5);
        for none in [
            &b"Digest realm=\"a\", nonce=\"n\", qop=\"auth-int\""[..],
            b"Digest realm=\"a\", nonce=\"n\", algorithm=SHA-512-256",
            b"Digest realm=\"a\"",
            b"Basic realm=\"a\"",
        ] {
            assert_eq!(best_challenge([none]), None, "{none:?}");
        }
    }

    #[test]
    fn user_names_are_checked_quoted_hashed_or_encoded() {
        assert!(check_user("a\r\nX-Evil: 1").is_err());
        assert!(check_user("a\0").is_err());
        let mut c = best_challenge([&b"Digest realm=\"r\", nonce=\"n\", qop=auth"[..]]).unwrap();
        let a = |user| Answer {
            user,
            password: "p",
            method: "GET",
            uri: "/",
            cnonce: "c",
        };
        assert!(authorization(&c, &a("a\"b")).starts_with(r#"Digest username="a\"b", "#));
        assert!(authorization(&c, &a("J\u{e4}s\u{f8}n"))
            .starts_with("Digest username*=UTF-8''J%C3%A4s%C3%B8n, "));
        c.userhash = true;
        let hashed = Algorithm::Md5.hex(&["u", "r"]);
        assert!(authorization(&c, &a("u"))
            .starts_with(&format!("Digest username=\"{hashed}\", userhash=true, ")));
    }
}
