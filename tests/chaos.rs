//! Abort-anywhere (issue 11 §2): many threads on shared clients of every
//! protocol, against the real servers, a hostile relay and the CONNECT
//! tunnel; at seeded random points a borrower times out mid-reply, drops a
//! reply, panics inside the borrow or leaves protocol state open, and the
//! relay closes, cuts or delays. Every reply is checked against its own
//! request: `wrong_replies` must be 0.
//!
//! Short runs here (a few seconds each); `make chaos` runs
//! `chaos_long` for `CHAOS_SECONDS` and prints one JSON line. The seed is
//! printed; `CHAOS_SEED=<n>` replays a run's decisions.

#[path = "chaos_support/mod.rs"]
mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use integration_tests::unique;
use support::redis_work::RedisWork;
use support::{quiet_chaos_panics, run_threads, seconds, Tally};

/// Runs one borrow, catching the suite's own panics (an unexpected panic
/// is re-raised so the test fails).
fn guarded(f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        let ours = p.downcast_ref::<&str>().is_some_and(|m| m.starts_with(support::CHAOS_PANIC));
        if !ours {
            std::panic::resume_unwind(p);
        }
    }
}

fn short_run() -> Duration {
    seconds("CHAOS_SHORT_SECONDS", 3.0)
}

fn assert_clean(name: &str, seed: u64, tally: &Tally) {
    let wrong = Tally::get(&tally.wrong_replies);
    assert_eq!(
        wrong,
        0,
        "{name}: {wrong} wrong replies (replay with CHAOS_SEED={seed}): {:?}",
        tally.examples()
    );
    assert!(Tally::get(&tally.operations) > 0, "{name}: no operation checked");
    assert!(Tally::get(&tally.aborts) > 0, "{name}: no chaos happened");
}

#[test]
fn chaos_redis() {
    quiet_chaos_panics();
    let seed = support::seed("chaos_redis");
    let work = RedisWork::new(&unique("chaos-redis"), seed, &["direct", "relay", "tunnel"]);
    let tally = Tally::default();
    run_threads(8, short_run(), seed, 0, |rng, t, n| {
        guarded(|| work.borrow(rng, t, n, &tally))
    });
    eprintln!("chaos_redis: {}", tally.json(seed, work.opened(), &[]));
    assert_clean("chaos_redis", seed, &tally);
    work.check_counters().unwrap();
}
