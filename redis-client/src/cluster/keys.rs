//! Which arguments of a command are keys, and so which slot it goes to.
//! Pure: a command's parts in, a route out. The one place the cluster
//! client knows command shapes.

use super::slot::key_slot;

/// Where a command must go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// No key: any master may answer (`PING`, `INFO`, `PUBLISH`, ...).
    Any,
    /// Every key hashes to this slot.
    Slot(u16),
    /// Keys in different slots: refused before sending. The keys, lossy
    /// UTF-8, and their slots, in command order.
    CrossSlot(Vec<(String, u16)>),
}

/// How a command names its keys (positions count the name as 0).
enum Shape {
    /// No keys.
    None,
    /// One key at this position.
    At(usize),
    /// Every `step`-th argument from `first` on, up to `len - skip_last`.
    Range {
        first: usize,
        step: usize,
        skip_last: usize,
    },
    /// A count at this position, then that many keys (`EVAL`, `ZUNION`).
    Counted { count_at: usize },
    /// A count at `count_at`, keys after it, plus a destination key at 1.
    CountedWithDest { count_at: usize },
    /// `XREAD`/`XREADGROUP`: the first half of what follows `STREAMS`.
    Streams,
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn shape(name: &[u8], sub: Option<&[u8]>) -> Shape {
    let is = |n: &str| eq(name, n);
    const NONE: &[&str] = &[
        "PING",
        "ECHO",
        "INFO",
        "TIME",
        "DBSIZE",
        "KEYS",
        "SCAN",
        "FLUSHALL",
        "FLUSHDB",
        "CLUSTER",
        "CONFIG",
        "CLIENT",
        "COMMAND",
        "SCRIPT",
        "FUNCTION",
        "PUBLISH",
        "RANDOMKEY",
        "WAIT",
        "MULTI",
        "EXEC",
        "DISCARD",
        "UNWATCH",
        "AUTH",
        "HELLO",
        "SELECT",
        "READONLY",
        "READWRITE",
        "ASKING",
        "DEBUG",
        "LASTSAVE",
        "SAVE",
        "BGSAVE",
        "BGREWRITEAOF",
        "ROLE",
        "SLOWLOG",
        "LATENCY",
        "ACL",
        "LOLWUT",
        "SUBSCRIBE",
        "PSUBSCRIBE",
        "UNSUBSCRIBE",
        "PUNSUBSCRIBE",
        "PUBSUB",
        "RESET",
        "QUIT",
        "SWAPDB",
        "MODULE",
        "MONITOR",
        "SHUTDOWN",
        "FAILOVER",
        "REPLICAOF",
        "SLAVEOF",
    ];
    if NONE.iter().any(|n| is(n)) {
        return Shape::None;
    }
    const ALL: &[&str] = &[
        "MGET",
        "DEL",
        "EXISTS",
        "UNLINK",
        "TOUCH",
        "WATCH",
        "SINTER",
        "SUNION",
        "SDIFF",
        "SINTERSTORE",
        "SUNIONSTORE",
        "SDIFFSTORE",
        "PFCOUNT",
        "PFMERGE",
        "RENAME",
        "RENAMENX",
        "RPOPLPUSH",
        "SMOVE",
        "LMOVE",
        "COPY",
        "SSUBSCRIBE",
        "SUNSUBSCRIBE",
    ];
    if ALL.iter().any(|n| is(n)) {
        // SMOVE src dst member, COPY src dst [DB ..] [REPLACE], LMOVE src dst LEFT RIGHT:
        // two keys; the rest of ALL takes every argument.
        if is("SMOVE") || is("LMOVE") || is("COPY") {
            return Shape::Range {
                first: 1,
                step: 1,
                skip_last: usize::MAX,
            };
        }
        return Shape::Range {
            first: 1,
            step: 1,
            skip_last: 0,
        };
    }
    if is("MSET") || is("MSETNX") {
        return Shape::Range {
            first: 1,
            step: 2,
            skip_last: 0,
        };
    }
    if is("BLPOP") || is("BRPOP") || is("BZPOPMIN") || is("BZPOPMAX") {
        return Shape::Range {
            first: 1,
            step: 1,
            skip_last: 1,
        };
    }
    if is("BLMOVE") || is("BRPOPLPUSH") {
        return Shape::Range {
            first: 1,
            step: 1,
            skip_last: usize::MAX,
        };
    }
    if [
        "EVAL",
        "EVALSHA",
        "EVAL_RO",
        "EVALSHA_RO",
        "FCALL",
        "FCALL_RO",
        "BLMPOP",
        "BZMPOP",
    ]
    .iter()
    .any(|n| is(n))
    {
        return Shape::Counted { count_at: 2 };
    }
    if [
        "ZUNION",
        "ZINTER",
        "ZDIFF",
        "SINTERCARD",
        "ZINTERCARD",
        "LMPOP",
        "ZMPOP",
    ]
    .iter()
    .any(|n| is(n))
    {
        return Shape::Counted { count_at: 1 };
    }
    if is("ZUNIONSTORE") || is("ZINTERSTORE") || is("ZDIFFSTORE") {
        return Shape::CountedWithDest { count_at: 2 };
    }
    if is("XREAD") || is("XREADGROUP") {
        return Shape::Streams;
    }
    if is("SPUBLISH") {
        return Shape::At(1);
    }
    if is("OBJECT") || is("XINFO") || (is("MEMORY") && sub.is_some_and(|s| eq(s, "USAGE"))) {
        return Shape::At(2);
    }
    if is("MEMORY") {
        return Shape::None;
    }
    // Everything else takes its key first (GET, SET, HSET, INCR, ...).
    Shape::At(1)
}

/// The common cases without collecting the parts: no key, or one key at
/// this position (`None` when the command takes several).
pub fn single_key(name: &[u8], sub: Option<&[u8]>) -> Option<Option<usize>> {
    match shape(name, sub) {
        Shape::None => Some(None),
        Shape::At(i) => Some(Some(i)),
        _ => None,
    }
}

fn parse_count(part: Option<&[u8]>) -> Option<usize> {
    std::str::from_utf8(part?).ok()?.parse().ok()
}

/// The key arguments of a command given as its parts (name first).
pub fn keys<'a>(parts: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let Some(name) = parts.first() else {
        return Vec::new();
    };
    let len = parts.len();
    match shape(name, parts.get(1).copied()) {
        Shape::None => Vec::new(),
        Shape::At(i) => parts.get(i).copied().into_iter().collect(),
        Shape::Range {
            first,
            step,
            skip_last,
        } => {
            let end = if skip_last == usize::MAX {
                // Exactly two keys.
                (first + 2).min(len)
            } else {
                len.saturating_sub(skip_last)
            };
            (first..end).step_by(step).map(|i| parts[i]).collect()
        }
        Shape::Counted { count_at } => {
            let n = parse_count(parts.get(count_at).copied()).unwrap_or(0);
            let start = count_at + 1;
            parts[start.min(len)..(start + n).min(len)].to_vec()
        }
        Shape::CountedWithDest { count_at } => {
            let n = parse_count(parts.get(count_at).copied()).unwrap_or(0);
            let start = count_at + 1;
            let Some(dest) = parts.get(1) else {
                return Vec::new();
            };
            let mut k = vec![*dest];
            k.extend_from_slice(&parts[start.min(len)..(start + n).min(len)]);
            k
        }
        Shape::Streams => {
            let Some(at) = parts.iter().position(|p| eq(p, "STREAMS")) else {
                return Vec::new();
            };
            let rest = &parts[at + 1..];
            rest[..rest.len() / 2].to_vec()
        }
    }
}

