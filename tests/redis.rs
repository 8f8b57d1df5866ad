//! redis-client against the real redis-server (plain 6379, TLS 6380, ACL
//! users) started by `scripts/servers.sh`, plus scripted hostile peers.
//!
//! Tests run in parallel threads against one server: every test uses its own
//! key prefix, client name and pool, and never kills connections it did not
//! open.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use integration_tests::{env_or, test_ca, unique};
use redis_client::{
    cmd, Client, ClientBuilder, Commands, Error, Limits, Pipeline, Protocol, Script,
    ServerErrorKind, Value,
};
use transport::{Discard, Pool, PoolConfig};

fn plain_url() -> String {
    env_or("PCONN_REDIS_URL", "redis://127.0.0.1:6379")
}

fn tls_url() -> String {
    env_or("PCONN_REDIS_TLS_URL", "rediss://localhost:6380")
}

/// A builder for the plain server.
fn plain() -> ClientBuilder {
    Client::builder()
        .url(&plain_url())
        .expect("PCONN_REDIS_URL")
}

/// A builder for the TLS server, trusting the test CA.
fn tls() -> ClientBuilder {
    Client::builder()
        .url(&tls_url())
        .expect("PCONN_REDIS_TLS_URL")
        .ca_file(test_ca())
}

/// Both endpoints, for the acceptance tests that must hold on each.
fn endpoints() -> Vec<(&'static str, ClientBuilder)> {
    vec![("plain", plain()), ("tls", tls())]
}

/// One connection at most: the next borrower gets the same one back, so
/// what it sees is exactly what the previous borrower left.
fn single(b: ClientBuilder) -> ClientBuilder {
    b.pool_config(PoolConfig {
        max_open: 1,
        ..PoolConfig::default()
    })
}

/// A client for side work (publishing, killing, watching the server).
fn admin() -> Client {
    plain().build().expect("admin client")
}

fn client_id(conn: &mut redis_client::Connection) -> i64 {
    conn.query(&cmd("CLIENT").arg("ID")).expect("CLIENT ID")
}

fn client_info(conn: &mut redis_client::Connection) -> String {
    conn.query(&cmd("CLIENT").arg("INFO")).expect("CLIENT INFO")
}

// ---------------------------------------------------------------------------
// everyday commands, both protocols, both endpoints
// ---------------------------------------------------------------------------

#[test]
fn everyday_commands_resp2_and_resp3_plain_and_tls() {
    for (name, builder) in endpoints() {
        for protocol in [Protocol::Resp2, Protocol::Resp3] {
            let k = unique(&format!("everyday-{name}"));
            let client = builder.clone().protocol(protocol).build().unwrap();
            let mut c = client.get().unwrap();
            assert_eq!(c.session().protocol(), protocol, "{name}");
            assert!(c.session().has_reset(), "redis 7 has RESET");
            if name == "tls" {
                assert!(c.transport().is_tls());
            }
            let binary = b"a\r\n\0\xffz".to_vec();
            c.set(format!("{k}:s"), &binary).unwrap();
            let back: Vec<u8> = c.get(format!("{k}:s")).unwrap();
            assert_eq!(back, binary);
            let missing: Option<String> = c.get(format!("{k}:missing")).unwrap();
            assert_eq!(missing, None);
            assert_eq!(c.incr(format!("{k}:n")).unwrap(), 1);
            assert_eq!(c.incr_by(format!("{k}:n"), 41).unwrap(), 42);
            assert_eq!(c.decr(format!("{k}:n")).unwrap(), 41);
            assert!(c.expire(format!("{k}:n"), 100).unwrap());
            let ttl = c.ttl(format!("{k}:n")).unwrap();
            assert!((1..=100).contains(&ttl), "{ttl}");
            c.hset(format!("{k}:h"), "f1", "v1").unwrap();
            c.hset(format!("{k}:h"), "f2", 2).unwrap();
            let h: HashMap<String, String> = c.hgetall(format!("{k}:h")).unwrap();
            assert_eq!(h.len(), 2);
            assert_eq!(h["f2"], "2");
            let raw = c
                .query_value(&cmd("HGETALL").arg(format!("{k}:h")))
                .unwrap();
            match protocol {
                Protocol::Resp3 => {
                    assert!(matches!(raw, Value::Map(ref m) if m.len() == 2), "{raw:?}")
                }
                Protocol::Resp2 => assert!(
                    matches!(raw, Value::Array(ref a) if a.len() == 4),
                    "{raw:?}"
                ),
            }
            assert_eq!(c.rpush(format!("{k}:l"), &["a", "b", "c"]).unwrap(), 3);
            let l: Vec<String> = c.lrange(format!("{k}:l"), 0, -1).unwrap();
            assert_eq!(l, ["a", "b", "c"]);
            assert_eq!(c.lpop::<_, String>(format!("{k}:l")).unwrap(), "a");
            assert_eq!(c.sadd(format!("{k}:set"), &["x", "y", "x"]).unwrap(), 2);
            assert!(c.sismember(format!("{k}:set"), "y").unwrap());
            c.zadd(format!("{k}:z"), 1.5, "m1").unwrap();
            c.zadd(format!("{k}:z"), 0.5, "m0").unwrap();
            assert_eq!(c.zscore(format!("{k}:z"), "m1").unwrap(), Some(1.5));
            let z: Vec<(String, f64)> = c.zrange_withscores(format!("{k}:z"), 0, -1).unwrap();
            assert_eq!(z, [("m0".to_string(), 0.5), ("m1".to_string(), 1.5)]);
            let m: Vec<Option<String>> = c.mget(&[format!("{k}:n"), format!("{k}:none")]).unwrap();
            assert_eq!(m, [Some("41".to_string()), None]);
            // Server errors are typed replies, and the connection stays.
            let err = c
                .query_value(&cmd("INCR").arg(format!("{k}:h")))
                .unwrap_err();
            assert_eq!(
                err.server_error().unwrap().kind(),
                ServerErrorKind::WrongType
            );
            let err = c.query_value(&cmd("NOSUCHCOMMAND")).unwrap_err();
            assert_eq!(err.server_error().unwrap().code(), "ERR");
            assert_eq!(c.ping().unwrap(), "PONG");
            assert_eq!(
                c.del(&[
                    format!("{k}:s"),
                    format!("{k}:n"),
                    format!("{k}:h"),
                    format!("{k}:l"),
                    format!("{k}:set"),
                    format!("{k}:z")
                ])
                .unwrap(),
                6
            );
            drop(c);
            let stats = client.stats();
            assert_eq!((stats.opened, stats.discarded_total()), (1, 0), "{name}");
        }
    }
}

