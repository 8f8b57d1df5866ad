//! Commands: binary-safe arguments, encoded as they are added.

use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::proto::{write_bulk, Effect};

/// Anything that can be a command argument: bytes, text, numbers.
pub trait ToArg {
    /// Hands the argument's bytes, as the server is to see them, to `out`
    /// (exactly once). The command encodes them as a RESP bulk string.
    fn with_bytes(&self, out: &mut dyn FnMut(&[u8]));
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn with_bytes(&self, out: &mut dyn FnMut(&[u8])) {
        (**self).with_bytes(out)
    }
}

macro_rules! byte_args {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn with_bytes(&self, out: &mut dyn FnMut(&[u8])) {
                out(AsRef::<[u8]>::as_ref(self))
            }
        }
    )*};
}
byte_args!([u8], Vec<u8>, str, String);

impl<const N: usize> ToArg for [u8; N] {
    fn with_bytes(&self, out: &mut dyn FnMut(&[u8])) {
        out(self)
    }
}

macro_rules! int_args {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn with_bytes(&self, out: &mut dyn FnMut(&[u8])) {
                out(itoa::Buffer::new().format(*self).as_bytes())
            }
        }
    )*};
}
int_args!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

impl ToArg for f64 {
    fn with_bytes(&self, out: &mut dyn FnMut(&[u8])) {
        // Redis parses inf/-inf; Rust prints them as "inf".
        out(self.to_string().as_bytes())
    }
}

/// A command: its name and arguments, already RESP-encoded.
///
/// ```
/// let cmd = pconn_redis::cmd("SET").arg("key").arg(b"\x00binary").arg(42);
/// assert_eq!(cmd.len(), 4);
/// assert_eq!(cmd.name(), "SET");
/// ```
#[derive(Clone, Default)]
pub struct Cmd {
    /// `HEAD` bytes of room for the array header `*<count>\r\n`, written
    /// right-aligned so that header and arguments are one contiguous wire
    /// form (one copy into the write buffer), then the arguments as RESP
    /// bulk strings. Empty until the first argument.
    wire: Vec<u8>,
    /// Where the header starts inside the first `HEAD` bytes.
    head: usize,
    /// Where each part's payload lies in `wire`, name first; inline for
    /// up to 4 parts (callgrind: one allocation and free fewer per command).
    parts: SmallVec<[(usize, usize); 4]>,
}

/// Room for `*` + 20 digits + `\r\n`.
const HEAD: usize = 23;

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
        Cmd::default()
    }

    /// Empties the command, keeping its allocation.
    pub fn clear(&mut self) {
        self.wire.clear();
        self.head = 0;
        self.parts.clear();
    }

    /// Adds an argument.
    pub fn arg<A: ToArg>(mut self, arg: A) -> Cmd {
        self.push(arg);
        self
    }

    /// Adds an argument in place.
    pub fn push<A: ToArg>(&mut self, arg: A) -> &mut Cmd {
        if self.wire.is_empty() {
            // Room for a typical command, so building one is one allocation
            // (made directly when there is none yet, not through `reserve`'s
            // growth path).
            if self.wire.capacity() == 0 {
                self.wire = Vec::with_capacity(128);
            }
            self.wire.extend_from_slice(&[0; HEAD]);
        }
        let Cmd { wire, parts, .. } = self;
        arg.with_bytes(&mut |bytes: &[u8]| {
            write_bulk(wire, bytes);
            let end = wire.len() - 2;
            parts.push((end - bytes.len(), end));
        });
        // The header for the new count, right-aligned before the arguments.
        let mut digits = itoa::Buffer::new();
        let count = digits.format(self.parts.len()).as_bytes();
        self.head = HEAD - 3 - count.len();
        self.wire[self.head] = b'*';
        self.wire[self.head + 1..HEAD - 2].copy_from_slice(count);
        self.wire[HEAD - 2..HEAD].copy_from_slice(b"\r\n");
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
        self.parts.len()
    }

    /// True when not even a name was given.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The `i`-th part (0 is the name).
    pub fn part(&self, i: usize) -> Option<&[u8]> {
        let &(start, end) = self.parts.get(i)?;
        Some(&self.wire[start..end])
    }

    /// The command name, upper-cased for display.
    pub fn name(&self) -> String {
        self.part(0)
            .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
            .unwrap_or_default()
    }

    /// The whole command as sent: the RESP array header and the arguments.
    pub(crate) fn wire(&self) -> &[u8] {
        if self.parts.is_empty() {
            return b"*0\r\n";
        }
        &self.wire[self.head..]
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
        let part = |i| self.part(i).unwrap_or_default();
        if !Effect::may_change_state(part(0)) {
            // Most commands: no need to gather the sub-command.
            return Effect::None;
        }
        Effect::of(&[part(0), part(1), part(2)][..self.len().min(3)])
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
    fn integers_format_like_display() {
        let c = cmd("X")
            .arg(0u16)
            .arg(i64::MIN)
            .arg(u64::MAX)
            .arg(i128::MIN)
            .arg(u128::MAX)
            .arg(-7i8)
            .arg(42usize)
            .arg(-3isize);
        let want = [
            "0".to_string(),
            i64::MIN.to_string(),
            u64::MAX.to_string(),
            i128::MIN.to_string(),
            u128::MAX.to_string(),
            "-7".into(),
            "42".into(),
            "-3".into(),
        ];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(c.part(i + 1), Some(w.as_bytes()));
        }
    }

    #[test]
    fn wire_form_is_one_contiguous_array() {
        let c = cmd("SET").arg("k").arg(b"v\r\n");
        assert_eq!(c.wire(), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n");
        let mut d = Cmd::default();
        assert_eq!(d.wire(), b"*0\r\n");
        for i in 0..12 {
            d.push(i);
        }
        assert!(d.wire().starts_with(b"*12\r\n$1\r\n0\r\n"));
        assert_eq!(d.part(11), Some(&b"11"[..]));
        assert_eq!(d.part(12), None);
        d.clear();
        assert!(d.is_empty());
        d.push("PING");
        assert_eq!(d.wire(), b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(d.effect(), Effect::None);
        assert_eq!(cmd("multi").effect(), Effect::Multi);
        assert_eq!(
            cmd("CLIENT").arg("TRACKING").arg("on").effect(),
            Effect::Tracking(true)
        );
    }

    #[test]
    fn empty_commands_are_refused() {
        assert!(matches!(Cmd::new().check(), Err(Error::InvalidInput(_))));
        assert!(matches!(cmd("").check(), Err(Error::InvalidInput(_))));
        assert!(!format!("{:?}", cmd("AUTH").arg("secret")).contains("secret"));
    }
}
