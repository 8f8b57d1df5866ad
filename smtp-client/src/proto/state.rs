//! Where a session stands between the client and the server: the only
//! state a pooled connection carries from one mail to the next.

use transport::Reuse;

/// The stage of the mail transaction on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Greeted and ready for `MAIL FROM`: the state of a fresh session.
    Ready,
    /// `MAIL FROM` was sent: a transaction may be open (RSET clears it).
    Transaction,
    /// `DATA` was accepted: the server reads message bytes until `CRLF.CRLF`.
    /// Nothing can bring this back but the end of data: close.
    Data,
    /// The server said 421 or the exchange broke: close.
    Closed,
}

impl Stage {
    /// What the pool must do with a connection in this stage.
    pub fn reuse(self) -> Reuse {
        match self {
            Stage::Ready => Reuse::Clean,
            Stage::Transaction => Reuse::NeedsReset,
            Stage::Data | Stage::Closed => Reuse::MustClose,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_map_to_reuse() {
        assert_eq!(Stage::Ready.reuse(), Reuse::Clean);
        assert_eq!(Stage::Transaction.reuse(), Reuse::NeedsReset);
        assert_eq!(Stage::Data.reuse(), Reuse::MustClose);
        assert_eq!(Stage::Closed.reuse(), Reuse::MustClose);
    }
}
