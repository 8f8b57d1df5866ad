//! Cluster pipelines: split per node, sent node by node, redirected
//! entries resent, every reply put back at its command's place.

use std::sync::Arc;

use super::client::{slot_of, ClusterClient, Redirect};
use super::error::ClusterError;
use super::keys::{keys, route_keys, Route};
use super::plan::{Groups, PlanCache};
use super::topology::{Addr, SlotMap};
use crate::cmd::{cmd, Cmd};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::server_error::{ServerError, ServerErrorKind};
use crate::value::Value;

/// Commands for many slots, sent together per node and answered in the
/// order they were added.
///
/// ```
/// let mut p = pconn_redis::ClusterPipeline::new();
/// p.add(pconn_redis::cmd("SET").arg("a").arg(1)).add(pconn_redis::cmd("GET").arg("b"));
/// assert_eq!(p.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClusterPipeline {
    cmds: Vec<Cmd>,
    plan: PlanCache,
}

/// What one round of sends produced.
struct Round {
    results: Vec<Option<Result<Value, ServerError>>>,
    pending: Vec<(usize, Target)>,
    wait: Option<String>,
    redirected: Option<ServerError>,
}

impl ClusterPipeline {
    /// An empty pipeline.
    pub fn new() -> ClusterPipeline {
        ClusterPipeline::default()
    }

    /// Adds a command.
    pub fn add(&mut self, c: Cmd) -> &mut ClusterPipeline {
        self.plan.clear();
        self.cmds.push(c);
        self
    }

    /// Number of commands.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// Removes every command.
    pub fn clear(&mut self) {
        self.plan.clear();
        self.cmds.clear();
    }
}

/// Where an entry goes next.
#[derive(Clone)]
enum Target {
    /// Wherever the slot map says.
    Map,
    /// To this node, with `ASKING` first when set.
    At(Addr, bool),
}

impl ClusterClient {
    /// Sends every command of `p` to the node serving it (one pipeline per
    /// node), follows redirects entry by entry, and returns one result per
    /// command in the order they were added. A cross-slot command is
    /// refused before anything is sent.
    pub fn pipeline(&self, p: &ClusterPipeline) -> Result<Vec<Result<Value, ServerError>>> {
        let inner = &self.inner;
        let map = inner.map_ready()?;
        let first = match p.plan.get(&map) {
            Some(groups) => groups,
            None => {
                let groups = Arc::new(self.plan(p, &map)?);
                p.plan.set(map, Arc::clone(&groups));
                groups
            }
        };
        let mut round = Round {
            results: vec![None; p.cmds.len()],
            pending: Vec::new(),
            wait: None,
            redirected: None,
        };
        for (addr, pl, idx) in first.iter() {
            let entries: Vec<(usize, bool)> = idx.iter().map(|&i| (i, false)).collect();
            self.send_group(p, addr, pl, &entries, &mut round)?;
        }
        let (mut redirects, mut retries) = (0, 0);
        loop {
            if let Some(e) = round.redirected.take() {
                inner.count_redirect(&mut redirects, e)?;
            }
            if let Some(last) = round.wait.take() {
                inner.backoff(&mut retries, last)?;
            }
            if round.pending.is_empty() {
                break;
            }
            let mut pending = std::mem::take(&mut round.pending);
            pending.sort_by_key(|(i, _)| *i);
            // Group by node, keeping the callers' order inside each group.
            let mut groups: Vec<(Addr, Vec<(usize, bool)>)> = Vec::new();
            for (i, t) in pending {
                let (addr, asking) = match t {
                    Target::At(a, asking) => (a, asking),
                    Target::Map => (inner.master_of(slot_of(&p.cmds[i])?)?, false),
                };
                match groups.iter_mut().find(|(a, _)| *a == addr) {
                    Some((_, g)) => g.push((i, asking)),
                    None => groups.push((addr, vec![(i, asking)])),
                }
            }
            for (addr, entries) in groups {
                let mut pl = Pipeline::new();
                for &(i, asking) in &entries {
                    if asking {
                        pl.add(cmd("ASKING"));
                    }
                    pl.add(p.cmds[i].clone());
                }
                self.send_group(p, &addr, &pl, &entries, &mut round)?;
            }
        }
        Ok(round
            .results
            .into_iter()
            .map(|r| r.unwrap_or(Ok(Value::Nil)))
            .collect())
    }

