//! Unix domain stream sockets: the path checked before anything happens,
//! the connect bounded by the deadline.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use crate::error::{Error, Phase, Result};

/// The most bytes a socket path may have (`sun_path` holds 108 with the NUL).
pub(crate) const MAX_PATH: usize = 107;

/// Checks a socket path for what the kernel would refuse or misread: an
/// empty path, a NUL byte (which would cut the path short), or one longer
/// than `sun_path` holds.
pub(crate) fn validate_path(path: &Path) -> Result<()> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(Error::InvalidInput("empty Unix socket path".into()));
    }
    if bytes.contains(&0) {
        return Err(Error::InvalidInput(format!(
            "NUL byte in Unix socket path {path:?}"
        )));
    }
    if bytes.len() > MAX_PATH {
        return Err(Error::InvalidInput(format!(
            "Unix socket path of {} bytes is longer than {MAX_PATH}: {path:?}",
            bytes.len()
        )));
    }
    Ok(())
}

/// Connects to the socket at `path` before `deadline`; returns the stream
/// and the send timeout the connect left on it.
///
/// A blocking connect to a Unix socket whose listener's backlog is full
/// waits at most the send timeout and then fails with `EAGAIN`, so one
/// `setsockopt` bounds it, as on TCP.
pub(crate) fn connect(
    path: &Path,
    deadline: Instant,
) -> Result<(std::os::unix::net::UnixStream, Option<Duration>)> {
    validate_path(path)?;
    let addr = SockAddr::unix(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    let fail = |source: io::Error| Error::Connect {
        addr: format!("unix:{}", path.display()),
        source,
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout(Phase::Connect));
        }
        socket.set_write_timeout(Some(left)).map_err(fail)?;
        match socket.connect(&addr) {
            Ok(()) => return Ok((socket.into(), Some(left))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(Error::Timeout(Phase::Connect))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(fail(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        assert!(validate_path(Path::new("/run/redis.sock")).is_ok());
        assert!(validate_path(Path::new(&"a".repeat(MAX_PATH))).is_ok());
        for bad in ["", "/tmp/a\0b", &"a".repeat(MAX_PATH + 1)] {
            assert!(
                matches!(validate_path(Path::new(bad)), Err(Error::InvalidInput(_))),
                "{bad:?} accepted"
            );
        }
    }
}
