//! The `send-mail` example used as a person uses it: its command line,
//! exit codes and output, against the real servers.

#[path = "smtp_support.rs"]
mod smtp_support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use integration_tests::unique;
use smtp_support::*;

/// The example, built once (with DKIM) by the cargo that runs the tests.
fn send_mail() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args([
                "build",
                "-q",
                "-p",
                "smtp-client",
                "--features",
                "dkim",
                "--example",
                "send-mail",
            ])
            .status()
            .expect("cargo build");
        assert!(out.success());
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/debug/examples/send-mail"
        ))
    })
    .clone()
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    run_env(args, stdin, None)
}

fn run_env(args: &[&str], stdin: Option<&[u8]>, rust_log: Option<&str>) -> Output {
    let mut cmd = Command::new(send_mail());
    match rust_log {
        Some(filter) => cmd.env("RUST_LOG", filter),
        None => cmd.env_remove("RUST_LOG"),
    };
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or_default())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn lmtp_over_the_unix_socket() {
    let run_id = unique("cli-lmtp-unix");
    let socket = std::env::var("PCONN_LMTP_SOCKET").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.servers/run/lmtp.sock").into()
    });
    let url = format!("lmtp+unix://{socket}");
    let out = run(
        &[
            "--url",
            &url,
            "--lmtp",
            "--from",
            "a@example.com",
            "--to",
            "b@example.com",
            "--subject",
            &run_id,
            "--body",
            "over the socket",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stored = stored_in(&lmtp_maildir(), &run_id);
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].meta.contains("\"transport\": \"unix\""),
        "{}",
        stored[0].meta
    );
}

#[test]
fn lmtp_with_html_and_attachment() {
    let run_id = unique("cli-lmtp");
    let dir = std::env::temp_dir().join(&run_id);
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("body.html");
    std::fs::write(&html, "<p>hello</p>").unwrap();
    let attach = dir.join("notes.txt");
    std::fs::write(&attach, "attached notes").unwrap();
    let url = format!("{}?starttls=none", lmtp_url());
    let out = run(
        &[
            "--url",
            &url,
            "--lmtp",
            "--from",
            "a@example.com",
            "--to",
            "b@example.com",
            "--to",
            "full-c@example.com",
            "--subject",
            &run_id,
            "--body",
            "text",
            "--html",
            html.to_str().unwrap(),
            "--attach",
            attach.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("refused: full-c@example.com (552"),
        "{}",
        text(&out.stdout)
    );
    let stored = stored_in(&lmtp_maildir(), &run_id);
    assert_eq!(stored.len(), 1);
    let eml = text(&stored[0].eml);
    assert!(
        eml.contains("multipart/alternative") && eml.contains("filename=\"notes.txt\""),
        "{eml}"
    );
}

#[test]
fn message_from_stdin_with_recipients_from_its_headers() {
    let run_id = unique("cli-t");
    let message = format!(
        "From: Ann <ann@example.com>\nTo: one@example.net, \"Two, Esq.\" <two@example.net>\n\
         Bcc: hidden@example.net\nSubject: {run_id}\nMessage-ID: <{run_id}@example.com>\n\
         Date: Fri, 4 Dec 2026 12:00:00 +0000\n\nbody\n.\nafter a lone dot\n"
    );
    let out = run(&["--url", &postfix_url(), "-t"], Some(message.as_bytes()));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stored = wait_stored(&postfix_maildir(), &run_id, 3);
    assert_eq!(stored.len(), 3, "one, two and hidden");
    let mut rcpts: Vec<String> = stored
        .iter()
        .map(|s| s.meta.lines().nth(1).unwrap().to_string())
        .collect();
    rcpts.sort();
    assert_eq!(
        rcpts,
        ["hidden@example.net", "one@example.net", "two@example.net"]
    );
    for s in &stored {
        assert!(s.meta.starts_with("ann@example.com\n"), "{}", s.meta);
        let eml = text(&s.eml);
        assert!(!eml.contains("hidden@example.net"), "Bcc kept: {eml}");
        assert!(eml.ends_with("body\n.\nafter a lone dot\n"), "{eml}");
    }
}

#[test]
fn bad_input_exits_2_and_a_refusal_exits_1() {
    let dir = std::env::temp_dir().join(unique("cli-bad"));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("bad.pem");
    std::fs::write(&key, "not a key").unwrap();
    let base = [
        "--url",
        "smtp://127.0.0.1:1?starttls=none",
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
    ];
    let out = run(
        &[
            &base[..],
            &[
                "--dkim-key",
                key.to_str().unwrap(),
                "--dkim-selector",
                "s",
                "--dkim-domain",
                "example.com",
            ],
        ]
        .concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("DKIM"), "{}", text(&out.stderr));
    let out = run(
        &[&base[..], &["--attach", "/nonexistent/file"]].concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = run(&["--url", "smtp://x", "--bogus"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["--help"], None);
    assert!(text(&out.stderr).contains("examples:"));
    // DSN asked of a server without it: the mail fails, exit 1.
    let out = run(
        &[
            "--url",
            &smtp_url(),
            "--cacert",
            test_ca_path().to_str().unwrap(),
            "--user",
            "pconn",
            "--password",
            "pconn-secret",
            "--from",
            "a@example.com",
            "--to",
            "b@example.com",
            "--dsn",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("DSN"), "{}", text(&out.stdout));
}

fn test_ca_path() -> PathBuf {
    integration_tests::test_ca()
}

#[test]
fn rust_log_prints_the_client_events() {
    let run_id = unique("cli-log");
    let url = format!("{}?starttls=none", lmtp_url());
    let args = [
        "--url",
        &url,
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--subject",
        &run_id,
        "--count",
        "2",
    ];
    let out = run_env(&args, None, Some("smtp_client=debug"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = text(&out.stderr);
    assert_eq!(log.matches("SMTP session opened").count(), 1, "{log}");
    assert!(log.contains("LMTP: one reply per recipient"), "{log}");
    assert!(log.contains("SMTP session closing"), "{log}");
    let quiet = run_env(&args, None, None);
    assert!(quiet.status.success());
    assert!(!text(&quiet.stderr).contains("SMTP session opened"));
}
