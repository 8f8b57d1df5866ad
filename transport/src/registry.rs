//! The process-wide registry: `pconnect` for code that holds no pool object.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::error::Result;
use crate::pool::Pool;
use crate::recycle::Recycle;

type Pools = HashMap<(TypeId, String), Box<dyn Any + Send + Sync>>;

fn pools() -> &'static Mutex<Pools> {
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The process's pool registered under `persistent_id` for sessions of type
/// `S`, created by `make` on first use. Every caller in the process that asks
/// for the same id gets the same pool, like PHP's `persistent_list`.
///
/// ```
/// use pconn_transport::{registry, Pool, PoolConfig};
/// let a: Pool<()> = registry::pool("doc-example", || Pool::new(PoolConfig::default()))?;
/// let b: Pool<()> = registry::pool("doc-example", || unreachable!("already registered"))?;
/// assert_eq!(a.stats(), b.stats());
/// # Ok::<(), pconn_transport::Error>(())
/// ```
pub fn pool<S, F>(persistent_id: &str, make: F) -> Result<Pool<S>>
where
    S: Recycle,
    F: FnOnce() -> Result<Pool<S>>,
{
    let mut pools = pools().lock().unwrap_or_else(|p| p.into_inner());
    let key = (TypeId::of::<S>(), persistent_id.to_string());
    if let Some(existing) = pools.get(&key).and_then(|p| p.downcast_ref::<Pool<S>>()) {
        return Ok(existing.clone());
    }
    let pool = make()?;
    pools.insert(key, Box::new(pool.clone()));
    Ok(pool)
}

/// Removes a pool from the registry; its idle connections close once the
/// last clone of it is dropped.
pub fn remove<S: Recycle>(persistent_id: &str) -> Option<Pool<S>> {
    let mut pools = pools().lock().unwrap_or_else(|p| p.into_inner());
    pools
        .remove(&(TypeId::of::<S>(), persistent_id.to_string()))
        .and_then(|p| p.downcast::<Pool<S>>().ok())
        .map(|p| *p)
}