/// The route of a command given as its parts: its keys' common slot,
/// [`Route::Any`] without keys, or [`Route::CrossSlot`].
pub fn route(parts: &[&[u8]]) -> Route {
    route_keys(&keys(parts))
}

/// The route of a list of keys.
pub fn route_keys(keys: &[&[u8]]) -> Route {
    let mut slot = None;
    let mut cross = false;
    for k in keys {
        let s = key_slot(k);
        match slot {
            None => slot = Some(s),
            Some(first) if first != s => cross = true,
            _ => {}
        }
    }
    match slot {
        None => Route::Any,
        Some(s) if !cross => Route::Slot(s),
        Some(_) => Route::CrossSlot(
            keys.iter()
                .map(|k| (String::from_utf8_lossy(k).into_owned(), key_slot(k)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(parts: &[&str]) -> Vec<String> {
        let p: Vec<&[u8]> = parts.iter().map(|s| s.as_bytes()).collect();
        keys(&p)
            .into_iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn key_positions() {
        assert_eq!(k(&["GET", "a"]), ["a"]);
        assert_eq!(k(&["set", "a", "1", "EX", "5"]), ["a"]);
        assert_eq!(k(&["MGET", "a", "b", "c"]), ["a", "b", "c"]);
        assert_eq!(k(&["MSET", "a", "1", "b", "2"]), ["a", "b"]);
        assert_eq!(k(&["BLPOP", "a", "b", "0"]), ["a", "b"]);
        assert_eq!(k(&["EVAL", "return 1", "2", "a", "b", "x"]), ["a", "b"]);
        assert_eq!(k(&["EVAL", "return 1", "0", "x"]), Vec::<String>::new());
        assert_eq!(
            k(&["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]),
            ["d", "a", "b"]
        );
        assert_eq!(
            k(&["XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"]),
            ["s1", "s2"]
        );
        assert_eq!(k(&["SMOVE", "a", "b", "m"]), ["a", "b"]);
        assert_eq!(k(&["OBJECT", "ENCODING", "a"]), ["a"]);
        assert_eq!(k(&["PING"]), Vec::<String>::new());
        assert_eq!(k(&["PUBLISH", "ch", "m"]), Vec::<String>::new());
        assert_eq!(k(&["SPUBLISH", "ch", "m"]), ["ch"]);
    }

    #[test]
    fn routes() {
        let p = |s: &[&'static str]| s.iter().map(|x| x.as_bytes()).collect::<Vec<_>>();
        assert_eq!(route(&p(&["PING"])), Route::Any);
        assert_eq!(route(&p(&["GET", "foo"])), Route::Slot(12182));
        assert_eq!(
            route(&p(&["MSET", "{u}a", "1", "{u}b", "2"])),
            Route::Slot(key_slot(b"u"))
        );
        match route(&p(&["MSET", "foo", "1", "bar", "2"])) {
            Route::CrossSlot(keys) => {
                assert_eq!(
                    keys,
                    [("foo".to_string(), 12182), ("bar".to_string(), 5061)]
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
