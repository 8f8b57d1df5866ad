//! Messages: the envelope and the bytes of an RFC 5322 message, built with
//! `mail-builder` from checked parts.

use std::borrow::Cow;

use mail_builder::headers::address::Address as MbAddress;
use mail_builder::headers::text::Text;

use crate::error::{Error, Result};
use crate::proto::address::Address;
use crate::proto::data;

/// Who the mail is from and to, as the SMTP server sees it (`MAIL FROM`,
/// `RCPT TO`), independent of the message's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    from: Option<Address>,
    to: Vec<Address>,
}

impl Envelope {
    /// An envelope; `from: None` is the null reverse path `<>` (bounces).
    /// At least one recipient is required.
    pub fn new(from: Option<Address>, to: Vec<Address>) -> Result<Envelope> {
        if to.is_empty() {
            return Err(Error::InvalidInput("the envelope has no recipient".into()));
        }
        Ok(Envelope { from, to })
    }

    /// The reverse path.
    pub fn from(&self) -> Option<&Address> {
        self.from.as_ref()
    }

    /// The recipients.
    pub fn to(&self) -> &[Address] {
        &self.to
    }

    /// True when an address is not ASCII (the server must offer SMTPUTF8).
    pub fn needs_smtputf8(&self) -> bool {
        self.from
            .iter()
            .chain(&self.to)
            .any(Address::needs_smtputf8)
    }
}

/// A message ready to send: envelope plus content bytes.
#[derive(Debug, Clone)]
pub struct Message {
    envelope: Envelope,
    content: Vec<u8>,
}

impl Message {
    /// A builder for a text (and/or HTML) message.
    pub fn builder() -> MessageBuilder {
        MessageBuilder::default()
    }

    /// A message from already formatted content (headers, blank line, body).
    /// Line ends may be CRLF, LF or CR: they are normalised when sent.
    pub fn raw(envelope: Envelope, content: impl Into<Vec<u8>>) -> Message {
        Message {
            envelope,
            content: content.into(),
        }
    }

    /// Replaces the envelope (e.g. to send a built message elsewhere).
    pub fn with_envelope(mut self, envelope: Envelope) -> Message {
        self.envelope = envelope;
        self
    }

    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The content as given (before line-end normalisation and dot-stuffing).
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// The size on the wire, what `SIZE=` declares.
    pub fn wire_size(&self) -> u64 {
        data::encoded_len(&self.content)
    }

    /// True when the content has 8-bit bytes (needs 8BITMIME).
    pub fn needs_8bit(&self) -> bool {
        data::needs_8bit(&self.content)
    }
}

/// Builds a [`Message`]; every part is checked and the first problem is
/// reported by [`build`](MessageBuilder::build), before anything is sent.
#[derive(Debug, Default)]
pub struct MessageBuilder {
    from: Option<(Option<String>, Address)>,
    to: Vec<(Option<String>, Address)>,
    cc: Vec<(Option<String>, Address)>,
    bcc: Vec<Address>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    headers: Vec<(String, String)>,
    error: Option<Error>,
}

/// Header text (subject, display names, header values) must stay on its
/// line: a CR or LF would start a header of the caller's choosing.
fn check_header_text(what: &str, text: &str) -> Result<()> {
    if let Some(bad) = text.chars().find(|&c| c.is_control() && c != '\t') {
        return Err(Error::InvalidInput(format!(
            "{what} contains the control character {bad:?} (header injection)"
        )));
    }
    Ok(())
}

impl MessageBuilder {
    fn keep_first_error(&mut self, result: Result<()>) {
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }

    fn mailbox(&mut self, name: Option<&str>, addr: &str) -> Option<(Option<String>, Address)> {
        let checked = (|| {
            if let Some(name) = name {
                check_header_text("display name", name)?;
            }
            Ok((name.map(str::to_string), Address::new(addr)?))
        })();
        match checked {
            Ok(mailbox) => Some(mailbox),
            Err(e) => {
                self.keep_first_error(Err(e));
                None
            }
        }
    }

    /// The sender (`From:` and `MAIL FROM`).
    pub fn from(self, addr: &str) -> Self {
        self.from_named(None, addr)
    }

    /// The sender with a display name.
    pub fn from_named(mut self, name: Option<&str>, addr: &str) -> Self {
        self.from = self.mailbox(name, addr);
        self
    }

    /// Adds a `To:` recipient.
    pub fn to(self, addr: &str) -> Self {
        self.to_named(None, addr)
    }

    /// Adds a `To:` recipient with a display name.
    pub fn to_named(mut self, name: Option<&str>, addr: &str) -> Self {
        if let Some(m) = self.mailbox(name, addr) {
            self.to.push(m);
        }
        self
    }

