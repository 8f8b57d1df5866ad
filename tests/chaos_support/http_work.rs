//! HTTP under chaos: threads share clients (direct to nginx, to nginx's
//! port that closes after 3 requests or 1 s idle, through the hostile
//! relay, through the tinyproxy CONNECT tunnel). Every request's target
//! carries its own id and nginx's `/echo` sends it back on the first line,
//! so every response is checked against its own request; `/large` has a
//! line number every 64 bytes, so a body read halfway is checked too.

use std::io::Read;
use std::time::Duration;

use http_client::{Client, Response};
use integration_tests::{env_or, host_port};

use super::relay::{Hostility, Relay};
use super::{Rng, Tally, CHAOS_PANIC};

pub fn url() -> String {
    env_or("PCONN_HTTP_URL", "http://127.0.0.1:8080")
}

pub fn limited_url() -> String {
    env_or("PCONN_HTTP_LIMITED_URL", "http://127.0.0.1:8081")
}

pub const HOSTILE: Hostility = Hostility {
    close: 3,
    cut: 3,
    delay: 10,
    delay_ms: (5, 80),
};

const CHUNKED: &str = "chunk one\nchunk two\nchunk three\n";

/// Byte `i` of nginx's `/large` (131072 lines of 64 bytes).
pub fn large_byte(i: usize) -> u8 {
    const TAIL: &[u8] = b" abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01\n";
    let (line, col) = (i / 64, i % 64);
    if col < 8 {
        b'0' + ((line / 10usize.pow(7 - col as u32)) % 10) as u8
    } else {
        TAIL[col - 8]
    }
}

