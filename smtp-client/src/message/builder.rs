//! [`MessageBuilder`]: every part checked, then formatted by
//! `mail-builder`'s own API (no MIME written here).

use std::borrow::Cow;

use mail_builder::headers::address::Address as MbAddress;
use mail_builder::headers::text::Text;
use mail_builder::mime::MimePart;

use super::attachment::{check_cid, check_content_type, Attachment};
use super::{Envelope, Message};
use crate::error::{Error, Result};
use crate::proto::address::Address;
use crate::proto::dsn::Dsn;

/// Builds a [`Message`]; every part is checked and the first problem is
/// reported by [`build`](MessageBuilder::build), before anything is sent.
#[derive(Debug, Default)]
pub struct MessageBuilder {
    from: Option<(Option<String>, Address)>,
    to: Vec<(Option<String>, Address)>,
    cc: Vec<(Option<String>, Address)>,
    bcc: Vec<Address>,
    reply_to: Vec<(Option<String>, Address)>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<Attachment>,
    inline: Vec<(String, Attachment)>,
    headers: Vec<(String, String)>,
    dsn: Option<Dsn>,
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

    /// Adds a `Cc:` recipient with a display name.
    pub fn cc_named(mut self, name: Option<&str>, addr: &str) -> Self {
        if let Some(m) = self.mailbox(name, addr) {
            self.cc.push(m);
        }
        self
    }

    /// Adds a `Reply-To:` address.
    pub fn reply_to(self, addr: &str) -> Self {
        self.reply_to_named(None, addr)
    }

    /// Adds a `Reply-To:` address with a display name.
    pub fn reply_to_named(mut self, name: Option<&str>, addr: &str) -> Self {
        if let Some(m) = self.mailbox(name, addr) {
            self.reply_to.push(m);
        }
        self
    }

    /// Attaches a file (see [`Attachment`]); its name and content type are
    /// checked by [`build`](MessageBuilder::build).
    pub fn attach(mut self, attachment: Attachment) -> Self {
        let checked = attachment.check();
        self.keep_first_error(checked);
        self.attachments.push(attachment);
        self
    }

    /// An inline part (an image the HTML body shows as `<img src="cid:CID">`):
    /// with an HTML body the message becomes `multipart/related`.
    pub fn inline(mut self, cid: &str, content_type: &str, data: impl Into<Vec<u8>>) -> Self {
        let checked = check_cid(cid).and_then(|()| check_content_type(content_type));
        self.keep_first_error(checked);
        self.inline.push((
            cid.to_string(),
            Attachment::from_bytes(cid, content_type, data),
        ));
        self
    }

    /// Asks for delivery status notifications (see [`Dsn`]).
    pub fn dsn(mut self, dsn: Dsn) -> Self {
        self.dsn = Some(dsn);
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
        // Bcc recipients are in the envelope only: mail-builder is never told.
        if !self.reply_to.is_empty() {
            b = b.reply_to(list(&self.reply_to));
        }
        if let Some(subject) = self.subject {
            b = b.subject(subject);
        }
        for (name, value) in self.headers {
            b = b.header(Cow::Owned(name), Text::new(value));
        }
        b = body(b, self.text, self.html, self.inline, self.attachments);
        let content = b
            .write_to_vec()
            .map_err(|e| Error::InvalidInput(format!("cannot format message: {e}")))?;
        let message = Message::raw(envelope, content);
        Ok(match self.dsn {
            Some(dsn) => message.with_dsn(dsn),
            None => message,
        })
    }
}

/// The MIME structure, from mail-builder's parts: its own layout
/// (`multipart/alternative` for text and HTML, `multipart/mixed` with
/// attachments) unless inline parts need a `multipart/related` around the
/// HTML they belong to.
fn body<'x>(
    mut b: mail_builder::MessageBuilder<'x>,
    text: Option<String>,
    html: Option<String>,
    inline: Vec<(String, Attachment)>,
    attachments: Vec<Attachment>,
) -> mail_builder::MessageBuilder<'x> {
    let attach = |a: Attachment| MimePart::new(a.content_type, a.data).attachment(a.name);
    if inline.is_empty() {
        match (&text, &html) {
            (None, None) => b = b.text_body(""),
            _ => {
                if let Some(t) = text {
                    b = b.text_body(t);
                }
                if let Some(h) = html {
                    b = b.html_body(h);
                }
            }
        }
        for a in attachments {
            b = b.attachment(a.content_type, a.name, a.data);
        }
        return b;
    }
    let mut related = vec![MimePart::new("text/html", html.unwrap_or_default())];
    related.extend(
        inline
            .into_iter()
            .map(|(cid, a)| MimePart::new(a.content_type, a.data).inline().cid(cid)),
    );
    let related = MimePart::new("multipart/related", related);
    let main = match text {
        Some(t) => MimePart::new(
            "multipart/alternative",
            vec![MimePart::new("text/plain", t), related],
        ),
        None => related,
    };
    if attachments.is_empty() {
        return b.body(main);
    }
    let mut mixed = vec![main];
    mixed.extend(attachments.into_iter().map(attach));
    b.body(MimePart::new("multipart/mixed", mixed))
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
