//! The replicated office's storage under openraft: the Raft log, vote and state machine
//! in the node's one redb file (`RAFT_LOG`, `RAFT_STATE`, `RAFT_REPLIES`), every log write
//! durable before openraft is told it is flushed.
//!
//! A command carries a request id; the state machine keeps each applied command's reply
//! under it, so a client that retries during a failover gets the first answer and the
//! command is never applied twice. What a command does is the [`Machine`]'s: it applies
//! one command inside the transaction that records it as applied, so a crash leaves both
//! or neither; a command it cannot apply (a duplicate licence serial, say) is an error
//! that halts the replica rather than overwrite anything.
//!
//! Here: the type configuration and the command; in `log_store` the log and vote; in
//! `state_machine` the applied state, the replies and snapshots; in `p2p` the replicas'
//! network; in `write` a write through any replica; in `membership` adding and removing a
//! replica; in `local` replicas in one process.

use std::io::Cursor;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::store::{StoreError, WriteBatch};

mod log_store;
mod state_machine;

pub use log_store::LogStore;
pub use state_machine::{StateMachine, applied_members};

/// A command for the office's state machine: what the leader decided, stamped with
/// everything that must be the same on every replica (time, ids, signatures) before it
/// was proposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Command {
    /// The client's request id: a retry carries the same one.
    pub request_id: [u8; 16],
    /// The [`Machine`]'s encoding of what to do.
    #[serde(with = "b64")]
    pub body: Vec<u8>,
}

/// Bytes in the log's JSON as one base64 string, not an array of numbers (four
/// characters per three bytes rather than up to four per byte): for
/// `#[serde(with = "crate::cluster::b64")]`.
pub mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `bytes` as base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads base64 into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// Bytes that serialise as one base64 string ([`b64`]), for lists of them in commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Bytes(#[serde(with = "b64")] pub Vec<u8>);

/// A command's answer: the [`Machine`]'s encoding of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Reply(#[serde(with = "b64")] pub Vec<u8>);

openraft::declare_raft_types!(
    /// The office's Raft types: replicas are numbered, and snapshots are whole in memory.
    pub TypeConfig:
        D = Command,
        R = Reply,
);

/// A replica's node id.
pub type NodeId = u64;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// Why a storage operation failed, as openraft takes it.
pub type RaftStorageError = openraft::StorageError<NodeId>;

/// What the replicated commands do: deterministic on every replica.
pub trait Machine: Send + Sync + 'static {
    /// Applies `body` inside `w`, which also records the command as applied; the reply.
    /// [`MachineError::Refused`] answers the command without applying it; any other error
    /// halts the replica. Either way nothing the command wrote is kept.
    fn apply(&self, w: &mut WriteBatch<'_>, body: &[u8]) -> Result<Vec<u8>, MachineError>;
    /// Everything the machine holds, for a snapshot.
    fn dump(&self, r: &redb::ReadTransaction) -> Result<Vec<u8>, MachineError>;
    /// Replaces everything the machine holds with a snapshot's `dump`.
    fn restore(&self, w: &mut WriteBatch<'_>, dump: &[u8]) -> Result<(), MachineError>;
}

/// Why the machine could not apply a command or a snapshot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MachineError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The command breaks an invariant the log must never break (a duplicate licence
    /// serial, say): the replica halts rather than overwrite.
    #[error("{0}")]
    Invariant(String),
    /// The command or snapshot is not one this machine reads.
    #[error("{0}")]
    Malformed(String),
    /// The command is refused (bad input, a case in the wrong state): the same on every
    /// replica, since it depends only on the state before it. It is recorded as applied
    /// with this reply and changes nothing else.
    #[error("the command was refused")]
    Refused(Vec<u8>),
}

/// Runs `f`, a durable redb commit, on tokio's blocking pool, so a replica waiting for its
/// disk does not hold one of the async workers its network and timers run on.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The storage of one replica: its log store and state machine over `store`.
pub fn storage(
    store: Arc<crate::store::Store>,
    machine: Arc<dyn Machine>,
) -> (LogStore, StateMachine) {
    (
        LogStore::new(store.clone()),
        StateMachine::new(store, machine),
    )
}

/// Whether `store` has never been a replica: no log, no vote, nothing applied. Only such
/// an office may be copied to make the replicas of a new cluster (they start from the
/// same state and replay the same log).
pub fn untouched(store: &crate::store::Store) -> Result<bool, StoreError> {
    let r = store.read()?;
    Ok(crate::store::raft::last_entry(&r)?.is_none()
        && crate::store::raft::state(&r, log_store::VOTE)?.is_none()
        && crate::store::raft::state(&r, state_machine::APPLIED)?.is_none())
}

/// The most entries one replication message carries: with an attachment chunk the
/// largest command, a message stays within [`p2p`]'s limit.
pub const MAX_PAYLOAD_ENTRIES: u64 = 64;

/// Timings and limits for replicas in separate processes: a heartbeat every
/// `heartbeat_ms`, an election when none came for `election_ms` to twice that.
pub fn config(heartbeat_ms: u64, election_ms: u64) -> openraft::Config {
    openraft::Config {
        cluster_name: "exlic-office".into(),
        heartbeat_interval: heartbeat_ms,
        election_timeout_min: election_ms,
        election_timeout_max: election_ms * 2,
        max_payload_entries: MAX_PAYLOAD_ENTRIES,
        ..Default::default()
    }
}

pub mod local;
pub mod membership;
pub mod p2p;
#[cfg(test)]
mod tests;
pub mod write;
