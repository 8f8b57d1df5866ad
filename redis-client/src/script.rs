//! Lua scripts: `EVALSHA` first, `EVAL` when the server does not know it.

use std::sync::Mutex;

use crate::cmd::{cmd, ToArg};
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::from_value::FromValue;
use crate::server_error::ServerErrorKind;

/// A Lua script, sent by digest once the server has it.
#[derive(Debug)]
pub struct Script {
    source: String,
    sha: Mutex<Option<String>>,
}

impl Script {
    /// A script from its source.
    pub fn new(source: &str) -> Script {
        Script {
            source: source.to_string(),
            sha: Mutex::new(None),
        }
    }

    /// Runs the script with `keys` and `args`: `EVALSHA` when the digest is
    /// known, `EVAL` (which also caches it on the server) after `NOSCRIPT`.
    pub fn invoke<T, K, A>(&self, conn: &mut Connection, keys: &[K], args: &[A]) -> Result<T>
    where
        T: FromValue,
        K: ToArg,
        A: ToArg,
    {
        let known = self.sha.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let sha = match known {
            Some(sha) => Some(sha),
            // SCRIPT LOAD gives the digest without a SHA-1 implementation here.
            None => match conn.query::<String>(&cmd("SCRIPT").arg("LOAD").arg(&self.source)) {
                Ok(sha) => {
                    *self.sha.lock().unwrap_or_else(|p| p.into_inner()) = Some(sha.clone());
                    Some(sha)
                }
                Err(Error::Server(_)) => None,
                Err(e) => return Err(e),
            },
        };
        if let Some(sha) = sha {
            let c = cmd("EVALSHA")
                .arg(sha)
                .arg(keys.len())
                .args(keys)
                .args(args);
            match conn.query(&c) {
                Err(Error::Server(e)) if e.kind() == ServerErrorKind::NoScript => {}
                other => return other,
            }
        }
        conn.query(
            &cmd("EVAL")
                .arg(&self.source)
                .arg(keys.len())
                .args(keys)
                .args(args),
        )
    }
}
