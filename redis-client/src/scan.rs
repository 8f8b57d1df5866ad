//! SCAN-family iterators: the cursor loop behind an `Iterator`.

use std::collections::VecDeque;
use std::marker::PhantomData;

use crate::cmd::{cmd, Cmd, ToArg};
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::from_value::FromValue;
use crate::value::Value;

/// Iterates over `SCAN`, `SSCAN`, `HSCAN` or `ZSCAN` results, one server
/// call per batch. `HSCAN`/`ZSCAN` items are (field, value) pairs.
#[derive(Debug)]
pub struct ScanIter<'a, T> {
    conn: &'a mut Connection,
    base: Cmd,
    pattern: Option<Vec<u8>>,
    count: Option<usize>,
    cursor: Option<Vec<u8>>,
    batch: VecDeque<Value>,
    pairs: bool,
    _t: PhantomData<T>,
}

impl<'a, T: FromValue> ScanIter<'a, T> {
    fn new(conn: &'a mut Connection, base: Cmd, pairs: bool) -> Self {
        ScanIter {
            conn,
            base,
            pattern: None,
            count: None,
            cursor: Some(b"0".to_vec()),
            batch: VecDeque::new(),
            pairs,
            _t: PhantomData,
        }
    }

    /// Only items matching the glob `pattern`.
    pub fn matching(mut self, pattern: impl AsRef<[u8]>) -> Self {
        self.pattern = Some(pattern.as_ref().to_vec());
        self
    }

    /// The `COUNT` hint per batch.
    pub fn count(mut self, n: usize) -> Self {
        self.count = Some(n);
        self
    }

    fn fetch(&mut self, cursor: Vec<u8>) -> Result<()> {
        let mut c = self.base.clone().arg(cursor);
        if let Some(p) = &self.pattern {
            c = c.arg("MATCH").arg(p.as_slice());
        }
        if let Some(n) = self.count {
            c = c.arg("COUNT").arg(n);
        }
        let (next, items): (Vec<u8>, Vec<Value>) = self.conn.query(&c)?;
        self.cursor = if next == b"0" { None } else { Some(next) };
        if self.pairs {
            if items.len() % 2 != 0 {
                return Err(Error::Type {
                    expected: "field/value pairs",
                    got: format!("{} items", items.len()),
                });
            }
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                self.batch.push_back(Value::Array(vec![k, v]));
            }
        } else {
            self.batch.extend(items);
        }
        Ok(())
    }
}

impl<T: FromValue> Iterator for ScanIter<'_, T> {
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

impl Connection {
    /// Iterates over keys (`SCAN`).
    pub fn scan<T: FromValue>(&mut self) -> ScanIter<'_, T> {
        ScanIter::new(self, cmd("SCAN"), false)
    }

    /// Iterates over a set's members (`SSCAN`).
    pub fn sscan<K: ToArg, T: FromValue>(&mut self, key: K) -> ScanIter<'_, T> {
        ScanIter::new(self, cmd("SSCAN").arg(key), false)
    }

    /// Iterates over a hash's (field, value) pairs (`HSCAN`).
    pub fn hscan<K: ToArg, T: FromValue>(&mut self, key: K) -> ScanIter<'_, T> {
        ScanIter::new(self, cmd("HSCAN").arg(key), true)
    }

    /// Iterates over a sorted set's (member, score) pairs (`ZSCAN`).
    pub fn zscan<K: ToArg, T: FromValue>(&mut self, key: K) -> ScanIter<'_, T> {
        ScanIter::new(self, cmd("ZSCAN").arg(key), true)
    }
}
