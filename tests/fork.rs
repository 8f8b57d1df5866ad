//! The release path's two promises of issue 11 §1b, through the protocol
//! clients: a forked child never touches (resets, drains, says goodbye on)
//! a socket its parent opened, and a connection counts against `max_open`
//! until its socket is closed, polite goodbye included.
//!
//! Every test takes one lock: `fork()` while another test thread holds a
//! lock could deadlock the child, so nothing else runs while one forks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use integration_tests::{env_or, unique};
use redis_client::{cmd, Client, Value};
use transport::{
    BoxError, Conn, ConnectOptions, Direct, Endpoint, Pool, PoolConfig, PoolKey, Recycle, Reuse,
};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// Forks: 0 in the child, the child's pid in the parent. The child must
/// only drop values and leave through [`leave_child`].
fn fork() -> libc::pid_t {
    // SAFETY: the tests of this binary run one at a time (`serial`), so no
    // other test thread holds a lock the child could need.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    pid
}

/// Leaves the child without running the parent's destructors.
fn leave_child() -> ! {
    // SAFETY: _exit ends the process at once; nothing is left to run.
    unsafe { libc::_exit(0) }
}

/// Waits for the child and checks it left through [`leave_child`].
fn wait_child(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
}

#[test]
fn a_forked_child_dropping_a_redis_connection_after_select_leaves_the_parent_in_its_db() {
    let _one = serial();
    let url = env_or("PCONN_REDIS_URL", "redis://127.0.0.1:6379");
    let client = Client::open(&url).unwrap();
    let key = unique("pconn:fork:db");
    let mut conn = client.get().unwrap();
    conn.query_value(&cmd("SELECT").arg(1)).unwrap();
    conn.query_value(&cmd("SET").arg(&key).arg("in-db-1").arg("EX").arg(60))
        .unwrap();
    // Dropped in the child, the copy must not be reset (RESET + HELLO)
    // on the socket it shares with the parent.
    let pid = fork();
    if pid == 0 {
        // The child's copy of the borrowed connection ends here.
        drop(conn);
        leave_child();
    }
    wait_child(pid);
    thread::sleep(Duration::from_millis(50));
    let got = conn.query_value(&cmd("GET").arg(&key)).unwrap();
    assert_eq!(got, Value::Bulk(b"in-db-1".to_vec()), "still in db 1");
    conn.query_value(&cmd("DEL").arg(&key)).unwrap();
}

#[test]
fn a_forked_child_dropping_an_http_response_mid_body_leaves_the_body_to_the_parent() {
    let _one = serial();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // The server sends the head and half the body; the rest when told to,
    // which the child does just before it drops its copy.
    let (mut go, mut go_server) = UnixStream::pair().unwrap();
    let server = thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(sock.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut sock = sock;
        sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
            .unwrap();
        let mut byte = [0u8; 1];
        go_server.read_exact(&mut byte).unwrap();
        sock.write_all(b"world").unwrap();
        // Keep the connection open until the parent is done with it.
        let _ = reader.read_line(&mut line);
    });
    let client = http_client::Client::builder()
        .drain_limit(1 << 20, Duration::from_secs(2))
        .build()
        .unwrap();
    let mut resp = client
        .get(&format!("http://127.0.0.1:{port}/slow-body"))
        .call()
        .unwrap();
    let pid = fork();
    if pid == 0 {
        // The rest of the body is on its way as the child's copy ends: a
        // drain on release would take it from the parent.
        let _ = go.write_all(b"!");
        drop(resp);
        leave_child();
    }
    wait_child(pid);
    let mut body = Vec::new();
    resp.body_mut().read_to_end(&mut body).unwrap();
    assert_eq!(body, b"helloworld");
    drop(resp);
    drop(client);
    server.join().unwrap();
}

/// A session whose goodbye waits for the server's answer, as SMTP's QUIT
/// waits for 221.
struct Quits;

impl Recycle for Quits {
    fn reuse(&self) -> Reuse {
        Reuse::Clean
    }

    fn close(&mut self, conn: &mut Conn) {
        let _ = (|| -> Result<(), BoxError> {
            conn.begin_exchange()?;
            conn.write_all(b"QUIT\r\n")?;
            conn.read_frame(64, |buf: &[u8]| -> transport::Result<_> {
                Ok(buf.iter().position(|b| *b == b'\n').map(|i| ((), i + 1)))
            })?;
            conn.end_exchange();
            Ok(())
        })();
    }
}

#[test]
fn max_open_one_holds_while_a_slow_goodbye_is_under_way() {
    let _one = serial();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let now_open = Arc::new(AtomicUsize::new(0));
    let most_open = Arc::new(AtomicUsize::new(0));
    let (now, most) = (now_open.clone(), most_open.clone());
    thread::spawn(move || {
        for sock in listener.incoming() {
            let sock: TcpStream = sock.unwrap();
            let open = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(open, Ordering::SeqCst);
            let now = now.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(sock.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    if line == "QUIT\r\n" {
                        // Slow to say goodbye; the session is over once
                        // the 221 is on its way.
                        thread::sleep(Duration::from_millis(300));
                        now.fetch_sub(1, Ordering::SeqCst);
                        let _ = (&sock).write_all(b"221 bye\r\n");
                        return;
                    }
                    line.clear();
                }
                now.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    let pool: Pool<Quits> = Pool::new(PoolConfig {
        max_open: 1,
        max_uses: Some(1),
        checkout_timeout: Duration::from_secs(10),
        ..PoolConfig::default()
    })
    .unwrap();
    let key = PoolKey::new("quits", "127.0.0.1", port);
    let endpoint = Endpoint::new("127.0.0.1", port).unwrap();
    let open = move || -> transport::Result<_> {
        Ok((
            transport::open(&endpoint, &Direct, &ConnectOptions::default())?,
            Quits,
        ))
    };
    let first = pool.checkout(&key, open.clone()).unwrap();
    let waiter = {
        let (pool, key, open) = (pool.clone(), key.clone(), open.clone());
        thread::spawn(move || drop(pool.checkout(&key, open).unwrap()))
    };
    // Bounded: the waiter shows in the stats once it blocks on max_open.
    let until = Instant::now() + Duration::from_secs(10);
    while pool.stats().waits == 0 && Instant::now() < until {
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(pool.stats().waits, 1, "the second checkout waits");
    // Used once (max_uses 1): released, it is closed politely with QUIT.
    drop(first);
    waiter.join().unwrap();
    assert_eq!(pool.stats().opened, 2);
    assert_eq!(
        most_open.load(Ordering::SeqCst),
        1,
        "the server saw two sessions at once"
    );
}
