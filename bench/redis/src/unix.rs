//! The same SET/GET loop over the server's Unix socket, beside TCP loopback
//! (issue 15): the raw floor on the socket, redis-client on the socket and
//! on TCP, redis-rs on the socket. What the socket saves is the TCP stack's
//! work per round trip; the ratios say whether the client keeps that gain.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;

use crate::{get_cmd, set_cmd, Run, VALUE};

/// The TCP URL of the same server, for the TCP column of this workload.
pub(crate) static TCP_URL: OnceLock<String> = OnceLock::new();

fn path(url: &str) -> &str {
    url.trim_start_matches("unix://")
}

/// The floor: pre-encoded commands on a plain `UnixStream`.
pub(crate) fn raw_setget(url: &str) -> Run {
    let mut sock = UnixStream::connect(path(url)).unwrap();
    let key = b"bench:raw:unix";
    let (set, get) = (set_cmd(key), get_cmd(key));
    let mut get_reply = format!("${}\r\n", VALUE.len()).into_bytes();
    get_reply.extend_from_slice(VALUE);
    get_reply.extend_from_slice(b"\r\n");
    let mut buf = vec![0u8; 4096];
    let mut expect = move |sock: &mut UnixStream, want: &[u8]| {
        let mut have = 0;
        while have < want.len() {
            let n = sock.read(&mut buf[have..]).unwrap();
            assert!(n > 0, "closed");
            have += n;
        }
        assert_eq!(&buf[..have], want);
    };
    Box::new(move |ops| {
        for i in 0..ops {
            if i % 2 == 0 {
                sock.write_all(&set).unwrap();
                expect(&mut sock, b"+OK\r\n");
            } else {
                sock.write_all(&get).unwrap();
                expect(&mut sock, &get_reply);
            }
        }
    })
}

/// redis-client on TCP loopback to the same server (the socket column
/// uses the plain SET/GET clients of main.rs, which take `unix://` URLs).
pub(crate) fn ours_setget_tcp(_unix_url: &str) -> Run {
    crate::ours_setget(TCP_URL.get().expect("TCP_URL set in main"))
}
