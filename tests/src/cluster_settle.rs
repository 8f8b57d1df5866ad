//! Waits until every node of the test Redis Cluster tells the same story.
//!
//! The cluster tests move slots, fail masters over and kill them, as an
//! operator would. Each node learns of such a change by gossip, a little
//! later than the node it happened on; a test that starts in that window
//! sees `MOVED` ping-pong or `CLUSTERDOWN` that no client can do anything
//! about. A node can also keep a stale owner for good: a slot handed back
//! to a node whose config epoch is lower than that of a failover that
//! happened in between is not claimed again by anyone. `settle` waits for
//! agreement and repairs the second case the way `redis-cli --cluster fix`
//! would, by telling the dissenting nodes the owner the others agree on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use redis_client::{cmd, Client};

/// One node's view: its address and, per slot, the id of the master it
/// believes serves the slot (None: no owner known).
struct View {
    addr: (String, u16),
    owners: Vec<Option<String>>,
    state_ok: bool,
}

const SLOTS: usize = 16384;

/// Waits (up to `timeout`) until every reachable node reports
/// `cluster_state:ok` and the same owner for every slot; after a few
/// seconds of disagreement it repairs the dissenters. Returns a
/// description of the disagreement left when the time is up.
pub fn settle(seed: (&str, u16), timeout: Duration) -> Result<(), String> {
    let start = Instant::now();
    let mut repaired = false;
    loop {
        let views = views(seed);
        let disagreement = disagreement(&views);
        if disagreement.is_none() && views.iter().all(|v| v.state_ok) && !views.is_empty() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(disagreement.unwrap_or_else(|| "cluster_state is not ok".into()));
        }
        if !repaired && start.elapsed() > Duration::from_secs(5) && disagreement.is_some() {
            repair(&views);
            repaired = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn client(host: &str, port: u16) -> Option<redis_client::Connection> {
    Client::builder()
        .address(host, port)
        .connect_timeout(Duration::from_secs(1))
        .build()
        .ok()?
        .get()
        .ok()
}

/// Every node the seed knows of that answers, with its view.
fn views(seed: (&str, u16)) -> Vec<View> {
    let Some(text) = nodes_text(seed.0, seed.1) else {
        return Vec::new();
    };
    let addrs: Vec<(String, u16)> = text.lines().filter_map(line_addr).collect();
    addrs
        .into_iter()
        .filter_map(|(host, port)| {
            let text = nodes_text(&host, port)?;
            let info: String = client(&host, port)?
                .query(&cmd("CLUSTER").arg("INFO"))
                .ok()?;
            Some(View {
                owners: owners(&text),
                state_ok: info.contains("cluster_state:ok"),
                addr: (host, port),
            })
        })
        .collect()
}

fn nodes_text(host: &str, port: u16) -> Option<String> {
    client(host, port)?.query(&cmd("CLUSTER").arg("NODES")).ok()
}

/// `id host:port@bus flags ...` → (host, port), skipping failed nodes.
fn line_addr(line: &str) -> Option<(String, u16)> {
    let mut fields = line.split_whitespace();
    let addr = fields.nth(1)?;
    let flags = fields.next()?;
    if flags.contains("fail") || flags.contains("noaddr") {
        return None;
    }
    let hostport = addr.split('@').next()?;
    let (host, port) = hostport.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?))
}

/// Slot owners from one node's `CLUSTER NODES` (migrating/importing
/// markers `[slot->-id]` are ignored).
fn owners(text: &str) -> Vec<Option<String>> {
    let mut owners = vec![None; SLOTS];
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 9 || !fields[2].contains("master") {
            continue;
        }
        for range in &fields[8..] {
            if range.starts_with('[') {
                continue;
            }
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                for owner in owners.iter_mut().take(b.min(SLOTS - 1) + 1).skip(a) {
                    *owner = Some(fields[0].to_string());
                }
            }
        }
    }
    owners
}

/// The owner most nodes name for `slot`.
fn majority(views: &[View], slot: usize) -> Option<String> {
    let mut votes: HashMap<&str, usize> = HashMap::new();
    for v in views {
        if let Some(id) = &v.owners[slot] {
            *votes.entry(id).or_default() += 1;
        }
    }
    votes
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(id, _)| id.to_string())
}

fn disagreement(views: &[View]) -> Option<String> {
    let first = views.first()?;
    for v in &views[1..] {
        if let Some(slot) = (0..SLOTS).find(|&s| v.owners[s] != first.owners[s]) {
            return Some(format!(
                "slot {slot}: {:?} says {:?}, {:?} says {:?}",
                first.addr, first.owners[slot], v.addr, v.owners[slot]
            ));
        }
    }
    None
}

/// Tells each node that disagrees with the majority about a slot the
/// majority's owner (`CLUSTER SETSLOT slot NODE id`).
fn repair(views: &[View]) {
    for slot in 0..SLOTS {
        let Some(owner) = majority(views, slot) else {
            continue;
        };
        for v in views
            .iter()
            .filter(|v| v.owners[slot].as_ref() != Some(&owner))
        {
            if let Some(mut conn) = client(&v.addr.0, v.addr.1) {
                let _ = conn.query::<()>(
                    &cmd("CLUSTER")
                        .arg("SETSLOT")
                        .arg(slot)
                        .arg("NODE")
                        .arg(&owner),
                );
            }
        }
    }
}
