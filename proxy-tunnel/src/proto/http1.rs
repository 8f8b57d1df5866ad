//! The HTTP/1.x head rules that a proxy's `CONNECT` reply and an HTTP
//! client's response head share, written once: which statuses are interim,
//! and what an httparse result means under a size limit. pconn-http parses
//! its response heads with these too; each caller maps [`HeadError`] to its
//! own typed error.
//!
//! ```
//! use pconn_proxy::proto::http1::{head_len, is_interim, HeadError};
//!
//! let buf = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
//! let mut fields = [httparse::EMPTY_HEADER; 4];
//! let mut response = httparse::Response::new(&mut fields);
//! let used = head_len(response.parse(buf), buf.len(), 1024).unwrap().unwrap();
//! assert_eq!(used, 25);
//! assert!(is_interim(response.code.unwrap()));
//!
//! // A partial head that has already reached the limit will never fit.
//! let mut response = httparse::Response::new(&mut fields);
//! let cut = &buf[..20];
//! assert_eq!(head_len(response.parse(cut), cut.len(), 20), Err(HeadError::TooLarge));
//! ```

/// 1xx other than 101: an interim response; the final one follows.
/// (101 Switching Protocols is final: what follows it is not HTTP/1.1.)
#[inline]
pub fn is_interim(status: u16) -> bool {
    (100..200).contains(&status) && status != 101
}

/// Why a head cannot be accepted, whatever its use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// The head does not end within the limit: complete but longer, or
    /// still partial with the buffer already at the limit.
    #[error("head larger than the limit")]
    TooLarge,
    /// More header fields than the caller gave room for.
    #[error("too many header fields")]
    TooManyHeaders,
    /// The status line or a header field does not parse.
    #[error("malformed head: {0}")]
    Malformed(httparse::Error),
}

/// What a head parse (`parsed`, httparse's answer for a buffer of
/// `buffered` bytes) means under a limit of `limit` bytes: `Ok(None)` when
/// more bytes are needed and may still fit, `Ok(Some(used))` for a complete
/// head of `used` bytes, or why the head cannot be accepted. A head longer
/// than the limit is refused whether complete or not, so a peer cannot make
/// the caller buffer without end. No allocation, no pass over the bytes.
#[inline]
pub fn head_len(
    parsed: httparse::Result<usize>,
    buffered: usize,
    limit: usize,
) -> Result<Option<usize>, HeadError> {
    match parsed {
        Ok(httparse::Status::Complete(used)) if used > limit => Err(HeadError::TooLarge),
        Ok(httparse::Status::Complete(used)) => Ok(Some(used)),
        Ok(httparse::Status::Partial) if buffered >= limit => Err(HeadError::TooLarge),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooManyHeaders),
        Err(e) => Err(HeadError::Malformed(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `buf` as a response head with room for `fields` header fields.
    fn parse(buf: &[u8], fields: usize, limit: usize) -> Result<Option<usize>, HeadError> {
        let mut headers = vec![httparse::EMPTY_HEADER; fields];
        let mut response = httparse::Response::new(&mut headers);
        head_len(response.parse(buf), buf.len(), limit)
    }

    #[test]
    fn interim_statuses() {
        for status in [100, 102, 103, 150, 199] {
            assert!(is_interim(status), "{status}");
        }
        for status in [0, 99, 101, 200, 204, 304, 407, 999] {
            assert!(!is_interim(status), "{status}");
        }
    }

    #[test]
    fn complete_heads_report_their_length() {
        let raw = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";
        assert_eq!(parse(raw, 4, 1024), Ok(Some(raw.len() - 4)));
        // Exactly at the limit is accepted; one byte over is not.
        assert_eq!(parse(raw, 4, raw.len() - 4), Ok(Some(raw.len() - 4)));
        assert_eq!(parse(raw, 4, raw.len() - 5), Err(HeadError::TooLarge));
    }

    #[test]
    fn partial_heads_wait_until_the_buffer_reaches_the_limit() {
        let raw = b"HTTP/1.1 200 OK\r\nA: b\r\n";
        assert_eq!(parse(raw, 4, raw.len() + 1), Ok(None));
        assert_eq!(parse(raw, 4, raw.len()), Err(HeadError::TooLarge));
        assert_eq!(parse(b"", 4, 1), Ok(None));
        assert_eq!(parse(b"", 4, 0), Err(HeadError::TooLarge));
    }

    #[test]
    fn too_many_fields_and_malformed_heads() {
        let raw = b"HTTP/1.1 200 OK\r\nA: b\r\nC: d\r\n\r\n";
        assert_eq!(parse(raw, 2, 1024), Ok(Some(raw.len())));
        assert_eq!(parse(raw, 1, 1024), Err(HeadError::TooManyHeaders));
        assert_eq!(
            parse(b"HTTP/1.1 2x0 OK\r\n\r\n", 4, 1024),
            Err(HeadError::Malformed(httparse::Error::Status))
        );
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nbad line\r\n\r\n", 4, 1024),
            Err(HeadError::Malformed(httparse::Error::HeaderName))
        );
        // A parse error wins over the limit: the caller says what is wrong.
        assert_eq!(
            head_len(Err(httparse::Error::Version), 4096, 16),
            Err(HeadError::Malformed(httparse::Error::Version))
        );
    }
}
