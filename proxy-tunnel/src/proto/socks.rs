//! SOCKS5 (RFC 1928, username/password auth of RFC 1929) and SOCKS4/4a
//! handshakes, sans-IO: encoders append to a buffer, decoders take the bytes
//! received so far and return `Ok(None)` until a whole frame is there, then
//! the frame and how many bytes it used. Bytes after a reply are not looked
//! at: they belong to the target (an SMTP greeting may ride along).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::BytesMut;

/// SOCKS5 "no authentication required".
pub const METHOD_NONE: u8 = 0x00;
/// SOCKS5 username/password (RFC 1929).
pub const METHOD_PASSWORD: u8 = 0x02;
/// SOCKS5 "no acceptable methods".
pub const METHOD_REFUSED: u8 = 0xFF;

/// The longest reply any SOCKS decoder here accepts (a SOCKS5 reply with a
/// 255-byte domain as bound address): the read limit for the handshake.
pub const MAX_REPLY: usize = 4 + 1 + 255 + 2;

/// Where the proxy is asked to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocksAddr {
    /// An address (the client resolved the name, or it was one).
    Ip(SocketAddr),
    /// A host name for the proxy to resolve (`socks5h`, `socks4a`); at
    /// most 255 bytes, checked by [`crate::proto::Target::new`].
    Domain(String, u16),
}

/// A reply code of a SOCKS server that refuses the request: each has its
/// own variant, SOCKS4's included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocksReply {
    /// SOCKS5 0x01: general SOCKS server failure.
    GeneralFailure,
    /// SOCKS5 0x02: connection not allowed by ruleset.
    NotAllowed,
    /// SOCKS5 0x03: network unreachable.
    NetworkUnreachable,
    /// SOCKS5 0x04: host unreachable.
    HostUnreachable,
    /// SOCKS5 0x05: connection refused (by the target).
    ConnectionRefused,
    /// SOCKS5 0x06: TTL expired.
    TtlExpired,
    /// SOCKS5 0x07: command not supported.
    CommandNotSupported,
    /// SOCKS5 0x08: address type not supported.
    AddressTypeNotSupported,
    /// SOCKS5 0x09..=0xFF: a code RFC 1928 does not assign.
    Unassigned(u8),
    /// SOCKS4 91: request rejected or failed.
    Socks4Rejected,
    /// SOCKS4 92: the server cannot reach the client's identd.
    Socks4IdentdUnreachable,
    /// SOCKS4 93: identd reports a different user id.
    Socks4IdentdMismatch,
}

impl SocksReply {
    /// The SOCKS5 reply code's meaning; `None` for 0 (success).
    pub fn from_socks5(code: u8) -> Option<SocksReply> {
        Some(match code {
            0x00 => return None,
            0x01 => SocksReply::GeneralFailure,
            0x02 => SocksReply::NotAllowed,
            0x03 => SocksReply::NetworkUnreachable,
            0x04 => SocksReply::HostUnreachable,
            0x05 => SocksReply::ConnectionRefused,
            0x06 => SocksReply::TtlExpired,
            0x07 => SocksReply::CommandNotSupported,
            0x08 => SocksReply::AddressTypeNotSupported,
            other => SocksReply::Unassigned(other),
        })
    }

    /// The code on the wire (SOCKS4 codes are 91..=93).
    pub fn code(self) -> u8 {
        match self {
            SocksReply::GeneralFailure => 0x01,
            SocksReply::NotAllowed => 0x02,
            SocksReply::NetworkUnreachable => 0x03,
            SocksReply::HostUnreachable => 0x04,
            SocksReply::ConnectionRefused => 0x05,
            SocksReply::TtlExpired => 0x06,
            SocksReply::CommandNotSupported => 0x07,
            SocksReply::AddressTypeNotSupported => 0x08,
            SocksReply::Unassigned(code) => code,
            SocksReply::Socks4Rejected => 91,
            SocksReply::Socks4IdentdUnreachable => 92,
            SocksReply::Socks4IdentdMismatch => 93,
        }
    }
}

