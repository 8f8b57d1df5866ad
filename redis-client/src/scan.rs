//! SCAN-family iterators: the cursor loop behind an `Iterator`.

use std::collections::VecDeque;
use std::marker::PhantomData;

use crate::cmd::{cmd, Cmd, ToArg};
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::from_value::FromValue;
use crate::value::Value;

/// The cursor loop of one SCAN-family iteration, shared by [`ScanIter`]
/// and the cluster's per-master scan: the `MATCH`/`COUNT` options, the
/// cursor the next call sends (`None` once the server answered `0`), and
/// the items of the last batch not yet handed out.
#[derive(Debug)]
pub(crate) struct Cursor {
    pattern: Option<Vec<u8>>,
    count: Option<usize>,
    cursor: Option<Vec<u8>>,
    batch: VecDeque<Value>,
    /// `HSCAN`/`ZSCAN`: items come as (field, value) pairs.
    pairs: bool,
    /// A call failed: the iteration is over (its error was handed out).
    failed: bool,
}

impl Cursor {
    /// A new iteration (cursor `0`); `pairs` for `HSCAN`/`ZSCAN`.
    pub(crate) fn new(pairs: bool) -> Cursor {
        Cursor {
            pattern: None,
            count: None,
            cursor: Some(b"0".to_vec()),
            batch: VecDeque::new(),
            pairs,
            failed: false,
        }
    }

    /// Starts over at cursor `0`, keeping the options.
    pub(crate) fn restart(&mut self) {
        self.cursor = Some(b"0".to_vec());
    }

    /// True once a call failed (an item that did not convert is not a
    /// failure: the iteration goes on past it).
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    pub(crate) fn set_pattern(&mut self, pattern: &[u8]) {
        self.pattern = Some(pattern.to_vec());
    }

    pub(crate) fn set_count(&mut self, n: usize) {
        self.count = Some(n);
    }

    /// The next item: from the batch at hand, else from a new call of
    /// `base` with the cursor and options, sent by `query`; `None` when
    /// the server has said the iteration is over and the batch is empty.
    pub(crate) fn next<T: FromValue>(
        &mut self,
        base: &Cmd,
        mut query: impl FnMut(&Cmd) -> Result<Value>,
    ) -> Option<Result<T>> {
        loop {
            if let Some(v) = self.batch.pop_front() {
                return Some(T::from_value(v));
            }
            let cursor = self.cursor.take()?;
            if let Err(e) = query(&self.command(base, cursor)).and_then(|r| self.take_reply(r)) {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }

    fn command(&self, base: &Cmd, cursor: Vec<u8>) -> Cmd {
        let mut c = base.clone().arg(cursor);
        if let Some(p) = &self.pattern {
            c = c.arg("MATCH").arg(p.as_slice());
        }
        if let Some(n) = self.count {
            c = c.arg("COUNT").arg(n);
        }
        c
    }

    /// Keeps a reply's next cursor and its items (`[cursor, [items]]`).
    fn take_reply(&mut self, reply: Value) -> Result<()> {
        let (next, items): (Vec<u8>, Vec<Value>) = FromValue::from_value(reply)?;
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

/// Iterates over `SCAN`, `SSCAN`, `HSCAN` or `ZSCAN` results, one server
/// call per batch. `HSCAN`/`ZSCAN` items are (field, value) pairs.
#[derive(Debug)]
pub struct ScanIter<'a, T> {
    conn: &'a mut Connection,
    base: Cmd,
    cursor: Cursor,
    _t: PhantomData<T>,
}

impl<'a, T: FromValue> ScanIter<'a, T> {
    fn new(conn: &'a mut Connection, base: Cmd, pairs: bool) -> Self {
        ScanIter {
            conn,
            base,
            cursor: Cursor::new(pairs),
            _t: PhantomData,
        }
    }

    /// Only items matching the glob `pattern`.
    pub fn matching(mut self, pattern: impl AsRef<[u8]>) -> Self {
        self.cursor.set_pattern(pattern.as_ref());
        self
    }

    /// The `COUNT` hint per batch.
    pub fn count(mut self, n: usize) -> Self {
        self.cursor.set_count(n);
        self
    }
}

impl<T: FromValue> Iterator for ScanIter<'_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        let conn = &mut *self.conn;
        self.cursor.next(&self.base, |c| conn.query_value(c))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(cursor: &str, items: &[&str]) -> Value {
        Value::Array(vec![
            Value::Bulk(cursor.into()),
            Value::Array(
                items
                    .iter()
                    .map(|i| Value::Bulk(i.as_bytes().into()))
                    .collect(),
            ),
        ])
    }

    #[test]
    fn the_cursor_follows_the_server_until_zero_with_its_options() {
        let mut replies = vec![reply("7", &["a", "b"]), reply("0", &["c"])].into_iter();
        let mut sent = Vec::new();
        let mut cursor = Cursor::new(false);
        cursor.set_pattern(b"k*");
        cursor.set_count(2);
        let mut got = Vec::new();
        while let Some(item) = cursor.next::<String>(&cmd("SCAN"), |c| {
            sent.push(
                (0..c.len())
                    .map(|i| c.part(i).unwrap().to_vec())
                    .collect::<Vec<_>>(),
            );
            Ok(replies.next().unwrap())
        }) {
            got.push(item.unwrap());
        }
        assert_eq!(got, ["a", "b", "c"]);
        let call = |cursor: &str| -> Vec<Vec<u8>> {
            ["SCAN", cursor, "MATCH", "k*", "COUNT", "2"]
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect()
        };
        assert_eq!(sent, [call("0"), call("7")]);
        assert!(!cursor.failed());
    }

    #[test]
    fn a_failed_call_ends_the_iteration_and_an_odd_pair_list_is_an_error() {
        let mut cursor = Cursor::new(false);
        let first = cursor.next::<String>(&cmd("SCAN"), |_| {
            Err(Error::Type {
                expected: "a reply",
                got: "none".into(),
            })
        });
        assert!(matches!(first, Some(Err(_))));
        assert!(cursor.failed());
        assert!(cursor
            .next::<String>(&cmd("SCAN"), |_| panic!("no second call"))
            .is_none());

        let mut pairs = Cursor::new(true);
        let odd = pairs.next::<(String, String)>(&cmd("HSCAN"), |_| Ok(reply("0", &["f"])));
        assert!(matches!(odd, Some(Err(Error::Type { .. }))), "{odd:?}");
        let mut pairs = Cursor::new(true);
        let one = pairs.next::<(String, String)>(&cmd("HSCAN"), |_| Ok(reply("0", &["f", "v"])));
        assert_eq!(one.unwrap().unwrap(), ("f".to_string(), "v".to_string()));
    }
}
