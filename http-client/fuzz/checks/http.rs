//! The properties the HTTP fuzz targets check, shared with the stable
//! corpus replay (`tests/fuzz_corpus.rs`): one copy of each rule.
// Each target uses one of these checks; the corpus replay uses them all.
#![allow(dead_code)]

use http_client::proto::{parse_head, plan_body, BodyDecoder, Framing, Poll};

const MAX_HEAD: usize = 4096;

/// Any bytes as a response from a hostile server: the sans-IO core must
/// never panic, never claim more bytes than it was given or than its
/// limit, and a body decoder must make progress and never deliver more than
/// its framing allows.
pub fn response(data: &[u8]) {
    let Ok(Some((head, used))) = parse_head(data, MAX_HEAD) else {
        return;
    };
    assert!(used <= data.len() && used <= MAX_HEAD);
    for head_request in [false, true] {
        let Ok(plan) = plan_body(&head, head_request) else {
            continue;
        };
        if head_request {
            assert_eq!(plan.framing, Framing::Empty);
        }
        decode_body(plan.framing, &data[used..]);
    }
}

/// Body framing and chunk sizes alone: the first byte picks the framing
/// (a length from the next two bytes, chunked, until close), the rest is
/// the body as the server sent it.
pub fn body(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (framing, body) = match pick % 3 {
        0 if rest.len() >= 2 => (
            Framing::Length(u64::from(u16::from_be_bytes([rest[0], rest[1]]))),
            &rest[2..],
        ),
        0 => return,
        1 => (Framing::Chunked, rest),
        _ => (Framing::UntilClose, rest),
    };
    decode_body(framing, body);
}

/// Runs a decoder over `input` in pieces of growing size, as reads would
/// deliver it, then signals the end of the stream.
fn decode_body(framing: Framing, input: &[u8]) {
    let mut decoder = BodyDecoder::new(framing);
    let mut pos = 0; // consumed
    let mut have = 0; // arrived
    let mut piece = 1;
    let mut delivered = 0u64;
    loop {
        let window = &input[pos..have];
        match decoder.poll(window) {
            Ok(Poll::Data { skip, len }) => {
                assert!(len > 0 && skip + len <= window.len());
                // Take half (at least one byte) to exercise partial takes.
                let take = len.div_ceil(2);
                decoder.taken(take);
                delivered += take as u64;
                pos += skip + take;
            }
            Ok(Poll::NeedMore { skip }) => {
                assert!(skip <= window.len());
                pos += skip;
                if have == input.len() {
                    let _ = decoder.eof();
                    break;
                }
                have = (have + piece).min(input.len());
                piece = piece * 2 + 1;
            }
            Ok(Poll::Done { skip }) => {
                assert!(skip <= window.len());
                break;
            }
            Err(_) => break,
        }
    }
    if let Framing::Length(n) = framing {
        assert!(delivered <= n);
    }
    assert_eq!(decoder.delivered(), delivered);
}
