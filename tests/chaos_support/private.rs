//! Private server instances for the kill and limit suites: own port (in the
//! chaos range 16000-16999), own state directory, own process group, so a
//! test can SIGKILL and restart them without touching the shared servers.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

/// A port of the chaos range that is free right now.
pub fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 16000 + (std::process::id() % 50) as u16 * 20;
    for _ in 0..1000 {
        let port = 16000 + (base - 16000 + NEXT.fetch_add(1, Ordering::Relaxed)) % 1000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 16000-16999");
}

/// A fresh state directory under the target dir.
pub fn state_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/chaos-servers")
        .join(integration_tests::unique(name));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A server process (and its children) in its own process group.
#[derive(Debug)]
pub struct Private {
    program: String,
    args: Vec<String>,
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Private {
    pub fn start(program: &str, args: Vec<String>, port: u16, dir: PathBuf) -> Private {
        let mut p = Private {
            program: program.to_string(),
            args,
            port,
            dir,
            child: None,
        };
        p.restart();
        p
    }

    /// Starts the process again and waits (bounded) until its port accepts.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "still running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.out"))
            .unwrap();
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", self.program));
        self.child = Some(child);
        for _ in 0..400 {
            if TcpStream::connect_timeout(
                &([127, 0, 0, 1], self.port).into(),
                Duration::from_millis(100),
            )
            .is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "{} did not open port {} (see {})",
            self.program,
            self.port,
            self.dir.display()
        );
    }

    /// SIGKILL to the whole process group (nginx's workers too).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pgid = child.id() as i32;
            // SAFETY: kill(2) with a negative pid signals that process group,
            // which is ours alone (process_group(0) at spawn).
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
            let _ = child.wait();
            // Workers reparented to init may outlive the leader briefly.
            for _ in 0..200 {
                // SAFETY: signal 0 only checks that the group still exists.
                if unsafe { libc::kill(-pgid, 0) } != 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        self.kill();
        // Kept when the test failed, for its logs.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A private redis-server: append-only file synced on every write, so what
/// the server acknowledged survives SIGKILL; `extra` are more `--opt value`.
pub fn redis(extra: &[&str]) -> Private {
    let port = free_port();
    let dir = state_dir("redis");
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--daemonize",
        "no",
        "--dir",
        dir.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    Private::start("redis-server", args, port, dir)
}

/// A private nginx with the echo module: `/echo` answers "METHOD URI",
/// every request is logged as "METHOD URI STATUS" in `access.log`.
pub fn nginx(worker_connections: usize, extra_http: &str) -> Private {
    let port = free_port();
    let dir = state_dir("nginx");
    let d = dir.display();
    let user = if unsafe { libc::getuid() } == 0 {
        "user root;"
    } else {
        ""
    };
    let conf = format!(
        "load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
{user}
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
    log_format plain '$request_method $request_uri $status';
    access_log {d}/access.log plain;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_timeout 75s;
    keepalive_requests 100000;
    {extra_http}
    server {{
        listen 127.0.0.1:{port};
        location /echo {{
            default_type text/plain;
            echo_read_request_body;
            echo \"$request_method $request_uri\";
            echo_request_body;
        }}
        location = /slow {{ default_type text/plain; echo_sleep 1; echo slow; }}
        location = /status {{ stub_status; }}
        location = /hold {{ default_type text/plain; echo_sleep 0.2; echo held; }}
    }}
}}
"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let args = vec![
        "-c".to_string(),
        dir.join("nginx.conf").display().to_string(),
        "-p".to_string(),
        dir.display().to_string(),
        "-e".to_string(),
        dir.join("error.log").display().to_string(),
    ];
    let nginx = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("nginx");
    Private::start(nginx, args, port, dir)
}

/// A private scripts/smtp_server.py (aiosmtpd) storing mail in its own dir
/// (`<dir>/mail`), plain SMTP on `port` (STARTTLS offered).
pub fn smtp() -> Private {
    let port = free_port();
    let tls_port = free_port();
    let dir = state_dir("smtp");
    let certs = integration_tests::test_ca();
    let certs = certs.parent().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let args = vec![
        root.join("scripts/smtp_server.py").display().to_string(),
        "--cert".into(),
        certs.join("server.pem").display().to_string(),
        "--key".into(),
        certs.join("server.key").display().to_string(),
        "--maildir".into(),
        dir.join("mail").display().to_string(),
        "--host".into(),
        "127.0.0.1".into(),
        "--port".into(),
        port.to_string(),
        "--tls-port".into(),
        tls_port.to_string(),
    ];
    std::fs::create_dir_all(dir.join("mail")).unwrap();
    Private::start("/usr/bin/python3", args, port, dir)
}