    /// Routes every command (refusing cross-slot ones) and groups them per
    /// master, in the callers' order inside each group.
    fn plan(&self, p: &ClusterPipeline, map: &SlotMap) -> Result<Groups> {
        let mut groups: Groups = Vec::new();
        for (i, c) in p.cmds.iter().enumerate() {
            let addr = match slot_of(c)? {
                Some(s) => {
                    &map.shard(s)
                        .ok_or_else(|| ClusterError::Unavailable {
                            attempts: 0,
                            last: format!("no node serves slot {s}"),
                        })?
                        .master
                }
                None => &map.shards()[0].master,
            };
            match groups.iter_mut().find(|(a, _, _)| a == addr) {
                Some((_, pl, idx)) => {
                    pl.add(c.clone());
                    idx.push(i);
                }
                None => {
                    let mut pl = Pipeline::new();
                    pl.add(c.clone());
                    groups.push((addr.clone(), pl, vec![i]));
                }
            }
        }
        Ok(groups)
    }

    /// Sends one node's share and files each reply: a result, or an entry
    /// to send again (redirected, or the node could not be reached).
    fn send_group(
        &self,
        p: &ClusterPipeline,
        addr: &Addr,
        pl: &Pipeline,
        entries: &[(usize, bool)],
        round: &mut Round,
    ) -> Result<()> {
        let inner = &self.inner;
        let outcome = match inner.node(addr, false).and_then(|n| n.get()) {
            Err(Error::Transport(e)) => Err((e, false)),
            Err(e) => return Err(e),
            Ok(mut c) => match c.pipeline(pl) {
                Ok(r) => Ok(r),
                Err(Error::Transport(e)) => Err((e, true)),
                Err(e) => return Err(e),
            },
        };
        let replies = match outcome {
            Ok(r) => r,
            Err((e, sent)) => {
                // Not connected: resend all; lost after sending: resend
                // only when every entry only reads.
                let writes = entries.iter().any(|&(i, _)| !p.cmds[i].is_read_only());
                if sent && (writes || !e.is_connection_lost()) {
                    return Err(Error::Transport(e));
                }
                round.wait = Some(e.to_string());
                round
                    .pending
                    .extend(entries.iter().map(|&(i, _)| (i, Target::Map)));
                return Ok(());
            }
        };
        let mut replies = replies.into_iter();
        for &(i, asking) in entries {
            if asking {
                replies.next(); // ASKING's +OK
            }
            match replies.next() {
                Some(Err(e)) => match Redirect::of(&e) {
                    Some(Redirect::Moved(slot, to)) => {
                        inner.moved(slot, to.clone());
                        round.pending.push((i, Target::At(to, false)));
                        round.redirected = Some(e);
                    }
                    Some(Redirect::Ask(to)) => {
                        round.pending.push((i, Target::At(to, true)));
                        round.redirected = Some(e);
                    }
                    Some(Redirect::Retry) => {
                        round.pending.push((i, Target::Map));
                        round.wait = Some(e.to_string());
                    }
                    None => round.results[i] = Some(Err(e)),
                },
                Some(Ok(v)) => round.results[i] = Some(Ok(v)),
                None => return Err(Error::InvalidInput("pipeline reply count mismatch".into())),
            }
        }
        Ok(())
    }

    /// Runs `p` in `MULTI`/`EXEC` on the master of its one slot: every key
    /// of every command must hash to the same slot
    /// ([`ClusterError::CrossSlot`] before sending otherwise). `None` when
    /// a `WATCH` made `EXEC` abort. A transaction refused because its slot
    /// moved (`EXECABORT` after `MOVED`) ran nothing and is sent again to
    /// the new master.
    pub fn transaction(&self, p: &ClusterPipeline) -> Result<Option<Vec<Value>>> {
        let slot = self.transaction_slot(p)?;
        let mut pl = Pipeline::new();
        for c in &p.cmds {
            pl.add(c.clone());
        }
        let mut attempts = 0;
        loop {
            let addr = self.inner.master_of(slot)?;
            let result = self.inner.node(&addr, false)?.get()?.transaction(&pl);
            match result {
                Err(Error::Server(e)) if e.kind() == ServerErrorKind::ExecAbort => {
                    attempts += 1;
                    self.refresh()?;
                    if attempts >= self.inner.cfg.max_redirects
                        || self.inner.master_of(slot)? == addr
                    {
                        return Err(Error::Server(e));
                    }
                }
                other => return other,
            }
        }
    }

    fn transaction_slot(&self, p: &ClusterPipeline) -> Result<Option<u16>> {
        let mut all = Vec::new();
        for c in &p.cmds {
            c.check()?;
            let parts = super::client::parts(c);
            all.extend(keys(&parts).into_iter().map(<[u8]>::to_vec));
        }
        let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        match route_keys(&refs) {
            Route::Any => Ok(None),
            Route::Slot(s) => Ok(Some(s)),
            Route::CrossSlot(keys) => Err(ClusterError::CrossSlot { keys }.into()),
        }
    }
}