impl std::fmt::Display for SocksReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            SocksReply::GeneralFailure => "general SOCKS server failure",
            SocksReply::NotAllowed => "connection not allowed by ruleset",
            SocksReply::NetworkUnreachable => "network unreachable",
            SocksReply::HostUnreachable => "host unreachable",
            SocksReply::ConnectionRefused => "connection refused",
            SocksReply::TtlExpired => "TTL expired",
            SocksReply::CommandNotSupported => "command not supported",
            SocksReply::AddressTypeNotSupported => "address type not supported",
            SocksReply::Unassigned(_) => "unassigned reply code",
            SocksReply::Socks4Rejected => "request rejected or failed",
            SocksReply::Socks4IdentdUnreachable => "identd unreachable",
            SocksReply::Socks4IdentdMismatch => "identd reports another user id",
        };
        write!(f, "{text} (code {})", self.code())
    }
}

/// Why a SOCKS server's bytes cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocksError {
    /// The version byte is not the one expected.
    WrongVersion {
        /// What the protocol requires (5, 1 for RFC 1929 replies, 0 for SOCKS4).
        expected: u8,
        /// What arrived.
        got: u8,
    },
    /// The server accepts none of the offered methods (0xFF).
    NoAcceptableMethod,
    /// The server chose a method that was not offered.
    UnofferedMethod(u8),
    /// The username/password sub-negotiation failed (RFC 1929 status).
    AuthFailed(u8),
    /// The server refused the request.
    Refused(SocksReply),
    /// A reply field no server may send (address type, reserved byte).
    Malformed(String),
}

/// Appends a SOCKS5 greeting offering `methods`.
pub fn encode_greeting(out: &mut BytesMut, methods: &[u8]) {
    out.extend_from_slice(&[5, methods.len() as u8]);
    out.extend_from_slice(methods);
}

/// Decodes the server's method choice (2 bytes), checking it was offered.
pub fn decode_method(buf: &[u8], offered: &[u8]) -> Result<Option<(u8, usize)>, SocksError> {
    let Some(&[version, method]) = buf.get(..2) else {
        return check_version(buf, 5).map(|()| None);
    };
    check_version(&[version], 5)?;
    if method == METHOD_REFUSED {
        return Err(SocksError::NoAcceptableMethod);
    }
    if !offered.contains(&method) {
        return Err(SocksError::UnofferedMethod(method));
    }
    Ok(Some((method, 2)))
}

/// Appends an RFC 1929 username/password request. Both are at most 255
/// bytes ([`crate::Proxy::parse`] refuses longer ones; here they are cut
/// rather than mis-framed).
pub fn encode_password(out: &mut BytesMut, user: &str, password: &str) {
    out.extend_from_slice(&[1]);
    for field in [user, password] {
        let bytes = &field.as_bytes()[..field.len().min(255)];
        out.extend_from_slice(&[bytes.len() as u8]);
        out.extend_from_slice(bytes);
    }
}

/// Decodes the RFC 1929 status reply (2 bytes); any status but 0 is a
/// refusal.
pub fn decode_password_reply(buf: &[u8]) -> Result<Option<((), usize)>, SocksError> {
    let Some(&[version, status]) = buf.get(..2) else {
        return Ok(None);
    };
    // RFC 1929 says 1; some servers echo the SOCKS version 5 instead.
    if version != 1 && version != 5 {
        return Err(SocksError::WrongVersion {
            expected: 1,
            got: version,
        });
    }
    if status != 0 {
        return Err(SocksError::AuthFailed(status));
    }
    Ok(Some(((), 2)))
}

/// Appends a SOCKS5 CONNECT request for `addr`.
pub fn encode_connect5(out: &mut BytesMut, addr: &SocksAddr) {
    out.extend_from_slice(&[5, 1, 0]);
    let port = match addr {
        SocksAddr::Ip(SocketAddr::V4(a)) => {
            out.extend_from_slice(&[1]);
            out.extend_from_slice(&a.ip().octets());
            a.port()
        }
        SocksAddr::Ip(SocketAddr::V6(a)) => {
            out.extend_from_slice(&[4]);
            out.extend_from_slice(&a.ip().octets());
            a.port()
        }
        SocksAddr::Domain(name, port) => {
            let name = &name.as_bytes()[..name.len().min(255)];
            out.extend_from_slice(&[3, name.len() as u8]);
            out.extend_from_slice(name);
            *port
        }
    };
    out.extend_from_slice(&port.to_be_bytes());
}

