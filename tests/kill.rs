//! Servers killed under load (issue 11 §3): private redis-server, nginx and
//! SMTP server instances (own ports, own state) are SIGKILLed and restarted
//! while 8 threads work on one shared client.
//!
//! * Idempotent work fails only around a kill: once the server is back and
//!   the pool has seen it (an operation started after the restart
//!   succeeded), every operation that starts and ends in that same up phase
//!   succeeds.
//! * Non-idempotent work (RPUSH of a unique id and INCR, a POST, a mail) is
//!   never applied twice; an operation the client reported failed before it
//!   was sent is not applied; an outcome the client could not know is its
//!   own kind of error, counted apart and applied at most once.
//! * SMTP: a 421 raced against the checkout probe neither loses nor
//!   duplicates a mail (scripted peer).

#[path = "chaos_support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use integration_tests::unique;
use redis_client::{cmd, Client, Value};
use support::private::{self, Private};
use support::smtp_work::{mail, plain_client, stored_subjects_in, Outcome};
use support::{Rng, Tally};
use transport::{Phase, PoolConfig};

const THREADS: usize = 8;
const KILLS: usize = 2;

/// The up/down phases of a server: even = up (generation n/2), odd = down;
/// `seen` is the last up phase (+1) in which an operation that started in
/// it succeeded: from then on, idempotent work must succeed.
#[derive(Default)]
struct Phases {
    phase: AtomicU64,
    seen: AtomicU64,
    /// Idempotent operations that failed although the pool had seen the
    /// server back (must stay 0).
    late_errors: AtomicU64,
    /// Idempotent operations that failed around a kill (expected).
    down_errors: AtomicU64,
    late_examples: Mutex<Vec<String>>,
}

impl Phases {
    /// The phase at the start of an operation, and whether it must succeed.
    fn begin(&self) -> (u64, bool) {
        let p = self.phase.load(Ordering::SeqCst);
        (p, p % 2 == 0 && self.seen.load(Ordering::SeqCst) == p + 1)
    }

    /// Records an idempotent operation's result.
    fn end(&self, (p, must): (u64, bool), ok: bool, what: impl FnOnce() -> String) {
        let same = self.phase.load(Ordering::SeqCst) == p;
        if ok {
            if same && p % 2 == 0 {
                self.seen.fetch_max(p + 1, Ordering::SeqCst);
            }
        } else if must && same {
            self.late_errors.fetch_add(1, Ordering::Relaxed);
            let mut ex = self.late_examples.lock().unwrap();
            if ex.len() < 5 {
                ex.push(what());
            }
        } else {
            self.down_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn check(&self, name: &str) {
        let late = self.late_errors.load(Ordering::Relaxed);
        assert_eq!(
            late,
            0,
            "{name}: idempotent work failed after the pool saw the server back: {:?}",
            self.late_examples.lock().unwrap()
        );
        assert!(
            self.phase.load(Ordering::SeqCst) == 2 * KILLS as u64,
            "{name}: not every kill happened"
        );
    }
}

/// Kills and restarts `server` KILLS times while `work` runs on THREADS
/// threads, then lets the work go on for one more up phase.
fn under_kills<F>(server: &mut Private, phases: &Phases, seed: u64, work: F)
where
    F: Fn(&mut Rng, usize, u64) -> bool + Sync,
{
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (work, stop) = (&work, &stop);
            s.spawn(move || {
                let mut rng = Rng::new(seed, t as u64);
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    if !work(&mut rng, t, n) {
                        // A worker backs off a little after a failure.
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    n += 1;
                }
            });
        }
        let mut rng = Rng::new(seed, 999);
        for _ in 0..KILLS {
            std::thread::sleep(rng.millis(400, 700));
            phases.phase.fetch_add(1, Ordering::SeqCst);
            server.kill();
            std::thread::sleep(rng.millis(150, 300));
            server.restart();
            phases.phase.fetch_add(1, Ordering::SeqCst);
        }
        // Until the pool has seen the server back, then a while longer.
        for _ in 0..100 {
            if phases.seen.load(Ordering::SeqCst) == phases.phase.load(Ordering::SeqCst) + 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(600));
        stop.store(true, Ordering::Relaxed);
    });
}

/// What the client said about each non-idempotent operation, by id.
#[derive(Default)]
struct Ledger {
    outcomes: Mutex<HashMap<String, Outcome>>,
}

impl Ledger {
    fn record(&self, id: String, outcome: Outcome, tally: &Tally) {
        match outcome {
            Outcome::Sent => tally.op(),
            Outcome::Failed => tally.error(),
            Outcome::Unknown => tally.unknown(),
        }
        self.outcomes.lock().unwrap().insert(id, outcome);
    }