// ---------------------------------------------------------------------------
// the PHP failures: state left by one borrower must not reach the next
// ---------------------------------------------------------------------------

#[test]
fn abandoned_multi_is_discarded_also_on_panic() {
    for (name, builder) in endpoints() {
        let k = unique(&format!("multi-{name}"));
        let client = single(builder).build().unwrap();
        let id = {
            let mut c = client.get().unwrap();
            let id = client_id(&mut c);
            c.query::<()>(&cmd("MULTI")).unwrap();
            let queued = c.query_value(&cmd("SET").arg(&k).arg("abandoned")).unwrap();
            assert_eq!(queued, Value::Simple("QUEUED".into()));
            id
            // dropped with MULTI open
        };
        let mut c = client.get().unwrap();
        assert!(c.is_reused(), "{name}: reset, not closed");
        assert_eq!(client_id(&mut c), id, "{name}: the same connection");
        let reply = c
            .query_value(&cmd("SET").arg(format!("{k}:next")).arg("v"))
            .unwrap();
        assert_eq!(
            reply,
            Value::Simple("OK".into()),
            "{name}: executed at once, not QUEUED"
        );
        assert_eq!(
            c.get::<_, Option<String>>(&k).unwrap(),
            None,
            "{name}: abandoned SET never ran"
        );
        drop(c);

        // The same when the borrower panics with MULTI open.
        let c2 = client.clone();
        let k2 = k.clone();
        let panicked = std::thread::spawn(move || {
            let mut c = c2.get().unwrap();
            c.query::<()>(&cmd("MULTI")).unwrap();
            c.query_value(&cmd("SET").arg(&k2).arg("from-panic"))
                .unwrap();
            panic!("borrower dies with MULTI open");
        })
        .join();
        assert!(panicked.is_err());
        let mut c = client.get().unwrap();
        let reply = c
            .query_value(&cmd("SET").arg(format!("{k}:after")).arg("v"))
            .unwrap();
        assert_eq!(reply, Value::Simple("OK".into()), "{name}");
        assert_eq!(
            c.get::<_, Option<String>>(&k).unwrap(),
            None,
            "{name}: nothing from the panicked MULTI ran"
        );
        c.del(&[format!("{k}:next"), format!("{k}:after")]).unwrap();
    }
}

#[test]
fn abandoned_watch_does_not_abort_the_next_transaction() {
    for (name, builder) in endpoints() {
        let k = unique(&format!("watch-{name}"));
        let client = single(builder).build().unwrap();
        let id = {
            let mut c = client.get().unwrap();
            c.query::<()>(&cmd("WATCH").arg(&k)).unwrap();
            client_id(&mut c)
        };
        // Someone changes the watched key after the borrower left.
        admin().get().unwrap().set(&k, "changed").unwrap();
        let mut c = client.get().unwrap();
        assert_eq!(client_id(&mut c), id);
        let mut p = Pipeline::new();
        p.add(cmd("SET").arg(&k).arg("mine"));
        let done = c.transaction(&p).unwrap();
        assert!(
            done.is_some(),
            "{name}: the old WATCH aborted the next borrower's EXEC"
        );
        assert_eq!(c.get::<_, String>(&k).unwrap(), "mine");
        c.del(&[&k]).unwrap();
    }
}

#[test]
fn select_is_restored_to_the_configured_db() {
    for (name, builder) in endpoints() {
        for configured in [0i64, 2] {
            let k = unique(&format!("select-{name}"));
            let client = single(builder.clone().db(configured)).build().unwrap();
            let id = {
                let mut c = client.get().unwrap();
                assert!(client_info(&mut c).contains(&format!(" db={configured} ")));
                c.query::<()>(&cmd("SELECT").arg(7)).unwrap();
                c.set(&k, "in-db-7").unwrap();
                client_id(&mut c)
            };
            let mut c = client.get().unwrap();
            assert_eq!(client_id(&mut c), id);
            let info = client_info(&mut c);
            assert!(
                info.contains(&format!(" db={configured} ")),
                "{name}: {info}"
            );
            assert_eq!(c.get::<_, Option<String>>(&k).unwrap(), None);
            c.query::<()>(&cmd("SELECT").arg(7)).unwrap();
            c.del(&[&k]).unwrap();
        }
    }
}

#[test]
fn client_setname_is_restored() {
    for (name, builder) in endpoints() {
        let configured = unique("pconn-name");
        let named = single(builder.clone().client_name(&configured))
            .build()
            .unwrap();
        {
            let mut c = named.get().unwrap();
            let got: String = c.query(&cmd("CLIENT").arg("GETNAME")).unwrap();
            assert_eq!(got, configured);
            c.query::<()>(&cmd("CLIENT").arg("SETNAME").arg("borrower-name"))
                .unwrap();
        }
        let mut c = named.get().unwrap();
        assert!(c.is_reused());
        let got: String = c.query(&cmd("CLIENT").arg("GETNAME")).unwrap();
        assert_eq!(got, configured, "{name}");
        drop(c);

        let anonymous = single(builder).build().unwrap();
        {
            let mut c = anonymous.get().unwrap();
            c.query::<()>(&cmd("CLIENT").arg("SETNAME").arg("borrower-name"))
                .unwrap();
        }
        let mut c = anonymous.get().unwrap();
        assert!(c.is_reused());
        let got: Option<String> = c.query(&cmd("CLIENT").arg("GETNAME")).unwrap();
        assert_eq!(got, None, "{name}");
    }
}

#[test]
fn subscriptions_are_dropped_on_release() {
    for (name, builder) in endpoints() {
        for protocol in [Protocol::Resp2, Protocol::Resp3] {
            let ch = unique(&format!("chan-{name}"));
            let client = single(builder.clone().protocol(protocol)).build().unwrap();
            let id = {
                let mut c = client.get().unwrap();
                let id = client_id(&mut c);
                c.subscribe(&[&ch]).unwrap();
                c.psubscribe(&[format!("{ch}*")]).unwrap();
                assert_eq!(c.session().state().subscriptions(), 2);
                id
            };
            let mut admin_conn = admin().get().unwrap();
            let receivers: u64 = admin_conn.publish(&ch, "after release").unwrap();
            assert_eq!(
                receivers, 0,
                "{name} {protocol:?}: still subscribed after release"
            );
            let mut c = client.get().unwrap();
            assert_eq!(client_id(&mut c), id);
            assert!(c.receive(Duration::from_millis(50)).unwrap().is_none());
            c.set(format!("{ch}:k"), "v").unwrap();
            assert_eq!(c.get::<_, String>(format!("{ch}:k")).unwrap(), "v");
            c.del(&[format!("{ch}:k")]).unwrap();
        }
    }
}

