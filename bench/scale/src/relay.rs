//! A userspace relay that delays every segment by a fixed time each way,
//! standing in for network latency (this kernel has no `netem`). Each
//! direction has a reader that stamps what it reads with its due time and a
//! writer that sends it when due, so delays do not add up with load.
//!
//! The kernel completes the client's TCP handshake with the relay at once,
//! so the relay also stands in for the handshake's round trip: a new
//! connection's bytes are held as if the client's `connect` had returned
//! one round trip after it began (client to server: nothing leaves before
//! 2 × delay) and the server had accepted half a round trip later (server
//! to client: nothing leaves before 3 × delay). Without this a new
//! connection looked one round trip cheaper than physics allows.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a relay forwarded, for the report.
#[derive(Default, Debug)]
pub struct Forwarded {
    pub connections: AtomicU64,
    pub bytes: AtomicU64,
    pub segments: AtomicU64,
}

/// A listening relay to `upstream` with `delay` each way.
pub struct Relay {
    pub port: u16,
    pub stats: Arc<Forwarded>,
}

impl Relay {
    pub fn start(upstream: (String, u16), delay: Duration) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay bind");
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(Forwarded::default());
        let s = stats.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)) else {
                    continue;
                };
                s.connections.fetch_add(1, Ordering::Relaxed);
                for sock in [&client, &server] {
                    let _ = sock.set_nodelay(true);
                }
                let accepted = Instant::now();
                let (client_side, server_side) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(
                    client_side,
                    server_side,
                    delay,
                    accepted + 2 * delay,
                    s.clone(),
                );
                pipe(server, client, delay, accepted + 3 * delay, s.clone());
            }
        });
        Relay { port, stats }
    }
}

/// Forwards `from` -> `to`, each segment `delay` after it was read, or
/// after `not_before` when it was read earlier (the handshake's time).
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    delay: Duration,
    not_before: Instant,
    stats: Arc<Forwarded>,
) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send((Instant::now().max(not_before) + delay, Vec::new()));
                    return;
                }
                Ok(n) => {
                    if tx
                        .send((Instant::now().max(not_before) + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (due, data) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if data.is_empty() {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            stats.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            stats.segments.fetch_add(1, Ordering::Relaxed);
            if to.write_all(&data).is_err() {
                return;
            }
        }
    });
}
