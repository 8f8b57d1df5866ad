//! Shared by the SMTP test files: the real server's endpoints and mail
//! dir, and a scripted peer that plays a broken or hostile server.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use integration_tests::{env_or, test_ca};
use smtp_client::{Credentials, Message, SmtpClient, StartTls};
use transport::TlsConfig;

pub fn smtp_url() -> String {
    env_or("PCONN_SMTP_URL", "smtp://127.0.0.1:2525")
}

pub fn smtps_url() -> String {
    env_or("PCONN_SMTPS_URL", "smtps://localhost:2465")
}

pub fn maildir() -> PathBuf {
    PathBuf::from(env_or(
        "PCONN_SMTP_MAILDIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.servers/mail"),
    ))
}

pub fn tls() -> TlsConfig {
    TlsConfig::builder()
        .add_ca_file(test_ca())
        .build()
        .expect("test CA")
}

pub fn real_client(url: &str) -> SmtpClient {
    SmtpClient::from_url(url)
        .unwrap()
        .tls_config(tls())
        .credentials(Credentials::password("pconn", "pconn-secret"))
        .build()
        .unwrap()
}

/// A delivered mail: the sidecar JSON (as text) and the stored DATA.
pub struct Stored {
    pub meta: String,
    pub eml: Vec<u8>,
}

/// Mails in the server's mail dir whose content contains `marker`.
pub fn delivered(marker: &str) -> Vec<Stored> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(maildir()).expect("mail dir") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".eml") {
            continue;
        }
        let eml = std::fs::read(&path).unwrap();
        if eml.windows(marker.len()).any(|w| w == marker.as_bytes()) {
            let meta = std::fs::read_to_string(path.with_extension("json")).unwrap();
            found.push(Stored { meta, eml });
        }
    }
    found
}

pub fn text_mail(marker: &str, to: &[&str]) -> Message {
    let mut b = Message::builder()
        .from("sender@example.com")
        .subject(marker)
        .text_body(&format!("body of {marker}\n"));
    for t in to {
        b = b.to(t);
    }
    b.build().unwrap()
}

/// One accepted connection of a scripted server.
pub struct Peer {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
    pub log: Vec<String>,
}

impl Peer {
    pub fn new(stream: TcpStream) -> Peer {
        // A client that stops talking fails the test instead of hanging it.
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Peer {
            r: BufReader::new(stream.try_clone().unwrap()),
            w: stream,
            log: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &str) {
        self.w.write_all(bytes.as_bytes()).unwrap();
    }

    /// The next command line, or None at EOF.
    pub fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.r.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                let line = line.trim_end_matches("\r\n").to_string();
                self.log.push(line.clone());
                Some(line)
            }
        }
    }

    pub fn expect(&mut self, prefix: &str) -> String {
        let line = self.line().unwrap_or_default();
        assert!(
            line.to_ascii_uppercase()
                .starts_with(&prefix.to_ascii_uppercase()),
            "expected {prefix}, got {line:?} (log {:?})",
            self.log
        );
        line
    }

    /// Greeting and EHLO with `extensions` listed.
    pub fn hello(&mut self, extensions: &[&str]) {
        self.send("220 peer ESMTP\r\n");
        self.expect("EHLO");
        let mut lines = vec!["peer".to_string()];
        lines.extend(extensions.iter().map(|e| e.to_string()));
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            out.push_str(&format!("250{sep}{l}\r\n"));
        }
        self.send(&out);
    }

    /// The DATA content up to and including the terminator.
    pub fn data(&mut self) -> Vec<u8> {
        let mut data = Vec::new();
        while !data.ends_with(b"\r\n.\r\n") && data != b".\r\n" {
            let mut byte = [0u8];
            if self.r.read(&mut byte).unwrap_or(0) == 0 {
                break;
            }
            data.push(byte[0]);
        }
        self.log.push("<data>".into());
        data
    }

    /// One normal mail transaction with `rcpts` recipients.
    pub fn mail(&mut self, rcpts: usize) -> Vec<u8> {
        self.expect("MAIL FROM:");
        self.send("250 2.1.0 OK\r\n");
        for _ in 0..rcpts {
            self.expect("RCPT TO:");
            self.send("250 2.1.5 OK\r\n");
        }
        self.expect("DATA");
        self.send("354 go\r\n");
        let data = self.data();
        self.send("250 2.0.0 OK queued as PEER1\r\n");
        data
    }
}

/// One connection's script.
pub type Script = Box<dyn FnOnce(&mut Peer) + Send>;

/// A scripted server: each closure serves one accepted connection, in order.
/// The handle yields each connection's command log.
pub fn serve(scripts: Vec<Script>) -> (u16, TcpListener, JoinHandle<Vec<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accept = listener.try_clone().unwrap();
    let handle = thread::spawn(move || {
        let mut logs = Vec::new();
        for script in scripts {
            let (stream, _) = accept.accept().unwrap();
            let mut peer = Peer::new(stream);
            script(&mut peer);
            logs.push(peer.log);
        }
        logs
    });
    (port, listener, handle)
}

/// True when no further connection was made to the listener.
pub fn no_more_connections(listener: &TcpListener) -> bool {
    listener.set_nonblocking(true).unwrap();
    matches!(listener.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock)
}

pub fn peer_client(port: u16) -> smtp_client::Builder {
    SmtpClient::builder("127.0.0.1")
        .port(port)
        .starttls(StartTls::None)
        .noop_after(None)
}

pub fn simple(marker: &str) -> Message {
    text_mail(marker, &["rcpt@example.com"])
}

// ---- the extra servers (scripts/servers.d/smtp-extra.sh) ---------------------

pub fn postfix_url() -> String {
    env_or("PCONN_POSTFIX_URL", "smtp://127.0.0.1:2526?starttls=none")
}

pub fn postfix_maildir() -> PathBuf {
    PathBuf::from(env_or(
        "PCONN_POSTFIX_MAILDIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.servers/postfix-mail"),
    ))
}

pub fn lmtp_url() -> String {
    env_or("PCONN_LMTP_URL", "lmtp://127.0.0.1:2424")
}

pub fn lmtp_maildir() -> PathBuf {
    PathBuf::from(env_or(
        "PCONN_LMTP_MAILDIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.servers/lmtp-mail"),
    ))
}

/// Files `NAME.eml` in `dir` containing `marker`, with their sidecar
/// (`NAME.json` or `NAME.env`) as text.
pub fn stored_in(dir: &std::path::Path, marker: &str) -> Vec<Stored> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("mail dir") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".eml") {
            continue;
        }
        let Ok(eml) = std::fs::read(&path) else {
            continue;
        };
        if eml.windows(marker.len()).any(|w| w == marker.as_bytes()) {
            let meta = std::fs::read_to_string(path.with_extension("json"))
                .or_else(|_| std::fs::read_to_string(path.with_extension("env")))
                .unwrap_or_default();
            found.push(Stored { meta, eml });
        }
    }
    found
}

/// Postfix delivers from its queue a moment after it accepted: wait (at
/// most 20 s, polling) until `n` stored mails contain `marker`.
pub fn wait_stored(dir: &std::path::Path, marker: &str, n: usize) -> Vec<Stored> {
    for _ in 0..200 {
        let found = stored_in(dir, marker);
        if found.len() >= n {
            return found;
        }
        thread::sleep(Duration::from_millis(100));
    }
    stored_in(dir, marker)
}

/// What Postfix's pipe(8) hands over: the message with LF line ends.
pub fn lf(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().copied().filter(|&b| b != b'\r').collect()
}
