//! `redis-cli` (redis-client's example) as a person uses it: the
//! interactive prompt in a real terminal under `tmux` (send-keys,
//! capture-pane), and the command line (one-shot, `--pipe`, `-r`/`-i`,
//! `--stat`, exit codes), against the real redis-server.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use integration_tests::env_or;

fn url() -> String {
    env_or("PCONN_REDIS_URL", "redis://127.0.0.1:6379")
}

/// Builds the example once per test binary and returns its path.
fn bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-q", "-p", "pconn-redis", "--example", "redis-cli"])
                .status()
                .unwrap();
            assert!(status.success(), "building redis-cli failed");
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
            target.join("debug/examples/redis-cli")
        })
        .clone()
}

fn cli(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(bin())
        .args(["--url", &url()])
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn key(name: &str) -> String {
    format!("tools:cli:{}:{name}", std::process::id())
}

#[test]
fn one_shot_formats_replies_and_exit_codes() {
    let k = key("one");
    let o = cli(&["SET", &k, "hello world"], "");
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "OK\n"));
    let o = cli(&["GET", &k], "");
    assert_eq!(stdout(&o), "\"hello world\"\n");
    let o = cli(&["GET", &key("missing")], "");
    assert_eq!(stdout(&o), "(nil)\n");
    let o = cli(&["INCR", &k], "");
    assert_eq!(o.status.code(), Some(1), "an error reply exits 1");
    assert!(stdout(&o).starts_with("(error) ERR"), "{}", stdout(&o));
    let o = cli(&["DEL", &k], "");
    assert_eq!(stdout(&o), "(integer) 1\n");
    let o = cli(&["LRANGE", &key("none"), "0", "-1"], "");
    assert_eq!(stdout(&o), "(empty array)\n");
}

