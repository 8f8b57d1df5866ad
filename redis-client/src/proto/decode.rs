//! Bytes to [`Value`]s, one path for every reply: the limits scan
//! ([`Scanner`]) walks the raw bytes first and says when a whole frame
//! within the limits is buffered (redis-protocol's decoder trusts length
//! prefixes and would reserve room for whatever element count a header
//! claims), then redis-protocol's range decoder turns exactly that frame
//! into a value.

use redis_protocol::resp2::decode as resp2;
use redis_protocol::resp2::types::RangeFrame as Frame2;
use redis_protocol::resp3::decode::complete as resp3;
use redis_protocol::resp3::types::{RangeFrame as Frame3, VerbatimStringFormat};

use super::limits::{Limits, Protocol};
use super::scan::Scanner;
use super::ProtoError;
use crate::server_error::ServerError;
use crate::value::{Value, VerbatimFormat};

/// Decodes the first reply in `buf`: `Ok(None)` until a whole reply is
/// buffered, then the value and the bytes it used. Limits are checked on
/// the raw bytes before anything is allocated for the reply.
pub fn decode(
    buf: &[u8],
    protocol: Protocol,
    limits: &Limits,
) -> Result<Option<(Value, usize)>, ProtoError> {
    decode_with(&mut Scanner::default(), buf, protocol, limits)
}

/// [`decode`] with a scanner kept across calls for one frame, so a reply
/// that arrives in pieces is scanned once, not once per piece. Call it
/// again with the same buffer grown by the bytes that arrived.
pub fn decode_with(
    scanner: &mut Scanner,
    buf: &[u8],
    protocol: Protocol,
    limits: &Limits,
) -> Result<Option<(Value, usize)>, ProtoError> {
    let Some(len) = scanner.scan(buf, protocol, limits)? else {
        return Ok(None);
    };
    let frame = &buf[..len];
    let malformed = |e: redis_protocol::error::RedisProtocolError| {
        ProtoError::Malformed(e.details().to_string())
    };
    let (value, used) = match protocol {
        Protocol::Resp2 => match resp2::decode_range(frame).map_err(malformed)? {
            Some((f, used)) => (from2(frame, f), used),
            None => return Err(ProtoError::Malformed("incomplete after scan".into())),
        },
        Protocol::Resp3 => match resp3::decode_range(frame).map_err(malformed)? {
            Some((f, used)) => (from3(frame, f)?, used),
            None => return Err(ProtoError::Malformed("incomplete after scan".into())),
        },
    };
    if used != len {
        return Err(ProtoError::Malformed(format!(
            "decoder used {used} bytes of a {len}-byte frame"
        )));
    }
    Ok(Some((value, used)))
}

fn text(buf: &[u8], r: (usize, usize)) -> String {
    String::from_utf8_lossy(&buf[r.0..r.1]).into_owned()
}

fn from2(buf: &[u8], f: Frame2) -> Value {
    match f {
        Frame2::SimpleString(r) => Value::Simple(text(buf, r)),
        Frame2::Error(r) => Value::Error(ServerError::parse(&text(buf, r))),
        Frame2::Integer(i) => Value::Int(i),
        Frame2::BulkString(r) => Value::Bulk(buf[r.0..r.1].to_vec()),
        Frame2::Null => Value::Nil,
        Frame2::Array(items) => Value::Array(items.into_iter().map(|f| from2(buf, f)).collect()),
    }
}

fn all3(buf: &[u8], items: impl IntoIterator<Item = Frame3>) -> Result<Vec<Value>, ProtoError> {
    items.into_iter().map(|f| from3(buf, f)).collect()
}

