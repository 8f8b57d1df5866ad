//! Reach (issue 15, transport part): Unix domain sockets to the real
//! redis-server and nginx, Happy Eyeballs past an address that never
//! answers, resolver overrides and a local address to connect from.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration_tests::env_or;
use socket2::{Domain, SockAddr, Socket, Type};
use transport::{
    open, BoxError, BrokenCause, Conn, ConnectOptions, Connector, Dialer, Direct, Discard,
    Endpoint, Error, Phase, Pool, PoolConfig, PoolKey, Probe, Recycle, Resolve, Reuse, TlsConfig,
};

fn redis_socket() -> String {
    let url = env_or("PCONN_REDIS_UNIX_URL", "unix:///var/run/redis/redis.sock");
    url.strip_prefix("unix://").unwrap_or(&url).to_string()
}

fn nginx_socket() -> String {
    env_or("PCONN_HTTP_UNIX_SOCKET", "/var/run/nginx-http.sock")
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut frame = format!("*{}\r\n", args.len());
    for a in args {
        frame.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    frame.into_bytes()
}

fn line(conn: &mut Conn) -> transport::Result<String> {
    conn.read_frame(1 << 16, |buf: &[u8]| -> transport::Result<_> {
        Ok(buf
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|i| (String::from_utf8_lossy(&buf[..i]).into_owned(), i + 2)))
    })
}

fn command(conn: &mut Conn, args: &[&str]) -> transport::Result<String> {
    conn.begin_exchange()?;
    conn.write_all(&resp(args))?;
    let reply = line(conn)?;
    conn.end_exchange();
    Ok(reply)
}

