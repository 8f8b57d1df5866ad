//! A response whose exchange was abandoned halfway (a read timeout
//! mid-body, a framing error, the peer closing) never hands a later byte
//! of that exchange to anyone: every further read of its body, raw or
//! decoded, is a typed error, and its connection is closed, not reused.
//!
//! Scripted peers (the hostile case needs exact timing of the bytes); the
//! peer sends the rest of a body only when the test says so, after the
//! client has given up on it, so no test depends on the clock.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use http_client::{Client, Error};

/// One step of a scripted reply: bytes to send, or wait for the test's go.
enum Step {
    Send(&'static [u8]),
    WaitGo,
    /// Close the connection.
    Close,
}

/// Serves each accepted connection one scripted reply per request head
/// (replies in order across connections); returns the URL, the go signal
/// and a receiver of the request heads' first lines.
fn scripted(replies: Vec<Vec<Step>>) -> (String, mpsc::Sender<()>, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut replies = replies.into_iter();
        'conns: for stream in listener.incoming().take(4) {
            let stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            loop {
                let mut first = String::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        continue 'conns;
                    }
                    if first.is_empty() {
                        first = line.trim_end().to_string();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let _ = line_tx.send(first);
                let Some(reply) = replies.next() else { return };
                for step in reply {
                    match step {
                        Step::Send(bytes) => {
                            if stream.write_all(bytes).is_err() {
                                continue 'conns;
                            }
                        }
                        Step::Close => continue 'conns,
                        Step::WaitGo => {
                            if go_rx.recv().is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        }
    });
    (url, go_tx, line_rx)
}

fn client(read_timeout: Duration) -> Client {
    Client::builder()
        .proxy_from_env(false)
        .read_timeout(Some(read_timeout))
        .build()
        .unwrap()
}

const OK_AFTER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh";

/// Reads until an error, returning the bytes and the error.
fn read_until_error(reader: &mut dyn Read) -> (Vec<u8>, std::io::Error) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4];
    for _ in 0..10_000 {
        match reader.read(&mut buf) {
            Ok(0) => panic!("the body ended instead of failing, after {got:?}"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, e),
        }
    }
    panic!("no error after 10000 reads");
}

fn ours(e: std::io::Error) -> Error {
    *e.into_inner()
        .expect("a body error carries the client's error")
        .downcast::<Error>()
        .expect("a body error carries the client's error")
}

/// Every later use of a body that failed: a typed "broken" error, no bytes.
fn assert_refuses(reader: &mut dyn Read, what: &str) {
    for _ in 0..3 {
        let mut buf = [0u8; 64];
        match reader.read(&mut buf) {
            Ok(n) => panic!("{what}: read after an error gave Ok({n}): {:?}", &buf[..n]),
            Err(e) => {
                let err = ours(e);
                assert!(err.is_broken(), "{what}: {err}");
            }
        }
    }
}

#[test]
fn a_body_that_timed_out_midway_never_hands_out_its_later_bytes() {
    let (url, go, _) = scripted(vec![
        vec![
            Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n0123456789"),
            Step::WaitGo,
            Step::Send(b"LATE BYTES OF THE FIRST BODY"),
        ],
        vec![Step::Send(OK_AFTER)],
    ]);
    let client = client(Duration::from_millis(100));
    let mut resp = client.get(&url).call().unwrap();
    let (got, err) = read_until_error(resp.body_mut());
    assert_eq!(got, b"0123456789");
    assert!(ours(err).is_timeout());
    // The rest of the body arrives now; nothing of it may surface.
    go.send(()).unwrap();
    assert_refuses(resp.body_mut(), "raw body");
    assert!(resp.body_mut().is_done());
    let err = resp.text().unwrap_err();
    assert!(err.is_broken(), "{err}");
    // The connection was closed: the next request has a new one and its own reply.
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "fresh");
    let stats = client.stats();
    assert_eq!((stats.opened, stats.open_now), (2, 1));
}

#[test]
fn a_decoded_reader_that_failed_keeps_failing() {
    // 4000 bytes of text, gzip'd (54 bytes), sent in two parts.
    const GZ: &[u8] = &[
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xed, 0xc6, 0x49, 0x01, 0x00,
        0x20, 0x08, 0x00, 0xb0, 0x4a, 0x78, 0x20, 0xda, 0xbf, 0x98, 0x31, 0xf8, 0x6c, 0xaf, 0xc5,
        0x98, 0x6b, 0xe7, 0xa9, 0xfb, 0xc2, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0x9a, 0xf6,
        0x01, 0x42, 0x75, 0xcc, 0xb0, 0xa0, 0x0f, 0x00, 0x00,
    ];
    let (url, go, _) = scripted(vec![
        vec![
            Step::Send(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 54\r\n\r\n"),
            Step::Send(&GZ[..20]),
            Step::WaitGo,
            Step::Send(&GZ[20..]),
        ],
        vec![Step::Send(OK_AFTER)],
    ]);
    let client = client(Duration::from_millis(100));
    let mut reader = client.get(&url).call().unwrap().into_reader();
    let mut out = Vec::new();
    let err = reader.read_to_end(&mut out).unwrap_err();
    assert!(ours(err).is_timeout());
    go.send(()).unwrap();
    assert_refuses(&mut reader, "decoded body");
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "fresh");
    assert_eq!(client.stats().opened, 2);
}

#[test]
fn a_framing_error_midway_breaks_the_body_for_good() {
    let (url, _go, _) = scripted(vec![
        vec![Step::Send(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\nafter the bad size\r\n0\r\n\r\n",
        )],
        vec![Step::Send(OK_AFTER)],
    ]);
    let client = client(Duration::from_secs(5));
    let mut resp = client.get(&url).call().unwrap();
    let (got, err) = read_until_error(resp.body_mut());
    assert_eq!(got, b"hello");
    assert!(matches!(ours(err), Error::Protocol(_)));
    assert_refuses(resp.body_mut(), "raw body after a bad chunk size");
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "fresh");
    assert_eq!(client.stats().opened, 2);
}

#[test]
fn a_body_cut_short_by_the_peer_is_an_error_every_time() {
    let (url, _go, _) = scripted(vec![
        vec![
            Step::Send(
                b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\nshort",
            ),
            Step::Close,
        ],
        vec![Step::Send(OK_AFTER)],
    ]);
    let client = client(Duration::from_secs(5));
    let mut resp = client.get(&url).call().unwrap();
    let (got, _err) = read_until_error(resp.body_mut());
    assert_eq!(got, b"short");
    assert_refuses(resp.body_mut(), "raw body cut short");
}
