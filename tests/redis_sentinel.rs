//! redis-client's Sentinel client against the real master (6390), replica
//! (6391) and 3 Sentinels (26390-26392) started by `scripts/servers.sh`.
//!
//! The failover tests hold `FAILOVER` (one at a time) and leave a master
//! and a replica behind (the roles may be swapped: the client finds them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration_tests::server_process::ServerProcess;
use integration_tests::{env_or, unique};
use redis_client::cluster::topology::Addr;
use redis_client::{cmd, Client, ClusterError, Commands, Error, SentinelClient, ServerErrorKind};

static FAILOVER: Mutex<()> = Mutex::new(());

fn url() -> String {
    env_or(
        "PCONN_REDIS_SENTINEL_URL",
        "redis+sentinel://127.0.0.1:26390,127.0.0.1:26391,127.0.0.1:26392/pconn-master?sentinel_password=sentinel-secret",
    )
}

fn sentinel_admin() -> Client {
    Client::builder()
        .address("127.0.0.1", 26390)
        .credentials(None, "sentinel-secret")
        .build()
        .unwrap()
}

/// What the Sentinels say the master is.
fn sentinel_master() -> Addr {
    let (host, port): (String, u16) = sentinel_admin()
        .get()
        .unwrap()
        .query(
            &cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg("pconn-master"),
        )
        .unwrap();
    Addr { host, port }
}

fn role_of(addr: &Addr) -> String {
    let c = Client::builder()
        .address(&addr.host, addr.port)
        .build()
        .unwrap();
    let v: Vec<redis_client::Value> = c.get().unwrap().query(&cmd("ROLE")).unwrap();
    String::from_utf8(v[0].as_bytes().unwrap().to_vec()).unwrap()
}