#[test]
fn pubsub_receive_with_timeout_keeps_the_connection() {
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let ch = unique("pubsub");
        let client = plain().protocol(protocol).build().unwrap();
        let mut sub = client.get().unwrap();
        sub.subscribe(&[&ch]).unwrap();
        sub.psubscribe(&[format!("{ch}.*")]).unwrap();
        assert!(
            sub.receive(Duration::from_millis(30)).unwrap().is_none(),
            "nothing published yet"
        );
        let mut publisher = admin().get().unwrap();
        assert_eq!(publisher.publish(&ch, "one").unwrap(), 1);
        assert_eq!(publisher.publish(format!("{ch}.x"), "two").unwrap(), 1);
        let m1 = sub
            .receive(Duration::from_secs(5))
            .unwrap()
            .expect("message");
        assert_eq!(
            (m1.channel.clone(), m1.payload_str()),
            (ch.clone().into_bytes(), "one".to_string())
        );
        let m2 = sub
            .receive(Duration::from_secs(5))
            .unwrap()
            .expect("pmessage");
        assert_eq!(m2.pattern, Some(format!("{ch}.*").into_bytes()));
        assert_eq!(m2.payload_str(), "two");
        sub.unsubscribe::<&str>(&[]).unwrap();
        sub.punsubscribe::<&str>(&[]).unwrap();
        assert_eq!(sub.session().state().subscriptions(), 0);
        // Back to request/reply, on the same connection.
        assert_eq!(sub.ping().unwrap(), "PONG");
        drop(sub);
        assert_eq!(client.stats().discarded_total(), 0, "{protocol:?}");
    }
}

#[test]
fn client_tracking_is_turned_off_and_pushes_do_not_disturb_replies() {
    let k = unique("tracking");
    let client = single(plain().protocol(Protocol::Resp3)).build().unwrap();
    let id = {
        let mut c = client.get().unwrap();
        c.set(&k, "v1").unwrap();
        c.query::<()>(&cmd("CLIENT").arg("TRACKING").arg("ON"))
            .unwrap();
        assert_eq!(c.get::<_, String>(&k).unwrap(), "v1");
        // Invalidation pushes arrive between replies; every reply still
        // pairs with its own command.
        admin().get().unwrap().set(&k, "v2").unwrap();
        for i in 0..200 {
            let echoed: String = c.echo(format!("e{i}")).unwrap();
            assert_eq!(echoed, format!("e{i}"));
        }
        assert_eq!(c.get::<_, String>(&k).unwrap(), "v2");
        let push = c
            .receive_value(Duration::from_secs(5))
            .unwrap()
            .expect("an invalidation push");
        assert!(
            matches!(push, Value::Push(ref items) if items[0].as_bytes() == Some(b"invalidate")),
            "{push:?}"
        );
        client_id(&mut c)
    };
    let mut c = client.get().unwrap();
    assert_eq!(client_id(&mut c), id);
    let info: Value = c.query(&cmd("CLIENT").arg("TRACKINGINFO")).unwrap();
    let flags = format!("{info:?}");
    assert!(
        flags.contains("\"off\"") || flags.contains("[111, 102, 102]"),
        "{flags}"
    );
    c.del(&[&k]).unwrap();
}

#[test]
fn reply_off_and_monitor_close_the_connection() {
    let client = single(plain()).build().unwrap();
    {
        let mut c = client.get().unwrap();
        c.query::<Value>(&cmd("CLIENT").arg("REPLY").arg("OFF"))
            .unwrap();
        let refused = c.query::<Value>(&cmd("PING")).unwrap_err();
        assert!(refused.is_broken(), "{refused:?}");
    }
    {
        let mut c = client.get().unwrap();
        assert!(!c.is_reused(), "REPLY OFF connection must not come back");
        c.query::<()>(&cmd("MONITOR")).unwrap();
        let refused = c.ping().unwrap_err();
        assert!(refused.is_broken(), "{refused:?}");
    }
    let mut c = client.get().unwrap();
    assert!(!c.is_reused(), "MONITOR connection must not come back");
    assert_eq!(c.ping().unwrap(), "PONG");
    drop(c);
    assert_eq!(client.stats().discarded(Discard::Broken), 2);
}

// ---------------------------------------------------------------------------
// replies owed
// ---------------------------------------------------------------------------

#[test]
fn a_reply_owed_after_a_timeout_never_reaches_a_later_command() {
    for (name, builder) in endpoints() {
        let k = unique(&format!("owed-{name}"));
        let client = builder
            .read_timeout(Some(Duration::from_millis(150)))
            .pool_config(PoolConfig {
                max_open: 2,
                ..PoolConfig::default()
            })
            .build()
            .unwrap();
        {
            let mut c = client.get().unwrap();
            // The server answers BLPOP (nil) after 1 s, long after our read gave up.
            let err = c.query_value(&cmd("BLPOP").arg(&k).arg(1)).unwrap_err();
            assert!(err.is_timeout(), "{name}: {err}");
        }
        {
            let mut c = client.get().unwrap();
            let err = c
                .query_value(&cmd("DEBUG").arg("SLEEP").arg("0.4"))
                .unwrap_err();
            assert!(err.is_timeout(), "{name}: {err}");
        }
        // DEBUG SLEEP blocks the whole server: let it finish before the
        // next handshake, which has the same short read timeout.
        std::thread::sleep(Duration::from_millis(600));
        {
            // A pipeline read halfway: the first reply arrives, the rest is owed.
            let mut c = client.get().unwrap();
            let mut p = Pipeline::new();
            p.add(cmd("ECHO").arg("first"))
                .add(cmd("DEBUG").arg("SLEEP").arg("0.3"))
                .add(cmd("ECHO").arg("owed"));
            let err = c.pipeline(&p).unwrap_err();
            assert!(err.is_timeout(), "{name}: {err}");
        }
        assert_eq!(client.stats().discarded(Discard::Timeout), 3, "{name}");
        // Give the owed replies time to arrive where they would do harm.
        std::thread::sleep(Duration::from_millis(1200));
        let mut pool_client = client.clone();
        for i in 0..300 {
            let want = format!("{k}-{i}");
            let got: String = pool_client.echo(&want).unwrap();
            assert_eq!(got, want, "{name}");
            if i % 3 == 0 {
                let mut c = client.get().unwrap();
                let mut p = Pipeline::new();
                p.add(cmd("ECHO").arg(format!("{want}a")))
                    .add(cmd("ECHO").arg(format!("{want}b")));
                let r = c.pipeline(&p).unwrap();
                assert_eq!(
                    r[0].as_ref().unwrap().as_bytes(),
                    Some(format!("{want}a").as_bytes())
                );
                assert_eq!(
                    r[1].as_ref().unwrap().as_bytes(),
                    Some(format!("{want}b").as_bytes())
                );
            }
        }
    }
}