    /// Every id against how often the server applied it. `unlogged`: how
    /// many operations the client saw succeed may be missing from the
    /// server's record because the record is written after the reply (nginx
    /// logs a request once its response is out: a SIGKILL in between loses
    /// the line, not the request).
    fn verify(&self, name: &str, applied: &HashMap<String, usize>, unlogged: usize) {
        let outcomes = self.outcomes.lock().unwrap();
        let mut bad = Vec::new();
        let mut missing_lines = 0;
        for (id, outcome) in outcomes.iter() {
            let count = applied.get(id).copied().unwrap_or(0);
            let ok = match outcome {
                Outcome::Sent if count == 0 && missing_lines < unlogged => {
                    missing_lines += 1;
                    true
                }
                Outcome::Sent => count == 1,
                Outcome::Failed => count == 0,
                Outcome::Unknown => count <= 1,
            };
            if !ok {
                bad.push(format!(
                    "{id}: client said {outcome:?}, applied {count} times"
                ));
            }
        }
        for (id, count) in applied {
            if !outcomes.contains_key(id) {
                bad.push(format!("{id}: applied {count} times, never sent"));
            }
        }
        assert!(
            bad.is_empty(),
            "{name}: {} wrong: {:?}",
            bad.len(),
            &bad[..bad.len().min(10)]
        );
        assert!(
            outcomes.values().any(|o| *o == Outcome::Sent),
            "{name}: nothing was sent"
        );
    }
}

fn figures(name: &str, seed: u64, tally: &Tally, phases: &Phases, opened: u64) {
    eprintln!(
        "{name}: {}",
        tally.json(
            seed,
            opened,
            &[(
                "errors_while_down",
                phases.down_errors.load(Ordering::Relaxed).to_string()
            )]
        )
    );
}

// ---------------------------------------------------------------- redis

/// Failed before the command was written: connecting, waiting for the pool,
/// or refused by the server (a server error, e.g. LOADING, applies nothing).
fn redis_not_sent(e: &redis_client::Error) -> bool {
    match e {
        redis_client::Error::Server(_) => true,
        redis_client::Error::Transport(t) => matches!(
            t,
            transport::Error::Connect { .. }
                | transport::Error::Resolve { .. }
                | transport::Error::PoolExhausted { .. }
                | transport::Error::Timeout(Phase::Connect | Phase::Checkout)
        ),
        _ => false,
    }
}

#[test]
fn redis_killed_under_load() {
    let seed = support::seed("redis_killed_under_load");
    let mut server = private::redis(&[]);
    let client = Client::builder()
        .address("127.0.0.1", server.port)
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Some(Duration::from_secs(5)))
        .pool_config(PoolConfig {
            max_open: THREADS,
            checkout_timeout: Duration::from_secs(2),
            ..PoolConfig::default()
        })
        .build()
        .unwrap();
    let run = unique("kill-redis");
    let (phases, ledger, tally) = (Phases::default(), Ledger::default(), Tally::default());
    let (incr_sent, incr_unknown) = (AtomicU64::new(0), AtomicU64::new(0));
    under_kills(&mut server, &phases, seed, |rng, t, n| {
        let id = format!("{run}-{t}-{n}");
        match rng.below(3) {
            0 => {
                let at = phases.begin();
                let r = client.get().and_then(|mut c| {
                    c.query_value(&cmd("SET").arg(format!("{run}:k{t}")).arg(&id))?;
                    c.query_value(&cmd("GET").arg(format!("{run}:k{t}")))
                });
                let ok = matches!(&r, Ok(v) if v.as_bytes() == Some(id.as_bytes()));
                if let Ok(v) = &r {
                    if !ok {
                        tally.wrong(format!("GET {id} got {v:?}"));
                    }
                }
                phases.end(at, ok, || format!("{id}: {r:?}"));
                ok
            }
            1 => {
                let r = client.get().and_then(|mut c| {
                    c.query_value(&cmd("RPUSH").arg(format!("{run}:list")).arg(&id))
                });
                let outcome = match r {
                    Ok(Value::Int(_)) => Outcome::Sent,
                    Ok(other) => {
                        tally.wrong(format!("RPUSH {id} got {other:?}"));
                        Outcome::Unknown
                    }
                    Err(e) if redis_not_sent(&e) => Outcome::Failed,
                    Err(_) => Outcome::Unknown,
                };
                let ok = outcome == Outcome::Sent;
                ledger.record(id, outcome, &tally);
                ok
            }
            _ => match client
                .get()
                .and_then(|mut c| c.query_value(&cmd("INCR").arg(format!("{run}:counter"))))
            {
                Ok(_) => {
                    incr_sent.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(e) if redis_not_sent(&e) => {
                    tally.error();
                    false
                }
                Err(_) => {
                    incr_unknown.fetch_add(1, Ordering::Relaxed);
                    false
                }
            },
        }
    });
    figures(
        "redis_killed_under_load",
        seed,
        &tally,
        &phases,
        client.stats().opened,
    );
    phases.check("redis");
    assert_eq!(
        Tally::get(&tally.wrong_replies),
        0,
        "{:?}",
        tally.examples()
    );
    let mut c = client.get().unwrap();
    let items: Vec<Value> = c
        .query_value(&cmd("LRANGE").arg(format!("{run}:list")).arg(0).arg(-1))
        .unwrap()
        .into_items()
        .unwrap();
    let mut applied = HashMap::new();
    for v in items {
        let id = String::from_utf8(v.as_bytes().unwrap().to_vec()).unwrap();
        *applied.entry(id).or_insert(0) += 1;
    }
    ledger.verify("redis RPUSH", &applied, 0);
    let counter: i64 = c
        .query(&cmd("GET").arg(format!("{run}:counter")))
        .unwrap_or(0);
    let (sent, unknown) = (
        incr_sent.load(Ordering::Relaxed) as i64,
        incr_unknown.load(Ordering::Relaxed) as i64,
    );
    assert!(
        sent <= counter && counter <= sent + unknown,
        "INCR applied {counter} times; the client saw {sent} succeed and {unknown} unknown"
    );
}

