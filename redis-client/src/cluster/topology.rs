//! The slot map: which master (and replicas) serve each hash slot, parsed
//! from `CLUSTER SHARDS` or, on servers before 7.0, `CLUSTER SLOTS`. Pure:
//! reply values in, a table out.

use std::fmt;

use super::slot::SLOTS;
use crate::value::Value;

/// A node's address as the cluster announces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr {
    /// Host name or IP address.
    pub host: String,
    /// Port (the TLS port on a TLS cluster).
    pub port: u16,
}

impl Addr {
    /// Parses `host:port` (as in `MOVED 3999 127.0.0.1:6381`, IPv6 hosts
    /// with or without brackets).
    pub fn parse(s: &str) -> Option<Addr> {
        let (host, port) = s.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Some(Addr {
            host: host.to_string(),
            port: port.parse().ok()?,
        })
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// One master and its replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// The master.
    pub master: Addr,
    /// Its replicas that are online.
    pub replicas: Vec<Addr>,
}

/// Slot -> shard, for all 16384 slots.
#[derive(Clone)]
pub struct SlotMap {
    /// Index into `shards` per slot; `NONE` for a slot no one serves.
    slots: Vec<u16>,
    shards: Vec<Shard>,
}

const NONE: u16 = u16::MAX;

impl fmt::Debug for SlotMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotMap")
            .field("shards", &self.shards)
            .field(
                "uncovered",
                &self.slots.iter().filter(|&&s| s == NONE).count(),
            )
            .finish()
    }
}

/// What was wrong with a topology reply.
pub type ParseError = String;

impl SlotMap {
    /// A map where no slot is served.
    pub fn empty() -> SlotMap {
        SlotMap {
            slots: vec![NONE; usize::from(SLOTS)],
            shards: Vec::new(),
        }
    }

    /// The shard serving `slot`.
    pub fn shard(&self, slot: u16) -> Option<&Shard> {
        let i = *self.slots.get(usize::from(slot))?;
        self.shards.get(usize::from(i))
    }

    /// Every shard (each master once).
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// True when every slot is served.
    pub fn is_complete(&self) -> bool {
        !self.slots.contains(&NONE)
    }

    /// Points `slot` at `master` (after a `MOVED`), adding the shard if new.
    pub fn set_master(&mut self, slot: u16, master: Addr) {
        let i = match self.shards.iter().position(|s| s.master == master) {
            Some(i) => i,
            None => {
                self.shards.push(Shard {
                    master,
                    replicas: Vec::new(),
                });
                self.shards.len() - 1
            }
        };
        if let Some(s) = self.slots.get_mut(usize::from(slot)) {
            *s = i as u16;
        }
    }

    /// Slots this map leaves unserved (their master failed and no replica
    /// took over yet) keep the master `old` knew: commands for them then
    /// fail to connect and are retried, rather than finding no node.
    pub fn fill_from(&mut self, old: &SlotMap) {
        for slot in 0..SLOTS {
            if self.shard(slot).is_none() {
                if let Some(shard) = old.shard(slot) {
                    let master = shard.master.clone();
                    self.set_master(slot, master);
                }
            }
        }
    }

    fn assign(&mut self, start: i64, end: i64, shard: Shard) -> Result<(), ParseError> {
        if !(0..i64::from(SLOTS)).contains(&start) || !(start..i64::from(SLOTS)).contains(&end) {
            return Err(format!("slot range {start}-{end} out of bounds"));
        }
        let i = match self.shards.iter().position(|s| s.master == shard.master) {
            Some(i) => i,
            None => {
                self.shards.push(shard);
                self.shards.len() - 1
            }
        };
        for s in &mut self.slots[start as usize..=end as usize] {
            *s = i as u16;
        }
        Ok(())
    }