/// Issue 11 §1, exactly as a new user tried it: BLPOP's late reply must
/// not become ECHO's.
#[test]
fn a_late_reply_never_answers_the_next_command_of_the_same_borrow() {
    let client = plain().build().unwrap();
    let k = unique("late-blpop");
    {
        let mut c = client.get().unwrap();
        // The figures were 2 ms / 0.05 s / 60 ms; BLPOP waits 0.5 s
        // here so that a loaded machine, which may not run this thread for
        // 50 ms, still sees the read time out before the reply comes.
        c.set_read_timeout(Some(Duration::from_millis(2)));
        let err = c.query_value(&cmd("BLPOP").arg(&k).arg("0.5")).unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        std::thread::sleep(Duration::from_millis(600));
        c.set_read_timeout(Some(Duration::from_secs(1)));
        let err = c.query_value(&cmd("ECHO").arg("mine")).unwrap_err();
        assert!(
            err.is_broken(),
            "ECHO got {err:?}, not a broken-connection error"
        );
        assert!(!err.is_retryable(), "{err:?}");
        // Every way of using the borrow refuses, and nothing is guessed.
        let mut p = Pipeline::new();
        p.add(cmd("ECHO").arg("a"));
        assert!(c.pipeline(&p).unwrap_err().is_broken());
        assert!(c.transaction(&p).unwrap_err().is_broken());
        assert!(c.subscribe(&["ch"]).unwrap_err().is_broken());
        assert!(c
            .receive_value(Duration::from_millis(50))
            .unwrap_err()
            .is_broken());
        assert!(c.get::<_, Option<String>>(&k).unwrap_err().is_broken());
    }
    // The next checkout gets a fresh, working connection.
    let mut c = client.get().unwrap();
    assert!(!c.is_reused());
    assert_eq!(c.echo::<_, String>("mine").unwrap(), "mine");
    drop(c);
    let s = client.stats();
    assert_eq!(s.discarded_total(), 1, "{}", s.to_json());
}

#[test]
fn a_pipeline_read_halfway_refuses_the_next_command() {
    let client = plain().build().unwrap();
    let k = unique("halfway");
    {
        let mut c = client.get().unwrap();
        c.set_read_timeout(Some(Duration::from_millis(2)));
        let mut p = Pipeline::new();
        // 0.5 s, as in the test above: a loaded machine may not run this
        // thread for 50 ms, and the read must time out before BLPOP answers.
        p.add(cmd("ECHO").arg("first"))
            .add(cmd("BLPOP").arg(&k).arg("0.5"))
            .add(cmd("ECHO").arg("owed"));
        let err = c.pipeline(&p).unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        std::thread::sleep(Duration::from_millis(600));
        c.set_read_timeout(Some(Duration::from_secs(1)));
        let err = c.query_value(&cmd("ECHO").arg("mine")).unwrap_err();
        assert!(err.is_broken(), "{err:?}");
        let err = c.pipeline(&p).unwrap_err();
        assert!(err.is_broken(), "{err:?}");
    }
    let mut c = client.get().unwrap();
    assert!(!c.is_reused());
    assert_eq!(c.echo::<_, String>("mine").unwrap(), "mine");
}

#[test]
fn a_protocol_error_refuses_the_next_command_without_sending_it() {
    // A reply the decoder refuses, and a subscription answered with
    // something that is not a confirmation (the confirmations still owed
    // would answer later commands).
    for (what, reply) in [
        ("garbage", b"?garbage\r\n+OK\r\n".to_vec()),
        ("not a confirmation", b":1\r\n+OK\r\n".to_vec()),
    ] {
        let (port, server) = hostile(reply);
        let client = Client::builder()
            .address("127.0.0.1", port)
            .read_timeout(Some(Duration::from_secs(10)))
            .build()
            .unwrap();
        let mut c = client.get().unwrap();
        let err = if what == "garbage" {
            c.query_value(&cmd("GET").arg("k")).unwrap_err()
        } else {
            c.subscribe(&["ch"]).unwrap_err()
        };
        assert!(matches!(err, Error::Protocol(_)), "{what}: {err:?}");
        let err = c.query_value(&cmd("PING")).unwrap_err();
        assert!(err.is_broken(), "{what}: {err:?}");
        drop(c);
        assert_eq!(client.stats().discarded_total(), 1, "{what}");
        // Nothing after the first command reached the server.
        assert_eq!(server.join().unwrap(), 0, "{what}");
    }
}

// ---------------------------------------------------------------------------
// identity
// ---------------------------------------------------------------------------

#[test]
fn acl_users_never_share_connections() {
    let shared: Pool<redis_client::Session> = Pool::new(PoolConfig::default()).unwrap();
    let make = |user: Option<(&str, &str)>, b: ClientBuilder| {
        let b = b.pool(shared.clone());
        match user {
            Some((u, p)) => b.credentials(Some(u), p).build().unwrap(),
            None => b.build().unwrap(),
        }
    };
    for (name, builder) in endpoints() {
        let clients = [
            (
                "pconn-a",
                make(Some(("pconn-a", "secret-a")), builder.clone()),
            ),
            (
                "pconn-b",
                make(Some(("pconn-b", "secret-b")), builder.clone()),
            ),
            (
                "pconn-ro",
                make(Some(("pconn-ro", "secret-ro")), builder.clone()),
            ),
            ("default", make(None, builder.clone())),
        ];
        for round in 0..10 {
            for (user, client) in &clients {
                let mut c = client.get().unwrap();
                let who: String = c.query(&cmd("ACL").arg("WHOAMI")).unwrap();
                assert_eq!(&who, user, "{name} round {round}");
                // A borrower that changes state forces RESET + handshake:
                // the next borrower must still be the same user.
                if round % 2 == 0 {
                    c.query::<()>(&cmd("SELECT").arg(3)).unwrap();
                }
            }
        }
        for (user, client) in &clients {
            let s = client.stats();
            assert_eq!(s.opened, 1, "{name} {user}: one connection per identity");
            assert_eq!(s.reused, 9, "{name} {user}");
        }
        // The read-only user really is restricted on its reused connection.
        let mut ro = clients[2].1.get().unwrap();
        let denied = ro.set(unique("ro"), "x").unwrap_err();
        assert_eq!(
            denied.server_error().unwrap().kind(),
            ServerErrorKind::NoPerm
        );
    }
}

