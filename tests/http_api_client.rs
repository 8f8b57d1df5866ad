//! `api-client` (http-client's curl-like example) as a person uses it,
//! through its command line, against the real nginx servers.

use std::process::{Command, Output};
use std::sync::OnceLock;

use integration_tests::env_or;

/// Builds the example once (with the features its flags need), then runs it.
fn api_client(args: &[&str]) -> Output {
    api_client_env(args, &[])
}

fn api_client_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    static BUILT: OnceLock<()> = OnceLock::new();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    BUILT.get_or_init(|| {
        let status = Command::new(&cargo)
            .args(["build", "-q", "-p", "pconn-http", "--example", "api-client"])
            .args(["--features", "gzip,cookies,json,digest"])
            .status()
            .unwrap();
        assert!(status.success(), "building api-client failed");
    });
    Command::new(cargo)
        .args(["run", "-q", "-p", "pconn-http", "--example", "api-client"])
        .args(["--features", "gzip,cookies,json,digest", "--"])
        .args(args)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn http() -> String {
    env_or("PCONN_HTTP_URL", "http://127.0.0.1:8080")
}

fn extra() -> String {
    env_or("PCONN_HTTP_EXTRA_URL", "http://127.0.0.1:8090")
}

#[test]
fn body_only_by_default_head_with_i_redirects_only_with_l() {
    let o = api_client(&[&format!("{}/small", http())]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "hello\n");

    let o = api_client(&["-i", &format!("{}/redirect/same", extra())]);
    let text = stdout(&o);
    assert!(text.starts_with("HTTP/1.1 302 "), "{text}");
    assert!(text.contains("\nLocation: "), "{text}");

    let o = api_client(&["-L", &format!("{}/redirect/same", extra())]);
    assert!(stdout(&o).starts_with("method=GET "), "{}", stdout(&o));
    let o = api_client(&["-L", &format!("{}/redirect/loop", extra())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("loop"));
}

#[test]
fn data_user_json_and_method() {
    let dir = std::env::temp_dir().join(integration_tests::unique("api-client"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("body.bin");
    std::fs::write(&file, b"line one\nline two\n").unwrap();
    let at = format!("@{}", file.display());
    let o = api_client(&[
        "-u",
        "me:secret",
        "--data-binary",
        &at,
        &format!("{}/echo", http()),
    ]);
    let text = stdout(&o);
    assert!(text.starts_with("POST /echo\n"), "{text}");
    assert!(
        text.contains("Authorization: Basic bWU6c2VjcmV0\r\n"),
        "{text}"
    );
    assert!(text.ends_with("line one\nline two\n"), "{text}");

    let o = api_client(&[
        "--json",
        r#"{"a":1}"#,
        "-X",
        "PUT",
        &format!("{}/echo", http()),
    ]);
    let text = stdout(&o);
    assert!(text.starts_with("PUT /echo\n"), "{text}");
    assert!(
        text.contains("Content-Type: application/json\r\n"),
        "{text}"
    );
    assert!(text.contains("Accept: application/json\r\n"), "{text}");
    assert!(text.ends_with(r#"{"a":1}"#), "{text}");

    let out = dir.join("out.txt");
    let o = api_client(&["-o", out.to_str().unwrap(), &format!("{}/small", http())]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");
    assert_eq!(std::fs::read(&out).unwrap(), b"hello\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cookie_jar_files_and_literal_cookies() {
    let dir = std::env::temp_dir().join(integration_tests::unique("api-client-jar"));
    std::fs::create_dir_all(&dir).unwrap();
    let jar = dir.join("jar.json");
    let jar = jar.to_str().unwrap();
    let o = api_client(&["-c", jar, &format!("{}/cookies/set", extra())]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = api_client(&["-b", jar, &format!("{}/cookies/headers", extra())]);
    let text = stdout(&o);
    assert!(
        text.contains("plain=1") && text.contains("scoped=2"),
        "{text}"
    );
    assert!(
        !text.contains("sec=3"),
        "a Secure cookie over plain http: {text}"
    );
    let o = api_client(&["-b", "a=1; b=2", &format!("{}/cookies/headers", extra())]);
    assert_eq!(stdout(&o), "cookie=a=1; b=2\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compressed_and_refusals() {
    let o = api_client(&["--compressed", "-i", &format!("{}/gzip", http())]);
    let text = stdout(&o);
    assert!(text.contains("Content-Encoding: gzip"), "{text}");
    assert!(text.contains("line 399: the quick brown fox"), "{text}");
    // Without --compressed nothing is asked for: the body comes plain.
    let o = api_client(&["-i", &format!("{}/gzip", http())]);
    assert!(!stdout(&o).contains("Content-Encoding"));

    let o = api_client(&["-k", "https://localhost:8443/"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--cacert"));
    let o = api_client(&["-f", &format!("{}/status/404", http())]);
    assert_eq!(o.status.code(), Some(22));
    let o = api_client(&["--bogus", "http://x/"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn multipart_fields_and_files_with_f() {
    let dir = std::env::temp_dir().join(integration_tests::unique("api-client-form"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("upload.txt");
    std::fs::write(&file, b"file contents\n").unwrap();
    let o = api_client(&[
        "-F",
        "title=holiday",
        "-F",
        &format!("doc=@{}", file.display()),
        &format!("{}/echo", http()),
    ]);
    let text = stdout(&o);
    assert!(text.starts_with("POST /echo\n"), "{text}");
    assert!(
        text.contains("Content-Type: multipart/form-data; boundary="),
        "{text}"
    );
    assert!(text.contains("name=\"title\"\r\n\r\nholiday\r\n"), "{text}");
    assert!(
        text.contains("name=\"doc\"; filename=\"upload.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nfile contents\n\r\n"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rust_log_prints_the_clients_events() {
    let o = api_client_env(
        &["-L", &format!("{}/redirect/same", extra())],
        &[("RUST_LOG", "debug")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("following redirect"), "{err}");
    assert!(err.contains("connected"), "{err}");
    let o = api_client(&["-L", &format!("{}/redirect/same", extra())]);
    assert!(o.stderr.is_empty());
}

#[test]
fn retry_n_tries_again_on_429() {
    let o = api_client(&["--retry", "2", &format!("{}/retry/429", extra())]);
    assert_eq!(stdout(&o), "requests=3\n");
}

#[test]
fn unix_socket_sends_to_the_socket_with_the_urls_host() {
    let socket = env_or("PCONN_HTTP_UNIX_SOCKET", "/var/run/nginx-http.sock");
    let o = api_client(&[
        "--unix-socket",
        &socket,
        "--repeat",
        "3",
        "--stats",
        "http://api.local/echo/unix",
    ]);
    let text = stdout(&o);
    assert!(
        o.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(text.matches("GET /echo/unix\n").count(), 3, "{text}");
    assert_eq!(text.matches("\nHost: api.local\r\n").count(), 3, "{text}");
    assert!(text.contains("\"opened\":1"), "{text}");

    let o = api_client(&["--unix-socket", &socket, "https://api.local/"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Unix socket"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn o_shows_progress_on_a_terminal_only_and_s_silences_it() {
    let dir = std::env::temp_dir().join(integration_tests::unique("api-client-progress"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("large.bin");
    let out = out.to_str().unwrap();
    let url = format!("{}/large", http());
    // stderr a pipe: not one progress byte, with or without -s.
    for args in [&["-o", out, &url][..], &["-s", "-o", out, &url][..]] {
        let o = api_client(args);
        assert!(o.status.success(), "{args:?}");
        assert!(o.stderr.is_empty(), "{args:?}: {:?}", o.stderr);
        assert!(o.stdout.is_empty());
        assert_eq!(std::fs::metadata(out).unwrap().len(), 8 << 20);
    }
    // stderr a terminal (script(1) runs it on a pseudo-terminal): the
    // progress line, redrawn with carriage returns, ending at the total.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped the terminal case: script(1) is not installed");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    // The binary api_client() built, beside this test's own deps folder.
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/api-client");
    let on_tty = |flags: &str| {
        let cmd = format!("{} {flags} -o {out} {url}", bin.display());
        let o = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert!(o.status.success(), "{cmd}: {o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let shown = on_tty("");
    assert!(shown.starts_with('\r'), "{shown:?}");
    assert!(shown.contains("8.0 MiB / 8.0 MiB  100%"), "{shown:?}");
    assert!(shown.contains("MiB/s"), "{shown:?}");
    assert_eq!(std::fs::metadata(out).unwrap().len(), 8 << 20);
    let silent = on_tty("-s");
    assert_eq!(silent, "", "-s on a terminal");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn digest_answers_the_challenge_with_the_user_s_credentials() {
    let digest = env_or("PCONN_DIGEST_URL", "http://127.0.0.1:8095");
    let user = format!(
        "{}:{}",
        env_or("PCONN_DIGEST_USER", "pconn"),
        env_or("PCONN_DIGEST_PASSWORD", "pconn-secret")
    );
    for (path, body) in [("md5", "md5 ok\n"), ("sha256", "sha256 ok\n")] {
        let url = format!("{digest}/{path}/");
        let o = api_client(&["--digest", "-u", &user, "-f", &url]);
        assert!(o.status.success(), "{path}: {o:?}");
        assert_eq!(stdout(&o), body);
        // The same credentials as Basic are not what the server asked for.
        let o = api_client(&["-u", &user, "-f", &url]);
        assert_eq!(o.status.code(), Some(22), "{path}: {o:?}");
    }
    let o = api_client(&[
        "--digest",
        "-u",
        "pconn:wrong",
        "-f",
        &format!("{digest}/md5/"),
    ]);
    assert_eq!(o.status.code(), Some(22), "{o:?}");
    // --digest without credentials is a usage error, nothing is sent.
    let o = api_client(&["--digest", &format!("{digest}/md5/")]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("-u USER:PASSWORD"));
}
