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

/// Appends an integer argument, formatted on the stack.
fn write_int(out: &mut BytesMut, negative: bool, magnitude: u128) {
    // '-' + 39 digits of u128::MAX
    let mut text = [0u8; 40];
    let mut i = text.len();
    if let Ok(mut n) = u64::try_from(magnitude) {
        // The common case, without 128-bit division.
        loop {
            i -= 1;
            text[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
    } else {
        let mut n = magnitude;
        while n > 0 {
            i -= 1;
            text[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    if negative {
        i -= 1;
        text[i] = b'-';
    }
    write_bulk(out, &text[i..])
}

macro_rules! signed_args {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn write_arg(&self, out: &mut BytesMut) {
                write_int(out, *self < 0, u128::from(self.unsigned_abs()))
            }
        }
    )*};
}
signed_args!(i8, i16, i32, i64, i128);

impl ToArg for isize {
    fn write_arg(&self, out: &mut BytesMut) {
        (*self as i64).write_arg(out)
    }
}

macro_rules! unsigned_args {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn write_arg(&self, out: &mut BytesMut) {
                write_int(out, false, u128::from(*self))
            }
        }
    )*};
}
unsigned_args!(u16, u32, u64, u128);

impl ToArg for usize {
    fn write_arg(&self, out: &mut BytesMut) {
        (*self as u64).write_arg(out)
    }
}

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
    /// `HEAD` bytes of room for the array header `*<count>\r\n`, written
    /// right-aligned so that header and arguments are one contiguous wire
    /// form (one copy into the write buffer), then the arguments as RESP
    /// bulk strings. Empty until the first argument.
    args: BytesMut,
    /// Where the header starts inside the first `HEAD` bytes.
    head: usize,
    /// Number of parts, name included.
    count: usize,
    /// Where the name's payload lies in `args` (empty until pushed), so
    /// the checks every command goes through need not parse.
    name: (usize, usize),
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

/// Walks the bulk strings `$<len>\r\n<payload>\r\n` of an encoded command,
/// yielding each payload. Stops at anything that is not such a bulk string
/// (a foreign [`ToArg`] that wrote something else).
struct Parts<'a> {
    rest: &'a [u8],
}

/// The bulk string at the start of `rest`: where its payload starts and
/// ends, and where the next one starts.
fn bulk_at(rest: &[u8]) -> Option<(usize, usize, usize)> {
    if rest.first() != Some(&b'$') {
        return None;
    }
    let mut len = 0usize;
    let mut i = 1;
    while let Some(d @ b'0'..=b'9') = rest.get(i) {
        len = len.checked_mul(10)?.checked_add(usize::from(d - b'0'))?;
        i += 1;
    }
    if rest.get(i..i + 2) != Some(b"\r\n") {
        return None;
    }
    let start = i + 2;
    let end = start.checked_add(len)?;
    if end > rest.len() {
        return None;
    }
    Some((start, end, end + 2))
}

impl<'a> Iterator for Parts<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (start, end, next) = bulk_at(self.rest)?;
        let payload = &self.rest[start..end];
        self.rest = self.rest.get(next..).unwrap_or_default();
        Some(payload)
    }
}

impl Cmd {
    /// An empty command (add the name with [`arg`](Cmd::arg)).
    pub fn new() -> Cmd {
        // Room for a typical command, so building one is one allocation.
        let mut args = BytesMut::with_capacity(128);
        args.extend_from_slice(&[0; HEAD]);
        Cmd {
            args,
            head: HEAD,
            count: 0,
            name: (0, 0),
        }
    }

    /// Empties the command, keeping its allocation.
    pub fn clear(&mut self) {
        self.args.truncate(HEAD);
        self.head = HEAD;
        self.count = 0;
        self.name = (0, 0);
    }

    /// Bytes allocated for the encoded command.
    pub(crate) fn capacity(&self) -> usize {
        self.args.capacity()
    }

    /// Adds an argument.
    pub fn arg<A: ToArg>(mut self, arg: A) -> Cmd {
        self.push(arg);
        self
    }

    /// Adds an argument in place.
    pub fn push<A: ToArg>(&mut self, arg: A) -> &mut Cmd {
        if self.args.is_empty() {
            // A `Cmd::default()`: make room for the header first.
            self.args.extend_from_slice(&[0; HEAD]);
        }
        arg.write_arg(&mut self.args);
        if self.count == 0 {
            if let Some((start, end, _)) = bulk_at(&self.args[HEAD..]) {
                self.name = (HEAD + start, HEAD + end);
            }
        }
        self.count += 1;
        // Rewrite the header for the new count, right-aligned before the
        // arguments.
        let mut n = self.count;
        let mut i = HEAD - 2;
        self.args[i..HEAD].copy_from_slice(b"\r\n");
        loop {
            i -= 1;
            self.args[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        i -= 1;
        self.args[i] = b'*';
        self.head = i;
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
        self.count
    }

    /// True when not even a name was given.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn parts(&self) -> Parts<'_> {
        Parts {
            rest: self.args.get(HEAD..).unwrap_or_default(),
        }
    }

    /// The `i`-th part (0 is the name).
    pub fn part(&self, i: usize) -> Option<&[u8]> {
        if i >= self.count {
            return None;
        }
        if i == 0 {
            return Some(&self.args[self.name.0..self.name.1]);
        }
        self.parts().nth(i)
    }

    /// The command name, upper-cased for display.
    pub fn name(&self) -> String {
        self.part(0)
            .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
            .unwrap_or_default()
    }

    /// The whole command as sent: the RESP array header and the arguments.
    pub(crate) fn wire(&self) -> &[u8] {
        if self.count == 0 {
            return b"*0\r\n";
        }
        &self.args[self.head..]
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
        match self.part(0) {
            // Most commands: decided by the name's length alone.
            Some(name) if Effect::may_change_state(name) => {}
            _ => return Effect::None,
        }
        let mut parts: [&[u8]; 3] = [b""; 3];
        let mut n = 0;
        for (slot, p) in parts.iter_mut().zip(self.parts().take(self.count)) {
            *slot = p;
            n += 1;
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