#[test]
fn wrong_password_is_a_server_error_at_checkout() {
    let client = plain()
        .credentials(Some("pconn-a"), "wrong")
        .build()
        .unwrap();
    let err = client.get().unwrap_err();
    let e = err.server_error().expect("server error");
    assert_eq!(e.kind(), ServerErrorKind::WrongPass, "{e}");
    assert_eq!(client.stats().open_now, 0);
}

#[test]
fn persistent_id_shares_the_process_wide_pool() {
    let id = unique("pid");
    let a = plain().persistent_id(&id).build().unwrap();
    let b = plain().persistent_id(&id).build().unwrap();
    a.get().unwrap().ping().unwrap();
    let mut c = b.get().unwrap();
    assert!(c.is_reused(), "same id, same identity: the pconnect model");
    c.ping().unwrap();
    drop(c);
    let other = plain().persistent_id(&unique("pid")).build().unwrap();
    assert!(!other.get().unwrap().is_reused());
}

// ---------------------------------------------------------------------------
// liveness, limits
// ---------------------------------------------------------------------------

#[test]
fn connections_killed_by_the_server_are_replaced_silently() {
    for (name, builder) in endpoints() {
        let k = unique(&format!("killed-{name}"));
        let client = builder.build().unwrap();
        let ids: Vec<i64> = {
            let mut held: Vec<_> = (0..3).map(|_| client.get().unwrap()).collect();
            held.iter_mut().map(client_id).collect()
        };
        let mut admin_conn = admin().get().unwrap();
        for id in &ids {
            let killed: i64 = admin_conn
                .query(&cmd("CLIENT").arg("KILL").arg("ID").arg(*id))
                .unwrap();
            assert_eq!(killed, 1);
        }
        // A write: it must not need the retry rule, the probe catches it.
        let mut c = client.get().unwrap();
        c.set(&k, "after-kill").unwrap();
        assert!(!ids.contains(&client_id(&mut c)));
        c.del(&[&k]).unwrap();
        drop(c);
        let s = client.stats();
        assert_eq!(s.probe_failures(), 3, "{name}: {}", s.to_json());
    }
}

#[test]
fn idle_check_pings_before_reuse() {
    let client = plain().idle_check(Some(Duration::ZERO)).build().unwrap();
    for _ in 0..5 {
        assert_eq!(client.get().unwrap().ping().unwrap(), "PONG");
    }
    let s = client.stats();
    assert_eq!((s.opened, s.reused, s.discarded_total()), (1, 4, 0));
}

