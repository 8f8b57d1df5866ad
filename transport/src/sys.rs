//! The two syscalls std does not offer: a non-blocking `recv` on a blocking
//! socket, and a fork hook. All of the crate's `unsafe` is here.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

/// One `recv(MSG_DONTWAIT)`: asks the kernel once without switching the
/// socket to non-blocking mode and back (two more syscalls, and a window in
/// which another user of the fd would see the wrong mode).
///
/// `errno` is read only when the call returned -1. phpredis reads it after a
/// successful `recv` too, so a stale `EWOULDBLOCK` from an earlier call makes a
/// socket that just returned EOF look alive. Here 0 is always EOF.
pub(crate) fn recv_dontwait(socket: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: the fd is open for as long as `socket` is borrowed, and
        // `buf` is writable memory of exactly `buf.len()` bytes.
        let n = unsafe {
            libc::recv(
                socket.as_raw_fd(),
                buf.as_mut_ptr().cast::<libc::c_void>(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static HOOK: Once = Once::new();

extern "C" fn after_fork_in_child() {
    // Async-signal-safe: a single atomic add.
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// A number that changes in a child process after `fork()`. Every pooled
/// connection is stamped with it, so a child never reuses (or politely
/// closes) a socket its parent opened. Cheaper than `getpid()`, which is a
/// syscall on current glibc.
pub(crate) fn fork_generation() -> u64 {
    HOOK.call_once(|| {
        // SAFETY: registers a handler that only touches an atomic; it is
        // installed once and never unregistered.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        if rc != 0 {
            tracing::warn!(rc, "pthread_atfork failed: fork detection disabled");
        }
    });
    FORK_GENERATION.load(Ordering::Relaxed)
}
