//! Waiting, with a time limit, for a socket to become readable without
//! reading from it: for `Expect: 100-continue`, where a timed-out read would
//! mark the connection as failed.
#![allow(unsafe_code, reason = "poll(2) has no safe std wrapper")]

use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// True when `socket` has bytes (or an EOF/error) to read within `timeout`.
pub(crate) fn readable(socket: &TcpStream, timeout: Duration) -> std::io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    loop {
        // SAFETY: `pfd` is a valid, initialised pollfd that lives across the
        // call, and we pass a count of exactly 1. The fd is owned by `socket`,
        // which the borrow keeps open for the duration of the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc >= 0 {
            return Ok(rc > 0);
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    #[test]
    fn readable_only_when_bytes_wait() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert!(!super::readable(&client, Duration::from_millis(10)).unwrap());
        server.write_all(b"x").unwrap();
        assert!(super::readable(&client, Duration::from_secs(5)).unwrap());
    }
}
