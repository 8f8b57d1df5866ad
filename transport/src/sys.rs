//! The syscalls std does not offer: a non-blocking `recv` on a blocking
//! socket, `poll` over several connecting sockets, and a fork hook. All of
//! the crate's `unsafe` is here.

use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use std::time::Duration;

/// One `recv(MSG_DONTWAIT)`: asks the kernel once without switching the
/// socket to non-blocking mode and back (two more syscalls, and a window in
/// which another user of the fd would see the wrong mode).
///
/// `errno` is read only when the call returned -1. phpredis reads it after a
/// successful `recv` too, so a stale `EWOULDBLOCK` from an earlier call makes a
/// socket that just returned EOF look alive. Here 0 is always EOF.
pub(crate) fn recv_dontwait(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    recv_dontwait_errno(socket, buf).map_err(io::Error::from_raw_os_error)
}

/// [`recv_dontwait`] with a failure as its errno, for the probe: it asks
/// for `EAGAIN` without an `io::Error` to build, decode and drop.
#[inline]
pub(crate) fn recv_dontwait_errno(socket: &impl AsRawFd, buf: &mut [u8]) -> Result<usize, i32> {
    recv_errno(socket, buf, libc::MSG_DONTWAIT)
}

/// [`recv_dontwait_errno`] that leaves what it finds in the socket
/// (`MSG_PEEK`): the TLS probe asks whether anything arrived and lets
/// rustls read it when something did.
#[inline]
pub(crate) fn peek_dontwait_errno(socket: &impl AsRawFd) -> Result<usize, i32> {
    recv_errno(socket, &mut [0u8; 1], libc::MSG_DONTWAIT | libc::MSG_PEEK)
}

#[inline]
fn recv_errno(socket: &impl AsRawFd, buf: &mut [u8], flags: libc::c_int) -> Result<usize, i32> {
    loop {
        // SAFETY: the fd is open for as long as `socket` is borrowed, and
        // `buf` is writable memory of exactly `buf.len()` bytes.
        let n = unsafe {
            libc::recv(
                socket.as_raw_fd(),
                buf.as_mut_ptr().cast::<libc::c_void>(),
                buf.len(),
                flags,
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

/// Waits up to `timeout` until one of `fds` is writable or failed (a
/// non-blocking connect finished, either way); sets `ready[i]` for each
/// that is. A signal ends the wait early with nothing ready: callers loop
/// on their own deadline.
pub(crate) fn poll_writable(
    fds: &[RawFd],
    timeout: Duration,
    ready: &mut [bool],
) -> io::Result<()> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        })
        .collect();
    // Rounded up, so a wait of less than a millisecond is not a busy loop.
    let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `polled` is a live array of exactly `polled.len()` pollfd
    // structs, which poll only reads and writes within.
    let n = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(());
        }
        return Err(e);
    }
    for (flag, p) in ready.iter_mut().zip(&polled) {
        *flag = p.revents & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0;
    }
    Ok(())
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