// ---------------------------------------------------------------- nginx

#[test]
fn nginx_killed_under_load() {
    let seed = support::seed("nginx_killed_under_load");
    let mut server = private::nginx(512, "");
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = http_client::Client::builder()
        .proxy_from_env(false)
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Some(Duration::from_secs(5)))
        .max_open_per_host(THREADS)
        .build()
        .unwrap();
    let run = unique("kill-nginx");
    let (phases, ledger, tally) = (Phases::default(), Ledger::default(), Tally::default());
    under_kills(&mut server, &phases, seed, |rng, t, n| {
        let id = format!("{run}-{t}-{n}");
        let url = format!("{base}/echo/{id}");
        if rng.chance(500) {
            let at = phases.begin();
            let r = client.get(&url).call().and_then(|r| r.text());
            let want = format!("GET /echo/{id}\n");
            let ok = matches!(&r, Ok(body) if *body == want);
            if let Ok(body) = &r {
                if !ok {
                    tally.wrong(format!("GET {id} got {body:?}"));
                }
            }
            phases.end(at, ok, || format!("{id}: {r:?}"));
            ok
        } else {
            let r = client.post(&url).send_string(&id).and_then(|r| r.text());
            let outcome = match r {
                Ok(body) if body.starts_with(&format!("POST /echo/{id}\n")) => Outcome::Sent,
                Ok(body) => {
                    tally.wrong(format!("POST {id} got {body:?}"));
                    Outcome::Unknown
                }
                Err(http_client::Error::Transport(
                    transport::Error::Connect { .. }
                    | transport::Error::PoolExhausted { .. }
                    | transport::Error::Timeout(Phase::Connect | Phase::Checkout),
                )) => Outcome::Failed,
                Err(_) => Outcome::Unknown,
            };
            let ok = outcome == Outcome::Sent;
            ledger.record(id, outcome, &tally);
            ok
        }
    });
    figures(
        "nginx_killed_under_load",
        seed,
        &tally,
        &phases,
        client.stats().opened,
    );
    phases.check("nginx");
    assert_eq!(
        Tally::get(&tally.wrong_replies),
        0,
        "{:?}",
        tally.examples()
    );
    // Every POST nginx handled is a line "POST /echo/<id> <status>".
    let log = std::fs::read_to_string(server.dir.join("access.log")).unwrap();
    let mut applied = HashMap::new();
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("POST /echo/") {
            let id = rest.split(' ').next().unwrap().to_string();
            *applied.entry(id).or_insert(0) += 1;
        }
    }
    // At most one response per worker thread can be in flight at each kill.
    ledger.verify("nginx POST", &applied, KILLS * THREADS);
}

// ---------------------------------------------------------------- smtp

