//! Why a borrow ended: PHP's `connection_status()` bits, for the release path.

use std::fmt;

/// A bit set like PHP's `connection_status()`: `NORMAL` is no bit, `ABORTED`
/// means the borrow ended mid-exchange, `TIMEOUT` means a deadline passed.
/// Both bits can be set. Any bit set means the connection is closed on release.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Status(u8);

impl Status {
    /// The borrow ended cleanly.
    pub const NORMAL: Status = Status(0);
    /// The borrow ended in the middle of an exchange (early return, panic, dropped reader).
    pub const ABORTED: Status = Status(1);
    /// A deadline passed during the borrow.
    pub const TIMEOUT: Status = Status(2);

    /// The raw bits, as PHP reports them.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// True when no bit is set.
    pub fn is_normal(self) -> bool {
        self.0 == 0
    }

    /// True when every bit of `other` is set in `self`.
    pub fn contains(self, other: Status) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: Status) {
        self.0 |= other.0;
    }
}

impl std::ops::BitOr for Status {
    type Output = Status;
    fn bitor(self, rhs: Status) -> Status {
        Status(self.0 | rhs.0)
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (
            self.contains(Status::ABORTED),
            self.contains(Status::TIMEOUT),
        ) {
            (false, false) => f.write_str("NORMAL"),
            (true, false) => f.write_str("ABORTED"),
            (false, true) => f.write_str("TIMEOUT"),
            (true, true) => f.write_str("ABORTED|TIMEOUT"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_match_php() {
        assert_eq!(Status::NORMAL.bits(), 0);
        assert_eq!(Status::ABORTED.bits(), 1);
        assert_eq!(Status::TIMEOUT.bits(), 2);
        let both = Status::ABORTED | Status::TIMEOUT;
        assert_eq!(both.bits(), 3);
        assert!(both.contains(Status::ABORTED) && both.contains(Status::TIMEOUT));
        assert!(!both.is_normal());
        assert_eq!(format!("{both:?}"), "ABORTED|TIMEOUT");
    }
}