pub struct HttpWork {
    run: String,
    /// (kind, client, base URL)
    clients: Vec<(&'static str, Client, String)>,
    _relays: [Relay; 2],
}

impl HttpWork {
    /// `kinds`: "direct", "limited", "relay", "tunnel", "tunnel-relay"
    /// (through a hostile relay in front of the proxy).
    pub fn new(run: &str, seed: u64, kinds: &[&'static str]) -> HttpWork {
        let (host, port) = host_port(&url(), 8080);
        let relay = Relay::start(&format!("{host}:{port}"), HOSTILE, seed, 2 << 40);
        // A hostile relay in front of the proxy: tunnels cut at random.
        let proxy = super::redis_work::proxy_url();
        let (phost, pport) = host_port(&proxy, 3128);
        let proxy_relay = Relay::start(&format!("{phost}:{pport}"), HOSTILE, seed, 5 << 40);
        let mut clients = Vec::new();
        for &kind in kinds {
            let b = Client::builder()
                .proxy_from_env(false)
                .read_timeout(Some(Duration::from_secs(3)))
                .max_open_per_host(6)
                .drain_limit(64 * 1024, Duration::from_millis(50));
            let (b, base) = match kind {
                "direct" => (b, url()),
                "limited" => (b, limited_url()),
                "relay" => (
                    b.read_timeout(Some(Duration::from_millis(50))),
                    format!("http://127.0.0.1:{}", relay.port()),
                ),
                "tunnel" => (
                    b.proxy(&super::redis_work::proxy_url()).tunnel_http(true),
                    url(),
                ),
                "tunnel-relay" => (
                    b.read_timeout(Some(Duration::from_millis(50)))
                        .proxy(&format!("http://127.0.0.1:{}", proxy_relay.port()))
                        .tunnel_http(true),
                    url(),
                ),
                other => panic!("unknown http client kind {other}"),
            };
            clients.push((kind, b.build().expect("http client"), base));
        }
        HttpWork {
            run: run.to_string(),
            clients,
            _relays: [relay, proxy_relay],
        }
    }

    pub fn opened(&self) -> u64 {
        self.clients.iter().map(|(_, c, _)| c.stats().opened).sum()
    }

    /// Closes every idle pooled connection (between windows).
    pub fn clear_idle(&self) {
        for (_, c, _) in &self.clients {
            c.clear_idle();
        }
    }

    pub fn check_counters(&self) -> Result<(), String> {
        for (kind, c, _) in &self.clients {
            let s = c.stats();
            if s.opened - s.discarded_total() != s.open_now as u64 {
                return Err(format!("http {kind}: {s:?}"));
            }
        }
        Ok(())
    }

    /// One request with chaos around it.
    pub fn borrow(&self, rng: &mut Rng, t: usize, n: u64, tally: &Tally) {
        let (kind, client, base) = &self.clients[rng.below(self.clients.len() as u64) as usize];
        let id = format!("{}-{t}-{n}", self.run);
        let target = format!("/echo/{id}");
        let echo_url = format!("{base}{target}");
        match rng.below(100) {
            0..=44 => {
                let r = client.get(&echo_url).call().and_then(|r| r.text());
                check_echo(tally, kind, "GET", &target, None, r);
            }
            45..=59 => {
                let r = client
                    .post(&echo_url)
                    .send_string(&id)
                    .and_then(|r| r.text());
                check_echo(tally, kind, "POST", &target, Some(&id), r);
            }
            60..=67 => {
                // A response dropped unread: small (arrived whole) or 8 MiB.
                tally.abort();
                let u = if rng.chance(500) {
                    echo_url
                } else {
                    format!("{base}/large")
                };
                match client.get(&u).call() {
                    Ok(resp) => check_status(tally, kind, &resp),
                    Err(_) => tally.error(),
                }
            }
            68..=75 => {
                // Half-read: part of the body, checked byte for byte.
                tally.abort();
                half_read(client, base, kind, rng, tally, false);
            }
            76..=81 => {
                // Timeout mid-reply: headers came, the rest is 2 s away, or
                // the 8 MiB body outruns a few milliseconds.
                tally.abort();
                let (path, want) = if rng.chance(500) {
                    ("/slow-body", "start\nend\n")
                } else {
                    ("/chunked", CHUNKED)
                };
                let r = client
                    .get(&format!("{base}{path}"))
                    .timeout(rng.millis(1, 40))
                    .call()
                    .and_then(|r| r.text());
                match r {
                    Ok(body) if body == want => tally.op(),
                    Ok(body) => tally.wrong(format!("{kind}: {path} got {body:?}")),
                    Err(_) => tally.error(),
                }
            }
            82..=85 => {
                tally.abort();
                half_read(client, base, kind, rng, tally, true);
            }
            86..=93 => {
                let r = client
                    .get(&format!("{base}/chunked"))
                    .call()
                    .and_then(|r| r.text());
                match r {
                    Ok(body) if body == CHUNKED => tally.op(),
                    Ok(body) => tally.wrong(format!("{kind}: /chunked got {body:?}")),
                    Err(_) => {
                        tally.error();
                        tally.abort()
                    }
                }
            }
            _ => match client.head(&echo_url).call() {
                Ok(resp) if resp.status() == 200 => match resp.bytes() {
                    Ok(b) if b.is_empty() => tally.op(),
                    Ok(b) => tally.wrong(format!("{kind}: HEAD had a body of {}", b.len())),
                    Err(_) => tally.error(),
                },
                Ok(resp) => tally.wrong(format!("{kind}: HEAD {target}: {}", resp.status())),
                Err(_) => {
                    tally.error();
                    tally.abort()
                }
            },
        }
    }
}

fn check_status(tally: &Tally, kind: &str, resp: &Response) {
    if resp.status() == 200 {
        tally.op();
    } else {
        tally.wrong(format!("{kind}: status {}", resp.status()));
    }
}

fn check_echo(
    tally: &Tally,
    kind: &str,
    method: &str,
    target: &str,
    body: Option<&str>,
    r: http_client::Result<String>,
) {
    match r {
        Ok(text) => {
            let first = text.lines().next().unwrap_or("");
            let want = format!("{method} {target}");
            let body_ok = body.is_none_or(|b| text.ends_with(b));
            if first == want && body_ok {
                tally.op();
            } else {
                let head: String = text.chars().take(120).collect();
                tally.wrong(format!("{kind}: {want} got {head:?}"));
            }
        }
        Err(_) => {
            tally.error();
            tally.abort();
        }
    }
}

/// Reads a random part of `/large`, checks it, then drops the rest (or
/// panics with the response still open).
fn half_read(client: &Client, base: &str, kind: &str, rng: &mut Rng, tally: &Tally, panic: bool) {
    let resp = match client.get(&format!("{base}/large")).call() {
        Ok(r) => r,
        Err(_) => return tally.error(),
    };
    if resp.status() != 200 {
        return tally.wrong(format!("{kind}: /large status {}", resp.status()));
    }
    let want = 1 + rng.below(300_000) as usize;
    let mut reader = resp.into_reader();
    let mut buf = vec![0u8; want];
    let mut got = 0;
    while got < want {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(_) => {
                tally.error();
                break;
            }
        }
    }
    if let Some(at) = (0..got).find(|&i| buf[i] != large_byte(i)) {
        tally.wrong(format!("{kind}: /large differs at byte {at} of {got}"));
    } else if got > 0 {
        tally.op();
    }
    if panic {
        std::panic::panic_any(CHAOS_PANIC);
    }
}