#[test]
fn max_open_is_honoured_as_the_server_sees_it_with_32_threads() {
    let name = unique("pconn-maxopen");
    let k = unique("maxopen");
    let client = plain()
        .client_name(&name)
        .pool_config(PoolConfig {
            max_open: 4,
            ..PoolConfig::default()
        })
        .build()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let done = Arc::clone(&done);
        let peak = Arc::clone(&peak);
        let name = name.clone();
        std::thread::spawn(move || {
            let mut a = admin().get().unwrap();
            while !done.load(Ordering::Relaxed) {
                let list: String = a.query(&cmd("CLIENT").arg("LIST")).unwrap();
                let n = list
                    .lines()
                    .filter(|l| l.contains(&format!(" name={name} ")))
                    .count();
                peak.fetch_max(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let client = client.clone();
            let k = k.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let mut c = client.get().unwrap();
                    c.incr(&k).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    let mut c = client.get().unwrap();
    assert_eq!(c.get::<_, i64>(&k).unwrap(), 32 * 50);
    let list: String = c.query(&cmd("CLIENT").arg("LIST")).unwrap();
    let now = list
        .lines()
        .filter(|l| l.contains(&format!(" name={name} ")))
        .count();
    c.del(&[&k]).unwrap();
    let peak = peak.load(Ordering::Relaxed);
    assert!((1..=4).contains(&peak), "server saw {peak} connections");
    assert!(now <= 4);
    let s = client.stats();
    assert!(s.opened <= 4 && s.waits > 0, "{}", s.to_json());
}

#[test]
fn a_pipeline_of_10000_returns_10000_results_in_order() {
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let k = unique("pipe");
        let client = plain().protocol(protocol).build().unwrap();
        let mut c = client.get().unwrap();
        if protocol == Protocol::Resp3 {
            // Invalidation pushes will arrive in the middle of the replies.
            c.query::<()>(&cmd("CLIENT").arg("TRACKING").arg("ON"))
                .unwrap();
            c.set(format!("{k}:t"), 0).unwrap();
            c.get::<_, i64>(format!("{k}:t")).unwrap();
        }
        let mut p = Pipeline::new();
        for i in 0..10_000 {
            match i % 4 {
                0 => p.add(cmd("SET").arg(format!("{k}:{i}")).arg(i)),
                1 => p.add(cmd("ECHO").arg(format!("echo-{i}"))),
                2 => p.add(cmd("INCR").arg(format!("{k}:n"))),
                _ => p.add(cmd("HGET").arg(format!("{k}:0")).arg("f")), // WRONGTYPE
            };
            if i == 5000 && protocol == Protocol::Resp3 {
                p.add(cmd("SET").arg(format!("{k}:t")).arg(1)); // invalidates our own tracked key
            }
        }
        let results = c.pipeline(&p).unwrap();
        assert_eq!(results.len(), p.len());
        let mut incr = 0;
        // Check the pattern, skipping the inserted SET.
        let mut idx = 0;
        for i in 0..10_000 {
            let r = &results[idx];
            idx += 1;
            match i % 4 {
                0 => assert!(r.as_ref().unwrap().is_ok(), "{i}"),
                1 => assert_eq!(
                    r.as_ref().unwrap().as_bytes(),
                    Some(format!("echo-{i}").as_bytes())
                ),
                2 => {
                    incr += 1;
                    assert_eq!(r.as_ref().unwrap(), &Value::Int(incr), "{i}");
                }
                _ => assert_eq!(
                    r.as_ref().unwrap_err().kind(),
                    ServerErrorKind::WrongType,
                    "{i}"
                ),
            }
            if i == 5000 && protocol == Protocol::Resp3 {
                assert!(results[idx].as_ref().unwrap().is_ok());
                idx += 1;
            }
        }
        if protocol == Protocol::Resp3 {
            let push = c
                .receive_value(Duration::from_secs(5))
                .unwrap()
                .expect("invalidation");
            assert!(matches!(push, Value::Push(_)));
        }
        let keys: Vec<String> = (0..10_000).step_by(4).map(|i| format!("{k}:{i}")).collect();
        c.del(&keys).unwrap();
        c.del(&[format!("{k}:n"), format!("{k}:t")]).unwrap();
    }
}

#[test]
fn watch_transaction_retries_on_conflict() {
    let k = unique("optimistic");
    let client = plain().build().unwrap();
    let mut c = client.get().unwrap();
    c.set(&k, 10).unwrap();
    let mut attempts = 0;
    let (set_reply, after): (String, i64) = c
        .watch_transaction(&[&k], |conn, pipe| {
            attempts += 1;
            let v: i64 = conn.get(&k)?;
            if attempts == 1 {
                // A concurrent writer between our read and our EXEC.
                admin().get()?.incr(&k)?;
            }
            pipe.add(cmd("SET").arg(&k).arg(v * 2))
                .add(cmd("GET").arg(&k));
            Ok(())
        })
        .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(set_reply, "OK");
    assert_eq!(after, 22);
    // A queuing error aborts the whole transaction.
    let mut p = Pipeline::new();
    p.add(cmd("SET").arg(&k).arg(1)).add(cmd("NOSUCHCMD"));
    let err = c.transaction(&p).unwrap_err();
    assert_eq!(
        err.server_error().unwrap().kind(),
        ServerErrorKind::ExecAbort
    );
    assert_eq!(c.get::<_, i64>(&k).unwrap(), 22);
    c.del(&[&k]).unwrap();
}

#[test]
fn scan_iterators_and_scripts() {
    let k = unique("scan");
    let client = plain().build().unwrap();
    let mut c = client.get().unwrap();
    for i in 0..120 {
        c.set(format!("{k}:{i}"), i).unwrap();
        c.hset(format!("{k}-hash"), format!("f{i}"), i).unwrap();
    }
    let mut keys: Vec<String> = c
        .scan()
        .matching(format!("{k}:*"))
        .count(50)
        .collect::<Result<_, _>>()
        .unwrap();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 120);
    let fields: Vec<(String, i64)> = c
        .hscan(format!("{k}-hash"))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(fields.len(), 120);
    assert_eq!(fields.iter().map(|(_, v)| v).sum::<i64>(), (0..120).sum());

    let script = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    assert_eq!(
        script
            .invoke::<i64, _, _>(&mut c, &[format!("{k}:0")], &[5])
            .unwrap(),
        5
    );
    // The server forgets the script: NOSCRIPT falls back to EVAL.
    c.query::<()>(&cmd("SCRIPT").arg("FLUSH")).unwrap();
    assert_eq!(
        script
            .invoke::<i64, _, _>(&mut c, &[format!("{k}:0")], &[5])
            .unwrap(),
        10
    );
    keys.push(format!("{k}-hash"));
    c.del(&keys).unwrap();
}

// ---------------------------------------------------------------------------
// hostile peers and bad input
// ---------------------------------------------------------------------------

/// A scripted broken server: answers the handshake as a server without
/// HELLO would, then answers the first command with `reply` and closes.
fn hostile(reply: Vec<u8>) -> (u16, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = sock.read(&mut buf).unwrap();
        assert!(buf[..n].windows(5).any(|w| w == b"HELLO"));
        sock.write_all(b"-ERR unknown command 'HELLO'\r\n").unwrap();
        let _ = sock.read(&mut buf).unwrap();
        let _ = sock.write_all(&reply);
        let _ = sock.shutdown(std::net::Shutdown::Write);
        // Wait for the client to hang up; count what else it sends.
        let mut rest = 0;
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        while let Ok(n) = sock.read(&mut buf) {
            if n == 0 {
                break;
            }
            rest += n;
        }
        rest
    });
    (port, handle)
}

