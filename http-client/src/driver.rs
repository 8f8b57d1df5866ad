//! The blocking driver: moves the bytes a [`Call`] asks for over a
//! [`transport::Conn`], and reads body bytes through a [`BodyDecoder`].
//! No protocol decision is made here (see `proto/call.rs`).

use std::io::Read;
use std::time::Duration;

use transport::{BrokenCause, Conn};

use crate::error::{Error, Result};
use crate::outgoing::SendBody;
use crate::proto::call::{Call, Step};
use crate::proto::request::{encode_chunk, LAST_CHUNK};
use crate::proto::{BodyDecoder, BodyPlan, Poll, ResponseHead};

/// Bodies up to this size are appended to the head: one write per request.
const INLINE_BODY: usize = 16 * 1024;

/// Limits of one exchange.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_head: usize,
    pub(crate) continue_wait: Duration,
}

/// Runs `call` (its head already in the write buffer) up to the final
/// response head: sends the head, awaits `100 Continue` when asked, sends
/// the body unless the server answered first, reads past interim heads.
pub(crate) fn exchange(
    conn: &mut Conn,
    call: &mut Call,
    body: &mut SendBody<'_>,
    limits: Limits,
) -> Result<(ResponseHead, BodyPlan)> {
    loop {
        match call.step() {
            Step::AwaitContinue => {
                conn.flush()?;
                // Unlike a read timeout, an empty wait leaves the connection usable.
                if !conn.wait_readable(limits.continue_wait)? {
                    call.continue_wait_over();
                    continue;
                }
                if let Some(final_head) = read_head(conn, call, limits.max_head)? {
                    return Ok(final_head);
                }
            }
            Step::SendBody => {
                send_body(conn, body)?;
                call.body_sent();
            }
            // (A final head returns at once: the body is the caller's.)
            Step::ReceiveHead | Step::ReceiveBody => {
                if let Some(final_head) = read_head(conn, call, limits.max_head)? {
                    return Ok(final_head);
                }
            }
        }
    }
}

/// Reads one response head; `None` for an interim one.
fn read_head(
    conn: &mut Conn,
    call: &mut Call,
    max_head: usize,
) -> Result<Option<(ResponseHead, BodyPlan)>> {
    let (head, plan) = conn
        .read_frame(max_head, |buf: &[u8]| {
            call.receive(buf, max_head).map_err(Error::from)
        })
        .map_err(|e| match e {
            Error::Transport(transport::Error::FrameTooLarge { limit }) => {
                Error::from(crate::proto::ProtocolError::HeadTooLarge { limit })
            }
            e => e,
        })?;
    Ok(plan.map(|plan| (head, plan)))
}

/// Sends the body after the head (which is in the write buffer, or sent).
fn send_body(conn: &mut Conn, body: &mut SendBody<'_>) -> Result<()> {
    match body {
        SendBody::Empty => conn.flush()?,
        SendBody::Bytes(b) if b.len() <= INLINE_BODY => {
            conn.write_buf().extend_from_slice(b);
            conn.flush()?;
        }
        SendBody::Bytes(b) => {
            // Bounded pieces: a TLS connection buffers each write whole.
            for piece in b.chunks(INLINE_BODY) {
                conn.write_all(piece)?;
            }
        }
        SendBody::Reader(reader, len) => {
            conn.flush()?;
            send_reader(conn, &mut **reader, *len)?;
        }
    }
    Ok(())
}

/// Streams a body from the caller's reader: exactly `len` bytes, or chunked.
fn send_reader(conn: &mut Conn, reader: &mut dyn Read, len: Option<u64>) -> Result<()> {
    let mut chunk = vec![0u8; INLINE_BODY];
    let mut sent = 0u64;
    loop {
        let want = match len {
            Some(total) => (total - sent).min(chunk.len() as u64) as usize,
            None => chunk.len(),
        };
        if want == 0 {
            break;
        }
        let n = match reader.read(&mut chunk[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A half-sent request: the connection refuses further use.
            Err(e) => {
                conn.mark_broken_with(BrokenCause::Abandoned);
                return Err(Error::BodyRead(e));
            }
        };
        if n == 0 {
            if let Some(total) = len {
                conn.mark_broken_with(BrokenCause::Abandoned);
                return Err(Error::BodyRead(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the body reader ended after {sent} of {total} bytes"),
                )));
            }
            break;
        }
        sent += n as u64;
        match len {
            Some(_) => conn.write_all(&chunk[..n])?,
            None => {
                encode_chunk(conn.write_buf(), &chunk[..n]);
                conn.flush()?;
            }
        }
    }
    if len.is_none() {
        conn.write_all(LAST_CHUNK)?;
    }
    Ok(())
}

/// Reads the next body bytes into `out`; `Ok(0)` once the body is complete.
/// Large reads of known-length data go straight from the socket to `out`.
/// A framing error marks the connection broken.
pub(crate) fn read_body(
    conn: &mut Conn,
    decoder: &mut BodyDecoder,
    out: &mut [u8],
) -> Result<usize> {
    if out.is_empty() {
        return Ok(0);
    }
    loop {
        let poll = match decoder.poll(conn.read_buf()) {
            Ok(p) => p,
            Err(e) => {
                conn.mark_broken_with(BrokenCause::Protocol);
                return Err(e.into());
            }
        };
        match poll {
            Poll::Data { skip, len } => {
                let k = len.min(out.len());
                out[..k].copy_from_slice(&conn.read_buf()[skip..skip + k]);
                conn.consume(skip + k);
                decoder.taken(k);
                return Ok(k);
            }
            Poll::Done { skip } => {
                conn.consume(skip);
                return Ok(0);
            }
            Poll::NeedMore { skip } => {
                conn.consume(skip);
                if conn.read_buf().is_empty() {
                    if let Some(limit) = decoder.direct_limit() {
                        let want = out.len().min(usize::try_from(limit).unwrap_or(usize::MAX));
                        let n = conn.read_into(&mut out[..want])?;
                        if n == 0 {
                            eof(conn, decoder)?;
                            continue;
                        }
                        decoder.taken(n);
                        return Ok(n);
                    }
                }
                if conn.fill()? == 0 {
                    eof(conn, decoder)?;
                }
            }
        }
    }
}

fn eof(conn: &mut Conn, decoder: &mut BodyDecoder) -> Result<()> {
    decoder.eof().map_err(|e| {
        conn.mark_broken_with(BrokenCause::Protocol);
        Error::from(e)
    })
}
