//! Helpers for the everyday commands, on a borrowed connection or on the
//! client (which borrows one per call).

use crate::cmd::{cmd, Cmd, ToArg};
use crate::error::Result;
use crate::from_value::FromValue;

/// Everyday commands. Each is `query(cmd(...))` with a typed result.
pub trait Commands {
    /// Sends a command and converts the reply.
    fn query<T: FromValue>(&mut self, cmd: &Cmd) -> Result<T>;

    /// `PING`.
    fn ping(&mut self) -> Result<String> {
        self.query(&cmd("PING"))
    }
    /// `ECHO`.
    fn echo<V: ToArg, T: FromValue>(&mut self, v: V) -> Result<T> {
        self.query(&cmd("ECHO").arg(v))
    }
    /// `GET`.
    fn get<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        self.query(&cmd("GET").arg(key))
    }
    /// `MGET`.
    fn mget<K: ToArg, T: FromValue>(&mut self, keys: &[K]) -> Result<T> {
        self.query(&cmd("MGET").args(keys))
    }
    /// `SET`.
    fn set<K: ToArg, V: ToArg>(&mut self, key: K, value: V) -> Result<()> {
        self.query(&cmd("SET").arg(key).arg(value))
    }
    /// `SET key value EX seconds`.
    fn set_ex<K: ToArg, V: ToArg>(&mut self, key: K, value: V, seconds: u64) -> Result<()> {
        self.query(&cmd("SET").arg(key).arg(value).arg("EX").arg(seconds))
    }
    /// `SET key value NX`: true when set.
    fn set_nx<K: ToArg, V: ToArg>(&mut self, key: K, value: V) -> Result<bool> {
        self.query(&cmd("SET").arg(key).arg(value).arg("NX"))
    }
    /// `DEL`: how many were removed.
    fn del<K: ToArg>(&mut self, keys: &[K]) -> Result<u64> {
        self.query(&cmd("DEL").args(keys))
    }
    /// `EXISTS`: how many exist.
    fn exists<K: ToArg>(&mut self, keys: &[K]) -> Result<u64> {
        self.query(&cmd("EXISTS").args(keys))
    }
    /// `EXPIRE`: true when set.
    fn expire<K: ToArg>(&mut self, key: K, seconds: i64) -> Result<bool> {
        self.query(&cmd("EXPIRE").arg(key).arg(seconds))
    }
    /// `PERSIST`.
    fn persist<K: ToArg>(&mut self, key: K) -> Result<bool> {
        self.query(&cmd("PERSIST").arg(key))
    }
    /// `TTL` in seconds (-1: no expiry, -2: no key).
    fn ttl<K: ToArg>(&mut self, key: K) -> Result<i64> {
        self.query(&cmd("TTL").arg(key))
    }
    /// `INCR`.
    fn incr<K: ToArg>(&mut self, key: K) -> Result<i64> {
        self.query(&cmd("INCR").arg(key))
    }
    /// `INCRBY`.
    fn incr_by<K: ToArg>(&mut self, key: K, by: i64) -> Result<i64> {
        self.query(&cmd("INCRBY").arg(key).arg(by))
    }
    /// `DECR`.
    fn decr<K: ToArg>(&mut self, key: K) -> Result<i64> {
        self.query(&cmd("DECR").arg(key))
    }
    /// `HSET key field value`.
    fn hset<K: ToArg, F: ToArg, V: ToArg>(&mut self, key: K, field: F, value: V) -> Result<u64> {
        self.query(&cmd("HSET").arg(key).arg(field).arg(value))
    }
    /// `HGET`.
    fn hget<K: ToArg, F: ToArg, T: FromValue>(&mut self, key: K, field: F) -> Result<T> {
        self.query(&cmd("HGET").arg(key).arg(field))
    }
    /// `HGETALL` (a map type, e.g. `HashMap<String, String>`).
    fn hgetall<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        self.query(&cmd("HGETALL").arg(key))
    }
    /// `HDEL`.
    fn hdel<K: ToArg, F: ToArg>(&mut self, key: K, fields: &[F]) -> Result<u64> {
        self.query(&cmd("HDEL").arg(key).args(fields))
    }
    /// `HINCRBY`.
    fn hincr_by<K: ToArg, F: ToArg>(&mut self, key: K, field: F, by: i64) -> Result<i64> {
        self.query(&cmd("HINCRBY").arg(key).arg(field).arg(by))
    }
    /// `LPUSH`: the new length.
    fn lpush<K: ToArg, V: ToArg>(&mut self, key: K, values: &[V]) -> Result<u64> {
        self.query(&cmd("LPUSH").arg(key).args(values))
    }
    /// `RPUSH`: the new length.
    fn rpush<K: ToArg, V: ToArg>(&mut self, key: K, values: &[V]) -> Result<u64> {
        self.query(&cmd("RPUSH").arg(key).args(values))
    }
    /// `LPOP`.
    fn lpop<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        self.query(&cmd("LPOP").arg(key))
    }
    /// `RPOP`.
    fn rpop<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        self.query(&cmd("RPOP").arg(key))
    }
    /// `LRANGE`.
    fn lrange<K: ToArg, T: FromValue>(&mut self, key: K, start: i64, stop: i64) -> Result<T> {
        self.query(&cmd("LRANGE").arg(key).arg(start).arg(stop))
    }
    /// `LLEN`.
    fn llen<K: ToArg>(&mut self, key: K) -> Result<u64> {
        self.query(&cmd("LLEN").arg(key))
    }
    /// `SADD`: how many were added.
    fn sadd<K: ToArg, M: ToArg>(&mut self, key: K, members: &[M]) -> Result<u64> {
        self.query(&cmd("SADD").arg(key).args(members))
    }
    /// `SREM`.
    fn srem<K: ToArg, M: ToArg>(&mut self, key: K, members: &[M]) -> Result<u64> {
        self.query(&cmd("SREM").arg(key).args(members))
    }
    /// `SMEMBERS`.
    fn smembers<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        self.query(&cmd("SMEMBERS").arg(key))
    }
    /// `SISMEMBER`.
    fn sismember<K: ToArg, M: ToArg>(&mut self, key: K, member: M) -> Result<bool> {
        self.query(&cmd("SISMEMBER").arg(key).arg(member))
    }
    /// `SCARD`.
    fn scard<K: ToArg>(&mut self, key: K) -> Result<u64> {
        self.query(&cmd("SCARD").arg(key))
    }
    /// `ZADD key score member`.
    fn zadd<K: ToArg, M: ToArg>(&mut self, key: K, score: f64, member: M) -> Result<u64> {
        self.query(&cmd("ZADD").arg(key).arg(score).arg(member))
    }
    /// `ZSCORE`.
    fn zscore<K: ToArg, M: ToArg>(&mut self, key: K, member: M) -> Result<Option<f64>> {
        self.query(&cmd("ZSCORE").arg(key).arg(member))
    }
    /// `ZRANGE key start stop`.
    fn zrange<K: ToArg, T: FromValue>(&mut self, key: K, start: i64, stop: i64) -> Result<T> {
        self.query(&cmd("ZRANGE").arg(key).arg(start).arg(stop))
    }
    /// `ZRANGE key start stop WITHSCORES` as (member, score) pairs.
    fn zrange_withscores<K: ToArg, M: FromValue>(
        &mut self,
        key: K,
        start: i64,
        stop: i64,
    ) -> Result<Vec<(M, f64)>> {
        let flat: Vec<crate::Value> = self.query(
            &cmd("ZRANGE")
                .arg(key)
                .arg(start)
                .arg(stop)
                .arg("WITHSCORES"),
        )?;
        let mut out = Vec::with_capacity(flat.len() / 2);
        let mut it = flat.into_iter();
        while let Some(first) = it.next() {
            // RESP3 nests each pair; RESP2 flattens them.
            let (m, s) = match first {
                crate::Value::Array(pair) if pair.len() == 2 => {
                    let mut p = pair.into_iter();
                    (
                        p.next().unwrap_or(crate::Value::Nil),
                        p.next().unwrap_or(crate::Value::Nil),
                    )
                }
                m => (m, it.next().unwrap_or(crate::Value::Nil)),
            };
            out.push((M::from_value(m)?, f64::from_value(s)?));
        }
        Ok(out)
    }
    /// `ZREM`.
    fn zrem<K: ToArg, M: ToArg>(&mut self, key: K, members: &[M]) -> Result<u64> {
        self.query(&cmd("ZREM").arg(key).args(members))
    }
    /// `ZCARD`.
    fn zcard<K: ToArg>(&mut self, key: K) -> Result<u64> {
        self.query(&cmd("ZCARD").arg(key))
    }
    /// `PUBLISH`: how many subscribers received it.
    fn publish<C: ToArg, M: ToArg>(&mut self, channel: C, message: M) -> Result<u64> {
        self.query(&cmd("PUBLISH").arg(channel).arg(message))
    }
}

impl Commands for crate::Connection {
    fn query<T: FromValue>(&mut self, cmd: &Cmd) -> Result<T> {
        crate::Connection::query(self, cmd)
    }
}

impl Commands for crate::Client {
    fn query<T: FromValue>(&mut self, cmd: &Cmd) -> Result<T> {
        crate::Client::get(self)?.query(cmd)
    }
}
