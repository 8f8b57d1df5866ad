//! `monitor` (transport's example) through its command line against the
//! real servers and a closed port: JSON lines parsed, exit codes, the
//! target file, reuse across rounds.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use integration_tests::env_or;

/// Builds the example once per test binary and returns its path.
fn bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-q", "-p", "transport", "--example", "monitor"])
                .status()
                .unwrap();
            assert!(status.success(), "building monitor failed");
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
            target.join("debug/examples/monitor")
        })
        .clone()
}

fn monitor(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// `scheme://host:port` of an environment URL, without any path.
fn origin(var: &str, default: &str) -> String {
    let url = env_or(var, default);
    let (scheme, rest) = url.split_once("://").unwrap();
    let authority = rest.split('/').next().unwrap();
    format!("{scheme}://{}", authority.rsplit('@').next().unwrap())
}

fn redis() -> String {
    origin("PCONN_REDIS_URL", "redis://127.0.0.1:6379")
}
fn http() -> String {
    origin("PCONN_HTTP_URL", "http://127.0.0.1:8080")
}
fn smtp() -> String {
    origin("PCONN_SMTP_URL", "smtp://127.0.0.1:2525")
}

/// One JSON line's `"field":` value as text (strings unquoted).
fn field(line: &str, name: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    match &v[name] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn protocol_checks_are_up_and_reused_in_the_next_round() {
    let (r, h, s) = (
        format!("cache={}", redis()),
        format!("web={}", http()),
        format!("mail={}", smtp()),
    );
    let o = monitor(&["--json", "--rounds", "2", "--interval", "10ms", &r, &h, &s]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "one object per target per round: {out}");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(field(line, "status"), "up", "{line}");
        assert_eq!(field(line, "round"), if i < 3 { "1" } else { "2" });
        assert_eq!(
            field(line, "reused"),
            if i < 3 { "false" } else { "true" },
            "{line}"
        );
        assert_eq!(field(line, "opened_count"), "1", "{line}");
        assert_eq!(field(line, "error"), "null");
    }
    let checks: Vec<String> = lines[..3].iter().map(|l| field(l, "check")).collect();
    assert_eq!(checks, ["redis", "http", "smtp"]);
    assert_eq!(field(lines[0], "name"), "cache");
}

#[test]
fn a_closed_port_or_the_wrong_protocol_is_down_and_exits_1() {
    let http_addr = http().split("://").nth(1).unwrap().to_string();
    let wrong = format!("wrong=redis://{http_addr}");
    let o = monitor(&[
        "--json",
        "closed=127.0.0.1:1",
        &wrong,
        &format!("up={}", redis()),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(field(lines[0], "status"), "down");
    assert!(field(lines[0], "error").contains("127.0.0.1:1"), "{out}");
    assert_eq!(
        field(lines[1], "status"),
        "down",
        "PING to nginx is not PONG: {out}"
    );
    assert_eq!(field(lines[2], "status"), "up");
}

#[test]
fn targets_file_with_comments_and_the_table() {
    let file = std::env::temp_dir().join(format!("pconn-monitor-{}.txt", std::process::id()));
    std::fs::write(
        &file,
        format!(
            "# the cache\ncache={}  # comment\n\nmail={}\n",
            redis(),
            smtp()
        ),
    )
    .unwrap();
    let o = monitor(&["--targets", file.to_str().unwrap(), "--rounds", "1"]);
    let _ = std::fs::remove_file(&file);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().nth(1).unwrap().starts_with("name"), "{out}");
    let rows: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[0].starts_with("cache") && rows[0].contains(" up "),
        "{out}"
    );
    assert!(
        rows[1].starts_with("mail") && rows[1].contains("smtp"),
        "{out}"
    );
    assert!(
        !out.contains('\x1b'),
        "no ANSI redraw when stdout is not a terminal"
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["--bogus", "a=127.0.0.1:1"][..],
        &["x=nohostport"][..],
        &["--rounds", "0", "a=127.0.0.1:1"][..],
        &["ftp://127.0.0.1:21"][..],
        &["--targets", "/nonexistent/pconn-targets"][..],
    ] {
        let o = monitor(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!o.stderr.is_empty(), "{args:?} says what went wrong");
    }
    let o = monitor(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    for s in [
        "--targets",
        "--json",
        "--rounds",
        "--interval",
        "examples:",
        "exit codes",
    ] {
        assert!(help.contains(s), "--help lacks {s}");
    }
}
