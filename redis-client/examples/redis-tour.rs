//! The Redis part of the demo tour: a pipeline, a transaction, the PHP
//! "MULTI left open" failure fixed, and the pool's counters.
//!
//! ```text
//! cargo run -q -p pconn-redis --example redis-tour -- [--url URL] [--cacert PEM]
//! ```

use pconn_redis::{cmd, Client, Commands, Pipeline, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut url =
        std::env::var("PCONN_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut cacert = std::env::var("PCONN_TEST_CA").ok();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--url" => url = it.next().ok_or("--url needs a value")?,
            "--cacert" => cacert = Some(it.next().ok_or("--cacert needs a value")?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let mut builder = Client::builder().url(&url)?;
    if url.starts_with("rediss://") {
        if let Some(ca) = cacert {
            builder = builder.ca_file(ca);
        }
    }
    let client = builder.build()?;
    let prefix = format!("tour:{}", std::process::id());

    let mut conn = client.get()?;
    let mut p = Pipeline::new();
    for i in 0..1000 {
        p.add(cmd("INCR").arg(format!("{prefix}:n")));
        if i == 500 {
            p.add(cmd("HGET").arg(format!("{prefix}:n")).arg("f")); // a WRONGTYPE error, in place
        }
    }
    let results = conn.pipeline(&p)?;
    let errors = results.iter().filter(|r| r.is_err()).count();
    println!(
        "pipeline: {} commands, one round trip, last reply {}, {errors} server error(s) in place",
        results.len(),
        results
            .last()
            .and_then(|r| r.as_ref().ok())
            .map_or("-".into(), Value::to_cli_string)
    );

    let mut tx = Pipeline::new();
    tx.add(cmd("SET").arg(format!("{prefix}:a")).arg("1"))
        .add(cmd("INCRBY").arg(format!("{prefix}:a")).arg(41));
    let exec = conn.transaction(&tx)?.unwrap_or_default();
    println!(
        "transaction: MULTI/EXEC -> {}",
        Value::Array(exec).to_cli_string().replace('\n', ", ")
    );

    // The PHP failure: a borrower leaves MULTI open and goes away.
    conn.query::<()>(&cmd("MULTI"))?;
    let queued = conn.query_value(&cmd("SET").arg(format!("{prefix}:ghost")).arg("x"))?;
    println!(
        "borrower 1: MULTI, SET -> {} ... and drops the connection",
        queued.to_cli_string()
    );
    drop(conn);
    let mut conn = client.get()?;
    let reply = conn.query_value(&cmd("SET").arg(format!("{prefix}:b")).arg("y"))?;
    let ghost: Option<String> = conn.get(format!("{prefix}:ghost"))?;
    println!(
        "borrower 2 (reused connection: {}): SET -> {} (not QUEUED); abandoned SET ran: {}",
        conn.is_reused(),
        reply.to_cli_string(),
        ghost.is_some()
    );
    conn.del(&[
        format!("{prefix}:n"),
        format!("{prefix}:a"),
        format!("{prefix}:b"),
    ])?;
    drop(conn);
    println!("{}", client.stats().to_json());
    Ok(())
}