    /// Adds a `Cc:` recipient.
    pub fn cc(mut self, addr: &str) -> Self {
        if let Some(m) = self.mailbox(None, addr) {
            self.cc.push(m);
        }
        self
    }

    /// Adds a blind recipient: in the envelope only, never in a header.
    pub fn bcc(mut self, addr: &str) -> Self {
        if let Some((_, a)) = self.mailbox(None, addr) {
            self.bcc.push(a);
        }
        self
    }

    /// The subject (one line; encoded as RFC 2047 when not ASCII).
    pub fn subject(mut self, subject: &str) -> Self {
        let checked = check_header_text("subject", subject);
        self.keep_first_error(checked);
        self.subject = Some(subject.to_string());
        self
    }

    /// The plain-text body (any line ends).
    pub fn text_body(mut self, text: &str) -> Self {
        self.text = Some(text.to_string());
        self
    }

    /// An HTML body (with a text body: multipart/alternative).
    pub fn html_body(mut self, html: &str) -> Self {
        self.html = Some(html.to_string());
        self
    }

    /// An extra header. The name must be printable ASCII without `:`; the
    /// value one line.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let checked =
            if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
                Err(Error::InvalidInput(format!("invalid header name {name:?}")))
            } else {
                check_header_text("header value", value)
            };
        self.keep_first_error(checked);
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Checks everything and formats the message.
    pub fn build(self) -> Result<Message> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (from_name, from) = self
            .from
            .ok_or_else(|| Error::InvalidInput("message has no sender".into()))?;
        let recipients: Vec<Address> = self
            .to
            .iter()
            .chain(&self.cc)
            .map(|(_, a)| a.clone())
            .chain(self.bcc.iter().cloned())
            .collect();
        let envelope = Envelope::new(Some(from.clone()), recipients)?;

        let list = |v: &[(Option<String>, Address)]| -> MbAddress<'static> {
            MbAddress::new_list(
                v.iter()
                    .map(|(n, a)| MbAddress::new_address(n.clone(), a.as_str().to_string()))
                    .collect(),
            )
        };
        let mut b = mail_builder::MessageBuilder::new()
            .from(MbAddress::new_address(from_name, from.as_str().to_string()));
        if !self.to.is_empty() {
            b = b.to(list(&self.to));
        }
        if !self.cc.is_empty() {
            b = b.cc(list(&self.cc));
        }
        if let Some(subject) = self.subject {
            b = b.subject(subject);
        }
        for (name, value) in self.headers {
            b = b.header(Cow::Owned(name), Text::new(value));
        }
        match (self.text, self.html) {
            (None, None) => b = b.text_body(""),
            (text, html) => {
                if let Some(t) = text {
                    b = b.text_body(t);
                }
                if let Some(h) = html {
                    b = b.html_body(h);
                }
            }
        }
        let content = b
            .write_to_vec()
            .map_err(|e| Error::InvalidInput(format!("cannot format message: {e}")))?;
        Ok(Message { envelope, content })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_message_has_headers_and_envelope() {
        let m = Message::builder()
            .from_named(Some("Ann"), "ann@example.com")
            .to("bob@example.com")
            .cc("cy@example.com")
            .bcc("hidden@example.com")
            .subject("hi")
            .text_body("body\n")
            .build()
            .unwrap();
        let text = String::from_utf8_lossy(m.content()).into_owned();
        assert!(text.contains("Subject: hi\r\n"), "{text}");
        assert!(text.contains("bob@example.com"));
        assert!(
            !text.contains("hidden@example.com"),
            "Bcc leaked into headers"
        );
        let to: Vec<_> = m.envelope().to().iter().map(|a| a.as_str()).collect();
        assert_eq!(
            to,
            ["bob@example.com", "cy@example.com", "hidden@example.com"]
        );
        assert_eq!(m.envelope().from().unwrap().as_str(), "ann@example.com");
    }

    #[test]
    fn header_injection_is_refused() {
        let base = || Message::builder().from("a@b.c").to("d@e.f");
        for built in [
            base().subject("hi\r\nBcc: victim@x.y").build(),
            base().subject("hi\nX: y").build(),
            base().to_named(Some("Eve\r\nBcc: v@x.y"), "e@x.y").build(),
            base().header("X-Ok", "v\r\nBcc: v@x.y").build(),
            base().header("Bad Name", "v").build(),
            base().header("Bad:Name", "v").build(),
            Message::builder().to("d@e.f").build(),
            Message::builder().from("a@b.c").build(),
            base().to("x@y.z>\r\nDATA").build(),
        ] {
            assert!(matches!(built, Err(Error::InvalidInput(_))), "{built:?}");
        }
    }
}
