//! Mailbox addresses and the EHLO name, checked before they can reach a
//! command line: the SMTP command injection defence.

use std::fmt;

/// Why a caller's address or name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidAddress(pub String);

/// RFC 5321 4.5.3.1: 64 bytes of local part, 255 of domain, 256 of path
/// including the angle brackets.
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;
const MAX_PATH: usize = 254;

/// Characters that would let an address break out of `<...>` or out of
/// the command line: CR, LF, NUL and other controls, brackets, spaces.
fn forbidden(c: char) -> bool {
    c.is_control() || c.is_whitespace() || matches!(c, '<' | '>')
}

fn check_domain(domain: &str, what: &str) -> Result<(), InvalidAddress> {
    if domain.is_empty() {
        return Err(InvalidAddress(format!("{what}: empty domain")));
    }
    if domain.len() > MAX_DOMAIN {
        return Err(InvalidAddress(format!(
            "{what}: domain longer than {MAX_DOMAIN} bytes"
        )));
    }
    if let Some(literal) = domain.strip_prefix('[') {
        // An address literal: [192.0.2.1] or [IPv6:...].
        let inner = literal
            .strip_suffix(']')
            .ok_or_else(|| InvalidAddress(format!("{what}: unclosed address literal")))?;
        let ip = inner.strip_prefix("IPv6:").unwrap_or(inner);
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(InvalidAddress(format!(
                "{what}: invalid address literal {domain:?}"
            )));
        }
        return Ok(());
    }
    for label in domain.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            // Non-ASCII labels are internationalised domains (SMTPUTF8).
            && label.chars().all(|c| c.is_alphanumeric() || c == '-' || !c.is_ascii() && !forbidden(c));
        if !ok {
            return Err(InvalidAddress(format!("{what}: invalid domain {domain:?}")));
        }
    }
    Ok(())
}

/// A mailbox `local@domain` that is safe to put in `MAIL FROM:<...>` or
/// `RCPT TO:<...>` and in a header.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(String);

impl Address {
    /// Checks `addr` (a bare mailbox, no display name, no angle brackets).
    pub fn new(addr: &str) -> Result<Address, InvalidAddress> {
        if let Some(bad) = addr.chars().find(|&c| forbidden(c)) {
            return Err(InvalidAddress(format!(
                "address {addr:?} contains the forbidden character {bad:?}"
            )));
        }
        if addr.len() > MAX_PATH {
            return Err(InvalidAddress(format!(
                "address longer than {MAX_PATH} bytes"
            )));
        }
        let (local, domain) = addr
            .rsplit_once('@')
            .ok_or_else(|| InvalidAddress(format!("address {addr:?} has no @domain")))?;
        if local.is_empty() || local.len() > MAX_LOCAL {
            return Err(InvalidAddress(format!(
                "address {addr:?}: local part must be 1 to {MAX_LOCAL} bytes"
            )));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(InvalidAddress(format!(
                "address {addr:?}: misplaced dot in the local part"
            )));
        }
        // Quoted local parts and their escapes are legal but needed by no one
        // we serve; refusing them keeps the checks above complete.
        if local.contains(['"', '\\', '(', ')', ',', ':', ';', '@', '[', ']']) {
            return Err(InvalidAddress(format!(
                "address {addr:?}: special characters in the local part are not supported"
            )));
        }
        check_domain(domain, &format!("address {addr:?}"))?;
        Ok(Address(addr.to_string()))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// True when the address is not ASCII: it needs the server's SMTPUTF8.
    pub fn needs_smtputf8(&self) -> bool {
        !self.0.is_ascii()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

impl std::str::FromStr for Address {
    type Err = InvalidAddress;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::new(s)
    }
}

/// The client's name in `EHLO`/`HELO`: a host name or an address literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EhloName(String);

impl EhloName {
    /// Checks `name`; ASCII only, as EHLO is sent before SMTPUTF8 is known.
    pub fn new(name: &str) -> Result<EhloName, InvalidAddress> {
        if let Some(bad) = name.chars().find(|&c| forbidden(c) || !c.is_ascii()) {
            return Err(InvalidAddress(format!(
                "EHLO name {name:?} contains the forbidden character {bad:?}"
            )));
        }
        check_domain(name, "EHLO name")?;
        Ok(EhloName(name.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for EhloName {
    /// `[127.0.0.1]`: says nothing about the host, and every server accepts it.
    fn default() -> Self {
        EhloName("[127.0.0.1]".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_addresses() {
        for good in [
            "a@b.c",
            "first.last+tag@example.com",
            "x@[127.0.0.1]",
            "x@[IPv6:::1]",
            "jürgen@münchen.de",
            "a@localhost",
        ] {
            assert!(Address::new(good).is_ok(), "{good} refused");
        }
        assert!(Address::new("jürgen@x.de").unwrap().needs_smtputf8());
        assert!(!Address::new("a@b.c").unwrap().needs_smtputf8());
        assert_eq!(Address::new("a@b.c").unwrap().domain(), "b.c");
    }

    #[test]
    fn injection_and_bad_forms_refused() {
        for bad in [
            "a@b.c>\r\nRCPT TO:<evil@x.y",
            "a@b.c\nDATA",
            "a@b.c\r",
            "a\0@b.c",
            "<a@b.c>",
            "a@b.c>",
            "a b@c.d",
            "ab.c",
            "@b.c",
            "a@",
            "a@b..c",
            "a@-b.c",
            "a@[1.2.3]",
            ".a@b.c",
            "a..b@c.d",
            "\"q\"@b.c",
            "a@b@c.d",
        ] {
            assert!(Address::new(bad).is_err(), "{bad:?} accepted");
        }
        let long_local = format!("{}@b.c", "x".repeat(65));
        assert!(Address::new(&long_local).is_err());
        let long = format!("a@{}.c", "x.".repeat(130));
        assert!(Address::new(&long).is_err());
    }

    #[test]
    fn ehlo_names() {
        assert!(EhloName::new("client.example").is_ok());
        assert!(EhloName::new("[10.0.0.1]").is_ok());
        assert_eq!(EhloName::default().as_str(), "[127.0.0.1]");
        for bad in ["a\r\nMAIL FROM:<x@y.z>", "a b", "", "a<b", "ä.de", "a\0"] {
            assert!(EhloName::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
