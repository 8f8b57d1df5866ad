//! A failed exchange poisons its connection (issue 11 §1), on the raw
//! transport API: once replies can no longer be matched to requests, every
//! further read and write of the same `Conn` is `Error::Broken`, no late
//! byte is ever handed out, and nothing more reaches the peer.
//! Real redis-server and nginx where the failure is theirs; an in-test
//! `TcpListener` where a peer must misbehave on cue.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use integration_tests::{env_or, host_port};
use transport::{
    open, BrokenCause, Conn, ConnectOptions, Direct, Discard, Endpoint, Error, Phase, Pool,
    PoolConfig, PoolKey, Status,
};

fn endpoint(var: &str, default: &str, port: u16) -> Endpoint {
    let (host, port) = host_port(&env_or(var, default), port);
    Endpoint::new(&host, port).unwrap()
}

fn redis_endpoint() -> Endpoint {
    endpoint("PCONN_REDIS_URL", "redis://127.0.0.1:6379", 6379)
}

fn connect(endpoint: &Endpoint) -> Conn {
    open(endpoint, &Direct, &ConnectOptions::default()).unwrap()
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut frame = format!("*{}\r\n", args.len());
    for a in args {
        frame.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    frame.into_bytes()
}

/// One CRLF-terminated line.
fn line(conn: &mut Conn) -> transport::Result<Vec<u8>> {
    conn.read_frame(1 << 16, |buf: &[u8]| -> transport::Result<_> {
        Ok(buf
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|i| (buf[..i].to_vec(), i + 2)))
    })
}

fn cause(e: &Error) -> BrokenCause {
    match e {
        Error::Broken { cause } => *cause,
        other => panic!("expected Error::Broken, got {other:?}"),
    }
}

/// Every way of using the connection is refused with `cause`.
fn assert_refuses_everything(conn: &mut Conn, want: BrokenCause) {
    assert!(conn.is_broken());
    assert_eq!(conn.broken_cause(), Some(want));
    assert!(conn.read_buf().is_empty(), "no late byte is kept");
    let e = conn.begin_exchange().unwrap_err();
    assert!(e.is_broken() && cause(&e) == want, "{e}");
    assert_eq!(
        cause(&conn.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap_err()),
        want
    );
    conn.write_buf().extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(cause(&conn.flush().unwrap_err()), want);
    assert_eq!(conn.unsent(), 0, "a refused flush drops what was encoded");
    assert_eq!(cause(&conn.fill().unwrap_err()), want);
    assert_eq!(cause(&line(conn).unwrap_err()), want);
    let mut out = [0u8; 64];
    assert_eq!(cause(&conn.read_into(&mut out).unwrap_err()), want);
    let mut big = vec![0u8; 64 * 1024];
    assert_eq!(cause(&conn.read_into(&mut big).unwrap_err()), want);
    assert_eq!(
        cause(&conn.wait_readable(Duration::from_millis(50)).unwrap_err()),
        want
    );
    assert!(conn.read_buf().is_empty(), "refusals read nothing");
    // The refusal is never a reason to retry on the same connection.
    assert!(!Error::Broken { cause: want }.is_connection_lost());
    assert!(!Error::Broken { cause: want }.is_timeout());
}

#[test]
fn redis_read_timeout_mid_reply_then_every_use_is_broken_and_the_late_reply_never_shows() {
    // The snippet on the raw API: BLPOP's reply arrives after the
    // read gave up; the next command must not read it as its own.
    let mut conn = connect(&redis_endpoint());
    conn.set_read_timeout(Some(Duration::from_millis(2)));
    conn.begin_exchange().unwrap();
    conn.write_all(&resp(&["BLPOP", "pconn:transport:no-such-list", "0.05"]))
        .unwrap();
    let err = line(&mut conn).unwrap_err();
    assert!(matches!(err, Error::Timeout(Phase::Read)), "{err}");
    thread::sleep(Duration::from_millis(120));
    conn.set_read_timeout(Some(Duration::from_secs(1)));
    assert_refuses_everything(&mut conn, BrokenCause::Timeout(Phase::Read));
    assert!(conn.status().contains(Status::TIMEOUT));
    // The refused ECHO never reached the server: a fresh connection sees
    // no client that sent it, and the late reply stayed in the socket.
    let mut fresh = connect(&redis_endpoint());
    fresh.begin_exchange().unwrap();
    fresh.write_all(&resp(&["ECHO", "mine"])).unwrap();
    assert_eq!(line(&mut fresh).unwrap(), b"$4");
    assert_eq!(line(&mut fresh).unwrap(), b"mine");
    fresh.end_exchange();
}

