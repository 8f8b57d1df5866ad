//! Commands for every master: `SCAN` (each master in turn, each with its
//! own cursor), `PING`, `DBSIZE`, `KEYS`, `FLUSHALL`.

use std::marker::PhantomData;

use super::client::ClusterClient;
use super::topology::Addr;
use crate::cmd::{cmd, Cmd};
use crate::error::Result;
use crate::from_value::FromValue;
use crate::scan::Cursor;
use crate::value::Value;

/// Iterates over the keys of every master (`SCAN`), one master after the
/// other, one server call per batch. The masters are those of the slot map
/// when the iterator starts.
#[derive(Debug)]
pub struct ClusterScan<T> {
    client: ClusterClient,
    masters: Vec<Addr>,
    at: usize,
    cursor: Cursor,
    _t: PhantomData<T>,
}

impl<T: FromValue> ClusterScan<T> {
    /// Only keys matching the glob `pattern`.
    pub fn matching(mut self, pattern: impl AsRef<[u8]>) -> Self {
        self.cursor.set_pattern(pattern.as_ref());
        self
    }

    /// The `COUNT` hint per call.
    pub fn count(mut self, n: usize) -> Self {
        self.cursor.set_count(n);
        self
    }
}

impl<T: FromValue> Iterator for ClusterScan<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        let scan = cmd("SCAN");
        loop {
            let addr = self.masters.get(self.at)?;
            let client = &self.client;
            let item = self.cursor.next(&scan, |c| {
                client.inner.node(addr, false)?.get()?.query_value(c)
            });
            if item.is_some() {
                if self.cursor.failed() {
                    // A failed call ends the whole scan, as it ends a
                    // single node's.
                    self.at = self.masters.len();
                }
                return item;
            }
            // This master's keys are done: the next one, from cursor 0.
            self.at += 1;
            self.cursor.restart();
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
            cursor: Cursor::new(false),
            masters,
            at: 0,
            _t: PhantomData,
        })
    }
}