    /// From a `CLUSTER SHARDS` reply. `tls` picks `tls-port`; `seed_host`
    /// stands in for a node that announces no usable endpoint.
    pub fn from_shards(reply: &Value, tls: bool, seed_host: &str) -> Result<SlotMap, ParseError> {
        let mut map = SlotMap::empty();
        for shard in items(reply).ok_or("CLUSTER SHARDS: not an array")? {
            let fields = pairs(shard).ok_or("CLUSTER SHARDS: shard is not a map")?;
            let ranges = field(&fields, "slots").and_then(items).unwrap_or_default();
            let nodes = field(&fields, "nodes").and_then(items).unwrap_or_default();
            let mut master = None;
            let mut replicas = Vec::new();
            for node in nodes {
                let f = pairs(node).ok_or("CLUSTER SHARDS: node is not a map")?;
                let text = |k: &str| field(&f, k).and_then(as_text);
                if text("health").is_some_and(|h| h != "online") {
                    continue;
                }
                let port = if tls {
                    field(&f, "tls-port")
                } else {
                    field(&f, "port")
                }
                .and_then(as_int)
                .and_then(|p| u16::try_from(p).ok());
                let Some(port) = port else { continue };
                let host = text("endpoint")
                    .filter(|e| !e.is_empty() && e != "?")
                    .or_else(|| text("ip").filter(|e| !e.is_empty() && e != "?"))
                    .unwrap_or_else(|| seed_host.to_string());
                let addr = Addr { host, port };
                match text("role").as_deref() {
                    Some("master") => master = Some(addr),
                    _ => replicas.push(addr),
                }
            }
            let Some(master) = master else { continue };
            let nums: Vec<i64> = ranges.iter().filter_map(as_int).collect();
            for r in nums.chunks(2) {
                if let [start, end] = r {
                    map.assign(
                        *start,
                        *end,
                        Shard {
                            master: master.clone(),
                            replicas: replicas.clone(),
                        },
                    )?;
                }
            }
        }
        Ok(map)
    }

    /// From a `CLUSTER SLOTS` reply (the port there is the one of the
    /// connection's kind, TLS or not).
    pub fn from_slots(reply: &Value, seed_host: &str) -> Result<SlotMap, ParseError> {
        let mut map = SlotMap::empty();
        for range in items(reply).ok_or("CLUSTER SLOTS: not an array")? {
            let parts = items(range).ok_or("CLUSTER SLOTS: range is not an array")?;
            let (Some(start), Some(end)) = (
                parts.first().and_then(as_int),
                parts.get(1).and_then(as_int),
            ) else {
                return Err("CLUSTER SLOTS: range without bounds".into());
            };
            let mut nodes = parts[2..].iter().filter_map(|n| {
                let n = items(n)?;
                let host = n
                    .first()
                    .and_then(as_text)
                    .filter(|h| !h.is_empty() && h != "?");
                let port = u16::try_from(n.get(1).and_then(as_int)?).ok()?;
                Some(Addr {
                    host: host.unwrap_or_else(|| seed_host.to_string()),
                    port,
                })
            });
            let Some(master) = nodes.next() else { continue };
            map.assign(
                start,
                end,
                Shard {
                    master,
                    replicas: nodes.collect(),
                },
            )?;
        }
        Ok(map)
    }
}

fn items(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(a) | Value::Set(a) => Some(a),
        _ => None,
    }
}

/// A RESP3 map, or a RESP2 array of alternating keys and values.
fn pairs(v: &Value) -> Option<Vec<(&Value, &Value)>> {
    match v {
        Value::Map(m) => Some(m.iter().map(|(k, v)| (k, v)).collect()),
        Value::Array(a) if a.len() % 2 == 0 => Some(a.chunks(2).map(|c| (&c[0], &c[1])).collect()),
        _ => None,
    }
}

fn field<'a>(pairs: &[(&'a Value, &'a Value)], name: &str) -> Option<&'a Value> {
    pairs
        .iter()
        .find(|(k, _)| k.as_bytes() == Some(name.as_bytes()))
        .map(|(_, v)| *v)
}

