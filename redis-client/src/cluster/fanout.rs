//! Commands for every master: `SCAN` (each master in turn, each with its
//! own cursor), `PING`, `DBSIZE`, `KEYS`, `FLUSHALL`.

use std::collections::VecDeque;
use std::marker::PhantomData;

use super::client::ClusterClient;
use super::topology::Addr;
use crate::cmd::{cmd, Cmd};
use crate::error::{Error, Result};
use crate::from_value::FromValue;
use crate::value::Value;

/// Iterates over the keys of every master (`SCAN`), one master after the
/// other, one server call per batch. The masters are those of the slot map
/// when the iterator starts.
#[derive(Debug)]
pub struct ClusterScan<T> {
    client: ClusterClient,
    masters: Vec<Addr>,
    at: usize,
    cursor: Option<Vec<u8>>,
    pattern: Option<Vec<u8>>,
    count: Option<usize>,
    batch: VecDeque<Value>,
    _t: PhantomData<T>,
}

impl<T: FromValue> ClusterScan<T> {
    /// Only keys matching the glob `pattern`.
    pub fn matching(mut self, pattern: impl AsRef<[u8]>) -> Self {
        self.pattern = Some(pattern.as_ref().to_vec());
        self
    }

    /// The `COUNT` hint per call.
    pub fn count(mut self, n: usize) -> Self {
        self.count = Some(n);
        self
    }

    fn fetch(&mut self, cursor: Vec<u8>) -> Result<()> {
        let mut c = cmd("SCAN").arg(&cursor);
        if let Some(p) = &self.pattern {
            c = c.arg("MATCH").arg(p);
        }
        if let Some(n) = self.count {
            c = c.arg("COUNT").arg(n);
        }
        let addr = &self.masters[self.at];
        let reply = self
            .client
            .inner
            .node(addr, false)?
            .get()?
            .query_value(&c)?;
        let bad = || Error::Type {
            expected: "SCAN reply [cursor, keys]",
            got: format!("{reply:?}"),
        };
        let mut items = reply.clone().into_items().ok_or_else(bad)?.into_iter();
        let (Some(next), Some(keys)) = (items.next(), items.next()) else {
            return Err(bad());
        };
        let next = next.as_bytes().ok_or_else(bad)?.to_vec();
        self.batch.extend(keys.into_items().ok_or_else(bad)?);
        if next == b"0" {
            self.at += 1;
            if self.at < self.masters.len() {
                self.cursor = Some(b"0".to_vec());
            }
        } else {
            self.cursor = Some(next);
        }
        Ok(())
    }
}

impl<T: FromValue> Iterator for ClusterScan<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(v) = self.batch.pop_front() {
                return Some(T::from_value(v));
            }
            let cursor = self.cursor.take()?;
            if let Err(e) = self.fetch(cursor) {
                return Some(Err(e));
            }
        }
    }
}

impl ClusterClient {
    /// `PING` to every master; `PONG` from each.
    pub fn ping_all(&self) -> Result<Vec<(Addr, String)>> {
        self.fan_out(&cmd("PING"))?
            .into_iter()
            .map(|(a, v)| Ok((a, String::from_value(v)?)))
            .collect()
    }

    /// Sends `c` to every master, in turn, and returns each node's reply.
    pub fn fan_out(&self, c: &Cmd) -> Result<Vec<(Addr, Value)>> {
        let map = self.inner.map_ready()?;
        let mut out = Vec::with_capacity(map.shards().len());
        for shard in map.shards() {
            let v = self
                .inner
                .node(&shard.master, false)?
                .get()?
                .query_value(c)?;
            out.push((shard.master.clone(), v));
        }
        Ok(out)
    }

    /// `DBSIZE` summed over every master.
    pub fn dbsize(&self) -> Result<u64> {
        let mut n = 0;
        for (_, v) in self.fan_out(&cmd("DBSIZE"))? {
            n += u64::from_value(v)?;
        }
        Ok(n)
    }

    /// `KEYS pattern` on every master, combined.
    pub fn keys<T: FromValue>(&self, pattern: &str) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for (_, v) in self.fan_out(&cmd("KEYS").arg(pattern))? {
            out.extend(Vec::<T>::from_value(v)?);
        }
        Ok(out)
    }

    /// `FLUSHALL` on every master.
    pub fn flushall(&self) -> Result<()> {
        self.fan_out(&cmd("FLUSHALL")).map(drop)
    }

    /// Iterates over the keys of every master (`SCAN`), master by master.
    pub fn scan<T: FromValue>(&self) -> Result<ClusterScan<T>> {
        let map = self.inner.map_ready()?;
        let masters: Vec<Addr> = map.shards().iter().map(|s| s.master.clone()).collect();
        Ok(ClusterScan {
            client: self.clone(),
            cursor: (!masters.is_empty()).then(|| b"0".to_vec()),
            masters,
            at: 0,
            pattern: None,
            count: None,
            batch: VecDeque::new(),
            _t: PhantomData,
        })
    }
}