#[test]
fn usage_and_connection_errors_exit_2_and_say_what_to_try() {
    let o = Command::new(bin()).arg("--bogus").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--help"));
    let o = Command::new(bin())
        .args(["-r", "zero", "PING"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = Command::new(bin())
        .args(["--url", "redis://127.0.0.1:1", "PING"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("127.0.0.1:1"));
    let o = Command::new(bin()).arg("--help").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    for flag in [
        "--pipe",
        "--stat",
        "-r N",
        "-i SECONDS",
        "examples:",
        "exit codes",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn repeat_runs_the_command_n_times() {
    let k = key("repeat");
    let o = cli(&["-r", "3", "-i", "0.01", "INCR", &k], "");
    assert_eq!(stdout(&o), "(integer) 1\n(integer) 2\n(integer) 3\n");
    cli(&["DEL", &k], "");
}

#[test]
fn pipe_sends_stdin_lines_and_counts_errors() {
    let k = key("pipe");
    let input = format!("SET {k} 10\nINCR {k}\n\nINCRBY {k} notanumber\nINCR {k}\n");
    let o = cli(&["--pipe"], &input);
    assert!(
        stdout(&o).ends_with("errors: 1, replies: 4\n"),
        "{}",
        stdout(&o)
    );
    assert_eq!(o.status.code(), Some(1));
    // Without --pipe, a stdin that is not a terminal is piped too.
    let o = cli(&[], &format!("INCR {k}\nDEL {k}\n"));
    assert!(
        stdout(&o).ends_with("errors: 0, replies: 2\n"),
        "{}",
        stdout(&o)
    );
    assert_eq!(o.status.code(), Some(0));
    let o = cli(&["GET", &k], "");
    assert_eq!(stdout(&o), "(nil)\n", "the piped DEL ran after the INCRs");
}

#[test]
fn stat_prints_r_lines_from_info() {
    let o = cli(&["--stat", "-r", "2", "-i", "0.05"], "");
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "two header lines and two rows: {out}");
    assert!(lines[1].starts_with("keys"));
    for row in &lines[2..] {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert!(cols[0].parse::<u64>().is_ok(), "keys column: {row}");
        assert!(
            cols[2].parse::<u64>().unwrap() >= 1,
            "clients column: {row}"
        );
    }
    assert!(
        lines[3].contains("(+"),
        "second row shows the request delta"
    );
}

/// A `tmux` server of its own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux is installed (scripts/servers.d/tools.sh)");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "cli"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// The pane once `done` holds for it (bounded polling).
    fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let mut pane = String::new();
        for _ in 0..200 {
            pane = self.run(&["capture-pane", "-p", "-t", "cli"]);
            if done(&pane) {
                return pane;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("the pane never showed {what}:\n{pane}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

#[test]
fn interactive_prompt_in_a_real_terminal() {
    let history = std::env::temp_dir().join(format!("pconn-cli-history-{}", std::process::id()));
    let _ = std::fs::remove_file(&history);
    let tmux = Tmux {
        socket: format!("pconn-tools-{}", std::process::id()),
    };
    let command = format!(
        "env -u RUST_LOG PCONN_REDIS_HISTORY={} {} --url {}",
        history.display(),
        bin().display(),
        url()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "cli",
        "-x",
        "150",
        "-y",
        "50",
        &command,
    ]);
    let hostport = url()
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(|h| h.rsplit('@').next().unwrap_or(h).to_string())
        .unwrap();
    let prompt = format!("{hostport}> ");
    tmux.wait_for("the prompt", |p| p.contains(prompt.trim_end()));

    // Each line is typed once the reply to the one before it is shown, as
    // a person does: the line editor discards what was typed ahead while a
    // command ran (as redis-cli's linenoise does).
    let oks = |p: &str| p.lines().filter(|l| l.trim_end() == "OK").count();
    let (k, l) = (key("tty"), key("ttylist"));
    tmux.keys(&[&format!("SET {k} \"two words\""), "Enter"]);
    tmux.wait_for("the SET reply", |p| oks(p) == 1);
    tmux.keys(&[&format!("GET {k}"), "Enter"]);
    tmux.wait_for("the GET reply", |p| p.contains("\"two words\""));
    tmux.keys(&[&format!("RPUSH {l} a b c"), "Enter"]);
    tmux.wait_for("the RPUSH reply", |p| p.contains("(integer) 3"));
    tmux.keys(&[&format!("LRANGE {l} 0 -1"), "Enter"]);
    let pane = tmux.wait_for("the array", |p| p.contains("3) \"c\""));
    assert!(pane.contains("(integer) 3"), "{pane}");
    assert!(pane.contains("1) \"a\"\n2) \"b\"\n3) \"c\""), "{pane}");
    // Arrow-up brings back the last command from history.
    tmux.keys(&["Up", "Enter"]);
    tmux.wait_for("the array twice", |p| p.matches("3) \"c\"").count() == 2);
    tmux.keys(&[&format!("HINCRBY {k} f 1"), "Enter"]);
    tmux.wait_for("the error", |p| p.contains("(error) WRONGTYPE"));
    tmux.keys(&["SELECT 1", "Enter"]);
    let db_prompt = format!("{}[1]>", prompt.trim_end().trim_end_matches('>'));
    tmux.wait_for("the [1] prompt", |p| p.contains(&db_prompt));
    tmux.keys(&["SELECT 0", "Enter"]);
    tmux.wait_for("the SELECT 0 reply", |p| oks(p) == 3);
    tmux.keys(&[&format!("DEL {k} {l}"), "Enter"]);
    tmux.wait_for("the DEL reply", |p| p.contains("(integer) 2"));
    tmux.keys(&["quit", "Enter"]);
    // The history file is rewritten (truncated, then written) after every
    // line, `quit` included: read it until that last write is complete.
    let mut saved = String::new();
    for _ in 0..400 {
        saved = std::fs::read_to_string(&history).unwrap_or_default();
        if saved.lines().any(|l| l == "quit") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(
        saved.contains(&format!("LRANGE {l} 0 -1")) && saved.contains(&format!("DEL {k} {l}")),
        "history file: {saved}"
    );
    let _ = std::fs::remove_file(&history);
}

#[test]
fn resp3_replies_are_formatted_as_redis_cli_does() {
    let (h, z) = (key("hash"), key("zset"));
    let resp3 = format!("{}?protocol=3", url().trim_end_matches('/'));
    let run = |args: &[&str]| {
        let o = Command::new(bin())
            .args(["--url", &resp3])
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        stdout(&o)
    };
    run(&["HSET", &h, "a", "1", "b", "2"]);
    assert_eq!(
        run(&["HGETALL", &h]),
        "1# \"a\" => \"1\"\n2# \"b\" => \"2\"\n"
    );
    run(&["ZADD", &z, "1.5", "m"]);
    assert_eq!(run(&["ZSCORE", &z, "m"]), "(double) 1.5\n");
    assert_eq!(run(&["SMEMBERS", &key("noset")]), "(empty set)\n");
    assert_eq!(run(&["DEL", &h, &z]), "(integer) 2\n");
}
