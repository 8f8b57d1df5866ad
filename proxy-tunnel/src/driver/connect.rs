//! The HTTP `CONNECT` handshake on a connection to the proxy.

use transport::Conn;

use crate::error::{Error, TunnelPhase};
use crate::proto::{decode_reply, encode_connect, Reply, ReplyError, Target};
use crate::proxy::Proxy;

impl Proxy {
    /// Sends `CONNECT` and reads reply heads until a final one; Ok for 2xx.
    pub(super) fn connect_handshake(&self, conn: &mut Conn, target: &Target) -> Result<(), Error> {
        let authority = target.authority();
        let auth = self.basic_auth();
        encode_connect(conn.write_buf(), &authority, auth.as_deref());
        let phase = TunnelPhase::ConnectReply;
        conn.flush().map_err(|e| self.phase_error(e, phase))?;
        let reply = loop {
            let reply = conn
                .read_frame(self.max_header_bytes, |buf: &[u8]| {
                    decode_reply(buf, self.max_header_bytes).map_err(|e| self.decode_error(e))
                })
                .map_err(|e| match e {
                    Error::Transport(e) => self.phase_error(e, phase),
                    other => other,
                })?;
            if !reply.is_interim() {
                break reply;
            }
        };
        if !reply.is_success() {
            // Whatever follows a refusal is the proxy's error page, not the target.
            return Err(self.refusal(reply, &authority, auth.is_some()));
        }
        tracing::trace!(proxy = %self, target = %authority, status = reply.status, "CONNECT accepted");
        Ok(())
    }

    fn decode_error(&self, e: ReplyError) -> Error {
        match e {
            ReplyError::TooLarge => Error::HeaderTooLarge {
                proxy: self.to_string(),
                limit: self.max_header_bytes,
            },
            ReplyError::NotHttp(detail) => Error::NotHttp {
                proxy: self.to_string(),
                detail,
            },
        }
    }

    fn refusal(&self, reply: Reply, target: &str, credentials_sent: bool) -> Error {
        let proxy = self.to_string();
        let target = target.to_string();
        let Reply {
            status,
            reason,
            proxy_authenticate,
            www_authenticate,
        } = reply;
        match status {
            401 | 407 => {
                let challenges = if status == 407 {
                    proxy_authenticate
                } else {
                    www_authenticate
                };
                Error::ProxyAuthRequired {
                    proxy,
                    status,
                    reason,
                    challenge: (!challenges.is_empty()).then(|| challenges.join(", ")),
                    credentials_sent,
                }
            }
            403 => Error::Forbidden {
                proxy,
                target,
                reason,
            },
            502..=504 => Error::Gateway {
                proxy,
                target,
                status,
                reason,
            },
            _ => Error::Status {
                proxy,
                target,
                status,
                reason,
            },
        }
    }
}
