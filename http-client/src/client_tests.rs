//! Unit tests of `client.rs` (kept apart to keep that module short).

use super::*;

#[test]
fn client_and_response_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Client>();
    send::<crate::Response>();
}

/// Accepts one connection and returns the request heads it read, up
/// to `n`, answering each with an empty 204.
fn record_heads(n: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/a?b=1", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut stream = stream;
        let mut heads = Vec::new();
        for _ in 0..n {
            let mut head = String::new();
            while !head.ends_with("\r\n\r\n") {
                if reader.read_line(&mut head).unwrap() == 0 {
                    return heads;
                }
            }
            heads.push(head);
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .unwrap();
        }
        heads
    });
    (url, server)
}

#[test]
fn each_request_sends_its_own_head() {
    let (url, server) = record_heads(5);
    let client = Client::builder()
        .user_agent(Some("ua/1"))
        .decompress(false)
        .proxy_from_env(false)
        .build()
        .unwrap();
    client.get(&url).call().unwrap();
    client.get(&url).header("X-A", "1").call().unwrap();
    client.head(&url).call().unwrap();
    client.get(&url).query("c", "d").call().unwrap();
    client.get(&url).call().unwrap();
    let host = url.trim_start_matches("http://").split('/').next().unwrap();
    let plain = format!("GET /a?b=1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ua/1\r\n\r\n");
    assert_eq!(
        server.join().unwrap(),
        [
            plain.clone(),
            format!("GET /a?b=1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ua/1\r\nX-A: 1\r\n\r\n"),
            format!("HEAD /a?b=1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ua/1\r\n\r\n"),
            format!("GET /a?b=1&c=d HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ua/1\r\n\r\n"),
            plain,
        ]
    );
}

#[test]
fn a_client_that_decompresses_says_so_on_every_request() {
    let (url, server) = record_heads(2);
    let client = Client::builder().proxy_from_env(false).build().unwrap();
    client.get(&url).call().unwrap();
    client.get(&url).call().unwrap();
    let heads = server.join().unwrap();
    assert_eq!(heads[0], heads[1]);
    // Every coding compiled in, and only those.
    let want: Vec<&str> = [
        (cfg!(feature = "gzip"), "gzip, deflate"),
        (cfg!(feature = "brotli"), "br"),
        (cfg!(feature = "zstd"), "zstd"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    let line = format!("\r\nAccept-Encoding: {}\r\n", want.join(", "));
    assert_eq!(heads[1].contains(&line), !want.is_empty(), "{}", heads[1]);
    assert_eq!(heads[1].contains("Accept-Encoding"), !want.is_empty());
}

/// The events a client emits through `tracing`.
mod tracing_events {
    use std::fmt::Write as _;
    use std::io::{BufRead, BufReader, Write};
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    use crate::Client;

    /// Keeps every event as one line of `name=value` pairs.
    struct Recorder(Arc<Mutex<Vec<String>>>);

    struct Line(String);

    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, "{}={:?} ", field.name(), value);
        }
    }

    impl Subscriber for Recorder {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = Line(String::new());
            event.record(&mut line);
            self.0.lock().unwrap().push(line.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[test]
    fn responses_redirects_and_broken_bodies_are_events() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/a", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            for reply in [
                &b"HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"[..],
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nZZ\r\n",
            ] {
                let mut line = String::new();
                while line != "\r\n" {
                    line.clear();
                    if reader.read_line(&mut line).unwrap() == 0 {
                        return;
                    }
                }
                stream.write_all(reply).unwrap();
            }
        });
        let lines = Arc::new(Mutex::new(Vec::new()));
        let recorder = Recorder(Arc::clone(&lines));
        tracing::subscriber::with_default(recorder, || {
            let client = Client::builder().proxy_from_env(false).build().unwrap();
            let resp = client.get(&url).call().unwrap();
            assert!(resp.text().is_err());
        });
        let lines = lines.lock().unwrap().join("\n");
        assert!(
            lines.contains("message=response ") && lines.contains("status=302"),
            "{lines}"
        );
        assert!(lines.contains("message=following redirect"), "{lines}");
        assert!(
            lines.contains("message=response body failed halfway"),
            "{lines}"
        );
        assert!(lines.contains("cause=a protocol error"), "{lines}");
    }
}
