//! `cargo +nightly fuzz run response`: any bytes as a response from a
//! hostile server. The sans-IO core must never panic, never claim more
//! bytes than it was given or than its limit, and a body decoder must make
//! progress and never deliver more than its framing allows.
#![no_main]

use http_client::proto::{parse_head, plan_body, BodyDecoder, Framing, Poll};
use libfuzzer_sys::fuzz_target;

const MAX_HEAD: usize = 4096;

fuzz_target!(|data: &[u8]| {
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
});

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
