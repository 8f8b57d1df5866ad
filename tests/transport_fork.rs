//! Fork safety, alone in its own test binary: `fork()` in a process whose
//! other test threads may hold locks could deadlock the child.

use std::time::Duration;

use integration_tests::{env_or, host_port};
use transport::{open, Conn, ConnectOptions, Direct, Discard, Endpoint, Pool, PoolConfig, PoolKey};

fn ping(conn: &mut Conn) -> bool {
    if conn.begin_exchange().is_err() {
        return false;
    }
    if conn.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let reply = conn.read_frame(64, |buf: &[u8]| -> transport::Result<_> {
        Ok(buf
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|i| (buf[..i].to_vec(), i + 2)))
    });
    conn.end_exchange();
    matches!(reply, Ok(r) if r == b"+PONG")
}

#[test]
fn forked_child_opens_its_own_connection_and_parent_keeps_working() {
    let (host, port) = host_port(&env_or("PCONN_REDIS_URL", "redis://127.0.0.1:6379"), 6379);
    let endpoint = Endpoint::new(&host, port).unwrap();
    let pool: Pool<()> = Pool::new(PoolConfig::default()).unwrap();
    let key = PoolKey::new("redis", &host, port).persistent_id("fork-test");
    let opener = || -> transport::Result<_> {
        Ok((open(&endpoint, &Direct, &ConnectOptions::default())?, ()))
    };
    let parent_port = {
        let mut g = pool.checkout(&key, opener).unwrap();
        assert!(ping(g.conn()));
        g.conn().socket().local_addr().unwrap().port()
    };

    // SAFETY: this test binary runs only this test; the child touches the
    // pool and the socket API, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = (|| {
            let mut g = pool.checkout(&key, opener).ok()?;
            let own = !g.is_reused() && g.conn().socket().local_addr().ok()?.port() != parent_port;
            let works = ping(g.conn());
            drop(g);
            let stats = pool.stats();
            let counted = stats.discarded(Discard::Forked) == 1 && stats.opened == 2;
            Some(if own && works && counted { 0 } else { 1 })
        })()
        .unwrap_or(2);
        // SAFETY: leaves the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child we just forked.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status));
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "child: 1 = reused or broken, 2 = checkout failed"
    );

    // The child closed its copy of the parent's socket without a goodbye:
    // the parent's connection still answers.
    std::thread::sleep(Duration::from_millis(20));
    let mut g = pool.checkout(&key, opener).unwrap();
    assert!(g.is_reused());
    assert_eq!(g.conn().socket().local_addr().unwrap().port(), parent_port);
    assert!(ping(g.conn()));
    assert_eq!(pool.stats().opened, 1);
}