#[test]
fn redis_over_a_unix_socket_answers_probes_and_times_out_like_tcp() {
    let endpoint = Endpoint::unix(redis_socket()).unwrap();
    assert!(endpoint.authority().starts_with("unix:/"));
    let mut conn = open(&endpoint, &Direct, &ConnectOptions::default()).unwrap();
    assert!(conn.unix_socket().is_some() && conn.tcp_socket().is_none());
    assert_eq!(
        conn.unix_path().map(|p| p.display().to_string()),
        Some(redis_socket())
    );
    assert_eq!(command(&mut conn, &["PING"]).unwrap(), "+PONG");
    assert_eq!(conn.probe(), Probe::Alive);
    // A read timeout mid-reply breaks it, as on TCP.
    conn.set_read_timeout(Some(Duration::from_millis(2)));
    conn.begin_exchange().unwrap();
    conn.write_all(&resp(&["BLPOP", "pconn:unix:none", "0.05"]))
        .unwrap();
    assert!(matches!(line(&mut conn), Err(Error::Timeout(Phase::Read))));
    assert_eq!(
        conn.write_all(&resp(&["PING"])).unwrap_err().to_string(),
        Error::Broken {
            cause: BrokenCause::Timeout(Phase::Read)
        }
        .to_string()
    );
    // The server closing shows in the probe.
    let mut conn = open(&endpoint, &Direct, &ConnectOptions::default()).unwrap();
    assert_eq!(command(&mut conn, &["QUIT"]).unwrap(), "+OK");
    let mut probe = conn.probe();
    for _ in 0..500 {
        if probe != Probe::Alive {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
        probe = conn.probe();
    }
    assert_eq!(probe, Probe::Closed);
}

/// Selects db 1 in a borrow and says it needs a reset, which selects 0.
#[derive(Default)]
struct Db {
    selected: u8,
}

impl Recycle for Db {
    fn reuse(&self) -> Reuse {
        if self.selected == 0 {
            Reuse::Clean
        } else {
            Reuse::NeedsReset
        }
    }

    fn reset(&mut self, conn: &mut Conn, _deadline: Instant) -> Result<(), BoxError> {
        if command(conn, &["SELECT", "0"])? != "+OK" {
            return Err("SELECT 0 refused".into());
        }
        self.selected = 0;
        Ok(())
    }
}

#[test]
fn pooled_unix_socket_connections_are_reused_and_reset() {
    let endpoint = Endpoint::unix(redis_socket()).unwrap();
    let pool: Pool<Db> = Pool::new(PoolConfig::default()).unwrap();
    let key = PoolKey::new("redis", "localhost", 0).persistent_id(redis_socket());
    let opener = || -> transport::Result<_> {
        Ok((
            open(&endpoint, &Direct, &ConnectOptions::default())?,
            Db::default(),
        ))
    };
    let name = format!("pconn-unix-{}", std::process::id());
    {
        let mut g = pool.checkout(&key, opener).unwrap();
        let (conn, db) = g.parts();
        assert_eq!(command(conn, &["CLIENT", "SETNAME", &name]).unwrap(), "+OK");
        assert_eq!(command(conn, &["SELECT", "1"]).unwrap(), "+OK");
        db.selected = 1;
    }
    let mut g = pool.checkout(&key, opener).unwrap();
    assert!(g.is_reused());
    assert_eq!(
        command(g.conn(), &["CLIENT", "GETNAME"]).unwrap(),
        "$".to_string() + &name.len().to_string()
    );
    assert_eq!(line(g.conn()).unwrap(), name);
    let info = {
        let conn = g.conn();
        conn.begin_exchange().unwrap();
        conn.write_all(&resp(&["CLIENT", "INFO"])).unwrap();
        let _len = line(conn).unwrap();
        let info = line(conn).unwrap();
        conn.end_exchange();
        info
    };
    assert!(info.contains(" db=0 "), "reset to db 0: {info}");
    drop(g);
    let stats = pool.stats();
    assert_eq!((stats.opened, stats.reused), (1, 1));
    assert_eq!(stats.discarded(Discard::ResetFailed), 0);
}

#[test]
fn nginx_over_a_unix_socket_serves_http() {
    let endpoint = Endpoint::unix(nginx_socket()).unwrap();
    let mut conn = open(&endpoint, &Direct, &ConnectOptions::default()).unwrap();
    conn.begin_exchange().unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let status = line(&mut conn).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
}

#[test]
fn bad_unix_input_is_refused_before_anything_is_sent() {
    for bad in ["", "/tmp/a\0b"] {
        assert!(matches!(Endpoint::unix(bad), Err(Error::InvalidInput(_))));
    }
    assert!(matches!(
        Endpoint::unix("/".repeat(200)),
        Err(Error::InvalidInput(_))
    ));
    // TLS over a Unix socket: refused, and the listener sees no connection.
    let dir = std::env::temp_dir().join(format!("pconn-tls-unix-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let listener = UnixListener::bind(&dir).unwrap();
    listener.set_nonblocking(true).unwrap();
    let tls = TlsConfig::builder().build().unwrap();
    let endpoint = Endpoint::unix(&dir).unwrap().with_tls(tls);
    let err = open(&endpoint, &Direct, &ConnectOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("TLS")),
        "{err}"
    );
    assert!(listener.accept().is_err(), "nothing connected");
    // A missing socket is a connect error naming it.
    let _ = std::fs::remove_file(&dir);
    let err = open(
        &Endpoint::unix(&dir).unwrap(),
        &Direct,
        &ConnectOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Connect { addr, .. } if addr.contains("pconn-tls-unix")),
        "{err}"
    );
}

/// A listener on `ip` whose accept queue is full: a further connect to it
/// is never answered. Returns it and the connections that fill it.
fn never_answers(ip: &str) -> (Socket, SocketAddr, Vec<Socket>) {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let addr: SocketAddr = format!("{ip}:0").parse().unwrap();
    listener.bind(&SockAddr::from(addr)).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut fill = Vec::new();
    for _ in 0..16 {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let done = s.connect_timeout(&SockAddr::from(addr), Duration::from_millis(300));
        fill.push(s);
        if done.is_err() {
            return (listener, addr, fill);
        }
    }
    panic!("the accept queue of {addr} never filled");
}

#[test]
fn happy_eyeballs_moves_past_an_address_that_never_answers_after_the_delay() {
    let (_full, dead, _fill) = never_answers("127.0.0.2");
    let good = TcpListener::bind(("127.0.0.3", dead.port()))
        .or_else(|_| TcpListener::bind("127.0.0.3:0"))
        .unwrap();
    let good_addr = good.local_addr().unwrap();
    let ips: [IpAddr; 2] = [dead.ip(), good_addr.ip()];
    let opts = ConnectOptions {
        // Far longer than the delay: the connect must end Ok on the second
        // address while the first is still pending.
        connect_timeout: Duration::from_secs(120),
        ..ConnectOptions::default()
    };
    let resolve = if good_addr.port() == dead.port() {
        Resolve::default().fixed("eyeballs.test", ips).unwrap()
    } else {
        let (dead, good) = (dead, good_addr);
        Resolve::default().hook(move |_, _| Ok(vec![dead, good]))
    };
    let dialer = Dialer::new()
        .resolve(resolve)
        .attempt_delay(Duration::from_millis(100));
    let endpoint = Endpoint::new("eyeballs.test", good_addr.port()).unwrap();
    let conn = open(&endpoint, &dialer, &opts).unwrap();
    assert_eq!(conn.peer_addr(), Some(good_addr), "the second address won");
    let (_server, from) = good.accept().unwrap();
    assert_eq!(Some(from), conn.tcp_socket().unwrap().local_addr().ok());
}

#[test]
fn the_resolver_hook_answers_names_and_a_local_address_is_bound() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let dialer = Dialer::new()
        .resolve(Resolve::default().hook(move |host, port| {
            seen.lock().unwrap().push((host.to_string(), port));
            Ok(vec![addr])
        }))
        .local_addr("127.0.0.9".parse().unwrap());
    assert!(dialer.identity().is_some_and(|id| id.contains("127.0.0.9")));
    let endpoint = Endpoint::new("my-own-resolver.test", addr.port()).unwrap();
    let mut conn = open(&endpoint, &dialer, &ConnectOptions::default()).unwrap();
    assert_eq!(
        *asked.lock().unwrap(),
        vec![("my-own-resolver.test".to_string(), addr.port())]
    );
    let (mut server, from) = listener.accept().unwrap();
    assert_eq!(from.ip(), "127.0.0.9".parse::<IpAddr>().unwrap());
    conn.write_all(b"hi").unwrap();
    let mut got = [0u8; 2];
    server.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hi");
    server.write_all(b"!").unwrap();
    // A local address of the other family leaves nothing to connect to.
    let v6 = Dialer::new().local_addr("::1".parse().unwrap());
    let err = open(
        &Endpoint::new("127.0.0.1", addr.port()).unwrap(),
        &v6,
        &ConnectOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
}