/// Decodes a SOCKS5 reply: the address the proxy bound for the tunnel (a
/// domain comes back as `SocksAddr::Domain`). A refusal is reported as soon
/// as its code byte is in, without waiting for the rest.
pub fn decode_reply5(buf: &[u8]) -> Result<Option<(SocksAddr, usize)>, SocksError> {
    check_version(buf, 5)?;
    let Some(&code) = buf.get(1) else {
        return Ok(None);
    };
    if let Some(refusal) = SocksReply::from_socks5(code) {
        return Err(SocksError::Refused(refusal));
    }
    let (Some(&reserved), Some(&atyp)) = (buf.get(2), buf.get(3)) else {
        return Ok(None);
    };
    if reserved != 0 {
        return Err(SocksError::Malformed(format!(
            "reserved byte {reserved:#04x} in the reply"
        )));
    }
    let addr_len = match atyp {
        1 => 4,
        4 => 16,
        3 => match buf.get(4) {
            Some(&n) => 1 + usize::from(n),
            None => return Ok(None),
        },
        other => {
            return Err(SocksError::Malformed(format!(
                "address type {other:#04x} in the reply"
            )))
        }
    };
    let total = 4 + addr_len + 2;
    let Some(frame) = buf.get(..total) else {
        return Ok(None);
    };
    let addr = &frame[4..4 + addr_len];
    let port = u16::from_be_bytes([frame[total - 2], frame[total - 1]]);
    let bound = match atyp {
        1 => SocksAddr::Ip(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(addr).expect("4 bytes"))),
            port,
        )),
        4 => SocksAddr::Ip(SocketAddr::new(
            IpAddr::V6(Ipv6Addr::from(
                <[u8; 16]>::try_from(addr).expect("16 bytes"),
            )),
            port,
        )),
        _ => SocksAddr::Domain(String::from_utf8_lossy(&addr[1..]).into_owned(), port),
    };
    Ok(Some((bound, total)))
}

/// Appends a SOCKS4 CONNECT request; a domain makes it SOCKS4a (the
/// address 0.0.0.1, the name after the user id). A user id is at most 255
/// bytes and has no NUL ([`crate::Proxy::parse`] checks both).
pub fn encode_connect4(out: &mut BytesMut, addr: &SocksAddr, user_id: &str) {
    let (ip, port, name) = match addr {
        SocksAddr::Ip(SocketAddr::V4(a)) => (a.ip().octets(), a.port(), None),
        // SOCKS4 has no IPv6; the driver never asks (it checks first).
        SocksAddr::Ip(SocketAddr::V6(a)) => ([0, 0, 0, 0], a.port(), None),
        SocksAddr::Domain(name, port) => ([0, 0, 0, 1], *port, Some(name)),
    };
    out.extend_from_slice(&[4, 1]);
    out.extend_from_slice(&port.to_be_bytes());
    out.extend_from_slice(&ip);
    out.extend_from_slice(user_id.as_bytes());
    out.extend_from_slice(&[0]);
    if let Some(name) = name {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&[0]);
    }
}

/// Decodes the 8-byte SOCKS4 reply.
pub fn decode_reply4(buf: &[u8]) -> Result<Option<((), usize)>, SocksError> {
    // The reply's version byte is 0; some servers send 4.
    if let Some(&v) = buf.first() {
        if v != 0 && v != 4 {
            return Err(SocksError::WrongVersion {
                expected: 0,
                got: v,
            });
        }
    }
    let Some(&code) = buf.get(1) else {
        return Ok(None);
    };
    let refusal = match code {
        90 => None,
        91 => Some(SocksReply::Socks4Rejected),
        92 => Some(SocksReply::Socks4IdentdUnreachable),
        93 => Some(SocksReply::Socks4IdentdMismatch),
        other => return Err(SocksError::Malformed(format!("SOCKS4 reply code {other}"))),
    };
    if let Some(refusal) = refusal {
        return Err(SocksError::Refused(refusal));
    }
    Ok((buf.len() >= 8).then_some(((), 8)))
}

