//! SMTP under chaos: threads share clients (direct to the aiosmtpd server,
//! through the hostile relay, through the tinyproxy CONNECT tunnel). Every
//! mail's Subject is its own id; the server stores each mail it accepts, and
//! at the end the mails are counted per id: a mail reported sent is there
//! exactly once, one reported failed is not there, one whose outcome the
//! client reported unknown (`DeliveryUnknown`) is there at most once, and
//! every stored mail's body belongs to its own Subject.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use integration_tests::{env_or, host_port, test_ca};
use smtp_client::{Address, Envelope, Error, Message, SmtpClient, StartTls};
use transport::{ConnectOptions, PoolConfig, TlsConfig};

use super::relay::{Hostility, Relay};
use super::{Rng, Tally, CHAOS_PANIC};

pub fn url() -> String {
    env_or("PCONN_SMTP_URL", "smtp://127.0.0.1:2525")
}

pub fn maildir() -> PathBuf {
    PathBuf::from(env_or(
        "PCONN_SMTP_MAILDIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.servers/mail"),
    ))
}

pub const HOSTILE: Hostility = Hostility {
    close: 8,
    cut: 8,
    delay: 20,
    delay_ms: (10, 120),
};

/// What the client said about a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Failed,
    Unknown,
}

pub struct SmtpWork {
    run: String,
    clients: Vec<(&'static str, SmtpClient)>,
    /// Verification window: ids carry it, so [`SmtpWork::verify`] can check
    /// and forget one window's mails (bounded memory in long runs).
    window: AtomicU64,
    outcomes: Mutex<HashMap<String, Outcome>>,
    _relay: Relay,
}

pub fn tls() -> TlsConfig {
    TlsConfig::builder()
        .add_ca_file(test_ca())
        .build()
        .expect("test CA")
}

/// A client of the server at `host:port` (plain, no STARTTLS: the relay
/// must see the commands), with `read` as its read timeout.
pub fn plain_client(host: &str, port: u16, read: Duration, max_open: usize) -> SmtpClient {
    SmtpClient::builder(host)
        .port(port)
        .starttls(StartTls::None)
        .connect_options(ConnectOptions {
            read_timeout: Some(read),
            ..ConnectOptions::default()
        })
        .pool_config(PoolConfig {
            max_open,
            checkout_timeout: Duration::from_secs(10),
            ..PoolConfig::default()
        })
        .build()
        .expect("smtp client")
}

impl SmtpWork {
    /// `kinds`: "direct" (STARTTLS), "relay", "tunnel".
    pub fn new(run: &str, seed: u64, kinds: &[&'static str]) -> SmtpWork {
        let (host, port) = host_port(&url(), 2525);
        let relay = Relay::start(&format!("{host}:{port}"), HOSTILE, seed, 3 << 40);
        let mut clients = Vec::new();
        for &kind in kinds {
            let client = match kind {
                "direct" => SmtpClient::from_url(&url())
                    .expect("PCONN_SMTP_URL")
                    .tls_config(tls())
                    .pool_config(PoolConfig {
                        max_open: 4,
                        ..PoolConfig::default()
                    })
                    .build()
                    .expect("smtp client"),
                "relay" => plain_client("127.0.0.1", relay.port(), Duration::from_millis(80), 3),
                "tunnel" => SmtpClient::builder(&host)
                    .port(port)
                    .starttls(StartTls::None)
                    .proxy(&super::redis_work::proxy_url())
                    .expect("proxy")
                    .build()
                    .expect("smtp client"),
                other => panic!("unknown smtp client kind {other}"),
            };
            clients.push((kind, client));
        }
        SmtpWork {
            run: run.to_string(),
            clients,
            window: AtomicU64::new(0),
            outcomes: Mutex::new(HashMap::new()),
            _relay: relay,
        }
    }

    pub fn opened(&self) -> u64 {
        self.clients.iter().map(|(_, c)| c.stats().opened).sum()
    }

    /// Closes every idle pooled connection (between windows).
    pub fn clear_idle(&self) {
        for (_, c) in &self.clients {
            c.pool().clear();
        }
    }

    pub fn check_counters(&self) -> Result<(), String> {
        for (kind, c) in &self.clients {
            let s = c.stats();
            if s.opened - s.discarded_total() != s.open_now as u64 {
                return Err(format!("smtp {kind}: {s:?}"));
            }
        }
        Ok(())
    }

    fn record(&self, id: String, outcome: Outcome) {
        self.outcomes.lock().unwrap().insert(id, outcome);
    }

    pub fn borrow(&self, rng: &mut Rng, t: usize, n: u64, tally: &Tally) {
        let (_kind, client) = &self.clients[rng.below(self.clients.len() as u64) as usize];
        let window = self.window.load(Ordering::Relaxed);
        let id = format!("{}-w{window}-{t}-{n}", self.run);
        match rng.below(100) {
            0..=69 => {
                let outcome = match client.send(&mail(&id, &["rcpt@example.com"])) {
                    Ok(_) => {
                        tally.op();
                        Outcome::Sent
                    }
                    Err(Error::DeliveryUnknown(_)) => {
                        tally.unknown();
                        tally.abort();
                        Outcome::Unknown
                    }
                    Err(_) => {
                        tally.error();
                        tally.abort();
                        Outcome::Failed
                    }
                };
                self.record(id, outcome);
            }
            70..=79 => {
                // Every recipient refused: the server holds an open
                // transaction (MAIL accepted) that must not reach the next.
                tally.abort();
                let r = client.send(&mail(
                    &id,
                    &["reject-1@example.com", "reject-2@example.com"],
                ));
                match r {
                    Err(Error::RecipientsRefused(_)) => tally.op(),
                    Ok(_) => tally.wrong(format!("{id}: refused recipients reported sent")),
                    Err(Error::DeliveryUnknown(_)) => {
                        tally.wrong(format!("{id}: refused mail unknown"))
                    }
                    Err(_) => tally.error(),
                }
                self.record(id, Outcome::Failed);
            }
            80..=84 => {
                tally.abort();
                let _guard = client.session();
                std::panic::panic_any(CHAOS_PANIC);
            }
            85..=89 => {
                tally.abort();
                let env =
                    Envelope::new(None, vec![Address::new("rcpt@example.com").unwrap()]).unwrap();
                let mut body = format!("Subject: {id}\r\n\r\n").into_bytes();
                body.resize(1024 * 1024 + 100, b'x');
                match client.send(&Message::raw(env, body)) {
                    Err(Error::MessageTooLarge { .. }) => tally.op(),
                    Ok(_) => tally.wrong(format!("{id}: an oversize mail was accepted")),
                    Err(_) => tally.error(),
                }
                self.record(id, Outcome::Failed);
            }
            _ => match client.session() {
                Ok(s) => {
                    tally.op();
                    drop(s)
                }
                Err(_) => tally.error(),
            },
        }
    }

    /// Counts the stored mails of the current window against what the
    /// client said, then starts a new window (call it with no borrow under
    /// way); returns the number of mails checked. Violations are wrong
    /// replies.
    pub fn verify(&self, tally: &Tally) -> usize {
        std::thread::sleep(Duration::from_millis(300)); // late DATA replies
        let window = self.window.fetch_add(1, Ordering::Relaxed);
        let stored = stored_subjects(&format!("{}-w{window}-", self.run));
        let outcomes = std::mem::take(&mut *self.outcomes.lock().unwrap());
        for (id, outcome) in outcomes.iter() {
            let count = stored.get(id).copied().unwrap_or(0);
            let ok = match outcome {
                Outcome::Sent => count == 1,
                Outcome::Failed => count == 0,
                Outcome::Unknown => count <= 1,
            };
            if !ok {
                tally.wrong(format!(
                    "mail {id}: client said {outcome:?}, stored {count} times"
                ));
            }
        }
        for id in stored.keys() {
            if !outcomes.contains_key(id) {
                tally.wrong(format!("mail {id}: stored but never sent"));
            }
        }
        outcomes.len()
    }
}

pub fn mail(id: &str, to: &[&str]) -> Message {
    let mut b = Message::builder()
        .from("chaos@example.com")
        .subject(id)
        .text_body(&format!("body of {id}\n"));
    for t in to {
        b = b.to(t);
    }
    b.build().unwrap()
}

/// Subject id -> how many times it is stored, for mails of run `run`; a
/// mail whose body is not its Subject's counts under "MISMATCH <subject>".
pub fn stored_subjects(run: &str) -> HashMap<String, usize> {
    stored_subjects_in(&maildir(), run)
}

/// [`stored_subjects`] in the mail dir `dir`.
pub fn stored_subjects_in(dir: &std::path::Path, run: &str) -> HashMap<String, usize> {
    let mut found = HashMap::new();
    let Ok(dir) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in dir.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let Ok(eml) = std::fs::read(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&eml);
        if !text.contains(run) {
            continue;
        }
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or("")
            .trim()
            .to_string();
        let key = if text.contains(&format!("body of {subject}")) {
            subject
        } else {
            format!("MISMATCH {subject}")
        };
        *found.entry(key).or_insert(0) += 1;
    }
    found
}