/// Waits until the Sentinels name a master other than `old` whose ROLE
/// agrees, and its replica is attached again.
fn wait_new_master(old: &Addr) -> Addr {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = sentinel_master();
        if &m != old && role_of(&m) == "master" {
            return m;
        }
        assert!(Instant::now() < deadline, "no failover");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn bad_urls_fail_before_anything_is_sent() {
    assert!(matches!(
        SentinelClient::open("redis+sentinel://127.0.0.1:26390"),
        Err(Error::Cluster(ClusterError::NoMasterName))
    ));
    assert!(matches!(
        SentinelClient::open("redis+sentinel:///pconn-master"),
        Err(Error::Cluster(ClusterError::NoSeeds))
    ));
    assert!(SentinelClient::open("redis+sentinel://127.0.0.1:26390/m/x").is_err());
    assert!(SentinelClient::open("redis://127.0.0.1:26390/m").is_err());
}

#[test]
fn finds_the_master_and_checks_its_role() {
    let mut c = SentinelClient::open(&url()).unwrap();
    let key = unique("s-basic");
    c.set(&key, "v").unwrap();
    assert_eq!(c.query::<String>(&cmd("GET").arg(&key)).unwrap(), "v");
    let addr = c.master_addr().unwrap();
    assert_eq!(role_of(&addr), "master");
    let mut conn = c.get().unwrap();
    let role: Vec<redis_client::Value> = conn.query(&cmd("ROLE")).unwrap();
    assert_eq!(role[0].as_bytes(), Some(&b"master"[..]));
    drop(conn);
    c.del(&[&key]).unwrap();
    // An unknown master name: a typed error naming it.
    let bad = SentinelClient::builder()
        .url(&url().replace("/pconn-master", "/no-such-master"))
        .unwrap()
        .retries(1, Duration::from_millis(1))
        .build()
        .unwrap();
    match bad.master_addr() {
        Err(Error::Cluster(ClusterError::MasterNotFound { name, .. })) => {
            assert_eq!(name, "no-such-master")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn sentinel_and_data_credentials_are_kept_apart() {
    // Data-node user in the URL, the Sentinels' password as an option.
    let u = url().replace("redis+sentinel://", "redis+sentinel://pconn-a:secret-a@");
    let c = SentinelClient::open(&u).unwrap();
    let who: String = c.get().unwrap().query(&cmd("ACL").arg("WHOAMI")).unwrap();
    assert_eq!(who, "pconn-a");
    // The Sentinels' password is not a data-node password: using it there fails.
    let wrong = url().replace(
        "redis+sentinel://",
        "redis+sentinel://pconn-a:sentinel-secret@",
    );
    let err = SentinelClient::builder()
        .url(&wrong)
        .unwrap()
        .retries(1, Duration::from_millis(1))
        .build()
        .unwrap()
        .master_addr()
        .unwrap_err();
    assert!(
        matches!(
            err.server_error().map(|e| e.kind()),
            Some(ServerErrorKind::WrongPass)
        ),
        "{err:?}"
    );
    // Without the Sentinels' password the Sentinels refuse.
    let nopass = url().replace("?sentinel_password=sentinel-secret", "");
    let err = SentinelClient::builder()
        .url(&nopass)
        .unwrap()
        .retries(1, Duration::from_millis(1))
        .build()
        .unwrap()
        .master_addr()
        .unwrap_err();
    assert!(
        matches!(
            err.server_error().map(|e| e.kind()),
            Some(ServerErrorKind::NoAuth)
        ),
        "{err:?}"
    );
}

#[test]
fn replica_reads_go_to_a_replica() {
    let _g = FAILOVER.lock().unwrap_or_else(|p| p.into_inner());
    let c = SentinelClient::open(&url()).unwrap();
    // A replica restarted by a failover test may still be syncing.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut r = loop {
        match c.get_replica() {
            Ok(r) => break r,
            Err(e) => assert!(Instant::now() < deadline, "{e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let role: Vec<redis_client::Value> = r.query(&cmd("ROLE")).unwrap();
    assert_eq!(role[0].as_bytes(), Some(&b"slave"[..]));
    // A write there is refused by the replica, never applied.
    let err = r
        .query::<()>(&cmd("SET").arg(unique("ro")).arg(1))
        .unwrap_err();
    assert_eq!(
        err.server_error().map(|e| e.kind()),
        Some(ServerErrorKind::ReadOnly)
    );
}

/// Writers INCR their own counters while `fail` moves the master; the
/// client follows, nothing is applied twice, and every write after the
/// failover lands on the new master.
fn failover_under_load(fail: impl FnOnce(&Addr)) {
    let c = SentinelClient::open(&url()).unwrap();
    let old = c.master_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let prefix = unique("s-fo");
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (mut c, stop) = (c.clone(), stop.clone());
            let key = format!("{prefix}:{t}");
            std::thread::spawn(move || {
                let (mut done, mut failed) = (0u64, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    match c.incr(&key) {
                        Ok(_) => done += 1,
                        Err(_) => {
                            failed += 1;
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
                (key, done, failed)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    fail(&old);
    let new = wait_new_master(&old);
    // The client follows: writes succeed on the new master.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut cc = c.clone();
    let probe = format!("{prefix}:probe");
    loop {
        if cc.set(&probe, 1).is_ok() && c.master_addr().ok().as_ref() == Some(&new) {
            break;
        }
        assert!(Instant::now() < deadline, "client did not follow to {new}");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let direct = Client::builder()
        .address(&new.host, new.port)
        .build()
        .unwrap();
    let mut d = direct.get().unwrap();
    for w in workers {
        let (key, done, failed) = w.join().unwrap();
        let value: u64 = d.get::<_, Option<u64>>(&key).unwrap().unwrap_or(0);
        assert!(done > 0, "{key}");
        // Never applied twice (a failover may lose acknowledged writes
        // not yet replicated, so no lower bound).
        assert!(
            value <= done + failed,
            "{key}: value {value}, done {done}, failed {failed}"
        );
        d.del(&[&key]).unwrap();
    }
    d.del(&[&probe]).unwrap();
    assert_eq!(c.master_addr().unwrap(), new);
}

#[test]
fn follows_sentinel_failover() {
    let _g = FAILOVER.lock().unwrap_or_else(|p| p.into_inner());
    failover_under_load(|_| {
        let _: () = sentinel_admin()
            .get()
            .unwrap()
            .query(&cmd("SENTINEL").arg("FAILOVER").arg("pconn-master"))
            .unwrap();
    });
}

#[test]
fn follows_a_killed_master() {
    let _g = FAILOVER.lock().unwrap_or_else(|p| p.into_inner());
    let mut restart = None;
    failover_under_load(|old| {
        let c = Client::builder()
            .address(&old.host, old.port)
            .build()
            .unwrap();
        let info: String = c.get().unwrap().query(&cmd("INFO").arg("server")).unwrap();
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
                .unwrap()
        };
        let server = ServerProcess::listening_on(old.port).expect("the master's process");
        server.kill();
        restart = Some((server, field("config_file:")));
    });
    // Bring the old master back (it rejoins as a replica of the new one).
    let (server, conf) = restart.unwrap();
    server.start_again("redis-server", &[&conf]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let admin = sentinel_admin();
        let replicas = admin
            .get()
            .unwrap()
            .query_value(&cmd("SENTINEL").arg("REPLICAS").arg("pconn-master"))
            .unwrap();
        let flags: Vec<String> = replicas
            .into_items()
            .unwrap()
            .into_iter()
            .filter_map(|r| {
                let f = r.into_items()?;
                let at = f.iter().position(|v| v.as_bytes() == Some(&b"flags"[..]))?;
                Some(String::from_utf8_lossy(f.get(at + 1)?.as_bytes()?).into_owned())
            })
            .collect();
        let text = format!("{flags:?}");
        if flags.iter().any(|f| f == "slave") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "old master did not rejoin: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn switch_master_event_drops_the_old_master_without_a_failed_command() {
    let _g = FAILOVER.lock().unwrap_or_else(|p| p.into_inner());
    let c = SentinelClient::open(&url()).unwrap();
    let old = c.master_addr().unwrap(); // discovered; the watcher starts
    std::thread::sleep(Duration::from_millis(300));
    let _: () = sentinel_admin()
        .get()
        .unwrap()
        .query(&cmd("SENTINEL").arg("FAILOVER").arg("pconn-master"))
        .unwrap();
    let new = wait_new_master(&old);
    // No command went through `c`: only the +switch-master event can have
    // made it drop the old master.
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.master_addr().unwrap() != new {
        assert!(
            Instant::now() < deadline,
            "still on {old} after +switch-master"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
