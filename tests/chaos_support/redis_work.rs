//! Redis under chaos: threads share clients (direct RESP3, RESP2 through
//! the hostile relay, RESP2 through the tinyproxy CONNECT tunnel); every
//! request carries its own id (`ECHO id`, `SET key id` / `GET key`) and
//! every reply is checked against it, within a borrow and across borrows.

use std::time::Duration;

use integration_tests::{env_or, host_port};
use redis_client::{cmd, Client, Connection, Error, Pipeline, Value};
use transport::PoolConfig;

use super::relay::{Hostility, Relay};
use super::{Rng, Tally, CHAOS_PANIC};

pub fn url() -> String {
    env_or("PCONN_REDIS_URL", "redis://127.0.0.1:6379")
}

pub fn proxy_url() -> String {
    env_or("PCONN_PROXY_URL", "http://127.0.0.1:3128")
}

/// How hostile the relay in front of redis is.
pub const HOSTILE: Hostility = Hostility {
    close: 3,
    cut: 3,
    delay: 10,
    delay_ms: (5, 60),
};

/// The clients one run shares among its threads.
pub struct RedisWork {
    run: String,
    clients: Vec<(&'static str, Client)>,
    big_key: String,
    big_len: usize,
    _relay: Relay,
}

fn pool(max_open: usize) -> PoolConfig {
    PoolConfig {
        max_open,
        checkout_timeout: Duration::from_secs(10),
        ..PoolConfig::default()
    }
}

impl RedisWork {
    /// `kinds` picks the clients: "direct", "relay", "tunnel".
    pub fn new(run: &str, seed: u64, kinds: &[&'static str]) -> RedisWork {
        let (host, port) = host_port(&url(), 6379);
        let relay = Relay::start(&format!("{host}:{port}"), HOSTILE, seed, 1 << 40);
        let mut clients = Vec::new();
        for &kind in kinds {
            let b = Client::builder().url(&url()).expect("PCONN_REDIS_URL");
            let client = match kind {
                "direct" => b
                    .protocol(redis_client::Protocol::Resp3)
                    .read_timeout(Some(Duration::from_secs(2)))
                    .pool_config(pool(6)),
                "relay" => b
                    .address("127.0.0.1", relay.port())
                    .read_timeout(Some(Duration::from_millis(40)))
                    .pool_config(pool(4)),
                "tunnel" => b
                    .proxy(&proxy_url())
                    .expect("PCONN_PROXY_URL")
                    .read_timeout(Some(Duration::from_secs(2)))
                    .pool_config(pool(3)),
                other => panic!("unknown redis client kind {other}"),
            };
            clients.push((kind, client.build().expect("redis client")));
        }
        // A value large enough to arrive in several reads.
        let big_key = format!("{run}:big");
        let big_len = 512 * 1024;
        let mut c = clients[0].1.get().expect("redis connection");
        let big: Vec<u8> = (0..big_len).map(|i| b'a' + (i % 26) as u8).collect();
        c.query_value(&cmd("SET").arg(&big_key).arg(big).arg("EX").arg(3600))
            .expect("SET big");
        drop(c);
        RedisWork {
            run: run.to_string(),
            clients,
            big_key,
            big_len,
            _relay: relay,
        }
    }

    /// Connections opened by all clients (the reconnects).
    pub fn opened(&self) -> u64 {
        self.clients.iter().map(|(_, c)| c.stats().opened).sum()
    }

    /// Closes every idle pooled connection (between windows).
    pub fn clear_idle(&self) {
        for (_, c) in &self.clients {
            c.pool().clear();
        }
    }

    /// Pool counters consistent: opened − closed = open now, per client.
    pub fn check_counters(&self) -> Result<(), String> {
        for (kind, c) in &self.clients {
            let s = c.stats();
            let closed = s.discarded_total();
            if s.opened - closed != s.open_now as u64 {
                return Err(format!(
                    "redis {kind}: opened {} - closed {closed} != open now {}",
                    s.opened, s.open_now
                ));
            }
        }
        Ok(())
    }

    /// One borrow with chaos; any panic on purpose is caught by the caller.
    pub fn borrow(&self, rng: &mut Rng, t: usize, n: u64, tally: &Tally) {
        let (kind, client) = &self.clients[rng.below(self.clients.len() as u64) as usize];
        let mut conn = match client.get() {
            Ok(c) => c,
            Err(_) => {
                tally.error();
                tally.abort();
                return;
            }
        };
        if rng.chance(150) && !check_fresh(&mut conn, tally, kind) {
            return;
        }
        let mut failed = false;
        for step in 0..1 + rng.below(6) {
            let id = format!("{}-{t}-{n}-{step}", self.run);
            let ok = match rng.below(100) {
                0..=49 => echo(&mut conn, &id, tally, kind),
                50..=59 => pipeline(&mut conn, &id, 1 + rng.below(20), tally, kind),
                60..=69 => set_get(&mut conn, &id, tally, kind),
                70..=76 => {
                    // Timeout with the reply still to come: BLPOP answers
                    // (nil) after 20-50 ms, the borrower gives up after 1-3.
                    tally.abort();
                    conn.set_read_timeout(Some(rng.millis(1, 3)));
                    let key = format!("{}:none", self.run);
                    let secs = format!("0.0{}", 2 + rng.below(4));
                    let r = conn.query_value(&cmd("BLPOP").arg(key).arg(secs));
                    conn.set_read_timeout(Some(Duration::from_secs(2)));
                    std::thread::sleep(rng.millis(0, 60));
                    match r {
                        Ok(Value::Nil) | Err(_) => false,
                        Ok(other) => {
                            tally.wrong(format!("{kind}: BLPOP got {other:?}"));
                            false
                        }
                    }
                }
                77..=81 => {
                    // Timeout in the middle of a 512 KiB reply.
                    tally.abort();
                    conn.set_read_timeout(Some(Duration::from_micros(200 + rng.below(800))));
                    let r = conn.query_value(&cmd("GET").arg(&self.big_key));
                    conn.set_read_timeout(Some(Duration::from_secs(2)));
                    match r {
                        Ok(Value::Bulk(b)) if b.len() == self.big_len => true,
                        Ok(other) => {
                            tally.wrong(format!("{kind}: GET big got {}", short(&other)));
                            false
                        }
                        Err(_) => false,
                    }
                }
                82..=85 => {
                    tally.abort();
                    let _ = echo(&mut conn, &id, tally, kind);
                    std::panic::panic_any(CHAOS_PANIC);
                }
                _ => {
                    // Leave protocol state open and walk away.
                    tally.abort();
                    leave_state_open(&mut conn, rng, &self.run, &id);
                    return;
                }
            };
            if !ok {
                // A failed borrow may go on (the connection must refuse or
                // answer truly) or end here.
                if failed || rng.chance(400) {
                    return;
                }
                failed = true;
            }
        }
    }
}

fn short(v: &Value) -> String {
    let s = format!("{v:?}");
    s.chars().take(80).collect()
}

fn echo(conn: &mut Connection, id: &str, tally: &Tally, kind: &str) -> bool {
    match conn.query_value(&cmd("ECHO").arg(id)) {
        Ok(v) if v.as_bytes() == Some(id.as_bytes()) => {
            tally.op();
            true
        }
        Ok(other) => {
            tally.wrong(format!("{kind}: ECHO {id} got {}", short(&other)));
            false
        }
        Err(e) => failure(tally, &e),
    }
}

fn failure(tally: &Tally, _e: &Error) -> bool {
    tally.error();
    false
}

fn pipeline(conn: &mut Connection, id: &str, len: u64, tally: &Tally, kind: &str) -> bool {
    let mut p = Pipeline::new();
    for i in 0..len {
        p.add(cmd("ECHO").arg(format!("{id}-{i}")));
    }
    match conn.pipeline(&p) {
        Ok(replies) => {
            if replies.len() as u64 != len {
                tally.wrong(format!("{kind}: pipeline of {len} got {}", replies.len()));
                return false;
            }
            for (i, r) in replies.iter().enumerate() {
                let want = format!("{id}-{i}");
                match r {
                    Ok(v) if v.as_bytes() == Some(want.as_bytes()) => tally.op(),
                    other => {
                        tally.wrong(format!("{kind}: pipeline {want} got {other:?}"));
                        return false;
                    }
                }
            }
            true
        }
        Err(e) => failure(tally, &e),
    }
}

fn set_get(conn: &mut Connection, id: &str, tally: &Tally, kind: &str) -> bool {
    let key = format!("{id}:k");
    match conn.query_value(&cmd("SET").arg(&key).arg(id).arg("EX").arg(60)) {
        Ok(v) if v.is_ok() => tally.op(),
        Ok(other) => {
            tally.wrong(format!("{kind}: SET {key} got {}", short(&other)));
            return false;
        }
        Err(e) => return failure(tally, &e),
    }
    match conn.query_value(&cmd("GET").arg(&key)) {
        Ok(v) if v.as_bytes() == Some(id.as_bytes()) => {
            tally.op();
            true
        }
        Ok(other) => {
            tally.wrong(format!("{kind}: GET {key} got {}", short(&other)));
            false
        }
        Err(e) => failure(tally, &e),
    }
}

/// MULTI with a queued command, WATCH, SELECT, SUBSCRIBE, PSUBSCRIBE or
/// CLIENT TRACKING, left open at the end of the borrow.
fn leave_state_open(conn: &mut Connection, rng: &mut Rng, run: &str, id: &str) {
    let _ = match rng.below(6) {
        0 => conn
            .query_value(&cmd("MULTI"))
            .and_then(|_| conn.query_value(&cmd("SET").arg(format!("{run}:multi")).arg(id))),
        1 => conn.query_value(&cmd("WATCH").arg(format!("{run}:watched"))),
        2 => conn.query_value(&cmd("SELECT").arg(3)),
        3 => conn.subscribe(&[format!("{run}:chan")]).map(|_| Value::Nil),
        4 => conn
            .psubscribe(&[format!("{run}:pat*")])
            .map(|_| Value::Nil),
        _ => conn.query_value(&cmd("CLIENT").arg("TRACKING").arg("ON")),
    };
}

/// At the start of a borrow: the connection is as fresh as a new one (db 0,
/// no MULTI, no subscriptions, no tracking). False when it is not usable.
fn check_fresh(conn: &mut Connection, tally: &Tally, kind: &str) -> bool {
    let info = match conn.query_value(&cmd("CLIENT").arg("INFO")) {
        Ok(v) => v,
        Err(e) => return failure(tally, &e),
    };
    let text = match &info {
        Value::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Verbatim { text, .. } => text.clone(),
        other => {
            tally.wrong(format!("{kind}: CLIENT INFO got {}", short(other)));
            return false;
        }
    };
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|f| f.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .unwrap_or("?")
            .to_string()
    };
    let flags = field("flags");
    let fresh = field("db") == "0"
        && field("multi") == "-1"
        && field("sub") == "0"
        && field("psub") == "0"
        && !flags.contains('x')
        && !flags.contains('t');
    if !fresh {
        tally.wrong(format!("{kind}: borrowed a used connection: {text}"));
        return false;
    }
    tally.op();
    true
}
