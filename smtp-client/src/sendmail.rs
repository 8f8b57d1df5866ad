//! Local submission through the system's `sendmail` binary, for hosts
//! that hand mail to a local MTA instead of speaking SMTP to one.
//!
//! The envelope goes on the command line as `-i -f SENDER -- RCPT...`:
//! every address is a checked [`Address`](crate::Address) (no CR, LF, NUL
//! or spaces), one that starts with `-` is refused so that nothing can be
//! read as an option, and `--` ends the options before the recipients.
//! The message goes to standard input with LF line ends, as sendmail
//! expects; `-i` keeps a lone `.` line from ending it early.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::message::Message;
use crate::proto::address::Address;

/// Where the system's sendmail usually is.
pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";

/// A sendmail-style transport: one process per mail.
#[derive(Debug, Clone)]
pub struct Sendmail {
    program: PathBuf,
    env: Vec<(OsString, OsString)>,
}

impl Default for Sendmail {
    fn default() -> Self {
        Sendmail::new()
    }
}

fn checked(addr: &Address) -> Result<&str> {
    if addr.as_str().starts_with('-') {
        return Err(Error::InvalidInput(format!(
            "address {:?} starts with '-' and could be read as a sendmail option",
            addr.as_str()
        )));
    }
    Ok(addr.as_str())
}

impl Sendmail {
    /// The transport for [`DEFAULT_SENDMAIL`].
    pub fn new() -> Sendmail {
        Sendmail {
            program: PathBuf::from(DEFAULT_SENDMAIL),
            env: Vec::new(),
        }
    }

    /// Another sendmail-compatible program.
    pub fn program(mut self, path: impl Into<PathBuf>) -> Sendmail {
        self.program = path.into();
        self
    }

    /// An environment variable for the program (e.g. Postfix's `MAIL_CONFIG`).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Sendmail {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The arguments for `msg`'s envelope, checked.
    pub fn args(msg: &Message) -> Result<Vec<String>> {
        let envelope = msg.envelope();
        let from = match envelope.from() {
            Some(a) => checked(a)?.to_string(),
            None => "<>".to_string(),
        };
        let mut args = vec!["-i".to_string(), "-f".to_string(), from, "--".to_string()];
        for rcpt in envelope.to() {
            args.push(checked(rcpt)?.to_string());
        }
        Ok(args)
    }

    /// Hands `msg` to the program; `Ok` once it exited with status 0.
    pub fn send(&self, msg: &Message) -> Result<()> {
        if msg.needs_binary() {
            return Err(Error::Unsupported(
                "binary content through sendmail (it reads text lines)".into(),
            ));
        }
        let args = Sendmail::args(msg)?;
        tracing::debug!(program = %self.program.display(), recipients = msg.envelope().to().len(), "submitting through sendmail");
        let mut child = Command::new(&self.program)
            .args(&args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Sendmail {
                status: None,
                stderr: format!("cannot run {}: {e}", self.program.display()),
            })?;
        // Local line ends: CRLF (after normalising every line end) becomes LF.
        let mut text = msg.wire_content();
        text.retain(|&b| b != b'\r');
        let written = child
            .stdin
            .take()
            .expect("stdin was piped")
            .write_all(&text);
        let out = child.wait_with_output().map_err(|e| Error::Sendmail {
            status: None,
            stderr: format!("waiting for {}: {e}", self.program.display()),
        })?;
        if !out.status.success() || written.is_err() {
            return Err(Error::Sendmail {
                status: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(())
    }
}
