//! Attachments and inline parts: bytes with a content type and a name,
//! checked before they can reach a header.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// A file attached to a message (or, with a content id, shown inline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub(crate) name: String,
    pub(crate) content_type: String,
    pub(crate) data: Vec<u8>,
}

impl Attachment {
    /// An attachment from bytes in memory, e.g.
    /// `Attachment::from_bytes("report.pdf", "application/pdf", bytes)`.
    pub fn from_bytes(name: &str, content_type: &str, data: impl Into<Vec<u8>>) -> Attachment {
        Attachment {
            name: name.to_string(),
            content_type: content_type.to_string(),
            data: data.into(),
        }
    }

    /// An attachment read from a file, named after it.
    pub fn from_file(path: impl AsRef<Path>, content_type: &str) -> Result<Attachment> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|source| Error::ReadInput {
            what: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Attachment::from_bytes(&name, content_type, data))
    }

    /// An attachment read to its end from `reader`.
    pub fn from_reader(
        name: &str,
        content_type: &str,
        mut reader: impl Read,
    ) -> Result<Attachment> {
        let mut data = Vec::new();
        reader
            .read_to_end(&mut data)
            .map_err(|source| Error::ReadInput {
                what: format!("attachment {name:?}"),
                source,
            })?;
        Ok(Attachment::from_bytes(name, content_type, data))
    }

    /// The file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The content type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// Name and content type must stay inside their header: no control
    /// characters (CR/LF would start a header of the sender's choosing), and
    /// the type is `type/subtype` in RFC 2045 token characters.
    pub(crate) fn check(&self) -> Result<()> {
        check_content_type(&self.content_type)?;
        if self.name.is_empty() || self.name.chars().any(char::is_control) {
            return Err(Error::InvalidInput(format!(
                "attachment name {:?} is empty or has control characters (header injection)",
                self.name
            )));
        }
        Ok(())
    }
}

/// `type/subtype`, both RFC 2045 tokens.
pub(crate) fn check_content_type(ct: &str) -> Result<()> {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    match ct.split_once('/') {
        Some((t, sub)) if token(t) && token(sub) => Ok(()),
        _ => Err(Error::InvalidInput(format!(
            "content type {ct:?} is not type/subtype"
        ))),
    }
}

/// A content id for `cid:` references: an RFC 5322 `id-left@id-right`-like
/// run of printable ASCII without brackets or spaces.
pub(crate) fn check_cid(cid: &str) -> Result<()> {
    if cid.is_empty()
        || !cid
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
    {
        return Err(Error::InvalidInput(format!(
            "content id {cid:?} must be printable ASCII without spaces or angle brackets"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types_are_checked() {
        assert!(Attachment::from_bytes("a.txt", "text/plain", "x")
            .check()
            .is_ok());
        for (name, ct) in [
            ("a\r\nBcc: v@x.y", "text/plain"),
            ("a\nb", "text/plain"),
            ("", "text/plain"),
            ("a.txt", "text"),
            ("a.txt", "text/plain\r\nX: y"),
            ("a.txt", "text/pl ain"),
        ] {
            assert!(
                matches!(
                    Attachment::from_bytes(name, ct, "x").check(),
                    Err(Error::InvalidInput(_))
                ),
                "{name:?} {ct:?}"
            );
        }
        assert!(check_cid("logo@example").is_ok());
        assert!(check_cid("a>b").is_err() && check_cid("a b").is_err() && check_cid("").is_err());
    }

    #[test]
    fn from_file_and_reader() {
        let path = std::env::temp_dir().join(format!("smtp-attach-{}.bin", std::process::id()));
        std::fs::write(&path, b"\x00\x01bytes").unwrap();
        let a = Attachment::from_file(&path, "application/octet-stream").unwrap();
        assert_eq!(a.data, b"\x00\x01bytes");
        assert_eq!(a.name(), path.file_name().unwrap().to_str().unwrap());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            Attachment::from_file(&path, "text/plain"),
            Err(Error::ReadInput { .. })
        ));
        let r = Attachment::from_reader("r.txt", "text/plain", &b"from a reader"[..]).unwrap();
        assert_eq!(r.data, b"from a reader");
    }
}
