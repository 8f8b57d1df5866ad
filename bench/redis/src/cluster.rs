//! The cluster workloads: redis-client's ClusterClient vs redis-rs's
//! cluster client vs a raw loop that knows the slot map (one socket per
//! master, every key's socket looked up before the timing).

use std::io::Write;

use redis_client::cluster::slot::key_slot;
use redis_client::{cmd, ClusterClient, ClusterPipeline, Commands};

use crate::{get_cmd, set_cmd, Raw, Run, PIPE, VALUE};

/// Keys spread over the slots (and so over the masters).
const KEYS: usize = 256;

fn key(prefix: &str, i: usize) -> String {
    format!("bench:{prefix}:{i}")
}

fn seeds(url: &str) -> Vec<String> {
    let rest = url.trim_start_matches("redis://");
    rest.split(',')
        .map(|h| format!("redis://{}", h.trim_end_matches('/')))
        .collect()
}

/// One raw socket per master, and each key's socket index.
fn raw_sockets(url: &str, keys: &[String]) -> (Vec<Raw>, Vec<usize>) {
    let c = ClusterClient::open(url).unwrap();
    let map = c.slot_map().unwrap();
    let masters: Vec<_> = map.shards().iter().map(|s| s.master.clone()).collect();
    let socks = masters
        .iter()
        .map(|m| Raw::connect(&format!("redis://{m}")))
        .collect();
    let idx = keys
        .iter()
        .map(|k| {
            let m = &map.shard(key_slot(k.as_bytes())).unwrap().master;
            masters.iter().position(|x| x == m).unwrap()
        })
        .collect();
    (socks, idx)
}

pub fn raw_setget(url: &str) -> Run {
    let keys: Vec<String> = (0..KEYS).map(|i| key("raw", i)).collect();
    let (mut socks, idx) = raw_sockets(url, &keys);
    let sets: Vec<Vec<u8>> = keys.iter().map(|k| set_cmd(k.as_bytes())).collect();
    let gets: Vec<Vec<u8>> = keys.iter().map(|k| get_cmd(k.as_bytes())).collect();
    let mut get_reply = format!("${}\r\n", VALUE.len()).into_bytes();
    get_reply.extend_from_slice(VALUE);
    get_reply.extend_from_slice(b"\r\n");
    Box::new(move |ops| {
        for i in 0..ops {
            let k = (i / 2) % KEYS;
            let r = &mut socks[idx[k]];
            if i % 2 == 0 {
                r.sock.write_all(&sets[k]).unwrap();
                r.expect(b"+OK\r\n");
            } else {
                r.sock.write_all(&gets[k]).unwrap();
                r.expect(&get_reply);
            }
        }
    })
}

pub fn raw_pipeline(url: &str) -> Run {
    let keys: Vec<String> = (0..PIPE).map(|i| key("rawp", i)).collect();
    let (mut socks, idx) = raw_sockets(url, &keys);
    // Per master: its share of the batch and of the replies.
    let mut batches = vec![Vec::new(); socks.len()];
    let mut counts = vec![0; socks.len()];
    for (k, &m) in keys.iter().zip(&idx) {
        batches[m].extend_from_slice(&set_cmd(k.as_bytes()));
        counts[m] += 1;
    }
    let replies: Vec<Vec<u8>> = counts.iter().map(|&n| b"+OK\r\n".repeat(n)).collect();
    Box::new(move |ops| {
        for _ in 0..ops / PIPE {
            for (s, b) in socks.iter_mut().zip(&batches) {
                s.sock.write_all(b).unwrap();
            }
            for (s, r) in socks.iter_mut().zip(&replies) {
                s.expect(r);
            }
        }
    })
}

pub fn ours_setget(url: &str) -> Run {
    let mut c = ClusterClient::open(url).unwrap();
    let keys: Vec<String> = (0..KEYS).map(|i| key("ours", i)).collect();
    Box::new(move |ops| {
        for i in 0..ops {
            let k = &keys[(i / 2) % KEYS];
            if i % 2 == 0 {
                c.set(k, VALUE).unwrap();
            } else {
                let v: Vec<u8> = c.get(k).unwrap();
                assert_eq!(v, VALUE);
            }
        }
    })
}

/// The same, on node connections held for the whole run (as redis-rs's
/// cluster connection holds them).
pub fn ours_setget_held(url: &str) -> Run {
    let c = ClusterClient::open(url).unwrap();
    let mut conn = c.connection();
    let keys: Vec<String> = (0..KEYS).map(|i| key("oursh", i)).collect();
    Box::new(move |ops| {
        for i in 0..ops {
            let k = &keys[(i / 2) % KEYS];
            if i % 2 == 0 {
                conn.set(k, VALUE).unwrap();
            } else {
                let v: Vec<u8> = conn.get(k).unwrap();
                assert_eq!(v, VALUE);
            }
        }
    })
}

pub fn ours_pipeline(url: &str) -> Run {
    let c = ClusterClient::open(url).unwrap();
    let mut p = ClusterPipeline::new();
    for i in 0..PIPE {
        p.add(cmd("SET").arg(key("oursp", i)).arg(VALUE));
    }
    Box::new(move |ops| {
        for _ in 0..ops / PIPE {
            let r = c.pipeline(&p).unwrap();
            assert!(r.iter().all(|v| v.as_ref().is_ok_and(|v| v.is_ok())));
        }
    })
}

pub fn rs_setget(url: &str) -> Run {
    let client = redis::cluster::ClusterClient::new(seeds(url)).unwrap();
    let mut c = client.get_connection().unwrap();
    let keys: Vec<String> = (0..KEYS).map(|i| key("rs", i)).collect();
    Box::new(move |ops| {
        for i in 0..ops {
            let k = &keys[(i / 2) % KEYS];
            if i % 2 == 0 {
                redis::cmd("SET")
                    .arg(k)
                    .arg(VALUE)
                    .query::<()>(&mut c)
                    .unwrap();
            } else {
                let v: Vec<u8> = redis::cmd("GET").arg(k).query(&mut c).unwrap();
                assert_eq!(v, VALUE);
            }
        }
    })
}

pub fn rs_pipeline(url: &str) -> Run {
    let client = redis::cluster::ClusterClient::new(seeds(url)).unwrap();
    let mut c = client.get_connection().unwrap();
    let mut p = redis::cluster::cluster_pipe();
    for i in 0..PIPE {
        p.cmd("SET").arg(key("rsp", i)).arg(VALUE);
    }
    Box::new(move |ops| {
        for _ in 0..ops / PIPE {
            let r: Vec<String> = p.query(&mut c).unwrap();
            assert!(r.iter().all(|s| s == "OK"));
        }
    })
}

/// `total_connections_received` summed over the masters.
pub fn connections_received(url: &str) -> u64 {
    let c = ClusterClient::open(url).unwrap();
    c.fan_out(&cmd("INFO").arg("stats"))
        .unwrap()
        .into_iter()
        .map(|(_, v)| {
            let info = String::from_utf8_lossy(v.as_bytes().unwrap()).into_owned();
            info.lines()
                .find_map(|l| l.strip_prefix("total_connections_received:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap()
        })
        .sum()
}