#[test]
fn smtp_killed_under_load() {
    let seed = support::seed("smtp_killed_under_load");
    let mut server = private::smtp();
    let client = plain_client("127.0.0.1", server.port, Duration::from_secs(5), THREADS);
    let run = unique("kill-smtp");
    let (phases, ledger, tally) = (Phases::default(), Ledger::default(), Tally::default());
    under_kills(&mut server, &phases, seed, |_rng, t, n| {
        let id = format!("{run}-{t}-{n}");
        let at = phases.begin();
        let outcome = match client.send(&mail(&id, &["rcpt@example.com"])) {
            Ok(_) => Outcome::Sent,
            Err(smtp_client::Error::DeliveryUnknown(_)) => Outcome::Unknown,
            Err(_) => Outcome::Failed,
        };
        // A session checkout is the idempotent part of SMTP work.
        phases.end(
            at,
            outcome == Outcome::Sent || outcome == Outcome::Unknown,
            || format!("{id}: {outcome:?}"),
        );
        ledger.record(id, outcome, &tally);
        outcome == Outcome::Sent
    });
    figures(
        "smtp_killed_under_load",
        seed,
        &tally,
        &phases,
        client.stats().opened,
    );
    phases.check("smtp");
    std::thread::sleep(Duration::from_millis(200));
    ledger.verify(
        "smtp mail",
        &stored_subjects_in(&server.dir.join("mail"), &run),
        0,
    );
}

// ------------------------------------------------- 421 after the probe

/// A scripted SMTP server: every session greets, answers EHLO (with
/// PIPELINING) and takes one mail; then, after a random 0-2 ms, it sends an
/// unsolicited `421` and closes. The client's next checkout races it: the
/// probe sees the 421 (the connection is not reused), or it does not and
/// the MAIL gets the 421 (a retry on a new connection). Returns the
/// Subjects of accepted mails; a session that says STOP ends it.
fn racing_peer(listener: TcpListener, seed: u64) -> Vec<String> {
    let mut accepted = Vec::new();
    let mut rng = Rng::new(seed, 4242);
    for _ in 0..10_000 {
        let Ok((stream, _)) = listener.accept() else {
            break;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut w = stream.try_clone().unwrap();
        let mut r = BufReader::new(stream);
        let _ = w.write_all(b"220 racing peer\r\n");
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("STOP") {
                return accepted;
            } else if upper.starts_with("EHLO") {
                let _ = w.write_all(b"250-racing\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
            } else if upper.starts_with("MAIL")
                || upper.starts_with("RCPT")
                || upper.starts_with("RSET")
                || upper.starts_with("NOOP")
            {
                let _ = w.write_all(b"250 ok\r\n");
            } else if upper.starts_with("DATA") {
                let _ = w.write_all(b"354 go\r\n");
                let mut subject = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return accepted;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    if let Some(s) = line.strip_prefix("Subject: ") {
                        subject = s.trim().to_string();
                    }
                }
                accepted.push(subject);
                let _ = w.write_all(b"250 queued\r\n");
                std::thread::sleep(Duration::from_micros(rng.below(2000)));
                let _ = w.write_all(b"421 4.3.2 shutting down\r\n");
                break;
            } else if upper.starts_with("QUIT") {
                let _ = w.write_all(b"221 bye\r\n");
                break;
            } else {
                let _ = w.write_all(b"500 what\r\n");
            }
        }
    }
    accepted
}

#[test]
fn smtp_421_right_after_the_probe_neither_loses_nor_duplicates() {
    let seed = support::seed("smtp_421_race");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || racing_peer(listener, seed));
    let client = plain_client("127.0.0.1", port, Duration::from_secs(3), 1);
    let mut rng = Rng::new(seed, 7);
    let mut sent = Vec::new();
    for k in 0..60 {
        let id = format!("race-{k}");
        // Sometimes before the 421 arrives, sometimes after.
        std::thread::sleep(Duration::from_micros(rng.below(2500)));
        match client.send(&mail(&id, &["rcpt@example.com"])) {
            Ok(s) => sent.push((id, s.retried)),
            Err(e) => {
                panic!("{id}: {e:?} (a 421 before the mail means: again on a new connection)")
            }
        }
    }
    let stats = client.stats();
    drop(client);
    let mut stop = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stop.write_all(b"STOP\r\n").unwrap();
    let accepted = peer.join().unwrap();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for s in &accepted {
        *counts.entry(s.as_str()).or_insert(0) += 1;
    }
    for (id, _) in &sent {
        assert_eq!(
            counts.get(id.as_str()),
            Some(&1),
            "{id} delivered {:?} times",
            counts.get(id.as_str())
        );
    }
    assert_eq!(
        accepted.len(),
        sent.len(),
        "a mail was delivered that the client did not send"
    );
    let retried = sent.iter().filter(|(_, r)| *r).count();
    eprintln!(
        "smtp_421_race: {} mails, {retried} raced past the probe and went again, {} caught by the probe",
        sent.len(),
        stats.probe_failures()
    );
    // Both sides of the race happened (the seed decides how often).
    assert!(retried + stats.probe_failures() as usize >= 50, "{stats:?}");
}
