//! A server process found by the loopback port it listens on, so a test can
//! kill it and start it again — natively or inside the container that runs
//! it (`make docker-test`), without knowing which.

use std::process::Command;

/// The process listening on a loopback port, as this host sees it.
#[derive(Debug)]
pub struct ServerProcess {
    /// Its pid in this host's pid namespace.
    pub pid: i32,
    /// The Docker container it runs in, if any.
    pub container: Option<String>,
}

impl ServerProcess {
    /// The process listening on loopback `port` (needs `ss` and root to see
    /// another user's or a container's process).
    pub fn listening_on(port: u16) -> Option<Self> {
        let out = Command::new("ss")
            .args(["-Hltnp", &format!("( sport = :{port} )")])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let start = text.find("pid=")? + 4;
        let pid = text[start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()?;
        // A server in the container this test runs in (the fresh-machine
        // run) is started again like a native one.
        let container = container_of(&format!("/proc/{pid}/cgroup"))
            .filter(|c| container_of("/proc/self/cgroup").as_ref() != Some(c));
        Some(ServerProcess { pid, container })
    }

    /// SIGKILL: the server dies without a word to its clients.
    pub fn kill(&self) {
        // kill(2), not kill(1): a minimal Debian has no procps.
        // SAFETY: sends a signal; no memory is shared with the callee.
        let rc = unsafe { libc::kill(self.pid, libc::SIGKILL) };
        assert_eq!(
            rc,
            0,
            "kill -9 {} failed: {}",
            self.pid,
            std::io::Error::last_os_error()
        );
    }

    /// Starts `program args` where the killed process ran: in its container
    /// (`docker exec`) or on this host. The program must daemonize itself
    /// (as `redis-server` with `daemonize yes`).
    pub fn start_again(&self, program: &str, args: &[&str]) {
        let status = match &self.container {
            Some(id) => Command::new("docker")
                .arg("exec")
                .arg(id)
                .arg(program)
                .args(args)
                .status(),
            None => Command::new(program).args(args).status(),
        }
        .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        assert!(status.success(), "{program} {args:?} did not start");
    }
}

/// The Docker container id in a process's cgroup file (a 64-digit hex
/// name under `docker/` or `docker-….scope`).
fn container_of(cgroup_file: &str) -> Option<String> {
    let cgroup = std::fs::read_to_string(cgroup_file).ok()?;
    cgroup
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|part| part.len() == 64)
        .map(str::to_string)
}
