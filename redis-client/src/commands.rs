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
        let c = cmd("PING");
        self.query(&c)
    }
    /// `ECHO`.
    fn echo<V: ToArg, T: FromValue>(&mut self, v: V) -> Result<T> {
        let c = cmd("ECHO").arg(v);
        self.query(&c)
    }
    /// `GET`.
    fn get<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        let c = cmd("GET").arg(key);
        self.query(&c)
    }
    /// `MGET`.
    fn mget<K: ToArg, T: FromValue>(&mut self, keys: &[K]) -> Result<T> {
        let c = cmd("MGET").args(keys);
        self.query(&c)
    }
    /// `SET`.
    fn set<K: ToArg, V: ToArg>(&mut self, key: K, value: V) -> Result<()> {
        let c = cmd("SET").arg(key).arg(value);
        self.query(&c)
    }
    /// `SET key value EX seconds`.
    fn set_ex<K: ToArg, V: ToArg>(&mut self, key: K, value: V, seconds: u64) -> Result<()> {
        let c = cmd("SET").arg(key).arg(value).arg("EX").arg(seconds);
        self.query(&c)
    }
    /// `SET key value NX`: true when set.
    fn set_nx<K: ToArg, V: ToArg>(&mut self, key: K, value: V) -> Result<bool> {
        let c = cmd("SET").arg(key).arg(value).arg("NX");
        self.query(&c)
    }
    /// `DEL`: how many were removed.
    fn del<K: ToArg>(&mut self, keys: &[K]) -> Result<u64> {
        let c = cmd("DEL").args(keys);
        self.query(&c)
    }
    /// `EXISTS`: how many exist.
    fn exists<K: ToArg>(&mut self, keys: &[K]) -> Result<u64> {
        let c = cmd("EXISTS").args(keys);
        self.query(&c)
    }
    /// `EXPIRE`: true when set.
    fn expire<K: ToArg>(&mut self, key: K, seconds: i64) -> Result<bool> {
        let c = cmd("EXPIRE").arg(key).arg(seconds);
        self.query(&c)
    }
    /// `PERSIST`.
    fn persist<K: ToArg>(&mut self, key: K) -> Result<bool> {
        let c = cmd("PERSIST").arg(key);
        self.query(&c)
    }
    /// `TTL` in seconds (-1: no expiry, -2: no key).
    fn ttl<K: ToArg>(&mut self, key: K) -> Result<i64> {
        let c = cmd("TTL").arg(key);
        self.query(&c)
    }
    /// `INCR`.
    fn incr<K: ToArg>(&mut self, key: K) -> Result<i64> {
        let c = cmd("INCR").arg(key);
        self.query(&c)
    }
    /// `INCRBY`.
    fn incr_by<K: ToArg>(&mut self, key: K, by: i64) -> Result<i64> {
        let c = cmd("INCRBY").arg(key).arg(by);
        self.query(&c)
    }
    /// `DECR`.
    fn decr<K: ToArg>(&mut self, key: K) -> Result<i64> {
        let c = cmd("DECR").arg(key);
        self.query(&c)
    }
    /// `HSET key field value`.
    fn hset<K: ToArg, F: ToArg, V: ToArg>(&mut self, key: K, field: F, value: V) -> Result<u64> {
        let c = cmd("HSET").arg(key).arg(field).arg(value);
        self.query(&c)
    }
    /// `HGET`.
    fn hget<K: ToArg, F: ToArg, T: FromValue>(&mut self, key: K, field: F) -> Result<T> {
        let c = cmd("HGET").arg(key).arg(field);
        self.query(&c)
    }
    /// `HGETALL` (a map type, e.g. `HashMap<String, String>`).
    fn hgetall<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        let c = cmd("HGETALL").arg(key);
        self.query(&c)
    }
    /// `HDEL`.
    fn hdel<K: ToArg, F: ToArg>(&mut self, key: K, fields: &[F]) -> Result<u64> {
        let c = cmd("HDEL").arg(key).args(fields);
        self.query(&c)
    }
    /// `HINCRBY`.
    fn hincr_by<K: ToArg, F: ToArg>(&mut self, key: K, field: F, by: i64) -> Result<i64> {
        let c = cmd("HINCRBY").arg(key).arg(field).arg(by);
        self.query(&c)
    }
    /// `LPUSH`: the new length.
    fn lpush<K: ToArg, V: ToArg>(&mut self, key: K, values: &[V]) -> Result<u64> {
        let c = cmd("LPUSH").arg(key).args(values);
        self.query(&c)
    }
    /// `RPUSH`: the new length.
    fn rpush<K: ToArg, V: ToArg>(&mut self, key: K, values: &[V]) -> Result<u64> {
        let c = cmd("RPUSH").arg(key).args(values);
        self.query(&c)
    }
    /// `LPOP`.
    fn lpop<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        let c = cmd("LPOP").arg(key);
        self.query(&c)
    }
    /// `RPOP`.
    fn rpop<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        let c = cmd("RPOP").arg(key);
        self.query(&c)
    }
    /// `LRANGE`.
    fn lrange<K: ToArg, T: FromValue>(&mut self, key: K, start: i64, stop: i64) -> Result<T> {
        let c = cmd("LRANGE").arg(key).arg(start).arg(stop);
        self.query(&c)
    }
    /// `LLEN`.
    fn llen<K: ToArg>(&mut self, key: K) -> Result<u64> {
        let c = cmd("LLEN").arg(key);
        self.query(&c)
    }
    /// `SADD`: how many were added.
    fn sadd<K: ToArg, M: ToArg>(&mut self, key: K, members: &[M]) -> Result<u64> {
        let c = cmd("SADD").arg(key).args(members);
        self.query(&c)
    }
    /// `SREM`.
    fn srem<K: ToArg, M: ToArg>(&mut self, key: K, members: &[M]) -> Result<u64> {
        let c = cmd("SREM").arg(key).args(members);
        self.query(&c)
    }
    /// `SMEMBERS`.
    fn smembers<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        let c = cmd("SMEMBERS").arg(key);
        self.query(&c)
    }
    /// `SISMEMBER`.
    fn sismember<K: ToArg, M: ToArg>(&mut self, key: K, member: M) -> Result<bool> {
        let c = cmd("SISMEMBER").arg(key).arg(member);
        self.query(&c)
    }
    /// `SCARD`.
    fn scard<K: ToArg>(&mut self, key: K) -> Result<u64> {
        let c = cmd("SCARD").arg(key);
        self.query(&c)
    }
    /// `ZADD key score member`.
    fn zadd<K: ToArg, M: ToArg>(&mut self, key: K, score: f64, member: M) -> Result<u64> {
        let c = cmd("ZADD").arg(key).arg(score).arg(member);
        self.query(&c)
    }
    /// `ZSCORE`.
    fn zscore<K: ToArg, M: ToArg>(&mut self, key: K, member: M) -> Result<Option<f64>> {
        let c = cmd("ZSCORE").arg(key).arg(member);
        self.query(&c)
    }
    /// `ZRANGE key start stop`.
    fn zrange<K: ToArg, T: FromValue>(&mut self, key: K, start: i64, stop: i64) -> Result<T> {
        let c = cmd("ZRANGE").arg(key).arg(start).arg(stop);
        self.query(&c)
    }
    /// `ZRANGE key start stop WITHSCORES` as (member, score) pairs.
    fn zrange_withscores<K: ToArg, M: FromValue>(
        &mut self,
        key: K,
        start: i64,
        stop: i64,
    ) -> Result<Vec<(M, f64)>> {
        let c = cmd("ZRANGE")
            .arg(key)
            .arg(start)
            .arg(stop)
            .arg("WITHSCORES");
        let flat: Vec<crate::Value> = self.query(&c)?;
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
        let c = cmd("ZREM").arg(key).args(members);
        self.query(&c)
    }
    /// `ZCARD`.
    fn zcard<K: ToArg>(&mut self, key: K) -> Result<u64> {
        let c = cmd("ZCARD").arg(key);
        self.query(&c)
    }
    /// `PUBLISH`: how many subscribers received it.
    fn publish<C: ToArg, M: ToArg>(&mut self, channel: C, message: M) -> Result<u64> {
        let c = cmd("PUBLISH").arg(channel).arg(message);
        self.query(&c)
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

impl Commands for crate::ClusterClient {
    fn query<T: FromValue>(&mut self, cmd: &Cmd) -> Result<T> {
        crate::ClusterClient::query(self, cmd)
    }
}
