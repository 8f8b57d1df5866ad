//! Topology refresh: single flight, rate-limited, and the backoff between
//! retries (which refreshes too).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::client::Inner;
use super::error::ClusterError;
use super::topology::{Addr, SlotMap};
use crate::cmd::cmd;
use crate::error::{Error, Result};
use crate::server_error::ServerError;

impl Inner {
    /// A `MOVED`: point the slot at its new master at once, then refresh
    /// (rate-limited) to learn whatever else moved with it.
    pub(crate) fn moved(&self, slot: u16, to: Addr) {
        let epoch = self.epoch.load(Ordering::Acquire);
        {
            let mut guard = self.map.write().unwrap_or_else(|p| p.into_inner());
            let mut map = (**guard).clone();
            map.set_master(slot, to);
            *guard = Arc::new(map);
        }
        let _ = self.refresh_from(epoch, false);
    }

    /// Waits before the next retry (doubling, capped), refreshing the
    /// topology meanwhile; the typed error once the retries are spent.
    pub(crate) fn backoff(&self, retries: &mut usize, last: String) -> Result<()> {
        *retries += 1;
        if *retries > self.cfg.max_retries {
            return Err(ClusterError::Unavailable {
                attempts: *retries,
                last,
            }
            .into());
        }
        self.pause(*retries);
        let epoch = self.epoch.load(Ordering::Acquire);
        let _ = self.refresh_from(epoch, false);
        Ok(())
    }

    /// Counts one more `MOVED`/`ASK` followed for a command (or a
    /// pipeline's round); the typed error once the limit is reached.
    pub(crate) fn count_redirect(&self, redirects: &mut usize, last: ServerError) -> Result<()> {
        *redirects += 1;
        if *redirects >= self.cfg.max_redirects {
            return Err(ClusterError::TooManyRedirects {
                attempts: *redirects,
                last,
            }
            .into());
        }
        Ok(())
    }

    /// Sleeps before the `n`-th retry (n >= 1): the retry delay, doubling,
    /// at most 32 times it.
    pub(crate) fn pause(&self, n: usize) {
        std::thread::sleep(self.cfg.retry_delay * (1u32 << (n.max(1) - 1).min(5)));
    }

    /// Reads the topology unless someone did since `seen` (single
    /// flight), and, unless `force`, not more often than the refresh
    /// interval. Known masters are asked first, then the seeds.
    pub(crate) fn refresh_from(&self, seen: usize, force: bool) -> Result<()> {
        let mut last = self.refresh.lock().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::Acquire) != seen {
            return Ok(());
        }
        if !force && last.is_some_and(|t| t.elapsed() < self.cfg.refresh_interval) {
            return Ok(());
        }
        *last = Some(Instant::now());
        let old = self.map();
        let mut candidates: Vec<Addr> = old.shards().iter().map(|s| s.master.clone()).collect();
        for s in old.shards() {
            candidates.extend(s.replicas.iter().cloned());
        }
        candidates.extend(self.cfg.seeds.iter().cloned());
        let mut detail = Vec::new();
        for addr in candidates {
            match self.fetch(&addr) {
                Ok(mut map) if !map.shards().is_empty() => {
                    map.fill_from(&old);
                    *self.map.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(map);
                    self.epoch.fetch_add(1, Ordering::AcqRel);
                    return Ok(());
                }
                Ok(_) => detail.push(format!("{addr}: no slots assigned")),
                Err(e) => detail.push(format!("{addr}: {e}")),
            }
        }
        Err(ClusterError::NoTopology {
            detail: detail.join("; "),
        }
        .into())
    }

    fn fetch(&self, addr: &Addr) -> Result<SlotMap> {
        let mut conn = self.node(addr, false)?.get()?;
        let bad = |reason: String| ClusterError::BadTopology {
            node: addr.to_string(),
            reason,
        };
        match conn.query_value(&cmd("CLUSTER").arg("SHARDS")) {
            Ok(v) => SlotMap::from_shards(&v, self.cfg.tls, &addr.host).map_err(|r| bad(r).into()),
            Err(Error::Server(e)) if e.code() == "ERR" => {
                let v = conn.query_value(&cmd("CLUSTER").arg("SLOTS"))?;
                SlotMap::from_slots(&v, &addr.host).map_err(|r| bad(r).into())
            }
            Err(e) => Err(e),
        }
    }
}
