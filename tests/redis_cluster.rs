//! redis-client's cluster client against the real Redis Cluster started by
//! `scripts/servers.sh` (plain 7000-7005, TLS 7100-7105: 3 masters + 3
//! replicas each), plus scripted hostile nodes.
//!
//! Tests run in parallel: each uses its own key prefix. Tests that change
//! the cluster's shape (slot moves, failover) hold `SHAPE` and leave every
//! slot served, so the other tests keep working (the client follows).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use integration_tests::server_process::ServerProcess;
use integration_tests::{env_or, test_ca, unique};
use redis_client::cluster::slot::key_slot;
use redis_client::cluster::topology::Addr;
use redis_client::{
    cmd, Client, ClusterClient, ClusterError, ClusterPipeline, Commands, Error, ServerErrorKind,
    Value,
};

/// Held by tests that move slots or fail over masters.
/// Written by tests that move slots, fail over or kill masters; read by
/// the others, which then never see a master go away under them.
static SHAPE: RwLock<()> = RwLock::new(());

fn shape_lock() -> std::sync::RwLockWriteGuard<'static, ()> {
    SHAPE.write().unwrap_or_else(|p| p.into_inner())
}

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    SHAPE.read().unwrap_or_else(|p| p.into_inner())
}

fn url() -> String {
    env_or(
        "PCONN_REDIS_CLUSTER_URL",
        "redis://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002",
    )
}

fn tls_url() -> String {
    env_or(
        "PCONN_REDIS_CLUSTER_TLS_URL",
        "rediss://pconn-a:secret-a@127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102",
    )
}

fn cluster() -> ClusterClient {
    ClusterClient::open(&url()).expect("PCONN_REDIS_CLUSTER_URL")
}

/// A plain client for one node (admin commands: CLUSTER SETSLOT, MIGRATE).
fn node(c: &ClusterClient, addr: &Addr) -> Client {
    c.node(addr).unwrap()
}

fn myid(c: &ClusterClient, addr: &Addr) -> String {
    node(c, addr)
        .get()
        .unwrap()
        .query(&cmd("CLUSTER").arg("MYID"))
        .unwrap()
}