#[test]
fn redis_pipeline_read_halfway_then_abandoned_is_refused() {
    // Three PINGs sent, one reply read, then the borrower marks the
    // exchange abandoned: the two replies still owed are never handed out.
    let mut conn = connect(&redis_endpoint());
    conn.begin_exchange().unwrap();
    let mut frames = resp(&["ECHO", "one"]);
    frames.extend(resp(&["ECHO", "two"]));
    frames.extend(resp(&["ECHO", "three"]));
    conn.write_all(&frames).unwrap();
    assert_eq!(line(&mut conn).unwrap(), b"$3");
    assert_eq!(line(&mut conn).unwrap(), b"one");
    conn.mark(Status::ABORTED);
    assert_refuses_everything(&mut conn, BrokenCause::Abandoned);
}

#[test]
fn nginx_deadline_passed_before_a_write_breaks_the_connection() {
    let ep = endpoint("PCONN_HTTP_URL", "http://127.0.0.1:8080", 80);
    let mut conn = connect(&ep);
    conn.begin_exchange().unwrap();
    conn.set_deadline(Some(Instant::now()));
    let err = conn
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(Phase::Write)), "{err}");
    conn.set_deadline(None);
    assert_refuses_everything(&mut conn, BrokenCause::Timeout(Phase::Write));
}

#[test]
fn nginx_response_cut_by_a_decoder_error_is_refused_after() {
    // A decoder that refuses the head (here: any head) is a protocol
    // error; the body bytes behind it are dropped, not served later.
    let ep = endpoint("PCONN_HTTP_URL", "http://127.0.0.1:8080", 80);
    let mut conn = connect(&ep);
    conn.begin_exchange().unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let err = conn
        .read_frame(
            1 << 16,
            |buf: &[u8]| -> transport::Result<Option<((), usize)>> {
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    Err(Error::InvalidInput("not the head we wanted".into()))
                } else {
                    Ok(None)
                }
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    assert_refuses_everything(&mut conn, BrokenCause::Protocol);
}

/// A connected pair: our `Conn` and the scripted peer's socket.
fn pair() -> (Conn, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (peer, _) = listener.accept().unwrap();
    (Conn::from_tcp(stream, "127.0.0.1"), peer)
}

/// Reads exactly `want` on the peer's side.
fn expect(peer: &mut TcpStream, want: &[u8]) {
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = vec![0; want.len()];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(got, want);
}

/// Whatever else the peer received until our side closed. (Closing with
/// unread bytes resets the connection: the reset ends the count too.)
fn received(mut peer: TcpStream) -> Vec<u8> {
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    for _ in 0..1000 {
        match peer.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

#[test]
fn a_peer_that_stalls_mid_reply_then_finishes_never_feeds_the_next_read() {
    let (mut conn, mut peer) = pair();
    conn.set_read_timeout(Some(Duration::from_millis(20)));
    conn.begin_exchange().unwrap();
    conn.write_all(b"first\r\n").unwrap();
    expect(&mut peer, b"first\r\n");
    peer.write_all(b"+half-of-").unwrap();
    let err = line(&mut conn).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // The rest of the first reply, and a reply to a second request, arrive.
    peer.write_all(b"first\r\n+second\r\n").unwrap();
    thread::sleep(Duration::from_millis(50));
    conn.set_read_timeout(Some(Duration::from_secs(1)));
    assert_refuses_everything(&mut conn, BrokenCause::Timeout(Phase::Read));
    drop(conn);
    assert!(received(peer).is_empty(), "nothing sent after the break");
}

#[test]
fn a_decoder_error_breaks_and_nothing_more_is_sent() {
    let (mut conn, mut peer) = pair();
    conn.begin_exchange().unwrap();
    conn.write_all(b"ask\r\n").unwrap();
    expect(&mut peer, b"ask\r\n");
    peer.write_all(b"garbage\r\n+late\r\n").unwrap();
    let err = conn
        .read_frame(
            1024,
            |buf: &[u8]| -> transport::Result<Option<((), usize)>> {
                if buf[0] == b'+' {
                    Ok(None)
                } else {
                    Err(Error::InvalidInput("bad type byte".into()))
                }
            },
        )
        .unwrap_err();
    assert!(!err.is_broken(), "the first error is the real one: {err}");
    assert_refuses_everything(&mut conn, BrokenCause::Protocol);
    drop(conn);
    assert!(received(peer).is_empty(), "nothing sent after the break");
}

#[test]
fn a_frame_over_the_limit_breaks() {
    let (mut conn, mut peer) = pair();
    peer.write_all(&[b'x'; 300]).unwrap();
    let err = conn
        .read_frame(100, |_: &[u8]| -> transport::Result<Option<((), usize)>> {
            Ok(None)
        })
        .unwrap_err();
    assert!(matches!(err, Error::FrameTooLarge { limit: 100 }), "{err}");
    assert_refuses_everything(&mut conn, BrokenCause::FrameTooLarge);
}

#[test]
fn a_decoder_that_panics_leaves_the_read_abandoned() {
    let (mut conn, mut peer) = pair();
    peer.write_all(b"+one\r\n+two\r\n").unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let _ = conn.read_frame(1024, |_: &[u8]| -> transport::Result<Option<((), usize)>> {
            panic!("decoder bug")
        });
    }));
    assert!(caught.is_err());
    assert_refuses_everything(&mut conn, BrokenCause::Abandoned);
}

