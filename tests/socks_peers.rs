//! proxy-tunnel's SOCKS5/SOCKS4a connector against scripted SOCKS peers (a
//! `TcpListener` playing a broken or hostile proxy): every reply code, wrong
//! versions, refused methods and credentials, proxies that close or stall in
//! each phase, bytes that ride along with the reply, and input refused
//! before anything is sent. The real server (danted) is in `socks.rs`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use proxy_tunnel::proto::SocksReply;
use proxy_tunnel::{Error, Proxy, TunnelPhase};
use transport::{open, Conn, ConnectOptions, Endpoint, Pool, PoolConfig, PoolKey};

/// What the peer read from the client, in order, one entry per step.
type Seen = mpsc::Receiver<Vec<u8>>;

/// The peer's side of one exchange.
struct Peer {
    sock: TcpStream,
    seen: mpsc::Sender<Vec<u8>>,
}

impl Peer {
    fn read(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        self.sock.read_exact(&mut buf).expect("client bytes");
        buf
    }

    /// Reads a SOCKS5 greeting and answers with `method`.
    fn greeting(&mut self, method: u8) {
        let mut msg = self.read(2);
        msg.extend(self.read(usize::from(msg[1])));
        self.seen.send(msg).unwrap();
        self.sock.write_all(&[5, method]).unwrap();
    }

    /// Reads an RFC 1929 request and returns (user, password).
    fn password(&mut self) -> (Vec<u8>, Vec<u8>) {
        let head = self.read(2);
        assert_eq!(head[0], 1);
        let user = self.read(usize::from(head[1]));
        let plen = self.read(1)[0];
        let password = self.read(usize::from(plen));
        (user, password)
    }

    /// Reads a SOCKS5 connect request and reports it.
    fn request(&mut self) {
        let mut msg = self.read(4);
        let rest = match msg[3] {
            1 => 4 + 2,
            4 => 16 + 2,
            3 => {
                let n = self.read(1)[0];
                msg.push(n);
                usize::from(n) + 2
            }
            other => panic!("address type {other}"),
        };
        msg.extend(self.read(rest));
        self.seen.send(msg).unwrap();
    }

    fn send(&mut self, bytes: &[u8]) {
        self.sock.write_all(bytes).unwrap();
    }

    /// Holds the connection open without a word until the client leaves.
    fn stall(&mut self) {
        let mut buf = [0u8; 64];
        while matches!(self.sock.read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// A one-connection SOCKS peer running `script`; the proxy URL is
/// `scheme://[userinfo@]127.0.0.1:port`.
fn peer<F>(scheme: &str, userinfo: &str, script: F) -> (Proxy, Seen)
where
    F: FnOnce(&mut Peer) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        script(&mut Peer { sock, seen: tx });
    });
    let at = if userinfo.is_empty() { "" } else { "@" };
    let proxy = Proxy::parse(&format!("{scheme}://{userinfo}{at}127.0.0.1:{port}")).unwrap();
    (proxy, rx)
}

fn short_opts() -> ConnectOptions {
    ConnectOptions {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Some(Duration::from_secs(1)),
        write_timeout: Some(Duration::from_secs(5)),
        keepalive: None,
    }
}

fn target() -> Endpoint {
    Endpoint::new("mail.example", 25).unwrap()
}

fn tunnel_error(result: transport::Result<Conn>) -> Error {
    match result.expect_err("tunnel should fail") {
        transport::Error::Tunnel(inner) => *inner.downcast::<Error>().expect("proxy_tunnel::Error"),
        other => panic!("expected a tunnel error, got {other:?}"),
    }
}

/// A SOCKS5 success reply bound to 10.0.0.1:4242.
const OK5: [u8; 10] = [5, 0, 0, 1, 10, 0, 0, 1, 0x10, 0x92];

