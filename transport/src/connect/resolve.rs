//! Name resolution within the connect deadline, with the caller's
//! overrides: fixed addresses for a host (as curl's `--resolve`) and a hook
//! for the caller's own resolver.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Phase, Result};

use super::validate_host;

/// A resolver: the addresses of `host` for `port`.
pub type ResolveFn = dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync;

/// How host names become addresses: fixed answers first, then the hook if
/// set, else the system resolver. IP literals are never looked up.
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use pconn_transport::{Dialer, Resolve};
/// let dialer = Dialer::new().resolve(
///     Resolve::default().fixed("api.example", [IpAddr::V4(Ipv4Addr::LOCALHOST)])?,
/// );
/// # Ok::<(), pconn_transport::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Resolve {
    fixed: Vec<(String, Vec<IpAddr>)>,
    hook: Option<Arc<ResolveFn>>,
}

impl fmt::Debug for Resolve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolve")
            .field("fixed", &self.fixed)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl Resolve {
    /// The system resolver, no overrides.
    pub(crate) const SYSTEM: Resolve = Resolve {
        fixed: Vec::new(),
        hook: None,
    };

    /// What tells these overrides apart in a pool key: the fixed answers,
    /// and which hook (by address: a hook is only ever equal to itself).
    pub(crate) fn identity(&self) -> String {
        let mut parts: Vec<String> = self
            .fixed
            .iter()
            .map(|(host, ips)| {
                let ips: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
                format!("{host}={}", ips.join(","))
            })
            .collect();
        if let Some(hook) = &self.hook {
            parts.push(format!("hook@{:p}", Arc::as_ptr(hook).cast::<()>()));
        }
        parts.join(" ")
    }

    /// Answers `host` (any port, compared without case) with `addrs`, in
    /// that order, without asking any resolver. A later call for the same
    /// host replaces the earlier one.
    pub fn fixed(mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Result<Resolve> {
        let host = validate_host(host)?.to_ascii_lowercase();
        let addrs: Vec<IpAddr> = addrs.into_iter().collect();
        if addrs.is_empty() {
            return Err(Error::InvalidConfig(format!(
                "no addresses given for host {host:?}"
            )));
        }
        self.fixed.retain(|(h, _)| *h != host);
        self.fixed.push((host, addrs));
        Ok(self)
    }

    /// Resolves names not answered by [`fixed`](Resolve::fixed) with `hook`
    /// instead of the system resolver. It runs on a thread of its own
    /// (as the system resolver does), so the connect deadline bounds it.
    pub fn hook(
        mut self,
        hook: impl Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
    ) -> Resolve {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// The addresses to try for `host:port`, before `deadline`.
    pub(crate) fn lookup(
        &self,
        host: &str,
        port: u16,
        deadline: Instant,
    ) -> Result<Vec<SocketAddr>> {
        if let Some((_, ips)) = self
            .fixed
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(host))
        {
            return Ok(ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect());
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let answer = match &self.hook {
            Some(hook) => lookup_within(host, port, deadline, Arc::clone(hook))?,
            // Answered from the hosts file, never the network (RFC 6761):
            // not worth a thread.
            None if is_localhost(host) => system_lookup(host, port),
            None => lookup_within(host, port, deadline, Arc::new(system_lookup))?,
        };
        let addrs = answer.map_err(|source| Error::Resolve {
            host: host.to_string(),
            source,
        })?;
        if addrs.is_empty() {
            return Err(Error::Resolve {
                host: host.to_string(),
                source: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
            });
        }
        Ok(addrs)
    }
}

fn system_lookup(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    Ok((host, port).to_socket_addrs()?.collect())
}

pub(super) fn is_localhost(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host
            .len()
            .checked_sub(".localhost".len())
            .is_some_and(|at| host[at..].eq_ignore_ascii_case(".localhost"))
}

/// Runs `lookup` on a thread of its own and waits for it until `deadline`.
/// The system resolver has no timeout a caller can set (resolv.conf's
/// retries can add up to tens of seconds), so this is how resolution stays
/// inside the connect deadline. A lookup that outlives the deadline ends
/// in the background and its answer is dropped.
pub(super) fn lookup_within(
    host: &str,
    port: u16,
    deadline: Instant,
    lookup: Arc<ResolveFn>,
) -> Result<io::Result<Vec<SocketAddr>>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let name = host.to_string();
    let on_thread = Arc::clone(&lookup);
    let spawned = std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let _ = tx.send(on_thread(&name, port));
        });
    if spawned.is_err() {
        // No thread to be had: resolving unbounded beats not connecting.
        return Ok(lookup(host, port));
    }
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(answer) => Ok(answer),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout(Phase::Connect)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Ok(Err(io::Error::other(
            "the resolver thread ended without an answer",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_slow_resolver_cannot_outlast_the_deadline() {
        fn slow(_: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
            std::thread::sleep(Duration::from_secs(5));
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        }
        fn fast(_: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        }
        let started = Instant::now();
        let deadline = started + Duration::from_millis(200);
        let err = lookup_within("slow.example", 80, deadline, Arc::new(slow)).unwrap_err();
        assert!(matches!(err, Error::Timeout(Phase::Connect)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(4));
        let deadline = Instant::now() + Duration::from_secs(5);
        let addrs = lookup_within("fast.example", 80, deadline, Arc::new(fast))
            .unwrap()
            .unwrap();
        assert_eq!(addrs, vec![SocketAddr::from(([127, 0, 0, 1], 80))]);
    }

    #[test]
    fn localhost_names_are_recognised() {
        for yes in ["localhost", "LOCALHOST.", "a.localhost", "x.y.Localhost"] {
            assert!(is_localhost(yes), "{yes}");
        }
        for no in ["localhost.example", "mylocalhost", "local", "example.com"] {
            assert!(!is_localhost(no), "{no}");
        }
    }

    #[test]
    fn fixed_answers_come_first_then_the_hook_and_literals_are_never_looked_up() {
        let far = Instant::now() + Duration::from_secs(5);
        let r = Resolve::default()
            .fixed(
                "API.example",
                ["10.0.0.1".parse().unwrap(), "::2".parse().unwrap()],
            )
            .unwrap()
            .hook(|host, port| {
                assert_ne!(host, "api.example", "fixed names never reach the hook");
                Ok(vec![SocketAddr::from(([10, 9, 9, 9], port))])
            });
        assert_eq!(
            r.lookup("api.EXAMPLE", 8080, far).unwrap(),
            vec![
                "10.0.0.1:8080".parse::<SocketAddr>().unwrap(),
                "[::2]:8080".parse().unwrap()
            ]
        );
        assert_eq!(
            r.lookup("other.example", 1, far).unwrap(),
            vec!["10.9.9.9:1".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            r.lookup("127.0.0.5", 2, far).unwrap(),
            vec!["127.0.0.5:2".parse::<SocketAddr>().unwrap()]
        );
        let empty = Resolve::default().hook(|_, _| Ok(Vec::new()));
        assert!(matches!(
            empty.lookup("x.example", 1, far),
            Err(Error::Resolve { .. })
        ));
        assert!(Resolve::default()
            .fixed("a b", ["::1".parse().unwrap()])
            .is_err());
        assert!(Resolve::default().fixed("ok.example", []).is_err());
    }
}
