//! Sharded pub/sub (`SSUBSCRIBE`): a subscription on the master serving
//! its channels' slot, moved to the new master when the slot moves.

use std::time::{Duration, Instant};

use super::client::ClusterClient;
use super::error::ClusterError;
use super::keys::{route_keys, Route};
use crate::cmd::{cmd, ToArg};
use crate::connection::Connection;
use crate::error::Result;
use crate::pubsub::Message;

/// Sharded channels of one slot, subscribed on the master serving it (see
/// [`ClusterClient::ssubscribe`]). When the slot moves, the server ends the
/// subscription (`sunsubscribe`); the next [`receive`](Self::receive)
/// subscribes again on the slot's new master.
#[derive(Debug)]
pub struct ShardedSubscriber {
    client: ClusterClient,
    channels: Vec<Vec<u8>>,
    slot: u16,
    conn: Option<Connection>,
}

impl ClusterClient {
    /// `SSUBSCRIBE` to `channels`, which must hash to one slot (as Redis
    /// requires; [`ClusterError::CrossSlot`] before sending otherwise).
    pub fn ssubscribe<C: ToArg>(&self, channels: &[C]) -> Result<ShardedSubscriber> {
        let encoded = cmd("X").args(channels);
        let names: Vec<Vec<u8>> = (1..encoded.len())
            .filter_map(|i| encoded.part(i).map(<[u8]>::to_vec))
            .collect();
        let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        let slot = match route_keys(&refs) {
            Route::Slot(s) => s,
            Route::Any => {
                return Err(crate::Error::InvalidInput(
                    "SSUBSCRIBE needs a channel".into(),
                ))
            }
            Route::CrossSlot(keys) => return Err(ClusterError::CrossSlot { keys }.into()),
        };
        let mut s = ShardedSubscriber {
            client: self.clone(),
            channels: names,
            slot,
            conn: None,
        };
        s.subscribe()?;
        Ok(s)
    }
}

impl ShardedSubscriber {
    fn subscribe(&mut self) -> Result<()> {
        self.conn = None;
        let mut conn = self.client.connection_for_slot(self.slot)?;
        conn.query_value(&cmd("SSUBSCRIBE").args(&self.channels))?;
        self.conn = Some(conn);
        Ok(())
    }

    /// True while every channel is still subscribed on the current node.
    fn intact(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| {
            let have = &c.session().state().shard_channels;
            self.channels.iter().all(|ch| have.contains(ch))
        })
    }

    /// The next message, waiting up to `timeout`; `Ok(None)` when none came.
    /// A subscription the server ended because the slot moved is renewed
    /// on the new master first (the topology is read again).
    pub fn receive(&mut self, timeout: Duration) -> Result<Option<Message>> {
        let give_up = Instant::now() + timeout;
        loop {
            if !self.intact() {
                self.client.refresh()?;
                self.subscribe()?;
            }
            let left = give_up.saturating_duration_since(Instant::now());
            let conn = self.conn.as_mut().expect("subscribed above");
            // In slices, so that an ended subscription is renewed soon.
            match conn.receive(left.min(Duration::from_millis(100)))? {
                Some(m) => return Ok(Some(m)),
                None if self.intact() || left.is_zero() => return Ok(None),
                None => {}
            }
        }
    }
}
