//! The service extensions a server lists in its EHLO reply.

use super::reply::Reply;

/// AUTH mechanisms this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// RFC 4616 PLAIN: one round trip.
    Plain,
    /// The LOGIN mechanism: user and password in two challenges.
    Login,
    /// XOAUTH2: an OAuth 2.0 bearer token.
    XOAuth2,
}

impl Mechanism {
    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }
}

/// What the server offered in its EHLO reply (nothing after a HELO fallback).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// The name the server gave in the first line.
    pub server_name: String,
    /// STARTTLS (RFC 3207).
    pub starttls: bool,
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// 8BITMIME (RFC 6152).
    pub eight_bit_mime: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub enhanced_status_codes: bool,
    /// DSN (RFC 3461): delivery status notifications.
    pub dsn: bool,
    /// CHUNKING (RFC 3030): BDAT.
    pub chunking: bool,
    /// BINARYMIME (RFC 3030): unencoded binary content over BDAT.
    pub binarymime: bool,
    /// SIZE (RFC 1870): `Some(0)` when offered without a fixed limit.
    pub size: Option<u64>,
    /// AUTH mechanisms offered that this client speaks, in the server's order.
    pub auth: Vec<Mechanism>,
}

impl Extensions {
    /// Parses an EHLO reply. Unknown keywords are ignored, as RFC 5321 asks.
    pub fn parse(reply: &Reply) -> Extensions {
        let mut ext = Extensions {
            server_name: reply
                .lines
                .first()
                .and_then(|l| l.split_whitespace().next())
                .unwrap_or_default()
                .to_string(),
            ..Extensions::default()
        };
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let keyword = keyword.to_ascii_uppercase();
            // Old servers wrote "AUTH=LOGIN PLAIN".
            let (keyword, first_param) = match keyword.split_once('=') {
                Some((k, p)) => (k.to_string(), Some(p.to_string())),
                None => (keyword, None),
            };
            match keyword.as_str() {
                "STARTTLS" => ext.starttls = true,
                "PIPELINING" => ext.pipelining = true,
                "8BITMIME" => ext.eight_bit_mime = true,
                "SMTPUTF8" => ext.smtputf8 = true,
                "ENHANCEDSTATUSCODES" => ext.enhanced_status_codes = true,
                "DSN" => ext.dsn = true,
                "CHUNKING" => ext.chunking = true,
                "BINARYMIME" => ext.binarymime = true,
                "SIZE" => ext.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "AUTH" => {
                    let params = first_param.into_iter().chain(words.map(str::to_string));
                    for m in params {
                        let mech = match m.to_ascii_uppercase().as_str() {
                            "PLAIN" => Mechanism::Plain,
                            "LOGIN" => Mechanism::Login,
                            "XOAUTH2" => Mechanism::XOAuth2,
                            _ => continue,
                        };
                        if !ext.auth.contains(&mech) {
                            ext.auth.push(mech);
                        }
                    }
                }
                _ => {}
            }
        }
        ext
    }

    /// The server's size limit, if it declared one.
    pub fn size_limit(&self) -> Option<u64> {
        self.size.filter(|&n| n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::reply::decode;

    fn parse(bytes: &[u8]) -> Extensions {
        Extensions::parse(&decode(bytes).unwrap().unwrap().0)
    }

    #[test]
    fn aiosmtpd_style_reply() {
        let ext = parse(
            b"250-localhost\r\n250-SIZE 1048576\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
              250-STARTTLS\r\n250-AUTH LOGIN PLAIN\r\n250 HELP\r\n",
        );
        assert_eq!(ext.server_name, "localhost");
        assert!(ext.starttls && ext.eight_bit_mime && ext.smtputf8);
        assert!(!ext.pipelining);
        assert_eq!(ext.size_limit(), Some(1_048_576));
        assert_eq!(ext.auth, [Mechanism::Login, Mechanism::Plain]);
    }

    #[test]
    fn postfix_style_reply_with_dsn_and_chunking() {
        let ext = parse(
            b"250-pconn-postfix\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-DSN\r\n\
              250-SMTPUTF8\r\n250-BINARYMIME\r\n250 CHUNKING\r\n",
        );
        assert!(ext.dsn && ext.chunking && ext.binarymime && ext.pipelining);
        let ext = parse(b"250-x\r\n250 PIPELINING\r\n");
        assert!(!ext.dsn && !ext.chunking && !ext.binarymime);
    }

    #[test]
    fn legacy_and_odd_forms() {
        let ext = parse(
            b"250-mx Hello\r\n250-AUTH=plain xoauth2 CRAM-MD5\r\n250-size\r\n250 pipelining\r\n",
        );
        assert_eq!(ext.auth, [Mechanism::Plain, Mechanism::XOAuth2]);
        assert_eq!(ext.size, Some(0));
        assert_eq!(ext.size_limit(), None);
        assert!(ext.pipelining);
        // A bare 250 (what a HELO-only server answers) offers nothing.
        assert_eq!(parse(b"250 mx\r\n").auth, []);
    }
}
