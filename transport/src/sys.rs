//! The two syscalls std does not offer: a non-blocking `recv` on a blocking
//! socket, and a fork hook. All of the crate's `unsafe` is here.

use std::io;
use std::mem::ManuallyDrop;
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
    recv_dontwait_errno(socket, buf).map_err(io::Error::from_raw_os_error)
}

/// [`recv_dontwait`] with a failure as its errno, for the probe: it asks
/// for `EAGAIN` without an `io::Error` to build, decode and drop.
#[inline]
pub(crate) fn recv_dontwait_errno(socket: &TcpStream, buf: &mut [u8]) -> Result<usize, i32> {
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
        // An OS error owns no memory: `ManuallyDrop` only spares the call to
        // its drop glue, on every probe. It always carries an errno; EIO
        // only satisfies the type.
        let errno = ManuallyDrop::new(io::Error::last_os_error())
            .raw_os_error()
            .unwrap_or(libc::EIO);
        if errno != libc::EINTR {
            return Err(errno);
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
///
/// Read twice per borrow: inlined, it is a check that the hook is in and
/// a load; the installing runs once, out of line.
#[inline]
pub(crate) fn fork_generation() -> u64 {
    if !HOOK.is_completed() {
        install_fork_hook();
    }
    FORK_GENERATION.load(Ordering::Relaxed)
}

#[cold]
#[inline(never)]
fn install_fork_hook() {
    HOOK.call_once(|| {
        // SAFETY: registers a handler that only touches an atomic; it is
        // installed once and never unregistered.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        if rc != 0 {
            tracing::warn!(rc, "pthread_atfork failed: fork detection disabled");
        }
    });
}