fn as_text(v: &Value) -> Option<String> {
    Some(String::from_utf8_lossy(v.as_bytes()?).into_owned())
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        other => std::str::from_utf8(other.as_bytes()?).ok()?.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    fn node(port: i64, role: &str, health: &str) -> Value {
        Value::Array(vec![
            b("id"),
            b("abc"),
            b("port"),
            Value::Int(port),
            b("ip"),
            b("127.0.0.1"),
            b("endpoint"),
            b("127.0.0.1"),
            b("role"),
            b(role),
            b("health"),
            b(health),
        ])
    }

    #[test]
    fn shards_reply() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                b("slots"),
                Value::Array(vec![
                    Value::Int(0),
                    Value::Int(5460),
                    Value::Int(10923),
                    Value::Int(10923),
                ]),
                b("nodes"),
                Value::Array(vec![
                    node(7000, "master", "online"),
                    node(7003, "replica", "online"),
                    node(7004, "replica", "failed"),
                ]),
            ]),
            Value::Array(vec![
                b("slots"),
                Value::Array(vec![
                    Value::Int(5461),
                    Value::Int(10922),
                    Value::Int(10924),
                    Value::Int(16383),
                ]),
                b("nodes"),
                Value::Array(vec![node(7001, "master", "online")]),
            ]),
        ]);
        let map = SlotMap::from_shards(&reply, false, "seed").unwrap();
        assert!(map.is_complete());
        assert_eq!(map.shard(0).unwrap().master.port, 7000);
        assert_eq!(map.shard(10923).unwrap().master.port, 7000);
        assert_eq!(map.shard(10924).unwrap().master.port, 7001);
        assert_eq!(
            map.shard(0).unwrap().replicas,
            [Addr {
                host: "127.0.0.1".into(),
                port: 7003
            }]
        );
        assert_eq!(map.shards().len(), 2);
    }

    #[test]
    fn slots_reply_and_moved() {
        let n = |p| Value::Array(vec![b(""), Value::Int(p), b("id")]);
        let reply = Value::Array(vec![Value::Array(vec![
            Value::Int(0),
            Value::Int(16383),
            n(7000),
            n(7003),
        ])]);
        let mut map = SlotMap::from_slots(&reply, "10.0.0.1").unwrap();
        assert!(map.is_complete());
        assert_eq!(
            map.shard(77).unwrap().master,
            Addr {
                host: "10.0.0.1".into(),
                port: 7000
            }
        );
        map.set_master(77, Addr::parse("127.0.0.1:7001").unwrap());
        assert_eq!(map.shard(77).unwrap().master.port, 7001);
        assert_eq!(map.shard(78).unwrap().master.port, 7000);
    }

    #[test]
    fn failed_masters_slots_keep_the_old_master() {
        let n = |p| Value::Array(vec![b("h"), Value::Int(p), b("id")]);
        let full = Value::Array(vec![
            Value::Array(vec![Value::Int(0), Value::Int(99), n(7000)]),
            Value::Array(vec![Value::Int(100), Value::Int(16383), n(7001)]),
        ]);
        let old = SlotMap::from_slots(&full, "h").unwrap();
        let holey = Value::Array(vec![Value::Array(vec![
            Value::Int(100),
            Value::Int(16383),
            n(7001),
        ])]);
        let mut new = SlotMap::from_slots(&holey, "h").unwrap();
        assert!(!new.is_complete());
        new.fill_from(&old);
        assert!(new.is_complete());
        assert_eq!(new.shard(5).unwrap().master.port, 7000);
        assert_eq!(new.shard(500).unwrap().master.port, 7001);
    }

    #[test]
    fn bad_replies() {
        assert!(SlotMap::from_shards(&Value::Int(1), false, "h").is_err());
        let bad = Value::Array(vec![Value::Array(vec![
            Value::Int(0),
            Value::Int(20000),
            Value::Array(vec![b("h"), Value::Int(1)]),
        ])]);
        assert!(SlotMap::from_slots(&bad, "h").is_err());
        assert_eq!(Addr::parse("[::1]:7000").unwrap().host, "::1");
        assert!(Addr::parse("nohost").is_none());
    }
}
