//! Bytes to [`Value`]s: the entry points of the one decode path, the
//! [`Scanner`] that checks the limits and builds the value as it walks.

use super::limits::{Limits, Protocol};
use super::scan::Scanner;
use super::ProtoError;
use crate::value::Value;

/// Decodes the first reply in `buf`: `Ok(None)` until a whole reply is
/// buffered, then the value and the bytes it used. Limits are checked on
/// every header before anything is taken for it.
pub fn decode(
    buf: &[u8],
    protocol: Protocol,
    limits: &Limits,
) -> Result<Option<(Value, usize)>, ProtoError> {
    decode_with(&mut Scanner::default(), buf, protocol, limits)
}

/// [`decode`] with a scanner kept across calls for one frame, so a reply
/// that arrives in pieces is walked once, not once per piece. Call it
/// again with the same buffer grown by the bytes that arrived.
pub fn decode_with(
    scanner: &mut Scanner,
    buf: &[u8],
    protocol: Protocol,
    limits: &Limits,
) -> Result<Option<(Value, usize)>, ProtoError> {
    scanner.next(buf, protocol, limits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::VerbatimFormat;

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
    fn a_reply_in_pieces_decodes_as_a_whole_one() {
        let frames: &[(&[u8], Protocol)] = &[
            (
                b"*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n*0\r\n",
                Protocol::Resp2,
            ),
            (b"%2\r\n+z\r\n:1\r\n+a\r\n,1.5\r\n", Protocol::Resp3),
            (
                b"*2\r\n|1\r\n+k\r\n:2\r\n#t\r\n~1\r\n=7\r\ntxt:abc\r\n",
                Protocol::Resp3,
            ),
        ];
        let limits = Limits::default();
        for (frame, protocol) in frames {
            let whole = decode(frame, *protocol, &limits).unwrap().unwrap();
            assert_eq!(whole.1, frame.len());
            let mut scanner = Scanner::default();
            for end in 0..frame.len() {
                assert_eq!(
                    decode_with(&mut scanner, &frame[..end], *protocol, &limits),
                    Ok(None)
                );
            }
            assert_eq!(
                decode_with(&mut scanner, frame, *protocol, &limits),
                Ok(Some(whole))
            );
        }
    }

    #[test]
    fn decoder_errors_are_protocol_errors() {
        assert!(decode(b"=5\r\nxyz:a\r\n", Protocol::Resp3, &Limits::default()).is_err());
        assert!(decode(b"(12a\r\n", Protocol::Resp3, &Limits::default()).is_err());
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
