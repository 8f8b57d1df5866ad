//! Delivery status notifications (RFC 3461): what the sender asks for on
//! `MAIL FROM` (`RET`, `ENVID`) and per recipient on `RCPT TO` (`NOTIFY`,
//! `ORCPT`), checked and encoded here; sent only to a server that
//! advertises `DSN`.

use bytes::{BufMut, BytesMut};

use super::address::{Address, InvalidAddress};

/// How much of the message a failure report returns (`RET=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// The whole message (`RET=FULL`).
    Full,
    /// The headers only (`RET=HDRS`).
    Headers,
}

/// When the recipient's server should report (`NOTIFY=`): never, or any
/// of success, failure and delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Notify {
    /// `SUCCESS`.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER` (all three false).
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };
    /// `NOTIFY=SUCCESS,FAILURE,DELAY`.
    pub const ALL: Notify = Notify {
        success: true,
        failure: true,
        delay: true,
    };
    /// `NOTIFY=FAILURE,DELAY`, what servers assume when none is given.
    pub const FAILURE_DELAY: Notify = Notify {
        success: false,
        failure: true,
        delay: true,
    };

    fn encode(self, out: &mut BytesMut) {
        if self == Notify::NEVER {
            out.put_slice(b"NEVER");
            return;
        }
        let mut first = true;
        for (on, word) in [
            (self.success, &b"SUCCESS"[..]),
            (self.failure, b"FAILURE"),
            (self.delay, b"DELAY"),
        ] {
            if on {
                if !first {
                    out.put_u8(b',');
                }
                out.put_slice(word);
                first = false;
            }
        }
    }
}

/// The longest ENVID RFC 3461 allows (section 4.4), before xtext encoding.
pub const MAX_ENVID: usize = 100;

/// What a message asks of DSN: `RET` and `ENVID` for the envelope, and
/// `NOTIFY` and `ORCPT` for each recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dsn {
    ret: Option<Ret>,
    envid: Option<String>,
    notify: Option<Notify>,
    orcpt: bool,
    recipients: Vec<(Address, Notify)>,
}

impl Dsn {
    /// A request with nothing set yet (still sent as DSN parameters only
    /// once something is set).
    pub fn new() -> Dsn {
        Dsn::default()
    }

    /// `RET=FULL` or `RET=HDRS`.
    pub fn ret(mut self, ret: Ret) -> Dsn {
        self.ret = Some(ret);
        self
    }

    /// `ENVID=`: printable ASCII, at most [`MAX_ENVID`] characters; sent
    /// xtext-encoded.
    pub fn envid(mut self, id: &str) -> Result<Dsn, InvalidAddress> {
        if id.is_empty() || id.len() > MAX_ENVID || !id.bytes().all(|b| (32..127).contains(&b)) {
            return Err(InvalidAddress(format!(
                "DSN ENVID must be 1..={MAX_ENVID} printable ASCII characters: {id:?}"
            )));
        }
        self.envid = Some(id.to_string());
        Ok(self)
    }

    /// `NOTIFY=` for every recipient without one of its own.
    pub fn notify(mut self, notify: Notify) -> Dsn {
        self.notify = Some(notify);
        self
    }

    /// `NOTIFY=` for one recipient.
    pub fn notify_for(mut self, recipient: &Address, notify: Notify) -> Dsn {
        self.recipients.retain(|(a, _)| a != recipient);
        self.recipients.push((recipient.clone(), notify));
        self
    }

    /// Sends `ORCPT=rfc822;ADDRESS` with every recipient, so a report names
    /// the address as the sender wrote it even after forwarding.
    pub fn orcpt(mut self, on: bool) -> Dsn {
        self.orcpt = on;
        self
    }

    /// Appends the `MAIL FROM` parameters (each with its leading space).
    pub fn encode_mail(&self, out: &mut BytesMut) {
        match self.ret {
            Some(Ret::Full) => out.put_slice(b" RET=FULL"),
            Some(Ret::Headers) => out.put_slice(b" RET=HDRS"),
            None => {}
        }
        if let Some(id) = &self.envid {
            out.put_slice(b" ENVID=");
            xtext(id.as_bytes(), out);
        }
    }

    /// Appends the `RCPT TO` parameters for `rcpt`.
    pub fn encode_rcpt(&self, rcpt: &Address, out: &mut BytesMut) {
        let notify = self
            .recipients
            .iter()
            .find(|(a, _)| a == rcpt)
            .map(|(_, n)| *n)
            .or(self.notify);
        if let Some(n) = notify {
            out.put_slice(b" NOTIFY=");
            n.encode(out);
        }
        if self.orcpt {
            // RFC 6533: a non-ASCII address goes as utf-8 type, whose
            // xtext is the same byte escaping.
            out.put_slice(if rcpt.needs_smtputf8() {
                b" ORCPT=utf-8;"
            } else {
                b" ORCPT=rfc822;"
            });
            xtext(rcpt.as_str().as_bytes(), out);
        }
    }
}

/// RFC 3461 section 4: `+` and `=`, controls, space and non-ASCII become `+XX`.
pub fn xtext(value: &[u8], out: &mut BytesMut) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.put_u8(b);
        } else {
            out.put_slice(&[b'+', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(d: &Dsn) -> String {
        let mut out = BytesMut::new();
        d.encode_mail(&mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    fn rcpt(d: &Dsn, a: &Address) -> String {
        let mut out = BytesMut::new();
        d.encode_rcpt(a, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn parameters_on_the_wire() {
        let a = Address::new("a@example.com").unwrap();
        let b = Address::new("b+tag@example.com").unwrap();
        let d = Dsn::new()
            .ret(Ret::Headers)
            .envid("id 1+2=3")
            .unwrap()
            .notify(Notify::ALL)
            .notify_for(&b, Notify::NEVER)
            .orcpt(true);
        assert_eq!(mail(&d), " RET=HDRS ENVID=id+201+2B2+3D3");
        assert_eq!(
            rcpt(&d, &a),
            " NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;a@example.com"
        );
        assert_eq!(
            rcpt(&d, &b),
            " NOTIFY=NEVER ORCPT=rfc822;b+2Btag@example.com"
        );
        let fd = Dsn::new().notify(Notify::FAILURE_DELAY);
        assert_eq!(rcpt(&fd, &a), " NOTIFY=FAILURE,DELAY");
        assert_eq!(mail(&fd), "");
        let u = Address::new("jöran@example.com").unwrap();
        assert_eq!(
            rcpt(&Dsn::new().orcpt(true), &u),
            " ORCPT=utf-8;j+C3+B6ran@example.com"
        );
    }

    #[test]
    fn bad_envid_is_refused() {
        for bad in ["", "a\r\nRCPT TO:<x@y>", "tab\there", &"x".repeat(101), "é"] {
            assert!(Dsn::new().envid(bad).is_err(), "{bad:?}");
        }
    }
}