fn from3(buf: &[u8], f: Frame3) -> Result<Value, ProtoError> {
    // Attributes carry hints (key popularity) that change nothing a caller
    // asked for; they are dropped.
    Ok(match f {
        Frame3::BlobString { data, .. } => Value::Bulk(buf[data.0..data.1].to_vec()),
        Frame3::BlobError { data, .. } | Frame3::SimpleError { data, .. } => {
            Value::Error(ServerError::parse(&text(buf, data)))
        }
        Frame3::SimpleString { data, .. } => Value::Simple(text(buf, data)),
        Frame3::Boolean { data, .. } => Value::Boolean(data),
        Frame3::Null => Value::Nil,
        Frame3::Number { data, .. } => Value::Int(data),
        Frame3::Double { data, .. } => Value::Double(data),
        Frame3::BigNumber { data, .. } => Value::BigNumber(text(buf, data)),
        Frame3::VerbatimString { data, format, .. } => Value::Verbatim {
            format: match format {
                VerbatimStringFormat::Text => VerbatimFormat::Text,
                VerbatimStringFormat::Markdown => VerbatimFormat::Markdown,
            },
            text: text(buf, data),
        },
        Frame3::Array { data, .. } => Value::Array(all3(buf, data)?),
        Frame3::Set { data, .. } => Value::Set(all3(buf, data)?),
        Frame3::Push { data, .. } => Value::Push(all3(buf, data)?),
        // redis-protocol builds its (insertion-ordered) map by popping
        // pairs off the end: reversing gives the order on the wire.
        Frame3::Map { data, .. } => Value::Map(
            data.into_iter()
                .rev()
                .map(|(k, v)| Ok((from3(buf, k)?, from3(buf, v)?)))
                .collect::<Result<_, ProtoError>>()?,
        ),
        Frame3::Hello { .. } => return Err(ProtoError::Unsupported("HELLO frames from a server")),
        Frame3::ChunkedString(_) => return Err(ProtoError::Unsupported("streamed strings")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d2(b: &[u8]) -> Option<(Value, usize)> {
        decode(b, Protocol::Resp2, &Limits::default()).unwrap()
    }
    fn d3(b: &[u8]) -> Option<(Value, usize)> {
        decode(b, Protocol::Resp3, &Limits::default()).unwrap()
    }

    #[test]
    fn resp2_values() {
        assert_eq!(d2(b"+OK\r\n"), Some((Value::Simple("OK".into()), 5)));
        assert_eq!(d2(b"$-1\r\n"), Some((Value::Nil, 5)));
        assert_eq!(d2(b"*-1\r\n"), Some((Value::Nil, 5)));
        assert_eq!(d2(b":42\r\n").unwrap().0, Value::Int(42));
        assert_eq!(
            d2(b"$5\r\na\r\nb\0\r\n").unwrap().0,
            Value::Bulk(b"a\r\nb\0".to_vec())
        );
        let (v, _) = d2(b"*2\r\n$1\r\na\r\n-WRONGTYPE Operation against a key\r\n").unwrap();
        let Value::Array(items) = v else { panic!() };
        assert_eq!(items[0], Value::Bulk(b"a".to_vec()));
        let Value::Error(e) = &items[1] else { panic!() };
        assert_eq!(
            (e.code(), e.message()),
            ("WRONGTYPE", "Operation against a key")
        );
        assert_eq!(d2(b"*2\r\n$1\r\na\r\n"), None);
    }

    #[test]
    fn resp3_values_keep_map_order() {
        let (v, used) = d3(b"%2\r\n+z\r\n:1\r\n+a\r\n,1.5\r\n").unwrap();
        assert_eq!(used, 22);
        assert_eq!(
            v,
            Value::Map(vec![
                (Value::Simple("z".into()), Value::Int(1)),
                (Value::Simple("a".into()), Value::Double(1.5)),
            ])
        );
        assert_eq!(d3(b"_\r\n").unwrap().0, Value::Nil);
        assert_eq!(d3(b"#f\r\n").unwrap().0, Value::Boolean(false));
        assert_eq!(
            d3(b"(3492890328409238509324850943850943825024385\r\n")
                .unwrap()
                .0,
            Value::BigNumber("3492890328409238509324850943850943825024385".into())
        );
        assert_eq!(
            d3(b"=7\r\ntxt:abc\r\n").unwrap().0,
            Value::Verbatim {
                format: VerbatimFormat::Text,
                text: "abc".into()
            }
        );
        assert_eq!(
            d3(b">2\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n").unwrap().0,
            Value::Push(vec![
                Value::Simple("invalidate".into()),
                Value::Array(vec![Value::Bulk(b"k".to_vec())])
            ])
        );
        assert_eq!(
            d3(b"~1\r\n:1\r\n").unwrap().0,
            Value::Set(vec![Value::Int(1)])
        );
        let (v, _) = d3(b"!11\r\nSYNTAX oops\r\n").unwrap();
        assert!(matches!(v, Value::Error(ref e) if e.code() == "SYNTAX"));
        // An attribute is skipped, the value it annotates returned.
        assert_eq!(
            d3(b"|1\r\n+k\r\n+v\r\n:5\r\n").unwrap(),
            (Value::Int(5), 16)
        );
    }

    #[test]
    fn the_scan_rules_hold_for_every_reply() {
        let small = Limits {
            max_bulk_len: 4,
            ..Limits::default()
        };
        let d = |b: &[u8], l: &Limits| decode(b, Protocol::Resp2, l);
        // What the decoder alone would let through, refused by the scan.
        assert!(d(b"+OK\rX\r\n", &small).is_err());
        assert!(d(b":+5\r\n", &small).is_err());
        assert!(d(b"$+3\r\nfoo\r\n", &small).is_err());
        assert!(d(b"$3\r\nfooXY", &small).is_err());
        assert!(d(b":0000000000000000000000000000001\r\n", &small).is_err());
        assert!(matches!(
            d(b"+abcdefgh\r\n", &small),
            Err(ProtoError::LineTooLong { limit: 4 })
        ));
        assert!(matches!(
            d(b"$5\r\nabcde\r\n", &small),
            Err(ProtoError::BulkTooLong { len: 5, limit: 4 })
        ));
        let tiny = Limits {
            max_reply_bytes: 8,
            ..Limits::default()
        };
        assert!(matches!(
            d(b"$4\r\nabcd\r\n", &tiny),
            Err(ProtoError::ReplyTooLarge { limit: 8 })
        ));
        let mut scanner = Scanner::default();
        let big = b"+a long status line\r\n";
        assert_eq!(
            decode_with(&mut scanner, &big[..6], Protocol::Resp2, &Limits::default()),
            Ok(None)
        );
        assert!(scanner.is_midway());
        assert_eq!(
            decode_with(&mut scanner, big, Protocol::Resp2, &Limits::default()),
            Ok(Some((
                Value::Simple("a long status line".into()),
                big.len()
            )))
        );
        assert!(!scanner.is_midway());
    }

    #[test]
    fn decoder_errors_are_protocol_errors() {
        assert!(decode(b",notafloat\r\n", Protocol::Resp3, &Limits::default()).is_err());
        assert!(decode(b"=2\r\nab\r\n", Protocol::Resp3, &Limits::default()).is_err());
    }

    /// Byte soup: random mutations of valid replies never panic, never
    /// report more bytes than given, and stay within the limits.
    #[test]
    fn byte_soup_never_panics() {
        let seeds: &[&[u8]] = &[
            b"+OK\r\n",
            b":-42\r\n",
            b"$5\r\nhel\rl\r\n",
            b"$-1\r\n",
            b"-ERR unknown\r\n",
            b"*3\r\n$3\r\nfoo\r\n:12\r\n%1\r\n+k\r\n,1.5\r\n",
            b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n",
            b"|1\r\n+a\r\n#t\r\n~2\r\n_\r\n(12345\r\n",
            b"=8\r\ntxt:abcd\r\n!3\r\nERR\r\n-WRONGTYPE x\r\n",
        ];
        let limits = Limits {
            max_bulk_len: 64,
            max_aggregate_len: 8,
            max_depth: 4,
            max_reply_bytes: 256,
            ..Limits::default()
        };
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let mut buf = seeds[round % seeds.len()].to_vec();
            for _ in 0..(rand() % 4 + 1) {
                let at = (rand() as usize) % buf.len();
                match rand() % 3 {
                    0 => buf[at] = rand() as u8,
                    1 => buf.insert(
                        at,
                        b"*$%>|~:+-_#,(!=\r\n0123456789?"[(rand() % 28) as usize],
                    ),
                    _ => {
                        buf.remove(at);
                    }
                }
                if buf.is_empty() {
                    buf.push(b'*');
                }
            }
            for protocol in [Protocol::Resp2, Protocol::Resp3] {
                if let Ok(Some((_, used))) = decode(&buf, protocol, &limits) {
                    assert!(used <= buf.len() && used <= limits.max_reply_bytes);
                }
            }
        }
    }
}