/// Moves `slot` (with its keys) from its master to `to`, the way
/// `redis-cli --cluster reshard` does: IMPORTING, MIGRATING, MIGRATE the
/// keys, then SETSLOT NODE everywhere.
fn move_slot(c: &ClusterClient, slot: u16, to: &Addr) {
    c.refresh().unwrap();
    let map = c.slot_map().unwrap();
    let from = map.shard(slot).unwrap().master.clone();
    if &from == to {
        return;
    }
    let (from_id, to_id) = (myid(c, &from), myid(c, to));
    let mut src = node(c, &from).get().unwrap();
    let mut dst = node(c, to).get().unwrap();
    dst.query::<()>(
        &cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("IMPORTING")
            .arg(&from_id),
    )
    .unwrap();
    src.query::<()>(
        &cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("MIGRATING")
            .arg(&to_id),
    )
    .unwrap();
    loop {
        let keys: Vec<Vec<u8>> = src
            .query(&cmd("CLUSTER").arg("GETKEYSINSLOT").arg(slot).arg(100))
            .unwrap();
        if keys.is_empty() {
            break;
        }
        let m = cmd("MIGRATE")
            .arg(&to.host)
            .arg(to.port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("REPLACE")
            .arg("KEYS")
            .args(&keys);
        src.query::<()>(&m).unwrap();
    }
    for shard in map.shards() {
        let mut n = node(c, &shard.master).get().unwrap();
        n.query::<()>(
            &cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("NODE")
                .arg(&to_id),
        )
        .unwrap();
    }
}

/// A master other than the one serving `slot`.
fn other_master(c: &ClusterClient, slot: u16) -> Addr {
    let map = c.slot_map().unwrap();
    let owner = &map.shard(slot).unwrap().master;
    map.shards()
        .iter()
        .map(|s| s.master.clone())
        .find(|m| m != owner)
        .unwrap()
}

#[test]
fn ten_thousand_keys_in_every_slot_checked_against_cluster_keyslot() {
    let _shared = shared();
    let c = cluster();
    let prefix = unique("k10k");
    let keys: Vec<String> = (0..10_000).map(|i| format!("{prefix}:{i}")).collect();
    for chunk in keys.chunks(1000) {
        let mut p = ClusterPipeline::new();
        for k in chunk {
            p.add(cmd("SET").arg(k).arg(k));
        }
        for r in c.pipeline(&p).unwrap() {
            assert!(r.unwrap().is_ok());
        }
    }
    // Read back, and ask the cluster for every key's slot.
    let mut per_master: HashMap<Addr, usize> = HashMap::new();
    let map = c.slot_map().unwrap();
    for chunk in keys.chunks(1000) {
        let mut p = ClusterPipeline::new();
        for k in chunk {
            p.add(cmd("GET").arg(k));
            p.add(cmd("CLUSTER").arg("KEYSLOT").arg(k));
        }
        let r = c.pipeline(&p).unwrap();
        for (k, pair) in chunk.iter().zip(r.chunks(2)) {
            assert_eq!(pair[0].as_ref().unwrap().as_bytes(), Some(k.as_bytes()));
            let server_slot = match pair[1].as_ref().unwrap() {
                Value::Int(s) => *s,
                other => panic!("KEYSLOT gave {other:?}"),
            };
            assert_eq!(
                i64::from(key_slot(k.as_bytes())),
                server_slot,
                "slot of {k}"
            );
            *per_master
                .entry(map.shard(key_slot(k.as_bytes())).unwrap().master.clone())
                .or_default() += 1;
        }
    }
    assert_eq!(
        per_master.len(),
        3,
        "keys spread over the 3 masters: {per_master:?}"
    );
    // Every one of the 16384 slots, by hash tag, against CLUSTER KEYSLOT.
    let mut admin = node(&c, &map.shards()[0].master).get().unwrap();
    for tag in (0..20_000).step_by(7) {
        let k = format!("{{t{tag}}}x");
        let s: i64 = admin.query(&cmd("CLUSTER").arg("KEYSLOT").arg(&k)).unwrap();
        assert_eq!(i64::from(key_slot(k.as_bytes())), s);
    }
    let del: Vec<&String> = keys.iter().collect();
    for k in del.chunks(500) {
        let mut p = ClusterPipeline::new();
        for k in k {
            p.add(cmd("DEL").arg(*k));
        }
        c.pipeline(&p).unwrap();
    }
}

#[test]
fn cross_slot_commands_are_refused_before_sending() {
    let _shared = shared();
    let mut c = cluster();
    let a = unique("xs-a");
    let b = unique("xs-b-other");
    assert_ne!(key_slot(a.as_bytes()), key_slot(b.as_bytes()));
    let err = c
        .query::<()>(&cmd("MSET").arg(&a).arg(1).arg(&b).arg(2))
        .unwrap_err();
    match &err {
        Error::Cluster(ClusterError::CrossSlot { keys }) => {
            let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(names, [a.as_str(), b.as_str()]);
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&a) && text.contains(&b), "{text}");
    // Nothing was sent: neither key exists.
    let n: u64 = c.exists(&[&a]).unwrap();
    assert_eq!(n, 0);
    // In a pipeline: the whole pipeline is refused, nothing applied.
    let mut p = ClusterPipeline::new();
    p.add(cmd("SET").arg(&a).arg(1));
    p.add(cmd("DEL").arg(&a).arg(&b));
    assert!(matches!(
        c.pipeline(&p),
        Err(Error::Cluster(ClusterError::CrossSlot { .. }))
    ));
    assert_eq!(c.exists(&[&a]).unwrap(), 0);
    // A transaction across slots too.
    let mut t = ClusterPipeline::new();
    t.add(cmd("SET").arg(&a).arg(1))
        .add(cmd("SET").arg(&b).arg(1));
    assert!(matches!(
        c.transaction(&t),
        Err(Error::Cluster(ClusterError::CrossSlot { .. }))
    ));
    assert_eq!(c.exists(&[&a]).unwrap(), 0);
    // Hash tags put keys in one slot: allowed.
    let tag = unique("tag");
    let (x, y) = (format!("{{{tag}}}x"), format!("{{{tag}}}y"));
    c.query::<()>(&cmd("MSET").arg(&x).arg(1).arg(&y).arg(2))
        .unwrap();
    let v: Vec<i64> = c.mget(&[&x, &y]).unwrap();
    assert_eq!(v, [1, 2]);
    c.del(&[&x, &y]).unwrap();
}

#[test]
fn bad_input_errors_before_anything_is_sent() {
    for bad in ["redis://", "redis:///0", "redis://?protocol=3"] {
        assert!(
            matches!(
                ClusterClient::open(bad),
                Err(Error::Cluster(ClusterError::NoSeeds))
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        ClusterClient::builder().build(),
        Err(Error::Cluster(ClusterError::NoSeeds))
    ));
    assert!(ClusterClient::open("redis://127.0.0.1:7000/2").is_err());
    assert!(ClusterClient::open("http://127.0.0.1:7000").is_err());
    // CR/LF in a key is fine (binary safe), an empty command is not.
    let c = cluster();
    assert!(matches!(
        c.query_value(&redis_client::Cmd::new()),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn transactions_and_watch_are_pinned_to_one_slot() {
    let _shared = shared();
    let c = cluster();
    let tag = unique("tx");
    let (a, b) = (format!("{{{tag}}}a"), format!("{{{tag}}}b"));
    let mut t = ClusterPipeline::new();
    t.add(cmd("SET").arg(&a).arg(5))
        .add(cmd("INCR").arg(&a))
        .add(cmd("SET").arg(&b).arg("x"));
    let r = c.transaction(&t).unwrap().unwrap();
    assert_eq!(r[1], Value::Int(6));
    let mut conn = c.connection_for_key(a.as_bytes()).unwrap();
    let v: i64 = conn
        .watch_transaction(&[&a], |conn, p| {
            let cur: i64 = conn.get(&a)?;
            p.add(cmd("SET").arg(&a).arg(cur * 2));
            Ok(())
        })
        .map(|v: Vec<Value>| v.len() as i64)
        .unwrap();
    assert_eq!(v, 1);
    drop(conn);
    let mut c2 = c.clone();
    assert_eq!(c2.get::<_, i64>(&a).unwrap(), 12);
    c2.del(&[&a, &b]).unwrap();
}

#[test]
fn fan_out_scan_keys_dbsize_ping() {
    let _shared = shared();
    let mut c = cluster();
    let prefix = unique("fan");
    let keys: Vec<String> = (0..300).map(|i| format!("{prefix}:{i}")).collect();
    let mut p = ClusterPipeline::new();
    for k in &keys {
        p.add(cmd("SET").arg(k).arg(1));
    }
    c.pipeline(&p).unwrap();
    let pongs = c.ping_all().unwrap();
    assert_eq!(pongs.len(), 3);
    assert!(pongs.iter().all(|(_, p)| p == "PONG"));
    assert!(c.dbsize().unwrap() >= 300);
    let mut found: Vec<String> = c
        .scan::<String>()
        .unwrap()
        .matching(format!("{prefix}:*"))
        .count(50)
        .collect::<Result<_, _>>()
        .unwrap();
    found.sort();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(found, want);
    let mut listed: Vec<String> = c.keys(&format!("{prefix}:*")).unwrap();
    listed.sort();
    assert_eq!(listed, want);
    for k in &keys {
        c.del(&[k]).unwrap();
    }
}

#[test]
fn scripts_are_routed_by_their_keys() {
    let _shared = shared();
    let mut c = cluster();
    let keys: Vec<String> = (0..20).map(|i| unique(&format!("lua{i}"))).collect();
    for k in &keys {
        let v: i64 = c
            .query(
                &cmd("EVAL")
                    .arg("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[1])")
                    .arg(1)
                    .arg(k)
                    .arg(41),
            )
            .unwrap();
        assert_eq!(v, 42);
        assert_eq!(c.get::<_, i64>(k).unwrap(), 42);
        c.del(&[k]).unwrap();
    }
}

#[test]
fn sharded_pubsub_by_slot() {
    let _shared = shared();
    let c = cluster();
    let channel = unique("shard-ch");
    let mut sub = c.connection_for_key(channel.as_bytes()).unwrap();
    sub.query_value(&cmd("SSUBSCRIBE").arg(&channel)).unwrap();
    let n: i64 = c
        .query(&cmd("SPUBLISH").arg(&channel).arg("hello"))
        .unwrap();
    assert_eq!(n, 1);
    let m = sub
        .receive(Duration::from_secs(5))
        .unwrap()
        .expect("message");
    assert_eq!(m.payload_str(), "hello");
}

#[test]
fn persistent_id_shares_node_connections_between_clients() {
    let _shared = shared();
    let id = unique("cluster-pid");
    let a = ClusterClient::builder()
        .url(&url())
        .unwrap()
        .persistent_id(&id)
        .build()
        .unwrap();
    let mut ca = a.clone();
    ca.set(&id, 1).unwrap();
    let b = ClusterClient::builder()
        .url(&url())
        .unwrap()
        .persistent_id(&id)
        .build()
        .unwrap();
    let addr = b
        .slot_map()
        .unwrap()
        .shard(key_slot(id.as_bytes()))
        .unwrap()
        .master
        .clone();
    let conn = b.node(&addr).unwrap().get().unwrap();
    assert!(
        conn.is_reused(),
        "b borrowed a's connection through the registry"
    );
    drop(conn);
    let mut cb = b.clone();
    cb.del(&[&id]).unwrap();
}

#[test]
fn replica_reads_use_readonly_connections() {
    let _shared = shared();
    let name = unique("replica-reader");
    let builder = Client::builder()
        .url("redis://127.0.0.1:7000")
        .unwrap()
        .client_name(&name);
    let mut c = ClusterClient::builder()
        .url(&url())
        .unwrap()
        .node_settings(builder)
        .read_from_replicas(true)
        .build()
        .unwrap();
    let key = unique("rr");
    c.set(&key, "v").unwrap();
    // Wait until the replica has it.
    let mut master = c.connection_for_key(key.as_bytes()).unwrap();
    let _: i64 = master.query(&cmd("WAIT").arg(1).arg(2000)).unwrap();
    drop(master);
    let v: String = c.get(&key).unwrap();
    assert_eq!(v, "v");
    // The read ran on a replica, on a connection flagged READONLY (`r`).
    let map = c.slot_map().unwrap();
    let shard = map.shard(key_slot(key.as_bytes())).unwrap().clone();
    let mut seen = false;
    for r in &shard.replicas {
        let list: String = node(&c, r)
            .get()
            .unwrap()
            .query(&cmd("CLIENT").arg("LIST"))
            .unwrap();
        seen |= list
            .lines()
            .any(|l| l.contains(&format!("name={name} ")) && l.contains("flags=r"));
    }
    assert!(seen, "a READONLY connection named {name} on a replica");
    c.del(&[&key]).unwrap();
}

#[test]
fn tls_cluster_with_acl_users() {
    let mut c = ClusterClient::builder()
        .url(&tls_url())
        .unwrap()
        .ca_file(test_ca())
        .build()
        .unwrap();
    let prefix = unique("tls");
    let mut p = ClusterPipeline::new();
    for i in 0..100 {
        p.add(cmd("SET").arg(format!("{prefix}:{i}")).arg(i));
    }
    assert!(c
        .pipeline(&p)
        .unwrap()
        .iter()
        .all(|r| r.as_ref().unwrap().is_ok()));
    for i in 0..100 {
        assert_eq!(c.get::<_, i64>(format!("{prefix}:{i}")).unwrap(), i);
    }
    assert!(c
        .slot_map()
        .unwrap()
        .shards()
        .iter()
        .all(|s| s.master.port >= 7100));
    // A read-only ACL user may read, not write.
    let ro_url = "rediss://pconn-ro:secret-ro@127.0.0.1:7100";
    let mut ro = ClusterClient::builder()
        .url(ro_url)
        .unwrap()
        .ca_file(test_ca())
        .build()
        .unwrap();
    assert_eq!(ro.get::<_, i64>(format!("{prefix}:7")).unwrap(), 7);
    let err = ro.set(format!("{prefix}:7"), 1).unwrap_err();
    assert_eq!(
        err.server_error().map(|e| e.kind()),
        Some(ServerErrorKind::NoPerm)
    );
    for i in 0..100 {
        c.del(&[format!("{prefix}:{i}")]).unwrap();
    }
}

#[test]
fn pipeline_of_1000_in_order_with_mid_pipeline_redirects() {
    let _shape = shape_lock();
    let c = cluster();
    let prefix = unique("p1k");
    let key = |i: usize| format!("{prefix}:{i}");
    let mut p = ClusterPipeline::new();
    for i in 0..1000 {
        p.add(cmd("SET").arg(key(i)).arg(i));
    }
    c.pipeline(&p).unwrap();
    // A second client with a stale map: move one used slot (MOVED) and put
    // another half way (MIGRATING/IMPORTING, its keys not yet moved: ASK
    // for a new key).
    let stale = cluster();
    stale.slot_map().unwrap();
    let moved = key_slot(key(0).as_bytes());
    let back = c.slot_map().unwrap().shard(moved).unwrap().master.clone();
    let to = other_master(&c, moved);
    move_slot(&c, moved, &to);
    let mut p = ClusterPipeline::new();
    for i in 0..1000 {
        if i % 2 == 0 {
            p.add(cmd("INCR").arg(key(i)));
        } else {
            p.add(cmd("GET").arg(key(i)));
        }
    }
    let r = stale.pipeline(&p).unwrap();
    assert_eq!(r.len(), 1000);
    for (i, r) in r.into_iter().enumerate() {
        let v = r.unwrap();
        if i % 2 == 0 {
            assert_eq!(v, Value::Int(i as i64 + 1), "entry {i}");
        } else {
            assert_eq!(v.as_bytes(), Some(i.to_string().as_bytes()), "entry {i}");
        }
    }
    // Every INCR applied exactly once, including the redirected ones.
    let mut check = ClusterPipeline::new();
    for i in (0..1000).step_by(2) {
        check.add(cmd("GET").arg(key(i)));
    }
    for (n, r) in c.pipeline(&check).unwrap().into_iter().enumerate() {
        assert_eq!(
            r.unwrap().as_bytes(),
            Some((n * 2 + 1).to_string().as_bytes())
        );
    }
    move_slot(&c, moved, &back);

    // ASK: a slot half way, a key that is not on the source.
    let ask_key = format!("{prefix}:ask");
    let slot = key_slot(ask_key.as_bytes());
    c.refresh().unwrap();
    let from = c.slot_map().unwrap().shard(slot).unwrap().master.clone();
    let to = other_master(&c, slot);
    let (from_id, to_id) = (myid(&c, &from), myid(&c, &to));
    node(&c, &to)
        .get()
        .unwrap()
        .query::<()>(
            &cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("IMPORTING")
                .arg(&from_id),
        )
        .unwrap();
    node(&c, &from)
        .get()
        .unwrap()
        .query::<()>(
            &cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("MIGRATING")
                .arg(&to_id),
        )
        .unwrap();
    let mut p = ClusterPipeline::new();
    p.add(cmd("SET").arg(key(1)).arg("one"));
    p.add(cmd("SET").arg(&ask_key).arg("asked"));
    p.add(cmd("GET").arg(key(1)));
    let r = c.pipeline(&p).unwrap();
    assert!(r[0].as_ref().unwrap().is_ok());
    assert!(r[1].as_ref().unwrap().is_ok());
    assert_eq!(r[2].as_ref().unwrap().as_bytes(), Some(&b"one"[..]));
    // The key went to the importing node (ASKING), and the map did not change.
    let on_target: Option<String> = {
        let mut conn = node(&c, &to).get().unwrap();
        let v = conn
            .query_value(&cmd("ASKING"))
            .and_then(|_| conn.query_value(&cmd("GET").arg(&ask_key)))
            .unwrap();
        (!v.is_nil()).then(|| String::from_utf8(v.as_bytes().unwrap().to_vec()).unwrap())
    };
    assert_eq!(on_target.as_deref(), Some("asked"));
    assert_eq!(c.slot_map().unwrap().shard(slot).unwrap().master, from);
    // Finish that migration, then move the slot back where it was.
    move_slot_finish(&c, slot, &from, &to, &to_id);
    move_slot(&c, slot, &from);
    let mut cc = c.clone();
    for i in 0..1000 {
        cc.del(&[key(i)]).unwrap();
    }
    cc.del(&[&ask_key]).unwrap();
}

fn move_slot_finish(c: &ClusterClient, slot: u16, from: &Addr, to: &Addr, to_id: &str) {
    let mut src = node(c, from).get().unwrap();
    loop {
        let keys: Vec<Vec<u8>> = src
            .query(&cmd("CLUSTER").arg("GETKEYSINSLOT").arg(slot).arg(100))
            .unwrap();
        if keys.is_empty() {
            break;
        }
        src.query::<()>(
            &cmd("MIGRATE")
                .arg(&to.host)
                .arg(to.port)
                .arg("")
                .arg(0)
                .arg(5000)
                .arg("REPLACE")
                .arg("KEYS")
                .args(&keys),
        )
        .unwrap();
    }
    for shard in c.slot_map().unwrap().shards() {
        node(c, &shard.master)
            .get()
            .unwrap()
            .query::<()>(
                &cmd("CLUSTER")
                    .arg("SETSLOT")
                    .arg(slot)
                    .arg("NODE")
                    .arg(to_id),
            )
            .unwrap();
    }
}

#[test]
fn resharding_under_load_reaches_no_caller() {
    let _shape = shape_lock();
    let c = cluster();
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let tags: Vec<String> = (0..8).map(|t| unique(&format!("rs{t}"))).collect();
    let workers: Vec<_> = tags
        .iter()
        .cloned()
        .map(|tag| {
            let (mut c, stop, ops) = (c.clone(), stop.clone(), ops.clone());
            std::thread::spawn(move || -> Result<(), String> {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let k = format!("{{{tag}}}:{}", i % 10);
                    c.set(&k, i).map_err(|e| format!("SET {k}: {e}"))?;
                    let v: u64 = c.get(&k).map_err(|e| format!("GET {k}: {e}"))?;
                    if v != i {
                        return Err(format!("{k}: read {v}, wrote {i}"));
                    }
                    // A multi-key read of the tag (TRYAGAIN while half moved).
                    let _: Vec<Option<u64>> = c
                        .mget(&[format!("{{{tag}}}:0"), format!("{{{tag}}}:1")])
                        .map_err(|e| format!("MGET: {e}"))?;
                    ops.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
                Ok(())
            })
        })
        .collect();
    // Let them write, then move each tag's slot to another master and back.
    while ops.load(Ordering::Relaxed) < 200 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let slots: Vec<u16> = tags.iter().map(|t| key_slot(t.as_bytes())).collect();
    let homes: Vec<Addr> = slots
        .iter()
        .map(|s| c.slot_map().unwrap().shard(*s).unwrap().master.clone())
        .collect();
    for s in &slots {
        let to = other_master(&c, *s);
        move_slot(&c, *s, &to);
    }
    let before = ops.load(Ordering::Relaxed);
    while ops.load(Ordering::Relaxed) < before + 200 {
        std::thread::sleep(Duration::from_millis(5));
    }
    for (s, home) in slots.iter().zip(&homes) {
        move_slot(&c, *s, home);
    }
    let before = ops.load(Ordering::Relaxed);
    while ops.load(Ordering::Relaxed) < before + 200 {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap().unwrap();
    }
    let mut cc = c.clone();
    for t in &tags {
        for i in 0..10 {
            cc.del(&[format!("{{{t}}}:{i}")]).unwrap();
        }
    }
}

#[test]
fn failover_under_load_never_applies_an_incr_twice() {
    let _shape = shape_lock();
    let c = cluster();
    let tag = unique("fo");
    let slot = key_slot(tag.as_bytes());
    c.refresh().unwrap();
    let shard = c.slot_map().unwrap().shard(slot).unwrap().clone();
    let replica = shard.replicas.first().expect("a replica").clone();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|t| {
            let (mut c, stop) = (c.clone(), stop.clone());
            let key = format!("{{{tag}}}:{t}");
            std::thread::spawn(move || {
                let (mut done, mut failed) = (0u64, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    match c.incr(&key) {
                        Ok(_) => done += 1,
                        Err(_) => failed += 1,
                    }
                }
                (key, done, failed)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // The replica takes over (graceful: the old master stops writes first).
    node(&c, &replica)
        .get()
        .unwrap()
        .query::<()>(&cmd("CLUSTER").arg("FAILOVER"))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        c.refresh().unwrap();
        if c.slot_map().unwrap().shard(slot).unwrap().master == replica {
            break;
        }
        assert!(Instant::now() < deadline, "failover did not complete");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut cc = c.clone();
    let mut total_failed = 0;
    for w in workers {
        let (key, done, failed) = w.join().unwrap();
        let value: u64 = cc.get(&key).unwrap();
        assert!(done > 0);
        // Never applied twice: at most what was reported done plus what
        // failed with an unknown outcome; at least what was reported done.
        assert!(
            value >= done && value <= done + failed,
            "{key}: value {value}, done {done}, failed {failed}"
        );
        total_failed += failed;
        cc.del(&[&key]).unwrap();
    }
    // A graceful failover loses nothing: the client waits it out.
    assert_eq!(total_failed, 0);
}

/// A scripted node: answers the topology with itself for slots 0..=100
/// and `real` for the rest, then answers data commands with `reply`
/// (or nothing at all when `reply` is None).
fn hostile_node(real: Addr, reply: Option<&'static [u8]>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().take(8) {
            let Ok(mut s) = s else { return };
            let real = real.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 4096];
                loop {
                    let n = match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let text = String::from_utf8_lossy(&buf[..n]).to_ascii_uppercase();
                    let mut out = Vec::new();
                    if text.contains("HELLO") {
                        out.extend_from_slice(b"*2\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n");
                    }
                    if text.contains("SHARDS") {
                        let shard = |lo: u16, hi: u16, port: u16| {
                            format!(
                                "*4\r\n$5\r\nslots\r\n*2\r\n:{lo}\r\n:{hi}\r\n$5\r\nnodes\r\n*1\r\n*8\r\n$4\r\nport\r\n:{port}\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
                            )
                        };
                        out.extend_from_slice(b"*2\r\n");
                        out.extend_from_slice(shard(0, 100, port).as_bytes());
                        out.extend_from_slice(shard(101, 16383, real.port).as_bytes());
                    } else if text.contains("GET") {
                        match reply {
                            Some(r) => out.extend_from_slice(r),
                            None => {
                                std::thread::sleep(Duration::from_secs(10));
                                return;
                            }
                        }
                    }
                    if !out.is_empty() && s.write_all(&out).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// A key whose slot is at most 100.
fn low_slot_key() -> String {
    (0..)
        .map(|i| format!("low{i}"))
        .find(|k| key_slot(k.as_bytes()) <= 100)
        .unwrap()
}

#[test]
fn a_node_answering_garbage_or_hanging_gives_a_typed_error_and_the_rest_works() {
    let _shared = shared();
    let real = cluster().slot_map().unwrap().shards()[0].master.clone();
    for (what, reply) in [
        ("garbage", Some(&b"%%%% not resp at all\r\n"[..])),
        ("huge", Some(&b"$99999999999999\r\n"[..])),
        ("hang", None),
    ] {
        let port = hostile_node(real.clone(), reply);
        let seed = format!("redis://127.0.0.1:{port}?read_timeout=300ms");
        let mut c = ClusterClient::builder()
            .url(&seed)
            .unwrap()
            .retries(2, Duration::from_millis(5))
            .build()
            .unwrap();
        let err = c.get::<_, Option<String>>(low_slot_key()).unwrap_err();
        match (what, &err) {
            ("hang", e) => assert!(e.is_timeout(), "{what}: {e:?}"),
            (_, Error::Protocol(_)) => {}
            (_, e) => panic!("{what}: {e:?}"),
        }
        // Its connection was closed, not pooled.
        let lo = Addr {
            host: "127.0.0.1".into(),
            port,
        };
        assert_eq!(c.node(&lo).unwrap().stats().open_now, 0, "{what}");
        // The rest of the cluster works (through MOVED from the real node).
        let key = unique("rest");
        let k = (0..)
            .map(|i| format!("{key}{i}"))
            .find(|k| key_slot(k.as_bytes()) > 100)
            .unwrap();
        c.set(&k, "ok").unwrap();
        assert_eq!(c.get::<_, String>(&k).unwrap(), "ok");
        c.del(&[&k]).unwrap();
    }
}

/// The config file of a node (`INFO server`), to start it again after a kill.
fn config_file(c: &ClusterClient, addr: &Addr) -> String {
    let info: String = node(c, addr)
        .get()
        .unwrap()
        .query(&cmd("INFO").arg("server"))
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("config_file:"))
        .map(|v| v.trim().to_string())
        .unwrap()
}

#[test]
fn killed_master_is_replaced_and_no_incr_is_applied_twice() {
    let _shape = shape_lock();
    let c = cluster();
    let tag = unique("kill");
    let slot = key_slot(tag.as_bytes());
    c.refresh().unwrap();
    let old = c.slot_map().unwrap().shard(slot).unwrap().master.clone();
    let config = config_file(&c, &old);
    let server = ServerProcess::listening_on(old.port).expect("the node's process");
    let stop = Arc::new(AtomicBool::new(false));
    let worker = |t: usize| {
        let (mut c, stop) = (c.clone(), stop.clone());
        let key = format!("{{{tag}}}:{t}");
        std::thread::spawn(move || {
            let (mut done, mut failed) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                match c.incr(&key) {
                    Ok(_) => done += 1,
                    Err(_) => failed += 1,
                }
            }
            (key, done, failed)
        })
    };
    let workers: Vec<_> = (0..8).map(worker).collect();
    std::thread::sleep(Duration::from_millis(200));
    server.kill();
    // The replica takes over after cluster-node-timeout (1 s).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if c.refresh().is_ok() && c.slot_map().unwrap().shard(slot).unwrap().master != old {
            break;
        }
        assert!(Instant::now() < deadline, "no replica promoted");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut counts = Vec::new();
    for w in workers {
        counts.push(w.join().unwrap());
    }
    // Once promoted: 0 errors.
    let mut cc = c.clone();
    for (key, _, _) in &counts {
        for _ in 0..50 {
            cc.incr(key).unwrap();
        }
    }
    for (key, done, failed) in &counts {
        let value: u64 = cc.get(key).unwrap();
        // Never applied twice. (A killed master may take acknowledged
        // writes with it that had not reached its replica: no lower bound.)
        assert!(
            value <= done + failed + 50,
            "{key}: value {value}, done {done}+50, failed {failed}"
        );
        cc.del(&[key]).unwrap();
    }
    // Bring the node back: it rejoins as a replica of the new master.
    server.start_again("redis-server", &[&config]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let back = Client::builder()
            .address(&old.host, old.port)
            .build()
            .unwrap()
            .get()
            .and_then(|mut n| n.query::<Vec<Value>>(&cmd("ROLE")));
        if let Ok(role) = back {
            let linked = role.get(3).and_then(|v| v.as_bytes()) == Some(&b"connected"[..]);
            if role[0].as_bytes() == Some(&b"slave"[..]) && linked {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{old} did not rejoin as a replica"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    c.refresh().unwrap();
    assert!(c.slot_map().unwrap().is_complete());
}

#[test]
fn a_cluster_connection_holds_one_connection_per_node() {
    let _shared = shared();
    let c = cluster();
    let prefix = unique("held");
    let keys: Vec<String> = (0..60).map(|i| format!("{prefix}:{i}")).collect();
    c.slot_map().unwrap(); // the topology read is not counted below
    let opened_before = c.pool().stats().opened;
    let mut conn = c.connection();
    for k in &keys {
        conn.set(k, k).unwrap();
        assert_eq!(conn.get::<_, String>(k).unwrap(), *k);
    }
    // 120 commands over 3 masters: at most one new connection per master.
    assert!(c.pool().stats().opened - opened_before <= 3);
    assert!(matches!(
        conn.query::<()>(&cmd("MSET").arg(&keys[0]).arg(1).arg(&keys[1]).arg(2)),
        Err(Error::Cluster(ClusterError::CrossSlot { .. }))
    ));
    drop(conn);
    let mut cc = c.clone();
    for k in &keys {
        cc.del(&[k]).unwrap();
    }
}

#[test]
fn sharded_subscription_follows_its_slot_to_a_new_master() {
    let _shape = shape_lock();
    let c = cluster();
    let channel = unique("moving-ch");
    let slot = key_slot(channel.as_bytes());
    let mut sub = c.ssubscribe(&[&channel]).unwrap();
    let n: i64 = c
        .query(&cmd("SPUBLISH").arg(&channel).arg("before"))
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        sub.receive(Duration::from_secs(5))
            .unwrap()
            .unwrap()
            .payload_str(),
        "before"
    );
    c.refresh().unwrap();
    let home = c.slot_map().unwrap().shard(slot).unwrap().master.clone();
    let to = other_master(&c, slot);
    move_slot(&c, slot, &to);
    // Let the subscriber notice the move before publishing again.
    assert!(sub.receive(Duration::from_millis(300)).unwrap().is_none());
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        let _: i64 = c
            .query(&cmd("SPUBLISH").arg(&channel).arg("after"))
            .unwrap();
        if let Some(m) = sub.receive(Duration::from_millis(200)).unwrap() {
            break m;
        }
        assert!(Instant::now() < deadline, "no message after the move");
    };
    assert_eq!(got.payload_str(), "after");
    move_slot(&c, slot, &home);
}

#[test]
fn sharded_subscribe_across_slots_is_refused() {
    let c = cluster();
    let (a, b) = (unique("ch-a"), unique("ch-b-x"));
    assert_ne!(key_slot(a.as_bytes()), key_slot(b.as_bytes()));
    assert!(matches!(
        c.ssubscribe(&[&a, &b]),
        Err(Error::Cluster(ClusterError::CrossSlot { .. }))
    ));
}
