//! Helpers for the everyday commands, on a borrowed connection or on the
//! client (which borrows one per call).

use crate::cmd::{cmd, Cmd, ToArg};
use crate::error::Result;
use crate::from_value::FromValue;

/// Everyday commands. Each is `query(cmd(...))` with a typed result.
pub trait Commands {
    /// Sends a command and converts the reply.
    fn query<T: FromValue>(&mut self, cmd: &Cmd) -> Result<T>;

    /// A command to fill and pass to [`run_cmd`](Commands::run_cmd): a
    /// connection lends the buffer of its last one, so the helpers below
    /// allocate nothing to build a command.
    #[doc(hidden)]
    fn new_cmd(&mut self, name: &str) -> Cmd {
        cmd(name)
    }

    /// Sends a command from [`new_cmd`](Commands::new_cmd) and takes its
    /// buffer back.
    #[doc(hidden)]
    fn run_cmd<T: FromValue>(&mut self, cmd: Cmd) -> Result<T> {
        self.query(&cmd)
    }

    /// `PING`.
    fn ping(&mut self) -> Result<String> {
        let c = self.new_cmd("PING");
        self.run_cmd(c)
    }
    /// `ECHO`.
    fn echo<V: ToArg, T: FromValue>(&mut self, v: V) -> Result<T> {
        let c = self.new_cmd("ECHO").arg(v);
        self.run_cmd(c)
    }
    /// `GET`.
    fn get<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        let c = self.new_cmd("GET").arg(key);
        self.run_cmd(c)
    }
    /// `MGET`.
    fn mget<K: ToArg, T: FromValue>(&mut self, keys: &[K]) -> Result<T> {
        let c = self.new_cmd("MGET").args(keys);
        self.run_cmd(c)
    }
    /// `SET`.
    fn set<K: ToArg, V: ToArg>(&mut self, key: K, value: V) -> Result<()> {
        let c = self.new_cmd("SET").arg(key).arg(value);
        self.run_cmd(c)
    }
    /// `SET key value EX seconds`.
    fn set_ex<K: ToArg, V: ToArg>(&mut self, key: K, value: V, seconds: u64) -> Result<()> {
        let c = self
            .new_cmd("SET")
            .arg(key)
            .arg(value)
            .arg("EX")
            .arg(seconds);
        self.run_cmd(c)
    }
    /// `SET key value NX`: true when set.
    fn set_nx<K: ToArg, V: ToArg>(&mut self, key: K, value: V) -> Result<bool> {
        let c = self.new_cmd("SET").arg(key).arg(value).arg("NX");
        self.run_cmd(c)
    }
    /// `DEL`: how many were removed.
    fn del<K: ToArg>(&mut self, keys: &[K]) -> Result<u64> {
        let c = self.new_cmd("DEL").args(keys);
        self.run_cmd(c)
    }
    /// `EXISTS`: how many exist.
    fn exists<K: ToArg>(&mut self, keys: &[K]) -> Result<u64> {
        let c = self.new_cmd("EXISTS").args(keys);
        self.run_cmd(c)
    }
    /// `EXPIRE`: true when set.
    fn expire<K: ToArg>(&mut self, key: K, seconds: i64) -> Result<bool> {
        let c = self.new_cmd("EXPIRE").arg(key).arg(seconds);
        self.run_cmd(c)
    }
    /// `PERSIST`.
    fn persist<K: ToArg>(&mut self, key: K) -> Result<bool> {
        let c = self.new_cmd("PERSIST").arg(key);
        self.run_cmd(c)
    }
    /// `TTL` in seconds (-1: no expiry, -2: no key).
    fn ttl<K: ToArg>(&mut self, key: K) -> Result<i64> {
        let c = self.new_cmd("TTL").arg(key);
        self.run_cmd(c)
    }
    /// `INCR`.
    fn incr<K: ToArg>(&mut self, key: K) -> Result<i64> {
        let c = self.new_cmd("INCR").arg(key);
        self.run_cmd(c)
    }
    /// `INCRBY`.
    fn incr_by<K: ToArg>(&mut self, key: K, by: i64) -> Result<i64> {
        let c = self.new_cmd("INCRBY").arg(key).arg(by);
        self.run_cmd(c)
    }
    /// `DECR`.
    fn decr<K: ToArg>(&mut self, key: K) -> Result<i64> {
        let c = self.new_cmd("DECR").arg(key);
        self.run_cmd(c)
    }
    /// `HSET key field value`.
    fn hset<K: ToArg, F: ToArg, V: ToArg>(&mut self, key: K, field: F, value: V) -> Result<u64> {
        let c = self.new_cmd("HSET").arg(key).arg(field).arg(value);
        self.run_cmd(c)
    }
    /// `HGET`.
    fn hget<K: ToArg, F: ToArg, T: FromValue>(&mut self, key: K, field: F) -> Result<T> {
        let c = self.new_cmd("HGET").arg(key).arg(field);
        self.run_cmd(c)
    }
    /// `HGETALL` (a map type, e.g. `HashMap<String, String>`).
    fn hgetall<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        let c = self.new_cmd("HGETALL").arg(key);
        self.run_cmd(c)
    }
    /// `HDEL`.
    fn hdel<K: ToArg, F: ToArg>(&mut self, key: K, fields: &[F]) -> Result<u64> {
        let c = self.new_cmd("HDEL").arg(key).args(fields);
        self.run_cmd(c)
    }
    /// `HINCRBY`.
    fn hincr_by<K: ToArg, F: ToArg>(&mut self, key: K, field: F, by: i64) -> Result<i64> {
        let c = self.new_cmd("HINCRBY").arg(key).arg(field).arg(by);
        self.run_cmd(c)
    }
    /// `LPUSH`: the new length.
    fn lpush<K: ToArg, V: ToArg>(&mut self, key: K, values: &[V]) -> Result<u64> {
        let c = self.new_cmd("LPUSH").arg(key).args(values);
        self.run_cmd(c)
    }
    /// `RPUSH`: the new length.
    fn rpush<K: ToArg, V: ToArg>(&mut self, key: K, values: &[V]) -> Result<u64> {
        let c = self.new_cmd("RPUSH").arg(key).args(values);
        self.run_cmd(c)
    }
    /// `LPOP`.
    fn lpop<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        let c = self.new_cmd("LPOP").arg(key);
        self.run_cmd(c)
    }
    /// `RPOP`.
    fn rpop<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        let c = self.new_cmd("RPOP").arg(key);
        self.run_cmd(c)
    }
    /// `LRANGE`.
    fn lrange<K: ToArg, T: FromValue>(&mut self, key: K, start: i64, stop: i64) -> Result<T> {
        let c = self.new_cmd("LRANGE").arg(key).arg(start).arg(stop);
        self.run_cmd(c)
    }
    /// `LLEN`.
    fn llen<K: ToArg>(&mut self, key: K) -> Result<u64> {
        let c = self.new_cmd("LLEN").arg(key);
        self.run_cmd(c)
    }
    /// `SADD`: how many were added.
    fn sadd<K: ToArg, M: ToArg>(&mut self, key: K, members: &[M]) -> Result<u64> {
        let c = self.new_cmd("SADD").arg(key).args(members);
        self.run_cmd(c)
    }
    /// `SREM`.
    fn srem<K: ToArg, M: ToArg>(&mut self, key: K, members: &[M]) -> Result<u64> {
        let c = self.new_cmd("SREM").arg(key).args(members);
        self.run_cmd(c)
    }
    /// `SMEMBERS`.
    fn smembers<K: ToArg, T: FromValue>(&mut self, key: K) -> Result<T> {
        let c = self.new_cmd("SMEMBERS").arg(key);
        self.run_cmd(c)
    }
    /// `SISMEMBER`.
    fn sismember<K: ToArg, M: ToArg>(&mut self, key: K, member: M) -> Result<bool> {
        let c = self.new_cmd("SISMEMBER").arg(key).arg(member);
        self.run_cmd(c)
    }
    /// `SCARD`.
    fn scard<K: ToArg>(&mut self, key: K) -> Result<u64> {
        let c = self.new_cmd("SCARD").arg(key);
        self.run_cmd(c)
    }
    /// `ZADD key score member`.
    fn zadd<K: ToArg, M: ToArg>(&mut self, key: K, score: f64, member: M) -> Result<u64> {
        let c = self.new_cmd("ZADD").arg(key).arg(score).arg(member);
        self.run_cmd(c)
    }
    /// `ZSCORE`.
    fn zscore<K: ToArg, M: ToArg>(&mut self, key: K, member: M) -> Result<Option<f64>> {
        let c = self.new_cmd("ZSCORE").arg(key).arg(member);
        self.run_cmd(c)
    }
    /// `ZRANGE key start stop`.
    fn zrange<K: ToArg, T: FromValue>(&mut self, key: K, start: i64, stop: i64) -> Result<T> {
        let c = self.new_cmd("ZRANGE").arg(key).arg(start).arg(stop);
        self.run_cmd(c)
    }
    /// `ZRANGE key start stop WITHSCORES` as (member, score) pairs.
    fn zrange_withscores<K: ToArg, M: FromValue>(
        &mut self,
        key: K,
        start: i64,
        stop: i64,
    ) -> Result<Vec<(M, f64)>> {
        let c = self
            .new_cmd("ZRANGE")
            .arg(key)
            .arg(start)
            .arg(stop)
            .arg("WITHSCORES");
        let flat: Vec<crate::Value> = self.run_cmd(c)?;
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
        let c = self.new_cmd("ZREM").arg(key).args(members);
        self.run_cmd(c)
    }
    /// `ZCARD`.
    fn zcard<K: ToArg>(&mut self, key: K) -> Result<u64> {
        let c = self.new_cmd("ZCARD").arg(key);
        self.run_cmd(c)
    }
    /// `PUBLISH`: how many subscribers received it.
    fn publish<C: ToArg, M: ToArg>(&mut self, channel: C, message: M) -> Result<u64> {
        let c = self.new_cmd("PUBLISH").arg(channel).arg(message);
        self.run_cmd(c)
    }
}

impl Commands for crate::Connection {
    fn query<T: FromValue>(&mut self, cmd: &Cmd) -> Result<T> {
        crate::Connection::query(self, cmd)
    }

    fn new_cmd(&mut self, name: &str) -> Cmd {
        let mut c = std::mem::take(&mut self.guard.session().scratch);
        c.clear();
        c.push(name);
        c
    }

    fn run_cmd<T: FromValue>(&mut self, cmd: Cmd) -> Result<T> {
        let result = crate::Connection::query(self, &cmd);
        self.guard.session().keep_scratch(cmd);
        result
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
