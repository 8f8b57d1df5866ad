//! The thin I/O layer: one command out, one reply in, over a transport
//! connection, with exchange bookkeeping so an interrupted exchange closes
//! the connection.

use transport::Conn;

use crate::error::{Error, Result};
use crate::proto::command::Command;
use crate::proto::reply::{self, Reply, MAX_LINE, MAX_REPLY_BYTES};

/// The most the reader buffers: one maximal reply plus a line of the next
/// (pipelined replies arrive together). The decoder refuses long lines and
/// endless replies itself well before this.
const MAX_BUFFERED: usize = MAX_REPLY_BYTES + MAX_LINE;

/// Reads one reply. A malformed one marks the connection broken.
pub(crate) fn read_reply(conn: &mut Conn) -> Result<Reply> {
    conn.read_frame(MAX_BUFFERED, |buf: &[u8]| {
        reply::decode(buf).map_err(Error::from)
    })
}

/// Sends `cmd` and reads its reply as one exchange.
pub(crate) fn command(conn: &mut Conn, cmd: &Command<'_>) -> Result<Reply> {
    conn.begin_exchange()?;
    cmd.encode(conn.write_buf());
    conn.flush()?;
    let reply = read_reply(conn)?;
    conn.end_exchange();
    Ok(reply)
}
