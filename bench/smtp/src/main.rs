//! Small mails over SMTP, side by side against one Postfix `smtp-sink`:
//! the raw-socket floor, smtp-client (one pooled session, and a connection
//! per mail), and lettre (pooled, and a connection per mail).
//!
//! Run it with `run.sh`, which starts the sink and pins both to CPU 0 (see
//! BENCHMARKING.md). Every mail is a full exchange: MAIL and RCPT (one
//! flight, as the sink offers PIPELINING), DATA, the body and final `.`,
//! each reply read and checked. Clients are interleaved round by round and
//! the best round of each is reported, with ratios to the raw loop. A
//! separate, untimed pass counts the TCP connections each client opens, from
//! the kernel's socket table (so a pooled client that silently reconnects
//! shows up without a sampling thread slowing the timed runs).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Instant;

use lettre::address::Envelope as LEnvelope;
use lettre::transport::smtp::PoolConfig as LPoolConfig;
use lettre::{SmtpTransport, Transport};
use smtp_client::{Address, Envelope, Message, SmtpClient, StartTls};

const FROM: &str = "bench@example.com";
const TO: &str = "sink@example.com";
const CONTENT: &str = "From: bench@example.com\r\nTo: sink@example.com\r\n\
Subject: benchmark mail\r\nMessage-ID: <bench@example.com>\r\n\r\n\
A small mail, a few lines long,\r\nas a notification would be.\r\n";

/// Client-side ports of connections to `port` seen in the kernel's socket
/// table, sampled every 2 ms from another thread while `f` runs: the
/// server's-eye count of connections, unaffected by other processes on the
/// machine (which /proc/net/snmp is not). Connections that live shorter than
/// a sample can be missed, so this is a lower bound for fast reconnecting.
fn distinct_connections<T>(port: u16, f: impl FnOnce() -> T) -> (T, usize) {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut seen = HashSet::new();
            let want = format!(":{port:04X}");
            loop {
                let done = stop.load(Ordering::Relaxed);
                let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
                for line in table.lines().skip(1) {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    if f.len() > 3 && f[2].ends_with(&want) && f[3] == "01" {
                        seen.insert(f[1].to_string());
                    }
                }
                if done {
                    return seen.len();
                }
                // No pause: the raw loop sends its 50 mails in ~1.5 ms, and a
                // sampler that slept 2 ms between looks could miss its
                // connection altogether (the check is not timed).
                std::thread::yield_now();
            }
        })
    };
    let out = f();
    stop.store(true, Ordering::Relaxed);
    (out, sampler.join().unwrap())
}

// ---- the raw-socket floor ----------------------------------------------------

struct Raw {
    r: BufReader<TcpStream>,
    w: TcpStream,
    line: String,
}

impl Raw {
    fn connect(port: u16) -> Raw {
        let w = TcpStream::connect(("127.0.0.1", port)).expect("connect sink");
        w.set_nodelay(true).unwrap();
        let mut raw = Raw {
            r: BufReader::new(w.try_clone().unwrap()),
            w,
            line: String::new(),
        };
        raw.expect(220);
        raw.w.write_all(b"EHLO bench\r\n").unwrap();
        raw.expect(250);
        raw
    }

    /// Reads one (multi-line) reply and checks its code.
    fn expect(&mut self, code: u16) {
        loop {
            self.line.clear();
            self.r.read_line(&mut self.line).unwrap();
            let got: u16 = self.line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            assert_eq!(got, code, "raw: unexpected reply {:?}", self.line);
            if self.line.as_bytes().get(3) != Some(&b'-') {
                return;
            }
        }
    }

    fn mail(&mut self, data: &[u8]) {
        self.w
            .write_all(b"MAIL FROM:<bench@example.com>\r\nRCPT TO:<sink@example.com>\r\n")
            .unwrap();
        self.expect(250);
        self.expect(250);
        self.w.write_all(b"DATA\r\n").unwrap();
        self.expect(354);
        self.w.write_all(data).unwrap();
        self.expect(250);
    }
}

// ---- the clients ---------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Raw,
    Ours,
    OursPerMail,
    Lettre,
    LettrePerMail,
    OursDkimEd25519,
    OursDkimRsa,
}

impl Variant {
    const ALL: [Variant; 7] = [
        Variant::Raw,
        Variant::Ours,
        Variant::OursPerMail,
        Variant::Lettre,
        Variant::LettrePerMail,
        Variant::OursDkimEd25519,
        Variant::OursDkimRsa,
    ];

    /// Mails per run for this variant. The slow ones run fewer: lettre
    /// stalls a flat 40 ms per mail and an RSA signature costs ~2.5 ms, so
    /// a few dozen mails give their rate, and the fast variants can run
    /// enough mails per round (tens of milliseconds) to be measured
    /// without the whole run taking minutes.
    fn mails_per_run(self, mails: usize) -> usize {
        match self {
            Variant::Lettre | Variant::LettrePerMail => mails.min(50),
            Variant::OursDkimRsa => mails.min(200),
            _ => mails,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Variant::Raw => "raw socket loop (one connection)",
            Variant::Ours => "smtp-client, pooled session",
            Variant::OursPerMail => "smtp-client, connection per mail",
            Variant::Lettre => "lettre 0.11, pooled",
            Variant::LettrePerMail => "lettre 0.11, connection per mail",
            Variant::OursDkimEd25519 => "smtp-client, pooled, DKIM Ed25519-SHA256",
            Variant::OursDkimRsa => "smtp-client, pooled, DKIM RSA-SHA256 (2048)",
        }
    }
}