fn check_version(buf: &[u8], expected: u8) -> Result<(), SocksError> {
    match buf.first() {
        Some(&got) if got != expected => Err(SocksError::WrongVersion { expected, got }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut out = BytesMut::new();
        f(&mut out);
        out.to_vec()
    }

    #[test]
    fn requests() {
        assert_eq!(bytes(|o| encode_greeting(o, &[0, 2])), [5, 2, 0, 2]);
        assert_eq!(
            bytes(|o| encode_password(o, "u", "pw")),
            [1, 1, b'u', 2, b'p', b'w']
        );
        let v4 = SocksAddr::Ip("127.0.0.1:6379".parse().unwrap());
        assert_eq!(
            bytes(|o| encode_connect5(o, &v4)),
            [5, 1, 0, 1, 127, 0, 0, 1, 0x18, 0xEB]
        );
        let v6 = SocksAddr::Ip("[::1]:443".parse().unwrap());
        let mut want = vec![5, 1, 0, 4];
        want.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        want.extend_from_slice(&[1, 0xBB]);
        assert_eq!(bytes(|o| encode_connect5(o, &v6)), want);
        let name = SocksAddr::Domain("localhost".into(), 8443);
        let mut want = vec![5, 1, 0, 3, 9];
        want.extend_from_slice(b"localhost");
        want.extend_from_slice(&[0x20, 0xFB]);
        assert_eq!(bytes(|o| encode_connect5(o, &name)), want);
        assert_eq!(
            bytes(|o| encode_connect4(o, &v4, "me")),
            [4, 1, 0x18, 0xEB, 127, 0, 0, 1, b'm', b'e', 0]
        );
        let mut want = vec![4, 1, 0x20, 0xFB, 0, 0, 0, 1, 0];
        want.extend_from_slice(b"localhost\0");
        assert_eq!(bytes(|o| encode_connect4(o, &name, "")), want);
    }

    #[test]
    fn method_choice() {
        assert_eq!(decode_method(&[], &[0]), Ok(None));
        assert_eq!(decode_method(&[5], &[0]), Ok(None));
        assert_eq!(decode_method(&[5, 0, 9], &[0]), Ok(Some((0, 2))));
        assert_eq!(decode_method(&[5, 2], &[0, 2]), Ok(Some((2, 2))));
        assert_eq!(
            decode_method(&[5, 2], &[0]),
            Err(SocksError::UnofferedMethod(2))
        );
        assert_eq!(
            decode_method(&[5, 0xFF], &[0, 2]),
            Err(SocksError::NoAcceptableMethod)
        );
        // An HTTP proxy answering a SOCKS greeting: wrong at the first byte.
        assert_eq!(
            decode_method(b"H", &[0]),
            Err(SocksError::WrongVersion {
                expected: 5,
                got: b'H'
            })
        );
        assert_eq!(
            decode_method(&[4, 0], &[0]),
            Err(SocksError::WrongVersion {
                expected: 5,
                got: 4
            })
        );
    }

    #[test]
    fn password_reply() {
        assert_eq!(decode_password_reply(&[1]), Ok(None));
        assert_eq!(decode_password_reply(&[1, 0]), Ok(Some(((), 2))));
        assert_eq!(decode_password_reply(&[5, 0]), Ok(Some(((), 2))));
        assert_eq!(
            decode_password_reply(&[1, 1]),
            Err(SocksError::AuthFailed(1))
        );
        assert!(matches!(
            decode_password_reply(&[7, 0]),
            Err(SocksError::WrongVersion {
                expected: 1,
                got: 7
            })
        ));
    }

    #[test]
    fn every_reply_code_is_its_own_refusal() {
        let want = [
            SocksReply::GeneralFailure,
            SocksReply::NotAllowed,
            SocksReply::NetworkUnreachable,
            SocksReply::HostUnreachable,
            SocksReply::ConnectionRefused,
            SocksReply::TtlExpired,
            SocksReply::CommandNotSupported,
            SocksReply::AddressTypeNotSupported,
            SocksReply::Unassigned(9),
        ];
        for (code, want) in (1u8..=9).zip(want) {
            assert_eq!(
                decode_reply5(&[5, code]),
                Err(SocksError::Refused(want)),
                "{code}"
            );
            assert_eq!(want.code(), code);
        }
        for (code, want) in [
            (91, SocksReply::Socks4Rejected),
            (92, SocksReply::Socks4IdentdUnreachable),
            (93, SocksReply::Socks4IdentdMismatch),
        ] {
            assert_eq!(decode_reply4(&[0, code]), Err(SocksError::Refused(want)));
            assert_eq!(want.code(), code);
        }
    }

    #[test]
    fn replies_leave_target_bytes_and_wait_for_more() {
        let mut v4 = vec![5, 0, 0, 1, 10, 0, 0, 2, 0x04, 0x38];
        let (bound, used) = decode_reply5(&v4).unwrap().unwrap();
        assert_eq!(bound, SocksAddr::Ip("10.0.0.2:1080".parse().unwrap()));
        assert_eq!(used, 10);
        v4.extend_from_slice(b"220 ready\r\n");
        assert_eq!(decode_reply5(&v4).unwrap().unwrap().1, 10);
        for cut in 0..10 {
            assert_eq!(decode_reply5(&v4[..cut]), Ok(None), "cut {cut}");
        }
        let mut name = vec![5, 0, 0, 3, 4];
        name.extend_from_slice(b"host\x00\x50+OK");
        let (bound, used) = decode_reply5(&name).unwrap().unwrap();
        assert_eq!((bound, used), (SocksAddr::Domain("host".into(), 80), 11));
        let mut v6 = vec![5, 0, 0, 4];
        v6.extend_from_slice(&[0; 18]);
        assert_eq!(decode_reply5(&v6).unwrap().unwrap().1, 22);
        let four = [0, 90, 0, 0, 0, 0, 0, 0, b'2'];
        assert_eq!(decode_reply4(&four), Ok(Some(((), 8))));
        for cut in 0..8 {
            assert_eq!(decode_reply4(&four[..cut]), Ok(None), "cut {cut}");
        }
    }

    #[test]
    fn malformed_replies() {
        assert!(matches!(
            decode_reply5(&[5, 0, 0, 7, 0]),
            Err(SocksError::Malformed(_))
        ));
        assert!(matches!(
            decode_reply5(&[5, 0, 1, 1]),
            Err(SocksError::Malformed(_))
        ));
        assert!(matches!(
            decode_reply5(b"HTTP/1.1 400"),
            Err(SocksError::WrongVersion { expected: 5, .. })
        ));
        assert!(matches!(
            decode_reply4(&[0, 17]),
            Err(SocksError::Malformed(_))
        ));
        assert!(matches!(
            decode_reply4(&[5, 90]),
            Err(SocksError::WrongVersion {
                expected: 0,
                got: 5
            })
        ));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let mut buf: Vec<u8> = (0..next() % 300).map(|_| next() as u8).collect();
            if round % 2 == 0 && buf.len() > 4 {
                buf[..2].copy_from_slice(&[5, 0]);
            }
            for decoded in [
                decode_reply5(&buf).map(|r| r.map(|(_, n)| n)),
                decode_reply4(&buf).map(|r| r.map(|(_, n)| n)),
                decode_method(&buf, &[0, 2]).map(|r| r.map(|(_, n)| n)),
                decode_password_reply(&buf).map(|r| r.map(|(_, n)| n)),
            ] {
                if let Ok(Some(used)) = decoded {
                    assert!(used <= buf.len() && used <= MAX_REPLY);
                }
            }
        }
    }
}