#[test]
fn hostile_peers_get_clear_errors_and_a_closed_connection() {
    let limits = Limits {
        max_bulk_len: 1024,
        max_aggregate_len: 1000,
        max_depth: 8,
        max_reply_bytes: 64 * 1024,
        ..Limits::default()
    };
    let mut huge_line = b"+".to_vec();
    huge_line.extend(std::iter::repeat_n(b'a', 200_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("oversize bulk", b"$999999999999\r\n".to_vec()),
        ("oversize aggregate", b"*999999999\r\n".to_vec()),
        ("deep nesting", b"*1\r\n".repeat(10_000)),
        ("garbage type byte", b"?garbage\r\n".to_vec()),
        ("endless line", huge_line),
        ("closed mid-frame", b"$10\r\nabc".to_vec()),
        ("bad length", b"$12x\r\n".to_vec()),
    ];
    for (what, reply) in cases {
        let (port, server) = hostile(reply);
        let client = Client::builder()
            .address("127.0.0.1", port)
            .limits(limits)
            .read_timeout(Some(Duration::from_secs(10)))
            .build()
            .unwrap();
        let mut c = client.get().unwrap();
        let err = c.query_value(&cmd("GET").arg("k")).unwrap_err();
        match what {
            "closed mid-frame" => assert!(
                matches!(
                    err,
                    Error::Transport(transport::Error::Closed { mid_frame: true })
                ),
                "{what}: {err}"
            ),
            _ => assert!(matches!(err, Error::Protocol(_)), "{what}: {err:?}"),
        }
        assert!(!err.to_string().is_empty());
        drop(c);
        let s = client.stats();
        assert_eq!(
            (s.open_now, s.discarded_total()),
            (0, 1),
            "{what}: {}",
            s.to_json()
        );
        // The client hung up without another word (no QUIT on a broken connection).
        assert_eq!(server.join().unwrap(), 0, "{what}");
    }
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    for (url, needle) in [
        ("not a url", "invalid URL"),
        ("http://127.0.0.1:6379", "unknown scheme"),
        ("redis://127.0.0.1:6379/99", "out of range"),
        ("redis://127.0.0.1:6379/-1", "out of range"),
        ("redis://127.0.0.1:6379/x", "not a number"),
        ("redis://127.0.0.1:6379?protocol=9", "protocol"),
    ] {
        let err = Client::open(url).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{url}: {err:?}");
        assert!(err.to_string().contains(needle), "{url}: {err}");
    }
    // A listener that must never see a byte.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let err = Client::open(&format!("redis://127.0.0.1:{port}/16")).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)));
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.accept().is_err(),
        "nothing may connect for a bad URL"
    );

    // Empty commands on a live connection: refused, connection unharmed.
    let client = plain().build().unwrap();
    let mut c = client.get().unwrap();
    let err = c.query_value(&redis_client::Cmd::new()).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let err = c.query_value(&cmd("")).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let mut p = Pipeline::new();
    p.add(cmd("PING")).add(redis_client::Cmd::new());
    assert!(matches!(c.pipeline(&p), Err(Error::InvalidInput(_))));
    assert!(matches!(
        c.subscribe::<&str>(&[]),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(c.ping().unwrap(), "PONG");
    drop(c);
    let s = client.stats();
    assert_eq!((s.opened, s.discarded_total()), (1, 0));
}

#[test]
fn through_the_proxy_option() {
    let proxy = env_or("PCONN_PROXY_URL", "http://127.0.0.1:3128");
    for (name, builder) in endpoints() {
        let client = builder.proxy(&proxy).unwrap().build().unwrap();
        assert!(client.key().to_string().contains(" via "), "{name}");
        for _ in 0..5 {
            let mut c = client.get().unwrap();
            let who: String = c.query(&cmd("ACL").arg("WHOAMI")).unwrap();
            assert_eq!(who, "default");
            // The state rules hold through the tunnel too.
            c.query::<()>(&cmd("SELECT").arg(4)).unwrap();
        }
        let s = client.stats();
        assert_eq!(
            (s.opened, s.reused, s.discarded_total()),
            (1, 4, 0),
            "{name}"
        );
    }
    let err = plain().proxy("ftp://nope").unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
}

/// A scripted server for the retry rule: its first connection answers one
/// command, then hangs up on the next one without a reply byte (the
/// failure of a reused connection the probe could not see yet); later
/// connections answer every command with `v2`. Returns what each connection
/// received after the handshake.
/// What a scripted server received: (connection number, bytes as text).
type Received = Arc<std::sync::Mutex<Vec<(usize, String)>>>;

fn hangs_up_on_reuse() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    std::thread::spawn(move || {
        for (n, sock) in listener.incoming().enumerate() {
            let Ok(mut sock) = sock else { return };
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let Ok(k) = sock.read(&mut buf) else { return };
                assert!(buf[..k].windows(5).any(|w| w == b"HELLO"));
                sock.write_all(b"-ERR unknown command 'HELLO'\r\n").unwrap();
                for i in 0.. {
                    let k = match sock.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(k) => k,
                    };
                    let text = String::from_utf8_lossy(&buf[..k]).into_owned();
                    seen.lock().unwrap().push((n, text));
                    if n == 0 && i == 1 {
                        return; // hang up, no reply byte
                    }
                    let reply: &[u8] = if n == 0 {
                        b"$2\r\nv1\r\n"
                    } else {
                        b"$2\r\nv2\r\n"
                    };
                    sock.write_all(reply).unwrap();
                }
            });
        }
    });
    (port, log)
}

#[test]
fn a_read_is_retried_once_on_a_fresh_connection_a_write_never() {
    let (port, log) = hangs_up_on_reuse();
    let client = Client::builder()
        .address("127.0.0.1", port)
        .build()
        .unwrap();
    assert_eq!(client.get().unwrap().get::<_, String>("k").unwrap(), "v1");
    let mut c = client.get().unwrap();
    assert!(c.is_reused());
    assert_eq!(
        c.get::<_, String>("k").unwrap(),
        "v2",
        "GET retried on a new connection"
    );
    drop(c);
    assert_eq!(client.stats().opened, 2);
    let gets = log
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, c)| c.contains("GET"))
        .count();
    assert_eq!(gets, 3);

    let (port, log) = hangs_up_on_reuse();
    let client = Client::builder()
        .address("127.0.0.1", port)
        .build()
        .unwrap();
    client
        .get()
        .unwrap()
        .query::<Value>(&cmd("SET").arg("k").arg("1"))
        .unwrap();
    let mut c = client.get().unwrap();
    assert!(c.is_reused());
    let err = c.query::<Value>(&cmd("SET").arg("k").arg("2")).unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.is_connection_lost()),
        "{err:?}"
    );
    drop(c);
    let sets: Vec<(usize, String)> = log.lock().unwrap().clone();
    assert_eq!(sets.len(), 2, "the write reached the server once: {sets:?}");
    assert!(
        sets.iter().all(|(conn, _)| *conn == 0),
        "never re-sent on a new connection"
    );
    assert_eq!(client.stats().opened, 1);
}

/// Splits complete RESP command arrays off `buf` (the scripted server's side).
fn take_commands(buf: &mut Vec<u8>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    loop {
        let text = buf.clone();
        let mut pos = 0;
        let line = |pos: &mut usize| -> Option<String> {
            let end = text[*pos..].windows(2).position(|w| w == b"\r\n")? + *pos;
            let l = String::from_utf8_lossy(&text[*pos..end]).into_owned();
            *pos = end + 2;
            Some(l)
        };
        let Some(head) = line(&mut pos) else {
            return out;
        };
        let n: usize = head.trim_start_matches('*').parse().unwrap();
        let mut parts = Vec::new();
        for _ in 0..n {
            let Some(len) = line(&mut pos) else {
                return out;
            };
            let len: usize = len.trim_start_matches('$').parse().unwrap();
            if text.len() < pos + len + 2 {
                return out;
            }
            parts.push(String::from_utf8_lossy(&text[pos..pos + len]).into_owned());
            pos += len + 2;
        }
        buf.drain(..pos);
        out.push(parts);
    }
}

