//! Commands: binary-safe arguments, encoded as they are added.

use bytes::BytesMut;

use crate::error::{Error, Result};
use crate::proto::{write_bulk, Effect};

/// Anything that can be a command argument.
pub trait ToArg {
    /// Appends the argument's bytes as one RESP bulk string.
    fn write_arg(&self, out: &mut BytesMut);
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn write_arg(&self, out: &mut BytesMut) {
        (**self).write_arg(out)
    }
}

impl ToArg for [u8] {
    fn write_arg(&self, out: &mut BytesMut) {
        write_bulk(out, self)
    }
}

impl<const N: usize> ToArg for [u8; N] {
    fn write_arg(&self, out: &mut BytesMut) {
        write_bulk(out, self)
    }
}

impl ToArg for Vec<u8> {
    fn write_arg(&self, out: &mut BytesMut) {
        write_bulk(out, self)
    }
}

impl ToArg for str {
    fn write_arg(&self, out: &mut BytesMut) {
        write_bulk(out, self.as_bytes())
    }
}

impl ToArg for String {
    fn write_arg(&self, out: &mut BytesMut) {
        write_bulk(out, self.as_bytes())
    }
}

macro_rules! int_args {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn write_arg(&self, out: &mut BytesMut) {
                write_bulk(out, self.to_string().as_bytes())
            }
        }
    )*};
}
int_args!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

impl ToArg for f64 {
    fn write_arg(&self, out: &mut BytesMut) {
        // Redis parses inf/-inf; Rust prints them as "inf".
        write_bulk(out, self.to_string().as_bytes())
    }
}

/// A command: its name and arguments, already RESP-encoded.
///
/// ```
/// let cmd = redis_client::cmd("SET").arg("key").arg(b"\x00binary").arg(42);
/// assert_eq!(cmd.len(), 4);
/// assert_eq!(cmd.name(), "SET");
/// ```
#[derive(Clone, Default)]
pub struct Cmd {
    args: BytesMut,
    /// (start, end) of each argument's payload inside `args`.
    spans: Vec<(usize, usize)>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the name: arguments may be secrets (AUTH) or large values.
        write!(
            f,
            "Cmd({} +{} args)",
            self.name(),
            self.len().saturating_sub(1)
        )
    }
}

/// Starts a command with its name.
pub fn cmd(name: &str) -> Cmd {
    Cmd::new().arg(name)
}

impl Cmd {
    /// An empty command (add the name with [`arg`](Cmd::arg)).
    pub fn new() -> Cmd {
        // Room for a typical command, so building one is two allocations.
        Cmd {
            args: BytesMut::with_capacity(96),
            spans: Vec::with_capacity(4),
        }
    }

    /// Adds an argument.
    pub fn arg<A: ToArg>(mut self, arg: A) -> Cmd {
        self.push(arg);
        self
    }

    /// Adds an argument in place.
    pub fn push<A: ToArg>(&mut self, arg: A) -> &mut Cmd {
        let before = self.args.len();
        arg.write_arg(&mut self.args);
        // The payload starts after "$<len>\r\n" and ends before "\r\n".
        let header = self.args[before..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        self.spans.push((before + header, self.args.len() - 2));
        self
    }

    /// Adds every item of `args`.
    pub fn args<I, A>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = A>,
        A: ToArg,
    {
        for a in args {
            self.push(a);
        }
        self
    }

    /// Number of parts, name included.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when not even a name was given.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The `i`-th part (0 is the name).
    pub fn part(&self, i: usize) -> Option<&[u8]> {
        self.spans.get(i).map(|(s, e)| &self.args[*s..*e])
    }

    /// The command name, upper-cased for display.
    pub fn name(&self) -> String {
        self.part(0)
            .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
            .unwrap_or_default()
    }

    pub(crate) fn encoded(&self) -> &[u8] {
        &self.args
    }

    /// Refuses what must never reach the server: no command, an empty name.
    pub(crate) fn check(&self) -> Result<()> {
        match self.part(0) {
            None => Err(Error::InvalidInput("empty command".into())),
            Some([]) => Err(Error::InvalidInput("empty command name".into())),
            Some(_) => Ok(()),
        }
    }

    pub(crate) fn effect(&self) -> Effect {
        // On the stack: this runs for every command of every pipeline.
        let mut parts: [&[u8]; 3] = [b""; 3];
        let n = self.len().min(3);
        for (i, slot) in parts.iter_mut().enumerate().take(n) {
            *slot = self.part(i).unwrap_or_default();
        }
        Effect::of(&parts[..n])
    }

    /// True for commands that only read, which may be re-sent once on a new
    /// connection when a reused one turned out dead before any reply byte.
    pub fn is_read_only(&self) -> bool {
        let Some(name) = self.part(0) else {
            return false;
        };
        const READS: &[&str] = &[
            "GET",
            "MGET",
            "STRLEN",
            "GETRANGE",
            "EXISTS",
            "TTL",
            "PTTL",
            "TYPE",
            "HGET",
            "HMGET",
            "HGETALL",
            "HKEYS",
            "HVALS",
            "HLEN",
            "HEXISTS",
            "HSTRLEN",
            "LRANGE",
            "LLEN",
            "LINDEX",
            "SMEMBERS",
            "SISMEMBER",
            "SMISMEMBER",
            "SCARD",
            "SRANDMEMBER",
            "ZRANGE",
            "ZSCORE",
            "ZCARD",
            "ZRANK",
            "ZREVRANK",
            "ZCOUNT",
            "ZMSCORE",
            "ZRANGEBYSCORE",
            "SCAN",
            "SSCAN",
            "HSCAN",
            "ZSCAN",
            "PING",
            "ECHO",
            "DBSIZE",
            "INFO",
            "TIME",
            "KEYS",
            "GETBIT",
            "BITCOUNT",
            "PFCOUNT",
            "XRANGE",
            "XLEN",
            "EXPIRETIME",
            "PEXPIRETIME",
            "DUMP",
            "LPOS",
            "ZRANDMEMBER",
            "HRANDFIELD",
            "SINTER",
            "SUNION",
            "SDIFF",
            "ZREVRANGE",
            "GEOPOS",
            "GEODIST",
            "EVALSHA_RO",
            "EVAL_RO",
        ];
        READS
            .iter()
            .any(|r| name.eq_ignore_ascii_case(r.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_binary_safe() {
        let c = cmd("set").arg("k\r\n").arg(b"").arg(-5i64).arg(1.5f64);
        assert_eq!(c.len(), 5);
        assert_eq!(c.part(1), Some(&b"k\r\n"[..]));
        assert_eq!(c.part(2), Some(&b""[..]));
        assert_eq!(c.part(3), Some(&b"-5"[..]));
        assert_eq!(c.part(4), Some(&b"1.5"[..]));
        assert_eq!(c.name(), "SET");
        assert!(!c.is_read_only());
        assert!(cmd("get").arg("x").is_read_only());
    }

    #[test]
    fn empty_commands_are_refused() {
        assert!(matches!(Cmd::new().check(), Err(Error::InvalidInput(_))));
        assert!(matches!(cmd("").check(), Err(Error::InvalidInput(_))));
        assert!(!format!("{:?}", cmd("AUTH").arg("secret")).contains("secret"));
    }
}
