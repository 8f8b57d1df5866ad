//! Unit tests of `response.rs` (kept apart to keep that module short).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use crate::{Client, Error};

/// Serves `replies` in order on one connection, one per request head.
fn serve(replies: Vec<&'static [u8]>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut stream = stream;
        for reply in replies {
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap() == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
            }
            stream.write_all(reply).unwrap();
        }
    });
    format!("http://{addr}/")
}

#[test]
fn statuses_that_need_a_second_look_still_get_it() {
    let url = serve(vec![
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno",
        b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ]);
    let client = Client::builder().proxy_from_env(false).build().unwrap();
    let resp = client.get(&url).call().unwrap();
    assert_eq!((resp.status(), resp.reason()), (404, "Not Found"));
    let err = client.get(&url).error_for_status(true).call().unwrap_err();
    assert!(
        matches!(&err, Error::Server { code: 404, message } if message == "Not Found"),
        "{err}"
    );
    // Not followed when told not to; a redirect without Location is a response.
    let resp = client.get(&url).max_redirects(0).call().unwrap();
    assert_eq!(resp.header("location"), Some("/elsewhere"));
    assert_eq!(client.get(&url).call().unwrap().status(), 302);
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "ok");
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn a_small_body_that_came_with_the_head_frees_the_connection_at_once() {
    let url = serve(vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
        b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
    ]);
    let client = Client::builder().proxy_from_env(false).build().unwrap();
    let mut first = client.get(&url).call().unwrap();
    // The first body is still unread, yet its connection serves the second request.
    let second = client.get(&url).call().unwrap();
    assert_eq!(second.bytes_limited(6).unwrap(), b"second");
    let mut two = [0u8; 2];
    std::io::Read::read_exact(first.body_mut(), &mut two).unwrap();
    assert_eq!(&two, b"fi");
    assert!(!first.body_mut().is_done());
    assert_eq!(first.text().unwrap(), "rst");
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn interim_responses_are_skipped_and_framing_errors_close() {
    let url = serve(vec![
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\nContent-Length: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    ]);
    let client = Client::builder().proxy_from_env(false).build().unwrap();
    assert_eq!(client.get(&url).call().unwrap().text().unwrap(), "ok");
    let err = client.get(&url).call().unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Protocol(crate::proto::ProtocolError::ConflictingContentLength {
                first: 2,
                second: 3
            })
        ),
        "{err}"
    );
    let stats = client.stats();
    assert_eq!((stats.opened, stats.open_now), (1, 0));
}

#[test]
fn a_cached_url_changed_by_query_sends_its_new_target() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/a?b=1", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut stream = stream;
        let mut targets = Vec::new();
        for _ in 0..3 {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            targets.push(line.split(' ').nth(1).unwrap().to_string());
            while line != "\r\n" {
                line.clear();
                reader.read_line(&mut line).unwrap();
            }
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .unwrap();
        }
        targets
    });
    let client = Client::builder().proxy_from_env(false).build().unwrap();
    client.get(&url).call().unwrap();
    client.get(&url).query("c", "d e").call().unwrap();
    client.get(&url).call().unwrap();
    assert_eq!(server.join().unwrap(), ["/a?b=1", "/a?b=1&c=d+e", "/a?b=1"]);
}

#[test]
fn whole_bodies_up_to_a_limit() {
    let url = serve(vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
    ]);
    let client = Client::builder().proxy_from_env(false).build().unwrap();
    let get = || client.get(&url).call().unwrap();
    assert_eq!(get().bytes_limited(10).unwrap(), b"0123456789");
    assert_eq!(get().bytes_limited(10).unwrap(), b"0123456789");
    assert_eq!(get().bytes_limited(0).unwrap(), b"");
    assert!(matches!(
        get().bytes_limited(9),
        Err(Error::BodyTooLarge { limit: 9 })
    ));
    assert!(matches!(
        get().bytes_limited(9),
        Err(Error::BodyTooLarge { limit: 9 })
    ));
    assert_eq!(client.stats().opened, 1);
}