#[test]
fn a_frame_read_whole_leaves_the_connection_usable() {
    // The guard that marks a read in progress is lifted by a good frame.
    let (mut conn, mut peer) = pair();
    peer.write_all(b"+one\r\n+two\r\n").unwrap();
    assert_eq!(line(&mut conn).unwrap(), b"+one");
    assert!(!conn.is_broken());
    assert_eq!(line(&mut conn).unwrap(), b"+two");
    conn.write_all(b"more\r\n").unwrap();
    drop(conn);
    assert_eq!(received(peer), b"more\r\n");
}

#[test]
fn the_peer_closing_breaks_and_later_reads_are_refused_not_zero() {
    let (mut conn, peer) = pair();
    drop(peer);
    assert_eq!(conn.fill().unwrap(), 0);
    assert_refuses_everything(&mut conn, BrokenCause::PeerClosed);
    let (mut conn, mut peer) = pair();
    peer.write_all(b"+part").unwrap();
    drop(peer);
    let err = line(&mut conn).unwrap_err();
    assert!(matches!(err, Error::Closed { mid_frame: true }), "{err}");
    assert_refuses_everything(&mut conn, BrokenCause::PeerClosed);
}

#[test]
fn a_reset_by_the_peer_breaks_with_its_io_kind() {
    let (mut conn, peer) = pair();
    socket2::SockRef::from(&peer)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(peer);
    thread::sleep(Duration::from_millis(20));
    let err = conn.fill().unwrap_err();
    assert!(err.is_connection_lost(), "{err}");
    assert_refuses_everything(
        &mut conn,
        BrokenCause::Io(std::io::ErrorKind::ConnectionReset),
    );
}

#[test]
fn mark_broken_refuses_with_the_callers_cause_and_the_first_cause_stays() {
    let (mut conn, peer) = pair();
    conn.mark_broken_with(BrokenCause::Protocol);
    conn.mark_broken();
    assert_refuses_everything(&mut conn, BrokenCause::Protocol);
    let (mut other, _peer2) = pair();
    other.mark_broken();
    assert_refuses_everything(&mut other, BrokenCause::Marked);
    drop(conn);
    assert!(received(peer).is_empty());
}

#[test]
fn a_pooled_broken_connection_is_refused_in_the_borrow_and_closed_on_release() {
    let ep = redis_endpoint();
    let pool: Pool<()> = Pool::new(PoolConfig::default()).unwrap();
    let key = PoolKey::new("redis", ep.host(), ep.port()).persistent_id("broken-test");
    let opener =
        || -> transport::Result<_> { Ok((open(&ep, &Direct, &ConnectOptions::default())?, ())) };
    {
        let mut g = pool.checkout(&key, opener).unwrap();
        let conn = g.conn();
        conn.set_read_timeout(Some(Duration::from_millis(2)));
        conn.begin_exchange().unwrap();
        conn.write_all(&resp(&["BLPOP", "pconn:transport:no-such-list", "0.05"]))
            .unwrap();
        assert!(line(conn).unwrap_err().is_timeout());
        conn.set_read_timeout(Some(Duration::from_secs(1)));
        thread::sleep(Duration::from_millis(100));
        assert!(conn.begin_exchange().unwrap_err().is_broken());
        assert!(conn
            .write_all(&resp(&["ECHO", "mine"]))
            .unwrap_err()
            .is_broken());
        assert!(line(conn).unwrap_err().is_broken());
    }
    {
        // Marking the guard ABORTED refuses at once, not only on release.
        let mut g = pool.checkout(&key, opener).unwrap();
        assert!(!g.is_reused());
        g.mark(Status::ABORTED);
        assert!(g
            .conn()
            .write_all(&resp(&["PING"]))
            .unwrap_err()
            .is_broken());
    }
    let stats = pool.stats();
    assert_eq!(stats.discarded(Discard::Timeout), 1);
    assert_eq!(stats.discarded(Discard::Aborted), 1);
    assert_eq!((stats.opened, stats.reused, stats.open_now), (2, 0, 0));
}

#[test]
fn the_broken_error_says_why() {
    let e = Error::Broken {
        cause: BrokenCause::Timeout(Phase::Read),
    };
    assert!(e.is_broken());
    let text = e.to_string();
    assert!(text.contains("timeout during read"), "{text}");
    assert!(!Error::Timeout(Phase::Read).is_broken());
}