#[test]
fn socks5h_sends_the_name_and_keeps_the_targets_first_bytes() {
    let (proxy, seen) = peer("socks5h", "", |p| {
        p.greeting(0);
        p.request();
        // The reply and the target's greeting in one packet.
        let mut packet = OK5.to_vec();
        packet.extend_from_slice(b"220 hostile.example ESMTP\r\n");
        p.send(&packet);
        assert_eq!(p.read(6), b"NOOP\r\n");
        p.send(b"250 OK\r\n");
    });
    let mut conn = open(&target(), &*proxy.connector(), &short_opts()).unwrap();
    assert_eq!(seen.recv().unwrap(), [5, 1, 0], "offers no-auth only");
    let mut want = vec![5, 1, 0, 3, 12];
    want.extend_from_slice(b"mail.example\x00\x19");
    assert_eq!(seen.recv().unwrap(), want);
    assert_eq!(conn.read_buf(), b"220 hostile.example ESMTP\r\n");
    assert_eq!(conn.server_name(), "mail.example");
    conn.consume(conn.read_buf().len());
    conn.write_all(b"NOOP\r\n").unwrap();
    let mut buf = [0u8; 8];
    let n = conn.read_into(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"250 OK\r\n");
}

#[test]
fn socks5_resolves_on_the_client() {
    let (proxy, seen) = peer("socks5", "", |p| {
        p.greeting(0);
        p.request();
        p.send(&OK5);
    });
    let endpoint = Endpoint::new("localhost", 6379).unwrap();
    open(&endpoint, &*proxy.connector(), &short_opts()).unwrap();
    seen.recv().unwrap();
    let request = seen.recv().unwrap();
    // An address (IPv4 or IPv6), never the name.
    assert!(matches!(request[3], 1 | 4), "{request:?}");
    assert!(request == [5, 1, 0, 1, 127, 0, 0, 1, 0x18, 0xEB] || request[3] == 4);
}

