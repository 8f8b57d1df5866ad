//! The client's `tracing` events (issue 19), against the real redis-server
//! (`PCONN_REDIS_URL`, default `redis://127.0.0.1:6379`).

use std::io::Write;
use std::sync::{Arc, Mutex};

use pconn_redis::{cmd, Client, Commands};
use transport::PoolConfig;

/// Collects everything the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn connect_reuse_reset_and_discard_are_events() {
    let url = std::env::var("PCONN_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let client = Client::builder()
            .url(&url)
            .unwrap()
            .pool_config(PoolConfig {
                max_open: 1,
                ..PoolConfig::default()
            })
            .build()
            .unwrap();
        {
            let mut c = client.get().unwrap();
            c.query::<()>(&cmd("SELECT").arg(1)).unwrap();
        }
        let mut c = client.get().unwrap();
        assert!(c.is_reused());
        assert_eq!(c.ping().unwrap(), "PONG");
        c.discard();
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for event in ["connect", "reuse", "reset", "discard"] {
        assert!(
            log.contains(&format!("event=\"{event}\"")),
            "no {event} event in:\n{log}"
        );
    }
}
