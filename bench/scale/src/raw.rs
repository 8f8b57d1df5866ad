//! The floor every client is compared with: one socket per thread, requests
//! encoded once, replies read until they are complete and checked, nothing
//! else. HTTP over TCP or rustls by hand; Redis with fixed-size replies.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// Anything we can write a request to and read a reply from.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A rustls client config that trusts the test CA (TLS 1.3, resumption on).
pub fn tls_config(ca_pem: &[u8]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.expect("CA certificate")).expect("CA added");
    }
    Arc::new(
        ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Opens a TCP connection (TLS when `tls` is given) to `host:port`.
pub fn connect(host: &str, port: u16, tls: Option<&Arc<ClientConfig>>) -> Box<dyn Stream> {
    let sock = TcpStream::connect((host, port)).expect("raw connect");
    sock.set_nodelay(true).expect("nodelay");
    match tls {
        None => Box::new(sock),
        Some(cfg) => {
            let name = ServerName::try_from(host.to_string()).expect("server name");
            let conn = ClientConnection::new(cfg.clone(), name).expect("tls");
            Box::new(StreamOwned::new(conn, sock))
        }
    }
}

/// A keep-alive HTTP/1.1 GET loop on one connection.
pub struct RawHttp {
    stream: Box<dyn Stream>,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl RawHttp {
    /// A connection to `host:port` that will GET `path`.
    pub fn new(host: &str, port: u16, path: &str, tls: Option<&Arc<ClientConfig>>) -> RawHttp {
        RawHttp {
            stream: connect(host, port, tls),
            request: format!(
                "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {}\r\n\r\n",
                http_client::DEFAULT_USER_AGENT
            )
            .into_bytes(),
            buf: vec![0; 16 * 1024],
        }
    }

    /// One request, the whole response read; returns the body length.
    pub fn get(&mut self) -> usize {
        self.stream.write_all(&self.request).expect("raw write");
        let mut have = 0;
        loop {
            let n = self.stream.read(&mut self.buf[have..]).expect("raw read");
            assert!(n > 0, "server closed");
            have += n;
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut resp = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = resp.parse(&self.buf[..have]).expect("head") {
                let len: usize = resp
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                    .expect("content-length");
                while have < head + len {
                    let n = self.stream.read(&mut self.buf[have..]).expect("raw read");
                    assert!(n > 0, "server closed");
                    have += n;
                }
                assert_eq!(have, head + len, "one response at a time");
                return len;
            }
        }
    }
}

/// Redis commands on one connection, each reply read by its known size.
pub struct RawRedis {
    sock: TcpStream,
    set: Vec<u8>,
    get: Vec<u8>,
    get_reply: Vec<u8>,
    pipeline: Vec<u8>,
    buf: Vec<u8>,
}

impl RawRedis {
    /// A connection that SETs and GETs `key` with `value`.
    pub fn new(host: &str, port: u16, key: &str, value: &[u8], pipeline: usize) -> RawRedis {
        let sock = TcpStream::connect((host, port)).expect("raw redis connect");
        sock.set_nodelay(true).expect("nodelay");
        let mut set = format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n",
            key.len(),
            value.len()
        )
        .into_bytes();
        set.extend_from_slice(value);
        set.extend_from_slice(b"\r\n");
        let get = format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).into_bytes();
        let mut get_reply = format!("${}\r\n", value.len()).into_bytes();
        get_reply.extend_from_slice(value);
        get_reply.extend_from_slice(b"\r\n");
        RawRedis {
            sock,
            pipeline: set.repeat(pipeline),
            set,
            get,
            get_reply,
            buf: vec![0; 64 * 1024],
        }
    }

    fn expect(&mut self, want_len: usize) {
        self.sock
            .read_exact(&mut self.buf[..want_len])
            .expect("raw redis read");
    }

    /// SET then check `+OK`.
    pub fn set(&mut self) {
        self.sock.write_all(&self.set).expect("write");
        self.expect(5);
        assert_eq!(&self.buf[..5], b"+OK\r\n");
    }

    /// GET then check the value.
    pub fn get(&mut self) {
        self.sock.write_all(&self.get).expect("write");
        let n = self.get_reply.len();
        self.expect(n);
        assert_eq!(&self.buf[..n], &self.get_reply[..]);
    }

    /// A pipeline of SETs, every `+OK` checked.
    pub fn pipeline(&mut self, n: usize) {
        self.sock.write_all(&self.pipeline).expect("write");
        self.expect(5 * n);
        assert!(self.buf[..5 * n].chunks(5).all(|r| r == b"+OK\r\n"));
    }
}