/// Sends `mails` mails; returns the seconds it took and, for smtp-client,
/// the connections its pool opened (exact, where sampling may miss some).
fn run(variant: Variant, port: u16, mails: usize) -> (f64, u64) {
    let envelope = Envelope::new(
        Some(Address::new(FROM).unwrap()),
        vec![Address::new(TO).unwrap()],
    )
    .unwrap();
    let message = Message::raw(envelope, CONTENT);
    let mut raw_data = CONTENT.as_bytes().to_vec();
    raw_data.extend_from_slice(b".\r\n");
    let lenvelope = LEnvelope::new(Some(FROM.parse().unwrap()), vec![TO.parse().unwrap()]).unwrap();
    let lettre = || {
        SmtpTransport::builder_dangerous("127.0.0.1")
            .port(port)
            .pool_config(LPoolConfig::new().max_size(1))
            .build()
    };
    let ours = |per_mail: bool| {
        let mut b = SmtpClient::builder("127.0.0.1")
            .port(port)
            .starttls(StartTls::None);
        if per_mail {
            b = b.max_mails_per_connection(1);
        }
        match variant {
            Variant::OursDkimEd25519 => b = b.dkim(dkim_key(&["-algorithm", "ed25519"])),
            Variant::OursDkimRsa => {
                b = b.dkim(dkim_key(&[
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                ]))
            }
            _ => {}
        }
        b.build().unwrap()
    };

    // Clients are set up outside the timed loop (connections are not).
    let client = ours(variant == Variant::OursPerMail);
    let pooled_lettre = lettre();
    let start = Instant::now();
    match variant {
        Variant::Raw => {
            let mut raw = Raw::connect(port);
            for _ in 0..mails {
                raw.mail(&raw_data);
            }
        }
        Variant::Ours | Variant::OursPerMail | Variant::OursDkimEd25519 | Variant::OursDkimRsa => {
            for _ in 0..mails {
                let sent = client.send(&message).expect("smtp-client send");
                assert_eq!(sent.reply.code, 250);
            }
        }
        Variant::Lettre => {
            for _ in 0..mails {
                let r = pooled_lettre
                    .send_raw(&lenvelope, CONTENT.as_bytes())
                    .expect("lettre send");
                assert!(r.is_positive());
            }
        }
        Variant::LettrePerMail => {
            for _ in 0..mails {
                let t = lettre();
                let r = t
                    .send_raw(&lenvelope, CONTENT.as_bytes())
                    .expect("lettre send");
                assert!(r.is_positive());
            }
        }
    }
    (start.elapsed().as_secs_f64(), client.stats().opened)
}

/// A DKIM signer with a fresh key from `openssl genpkey ARGS`.
fn dkim_key(args: &[&str]) -> smtp_client::DkimSigner {
    let out = std::process::Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl genpkey failed");
    smtp_client::DkimSigner::from_pem(&out.stdout, "example.com", "bench").unwrap()
}

fn main() {
    let mut port = 0u16;
    let mut mails = 500usize;
    let mut rounds = 3usize;
    let mut only: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().expect("option value");
        match a.as_str() {
            "--port" => port = v.parse().expect("port"),
            "--mails" => mails = v.parse().expect("mails"),
            "--rounds" => rounds = v.parse().expect("rounds"),
            // For profiling one client alone (strace -c, perf).
            "--only" => only = Some(v.parse().expect("variant index 0-6")),
            other => panic!("unknown option {other}"),
        }
    }
    assert!(port != 0, "--port of the smtp-sink is required");
    if let Some(i) = only {
        let (secs, _) = run(Variant::ALL[i], port, mails);
        println!(
            "{}: {:.0} mails/s",
            Variant::ALL[i].name(),
            mails as f64 / secs
        );
        return;
    }

    // Warm-up: first connections, page faults, the sink's first fork.
    for v in Variant::ALL {
        let _ = run(v, port, 5);
    }
    // Rates (mails/s) of every round, per variant.
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); Variant::ALL.len()];
    let mut conns = [0usize; Variant::ALL.len()];
    for round in 1..=rounds {
        for (i, v) in Variant::ALL.into_iter().enumerate() {
            let n = v.mails_per_run(mails);
            let (secs, _) = run(v, port, n);
            let rate = n as f64 / secs;
            eprintln!("round {round}: {:<36} {rate:>9.0} mails/s", v.name());
            rates[i].push(rate);
        }
    }
    for r in &mut rates {
        r.sort_by(f64::total_cmp);
    }
    const CHECK: usize = 50;
    for (i, v) in Variant::ALL.into_iter().enumerate() {
        let ((_, pool_opened), sampled) = distinct_connections(port, || run(v, port, CHECK));
        conns[i] = sampled.max(pool_opened as usize);
    }
    let rate = |i: usize| rates[i][rates[i].len() - 1];
    let median = |i: usize| rates[i][rates[i].len() / 2];
    println!(
        "\n{mails} small mails per run (lettre {}, RSA DKIM {}), best of {rounds} interleaved rounds, pinned to one CPU\n",
        Variant::Lettre.mails_per_run(mails),
        Variant::OursDkimRsa.mails_per_run(mails),
    );
    println!("| client | mails/s | vs raw | vs smtp-client | median vs raw | TCP connections for {CHECK} mails |");
    println!("|---|---|---|---|---|---|");
    for (i, v) in Variant::ALL.into_iter().enumerate() {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            v.name(),
            rate(i),
            rate(i) / rate(0),
            rate(i) / rate(1),
            median(i) / median(0),
            conns[i]
        );
    }
}