#[test]
fn every_socks5_reply_code_is_its_own_error() {
    let codes = [
        (1, SocksReply::GeneralFailure),
        (2, SocksReply::NotAllowed),
        (3, SocksReply::NetworkUnreachable),
        (4, SocksReply::HostUnreachable),
        (5, SocksReply::ConnectionRefused),
        (6, SocksReply::TtlExpired),
        (7, SocksReply::CommandNotSupported),
        (8, SocksReply::AddressTypeNotSupported),
        (0x42, SocksReply::Unassigned(0x42)),
    ];
    for (code, want) in codes {
        let (proxy, _seen) = peer("socks5h", "", move |p| {
            p.greeting(0);
            p.request();
            p.send(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
        });
        let err = tunnel_error(open(&target(), &*proxy.connector(), &short_opts()));
        match &err {
            Error::SocksRefused { reply, target, .. } => {
                assert_eq!(*reply, want, "{err}");
                assert_eq!(target, "mail.example:25");
            }
            other => panic!("code {code}: {other:?}"),
        }
        assert!(!err.is_timeout());
    }
}

#[test]
fn socks4a_request_reply_and_refusals() {
    let (proxy, seen) = peer("socks4a", "someone", |p| {
        let head = p.read(8);
        let mut rest = Vec::new();
        while rest.iter().filter(|&&b| b == 0).count() < 2 {
            rest.extend(p.read(1));
        }
        p.seen.send([head, rest].concat()).unwrap();
        p.send(&[0, 90, 0, 0, 0, 0, 0, 0, b'+', b'O', b'K']);
    });
    let conn = open(&target(), &*proxy.connector(), &short_opts()).unwrap();
    let mut want = vec![4, 1, 0, 25, 0, 0, 0, 1];
    want.extend_from_slice(b"someone\0mail.example\0");
    assert_eq!(seen.recv().unwrap(), want);
    assert_eq!(conn.read_buf(), b"+OK");

    for (code, want) in [
        (91, SocksReply::Socks4Rejected),
        (92, SocksReply::Socks4IdentdUnreachable),
        (93, SocksReply::Socks4IdentdMismatch),
    ] {
        let (proxy, _seen) = peer("socks4a", "", move |p| {
            p.read(8);
            p.send(&[0, code, 0, 0, 0, 0, 0, 0]);
        });
        let err = tunnel_error(open(&target(), &*proxy.connector(), &short_opts()));
        assert!(
            matches!(&err, Error::SocksRefused { reply, .. } if *reply == want),
            "{err:?}"
        );
    }
}

#[test]
fn wrong_versions() {
    // A SOCKS4 server, and an HTTP proxy, answering a SOCKS5 greeting.
    for (answer, got) in [(&[4u8, 0][..], 4u8), (b"HTTP/1.1 400 Bad\r\n\r\n", b'H')] {
        let (proxy, _seen) = peer("socks5h", "", move |p| {
            p.read(3);
            p.send(answer);
        });
        let err = tunnel_error(open(&target(), &*proxy.connector(), &short_opts()));
        assert!(
            matches!(err, Error::SocksVersion { expected: 5, got: g, .. } if g == got),
            "{err:?}"
        );
    }
    // A wrong version in the connect reply.
    let (proxy, _seen) = peer("socks5h", "", |p| {
        p.greeting(0);
        p.request();
        p.send(&[4, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    });
    let err = tunnel_error(open(&target(), &*proxy.connector(), &short_opts()));
    assert!(matches!(err, Error::SocksVersion { got: 4, .. }), "{err:?}");
}

#[test]
fn method_refused_and_unoffered_method() {
    let (proxy, seen) = peer("socks5h", "u:p", |p| p.greeting(0xFF));
    let err = tunnel_error(open(&target(), &*proxy.connector(), &short_opts()));
    assert_eq!(
        seen.recv().unwrap(),
        [5, 2, 0, 2],
        "offers both with credentials"
    );
    assert!(
        matches!(
            err,
            Error::SocksMethodRefused {
                credentials_offered: true,
                ..
            }
        ),
        "{err:?}"
    );
    // A server that wants a password from a client that offered none.
    let (proxy, _seen) = peer("socks5h", "", |p| p.greeting(2));
    let err = tunnel_error(open(&target(), &*proxy.connector(), &short_opts()));
    assert!(matches!(err, Error::SocksProtocol { .. }), "{err:?}");
}

#[test]
fn credentials_are_decoded_sent_to_the_proxy_only_and_refusal_is_typed() {
    // Every reserved character of RFC 3986 in user and password.
    let reserved = ":/?#[]@!$&'()*+,;=% ";
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let user = format!("us{reserved}er");
    let password = format!("pa{reserved}ss");
    let userinfo = format!("{}:{}", enc(&user), enc(&password));
    let (tx, creds) = mpsc::channel();
    let (proxy, _seen) = peer("socks5h", &userinfo, move |p| {
        p.greeting(2);
        tx.send(p.password()).unwrap();
        p.send(&[1, 0]);
        p.request();
        p.send(&OK5);
        // What the client sends next is the target's: no credentials there.
        let mut after = Vec::new();
        p.sock.read_to_end(&mut after).unwrap();
        p.seen.send(after).unwrap();
    });
    let mut conn = open(&target(), &*proxy.connector(), &short_opts()).unwrap();
    let (u, pw) = creds.recv().unwrap();
    assert_eq!(
        (u, pw),
        (user.clone().into_bytes(), password.clone().into_bytes())
    );
    conn.write_all(b"EHLO client\r\n").unwrap();
    drop(conn);
    let _greeting = _seen.recv().unwrap();
    let _request = _seen.recv().unwrap();
    let after = _seen.recv().unwrap();
    assert_eq!(after, b"EHLO client\r\n");

    let (proxy, _seen) = peer("socks5h", "u:wrong", |p| {
        p.greeting(2);
        p.password();
        p.send(&[1, 1]);
    });
    let err = tunnel_error(open(&target(), &*proxy.connector(), &short_opts()));
    assert!(
        matches!(&err, Error::SocksAuthFailed { user, status: 1, .. } if user == "u"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("wrong"), "{err}");
    assert!(!err.is_retryable());
}

#[test]
fn a_proxy_that_closes_in_each_phase() {
    type Script = fn(&mut Peer);
    let cases: [(Script, TunnelPhase, bool); 4] = [
        (|p| drop(p.read(3)), TunnelPhase::SocksGreeting, false),
        (
            |p| {
                p.read(3);
                p.send(&[5]);
            },
            TunnelPhase::SocksGreeting,
            true,
        ),
        (
            |p| {
                p.greeting(2);
                p.password();
            },
            TunnelPhase::SocksAuth,
            false,
        ),
        (
            |p| {
                p.greeting(0);
                p.request();
                p.send(&OK5[..6]);
            },
            TunnelPhase::SocksReply,
            true,
        ),
    ];
    for (script, want_phase, want_mid) in cases {
        let userinfo = if want_phase == TunnelPhase::SocksAuth {
            "u:p"
        } else {
            ""
        };
        let (proxy, _seen) = peer("socks5h", userinfo, move |p| {
            script(p);
            // Dropping the stream closes it.
        });
        let err = tunnel_error(open(&target(), &*proxy.connector(), &short_opts()));
        assert!(
            matches!(err, Error::ProxyClosed { phase, mid_reply, .. } if phase == want_phase && mid_reply == want_mid),
            "{want_phase:?}: {err:?}"
        );
    }
}

#[test]
fn a_proxy_that_stalls_in_each_phase_times_out_naming_it() {
    type Script = fn(&mut Peer);
    let cases: [(Script, TunnelPhase); 4] = [
        (|p| p.stall(), TunnelPhase::SocksGreeting),
        (
            |p| {
                p.greeting(2);
                p.stall();
            },
            TunnelPhase::SocksAuth,
        ),
        (
            |p| {
                p.greeting(0);
                p.request();
                p.stall();
            },
            TunnelPhase::SocksReply,
        ),
        // Half a reply, then silence.
        (
            |p| {
                p.greeting(0);
                p.request();
                p.send(&OK5[..4]);
                p.stall();
            },
            TunnelPhase::SocksReply,
        ),
    ];
    for (script, want) in cases {
        let userinfo = if want == TunnelPhase::SocksAuth {
            "u:p"
        } else {
            ""
        };
        let (proxy, _seen) = peer("socks5h", userinfo, script);
        let err = tunnel_error(open(&target(), &*proxy.connector(), &short_opts()));
        assert!(
            matches!(err, Error::Timeout { phase, .. } if phase == want),
            "{want:?}: {err:?}"
        );
        assert!(err.is_timeout());
    }
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let proxy = Proxy::parse(&format!("socks5h://u:p@127.0.0.1:{port}")).unwrap();
    let connector = proxy.connector();
    let long = format!("{}.example", "a".repeat(250));
    for host in [long.as_str(), "a\r\nb", "a\0b", "a b"] {
        let err = connector
            .connect(
                host,
                25,
                &short_opts(),
                std::time::Instant::now() + Duration::from_secs(5),
            )
            .unwrap_err();
        let err = Error::find(&err).unwrap_or_else(|| panic!("{host:?}: {err:?}"));
        assert!(matches!(err, Error::InvalidTarget(_)), "{host:?}: {err:?}");
    }
    // SOCKS4 has no IPv6.
    let proxy4 = Proxy::parse(&format!("socks4://127.0.0.1:{port}")).unwrap();
    let err = proxy4
        .tunnel(
            "::1",
            25,
            &short_opts(),
            std::time::Instant::now() + Duration::from_secs(5),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidTarget(_)), "{err:?}");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the proxy was contacted"
    );
    let long = "x".repeat(256);
    for url in [
        format!("socks5h://{long}:p@127.0.0.1:{port}"),
        format!("socks5h://u:{long}@127.0.0.1:{port}"),
        format!("socks5h://u:p%0D%0A@127.0.0.1:{port}"),
        format!("socks9://127.0.0.1:{port}"),
    ] {
        assert!(
            matches!(Proxy::parse(&url), Err(Error::InvalidProxyUrl(_))),
            "{url}"
        );
    }
}

#[test]
fn a_failed_socks_handshake_is_never_pooled() {
    // The handshake fails halfway (a timeout waiting for the reply): the
    // pool sees a failed open, no connection, and the next checkout opens a
    // new tunnel through a proxy that works.
    let (bad, _seen) = peer("socks5h", "", |p| {
        p.greeting(0);
        p.request();
        p.stall();
    });
    let pool: Pool<()> = Pool::new(PoolConfig::default()).unwrap();
    let key = PoolKey::new("smtp", "mail.example", 25).via(bad.identity());
    let tunnels = pool.key_pool(&key);
    let connector = bad.connector();
    let failed = tunnels.checkout(|| -> transport::Result<_> {
        Ok((open(&target(), &*connector, &short_opts())?, ()))
    });
    let err = failed.expect_err("the handshake must fail");
    assert!(
        matches!(
            Error::find(&err),
            Some(Error::Timeout {
                phase: TunnelPhase::SocksReply,
                ..
            })
        ),
        "{err:?}"
    );
    let stats = tunnels.stats();
    assert_eq!(
        (
            stats.opened,
            stats.open_failures,
            stats.open_now,
            stats.idle_now
        ),
        (0, 1, 0, 0),
        "{}",
        stats.to_json()
    );
}