/// A scripted server from before Redis 6: no HELLO, no RESET. Logs every
/// command it receives, per connection.
fn legacy_server() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log: Received = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    std::thread::spawn(move || {
        for (n, sock) in listener.incoming().enumerate() {
            let Ok(mut sock) = sock else { return };
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut pending = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let k = match sock.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(k) => k,
                    };
                    pending.extend_from_slice(&buf[..k]);
                    for parts in take_commands(&mut pending) {
                        seen.lock().unwrap().push((n, parts.join(" ")));
                        let reply: Vec<u8> = match parts[0].to_ascii_uppercase().as_str() {
                            "HELLO" | "RESET" => b"-ERR unknown command 'HELLO'\r\n".to_vec(),
                            "GET" => b"$-1\r\n".to_vec(),
                            "SUBSCRIBE" => format!(
                                "*3\r\n$9\r\nsubscribe\r\n${}\r\n{}\r\n:1\r\n",
                                parts[1].len(),
                                parts[1]
                            )
                            .into_bytes(),
                            "QUIT" => return,
                            _ => b"+OK\r\n".to_vec(),
                        };
                        sock.write_all(&reply).unwrap();
                    }
                }
            });
        }
    });
    (port, log)
}

#[test]
fn servers_without_hello_or_reset_get_auth_and_a_precise_undo() {
    let (port, log) = legacy_server();
    let client = Client::builder()
        .address("127.0.0.1", port)
        .protocol(Protocol::Resp3)
        .credentials(Some("u"), "p")
        .db(3)
        .client_name("legacy")
        .build()
        .unwrap();
    let mut c = client.get().unwrap();
    assert_eq!(
        c.session().protocol(),
        Protocol::Resp2,
        "RESP3 asked, RESP2 spoken"
    );
    assert!(!c.session().has_reset());
    let handshake: Vec<String> = log.lock().unwrap().iter().map(|(_, c)| c.clone()).collect();
    assert_eq!(
        handshake,
        [
            "HELLO 3 AUTH u p SETNAME legacy",
            "SELECT 3",
            "AUTH u p",
            "CLIENT SETNAME legacy",
            "SELECT 3"
        ]
    );
    log.lock().unwrap().clear();
    c.query::<()>(&cmd("SELECT").arg(5)).unwrap();
    c.query::<()>(&cmd("WATCH").arg("k")).unwrap();
    c.query::<()>(&cmd("CLIENT").arg("SETNAME").arg("other"))
        .unwrap();
    drop(c);
    let undo: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .skip(3)
        .map(|(_, c)| c.clone())
        .collect();
    assert_eq!(undo, ["UNWATCH", "SELECT 3", "CLIENT SETNAME legacy"]);
    let mut c = client.get().unwrap();
    assert!(c.is_reused());
    // Subscriptions cannot be undone precisely without RESET: closed.
    c.subscribe(&["ch"]).unwrap();
    drop(c);
    let s = client.stats();
    assert_eq!(
        (s.opened, s.discarded(Discard::MustClose)),
        (1, 1),
        "{}",
        s.to_json()
    );
    assert!(!log
        .lock()
        .unwrap()
        .iter()
        .any(|(_, c)| c.starts_with("RESET")));
}

#[test]
fn password_only_auth_logs_in_as_default() {
    // `default` is `nopass` here, so any password authenticates it: the
    // point is that a password without a user is sent as AUTH for `default`.
    let (host, port) = integration_tests::host_port(&plain_url(), 6379);
    let client = Client::open(&format!("redis://:any-password@{host}:{port}/1")).unwrap();
    let mut c = client.get().unwrap();
    let who: String = c.query(&cmd("ACL").arg("WHOAMI")).unwrap();
    assert_eq!(who, "default");
    assert!(client_info(&mut c).contains(" db=1 "));
    // A user without a password is refused before connecting.
    let err = Client::builder()
        .url(&format!("redis://someone@{host}:{port}"))
        .unwrap()
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
}
// ---------------------------------------------------------------------------
// Unix domain socket (issue 15)
// ---------------------------------------------------------------------------

fn unix_url() -> String {
    env_or("PCONN_REDIS_UNIX_URL", "unix:///var/run/redis/redis.sock")
}

#[test]
fn unix_socket_urls_reach_the_server_pooled_by_path() {
    let url = unix_url();
    let path = url.strip_prefix("unix://").unwrap().to_string();
    let k = unique("unix");
    for form in [
        format!("{url}?db=2&name=pconn-unix"),
        format!("redis+unix://{path}?db=2&name=pconn-unix&protocol=3"),
    ] {
        let client = Client::open(&form).unwrap();
        assert!(client.key().to_string().contains(&path), "{}", client.key());
        {
            let mut c = client.get().unwrap();
            c.set(&k, "over the socket").unwrap();
            let info = client_info(&mut c);
            assert!(
                info.contains("db=2") && info.contains("name=pconn-unix"),
                "{info}"
            );
            // Changed state is undone on release, as on TCP.
            c.query::<()>(&cmd("SELECT").arg(3)).unwrap();
        }
        let mut c = client.get().unwrap();
        assert!(c.is_reused(), "{form}");
        assert_eq!(c.get::<_, String>(&k).unwrap(), "over the socket");
        assert!(client_info(&mut c).contains("db=2"));
        c.del(&[&k]).unwrap();
    }
    // Credentials in the userinfo and in the query.
    let with_user = url.replacen("unix://", "unix://pconn-a:secret-a@", 1);
    let with_query = format!("{url}?user=pconn-b&password=secret-b");
    for (form, user) in [(with_user, "pconn-a"), (with_query, "pconn-b")] {
        let client = Client::open(&form).unwrap();
        let mut c = client.get().unwrap();
        let who: String = c.query(&cmd("ACL").arg("WHOAMI")).unwrap();
        assert_eq!(who, user, "{form}");
    }
    // One pool, two paths to one server: never the same connection.
    let shared: Pool<redis_client::Session> = Pool::new(PoolConfig::default()).unwrap();
    let over_unix = Client::builder()
        .url(&url)
        .unwrap()
        .pool(shared.clone())
        .build()
        .unwrap();
    let over_tcp = plain().pool(shared.clone()).build().unwrap();
    let a = client_id(&mut over_unix.get().unwrap());
    let b = client_id(&mut over_tcp.get().unwrap());
    assert_ne!(a, b);
    assert_eq!(client_id(&mut over_unix.get().unwrap()), a);
}

#[test]
fn unix_socket_input_is_refused_before_anything_is_sent() {
    for bad in [
        "rediss:///tmp/redis.sock",
        "rediss+unix:///tmp/redis.sock",
        "unix:///tmp/redis.sock\r\nPING",
        "unix:///tmp/re%0D%0Adis.sock",
        "unix://relative.sock",
    ] {
        let err = Client::open(bad).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad}: {err:?}");
    }
}
