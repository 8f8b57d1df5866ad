//! The per-node split of a [`super::ClusterPipeline`], kept with it while
//! the slot map stays the same.
//!
//! What it buys: a pipeline built once and sent many times is routed
//! (every command's keys hashed, its master looked up) and copied into
//! per-node pipelines once, not on every send. Without it, a pipeline of
//! 100 SETs over 3 masters spent more time routing and copying than the
//! raw loop spends in total (bench/redis, cluster pipelines). The plan is
//! only used when it was made from the very slot map in force now
//! (`Arc::ptr_eq`): any `MOVED` or refresh installs a new map.

use std::sync::{Arc, Mutex};

use super::topology::{Addr, SlotMap};
use crate::pipeline::Pipeline;

/// Commands grouped per master: the node, its pipeline, and the caller's
/// index of each command in it.
pub(crate) type Groups = Vec<(Addr, Pipeline, Vec<usize>)>;

/// A plan and the map it was made from.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) map: Arc<SlotMap>,
    pub(crate) groups: Arc<Groups>,
}

/// The cache slot inside a `ClusterPipeline`.
#[derive(Debug, Default)]
pub(crate) struct PlanCache(Mutex<Option<Plan>>);

impl PlanCache {
    /// The groups, if they were made from `map`.
    pub(crate) fn get(&self, map: &Arc<SlotMap>) -> Option<Arc<Groups>> {
        let plan = self.0.lock().unwrap_or_else(|p| p.into_inner());
        plan.as_ref()
            .filter(|p| Arc::ptr_eq(&p.map, map))
            .map(|p| Arc::clone(&p.groups))
    }

    pub(crate) fn set(&self, map: Arc<SlotMap>, groups: Arc<Groups>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Plan { map, groups });
    }

    pub(crate) fn clear(&mut self) {
        *self.0.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl Clone for PlanCache {
    fn clone(&self) -> Self {
        PlanCache::default()
    }
}
