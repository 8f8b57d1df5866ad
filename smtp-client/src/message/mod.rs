//! Messages: the envelope (with any DSN request) and the bytes of an
//! RFC 5322 message, built with `mail-builder` from checked parts or given
//! whole.

mod attachment;
mod builder;

pub use attachment::Attachment;
pub use builder::MessageBuilder;

use crate::error::{Error, Result};
use crate::proto::address::Address;
use crate::proto::data;
use crate::proto::dsn::Dsn;

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

/// A message ready to send: envelope, content bytes and any DSN request.
#[derive(Debug, Clone)]
pub struct Message {
    envelope: Envelope,
    content: Vec<u8>,
    dsn: Option<Dsn>,
}

impl Message {
    /// A builder for a text and/or HTML message with attachments.
    pub fn builder() -> MessageBuilder {
        MessageBuilder::default()
    }

    /// A message from already formatted content (headers, blank line, body).
    /// Line ends may be CRLF, LF or CR: they are normalised when sent
    /// (unless the content is binary and goes with BINARYMIME).
    pub fn raw(envelope: Envelope, content: impl Into<Vec<u8>>) -> Message {
        Message {
            envelope,
            content: content.into(),
            dsn: None,
        }
    }

    /// Replaces the envelope (e.g. to send a built message elsewhere).
    pub fn with_envelope(mut self, envelope: Envelope) -> Message {
        self.envelope = envelope;
        self
    }

    /// Asks for delivery status notifications (sent only to a server that
    /// offers DSN; [`Error::Unsupported`] otherwise, before anything is sent).
    pub fn with_dsn(mut self, dsn: Dsn) -> Message {
        self.dsn = Some(dsn);
        self
    }

    /// Replaces the content, keeping envelope and DSN (the DKIM signer's way in).
    #[cfg_attr(not(feature = "dkim"), allow(dead_code))]
    pub(crate) fn with_content(mut self, content: Vec<u8>) -> Message {
        self.content = content;
        self
    }

    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The DSN request, if any.
    pub fn dsn(&self) -> Option<&Dsn> {
        self.dsn.as_ref()
    }

    /// The content as given (before line-end normalisation and dot-stuffing).
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// The bytes the server reassembles: line ends normalised to CRLF and
    /// a final CRLF added, or the content unchanged when it is binary.
    /// What DKIM signs and what BDAT sends.
    pub fn wire_content(&self) -> Vec<u8> {
        if self.needs_binary() {
            self.content.clone()
        } else {
            data::normalise(&self.content)
        }
    }

    /// The size on the wire, what `SIZE=` declares.
    pub fn wire_size(&self) -> u64 {
        data::encoded_len(&self.content)
    }

    /// True when the content has 8-bit bytes (needs 8BITMIME).
    pub fn needs_8bit(&self) -> bool {
        data::needs_8bit(&self.content)
    }

    /// True when the content cannot go as text at all (a NUL byte): it
    /// needs BINARYMIME over CHUNKING.
    pub fn needs_binary(&self) -> bool {
        self.content.contains(&0)
    }
}
