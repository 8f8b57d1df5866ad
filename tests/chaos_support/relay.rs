//! A hostile relay: a TCP forwarder put between a client and a real server
//! that, at seeded random points, closes both sides, forwards half a chunk
//! of the server's reply and then closes, or holds a reply back so that it
//! arrives after the client has given up on it (a late reply).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Rng;

/// How hostile the relay is, per chunk of bytes it forwards (per mille).
#[derive(Debug, Clone, Copy)]
pub struct Hostility {
    /// Close both sides before forwarding the chunk.
    pub close: u64,
    /// Forward the first half of a server chunk, then close both sides.
    pub cut: u64,
    /// Hold a server chunk back for `delay_ms` before forwarding it.
    pub delay: u64,
    /// Range of a hold-back, in milliseconds.
    pub delay_ms: (u64, u64),
}

impl Hostility {
    /// A relay that only forwards.
    pub const NONE: Hostility = Hostility {
        close: 0,
        cut: 0,
        delay: 0,
        delay_ms: (0, 0),
    };
}

/// What the relay did, for the figures.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub connections: AtomicU64,
    pub closes: AtomicU64,
    pub cuts: AtomicU64,
    pub delays: AtomicU64,
}

/// The sockets of the relayed connections that are still open, by
/// connection number (a pair leaves when its pumps end).
type Streams = Arc<Mutex<HashMap<u64, [TcpStream; 2]>>>;

/// A running relay; stops accepting and closes what it holds when dropped.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    streams: Streams,
    pub stats: Arc<RelayStats>,
    accept: Option<JoinHandle<()>>,
}

impl Relay {
    /// Starts a relay on an ephemeral loopback port in front of `upstream`
    /// (`host:port`); connection `i` draws from stream `stream + i` of `seed`.
    pub fn start(upstream: &str, hostility: Hostility, seed: u64, stream: u64) -> Relay {
        let upstream: SocketAddr = upstream
            .to_socket_addrs()
            .expect("upstream address")
            .next()
            .expect("an upstream address");
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay listener");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let streams: Streams = Arc::new(Mutex::new(HashMap::new()));
        let stats = Arc::new(RelayStats::default());
        let accept = {
            let (stop, streams, stats) = (stop.clone(), streams.clone(), stats.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            n += 1;
                            stats.connections.fetch_add(1, Ordering::Relaxed);
                            let rng = Rng::new(seed, stream.wrapping_add(n << 20));
                            connect_pair(n, client, upstream, hostility, rng, &streams, &stats);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        Relay {
            addr,
            stop,
            streams,
            stats,
            accept: Some(accept),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:port`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// Closes every relayed connection now (the server "restarts").
    pub fn close_all(&self) {
        for (_, pair) in self.streams.lock().unwrap().drain() {
            let _ = pair[0].shutdown(Shutdown::Both);
            let _ = pair[1].shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        self.close_all();
    }
}

fn connect_pair(
    n: u64,
    client: TcpStream,
    upstream: SocketAddr,
    hostility: Hostility,
    rng: Rng,
    streams: &Streams,
    stats: &Arc<RelayStats>,
) {
    let _ = client.set_nonblocking(false);
    let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) else {
        return; // client sees the close
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    streams.lock().unwrap().insert(
        n,
        [client.try_clone().unwrap(), server.try_clone().unwrap()],
    );
    let pair = [client.try_clone().unwrap(), server.try_clone().unwrap()];
    let up = {
        let (from, to, pair) = (client, server.try_clone().unwrap(), clone_pair(&pair));
        let mut rng = rng.clone();
        rng.next();
        let (stats, streams) = (stats.clone(), streams.clone());
        move || pump(from, to, false, hostility, rng, pair, stats, (n, streams))
    };
    let down = {
        let (from, to) = (server, pair[0].try_clone().unwrap());
        let (stats, streams) = (stats.clone(), streams.clone());
        move || pump(from, to, true, hostility, rng, pair, stats, (n, streams))
    };
    // Small stacks: a pump needs little, and glibc caches the stacks of
    // finished threads, which would show as the soak's memory otherwise.
    for pump in [Box::new(up) as Box<dyn FnOnce() + Send>, Box::new(down)] {
        let _ = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(pump);
    }
}

fn clone_pair(pair: &[TcpStream; 2]) -> [TcpStream; 2] {
    [pair[0].try_clone().unwrap(), pair[1].try_clone().unwrap()]
}

/// Forwards `from` to `to` until either side ends, acting on the dice per
/// chunk; `replies` is the server-to-client direction (cuts and delays).
/// The pair leaves `streams` when it ends.
#[allow(clippy::too_many_arguments)]
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    replies: bool,
    h: Hostility,
    mut rng: Rng,
    pair: [TcpStream; 2],
    stats: Arc<RelayStats>,
    (n, streams): (u64, Streams),
) {
    let close = |pair: &[TcpStream; 2]| {
        let _ = pair[0].shutdown(Shutdown::Both);
        let _ = pair[1].shutdown(Shutdown::Both);
    };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if rng.chance(h.close) {
            stats.closes.fetch_add(1, Ordering::Relaxed);
            break;
        }
        if replies && rng.chance(h.cut) {
            stats.cuts.fetch_add(1, Ordering::Relaxed);
            let _ = to.write_all(&buf[..n.div_ceil(2).min(n.saturating_sub(1)).max(1)]);
            break;
        }
        if replies && rng.chance(h.delay) {
            stats.delays.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(rng.millis(h.delay_ms.0, h.delay_ms.1));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    close(&pair);
    streams.lock().unwrap().remove(&n);
}
