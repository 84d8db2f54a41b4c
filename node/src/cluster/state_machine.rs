//! The state machine in redb: which entry was applied last and the membership it left,
//! each command's reply by request id, and snapshots (the machine's dump with the
//! replies). Every batch of entries is applied in one durable transaction with the
//! applied position, so a restart resumes exactly after the last entry applied.

// openraft's traits return its `StorageError` (about 224 bytes); the helpers here return
// what the traits do rather than box it twice.
#![allow(clippy::result_large_err)]

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{EntryPayload, LogId, RaftSnapshotBuilder, StorageIOError, StoredMembership};
use serde::{Deserialize, Serialize};

use super::log_store::{get_state, put_state};
use super::{Entry, Machine, MachineError, NodeId, RaftStorageError, Reply, TypeConfig, blocking};
use crate::store::{Store, StoreError, raft};

pub(super) const APPLIED: &str = "applied";
const MEMBERSHIP: &str = "membership";
const SNAPSHOT: &str = "snapshot";

type Membership = StoredMembership<NodeId, openraft::BasicNode>;
type Meta = SnapshotMeta<NodeId, openraft::BasicNode>;

/// A snapshot's data: the machine's dump and the replies of the commands applied.
#[derive(Debug, Serialize, Deserialize)]
struct Data {
    #[serde(with = "super::b64")]
    machine: Vec<u8>,
    replies: Vec<raft::KeptReply>,
}

/// The snapshot kept as the current one.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    meta: Meta,
    #[serde(with = "super::b64")]
    data: Vec<u8>,
}

/// The state machine of one replica.
#[derive(Clone)]
pub struct StateMachine {
    store: Arc<Store>,
    machine: Arc<dyn Machine>,
}

impl std::fmt::Debug for StateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachine").finish_non_exhaustive()
    }
}

fn sm_read(e: impl std::error::Error + 'static) -> RaftStorageError {
    StorageIOError::read_state_machine(&e).into()
}

fn sm_write(e: impl std::error::Error + 'static) -> RaftStorageError {
    StorageIOError::write_state_machine(&e).into()
}

impl StateMachine {
    /// The state machine over `store`, applying commands with `machine`.
    pub fn new(store: Arc<Store>, machine: Arc<dyn Machine>) -> Self {
        Self { store, machine }
    }

    /// The last entry applied.
    pub fn applied(&self) -> Result<Option<LogId<NodeId>>, StoreError> {
        Ok(applied_in(&self.store.read()?)?.0)
    }

    /// Applies `entries` in one transaction. If a command in it is refused, whatever the
    /// batch wrote is dropped and the entries are applied again one transaction each, so
    /// a refused command leaves nothing but its reply (redb has no partial rollback).
    fn apply_all(&self, entries: Vec<Entry>) -> Result<Vec<Reply>, RaftStorageError> {
        match self.apply_in_one(&entries) {
            Err(Applied::Refused(_)) if entries.len() > 1 => {
                let mut replies = Vec::with_capacity(entries.len());
                for e in entries {
                    replies.extend(self.apply_all(vec![e])?);
                }
                Ok(replies)
            }
            Err(Applied::Refused(refusal)) => self.record_refusal(&entries[0], refusal),
            Err(Applied::Failed(e)) => Err(*e),
            Ok(replies) => Ok(replies),
        }
    }

    fn apply_in_one(&self, entries: &[Entry]) -> Result<Vec<Reply>, Applied> {
        let mut w = self.store.write().map_err(sm_write)?;
        let mut replies = Vec::with_capacity(entries.len());
        let mut last = None;
        for e in entries {
            let reply = match &e.payload {
                EntryPayload::Blank => Reply::default(),
                EntryPayload::Membership(m) => {
                    put_state(&w, MEMBERSHIP, &Membership::new(Some(e.log_id), m.clone()))
                        .map_err(sm_write)?;
                    Reply::default()
                }
                EntryPayload::Normal(cmd) => {
                    match raft::reply(&w, &cmd.request_id).map_err(sm_read)? {
                        // A retry: the first answer, nothing applied again.
                        Some(r) => Reply(r),
                        None => {
                            let r = match self.machine.apply(&mut w, &cmd.body) {
                                Ok(r) => r,
                                Err(MachineError::Refused(r)) => return Err(Applied::Refused(r)),
                                Err(err) => {
                                    tracing::error!(%err, log_id = %e.log_id, "a command cannot be applied: this replica halts");
                                    return Err(Applied::Failed(Box::new(
                                        StorageIOError::apply(e.log_id, &err).into(),
                                    )));
                                }
                            };
                            raft::put_reply(&w, &cmd.request_id, &r).map_err(sm_write)?;
                            Reply(r)
                        }
                    }
                }
            };
            replies.push(reply);
            last = Some(e.log_id);
        }
        if last.is_some() {
            put_state(&w, APPLIED, &last).map_err(sm_write)?;
            w.commit().map_err(sm_write)?;
        }
        Ok(replies)
    }

    /// Records the refused command `e` as applied, with its `refusal` as the reply (the
    /// batch that held only it was dropped, so nothing else of it is written).
    fn record_refusal(&self, e: &Entry, refusal: Vec<u8>) -> Result<Vec<Reply>, RaftStorageError> {
        let EntryPayload::Normal(cmd) = &e.payload else {
            unreachable!("only commands are refused")
        };
        let w = self.store.write().map_err(sm_write)?;
        raft::put_reply(&w, &cmd.request_id, &refusal).map_err(sm_write)?;
        put_state(&w, APPLIED, &Some(e.log_id)).map_err(sm_write)?;
        w.commit().map_err(sm_write)?;
        Ok(vec![Reply(refusal)])
    }

    fn build(&self) -> Result<Snapshot<TypeConfig>, RaftStorageError> {
        tracing::debug!("building a snapshot");
        let r = self.store.read().map_err(sm_read)?;
        let (applied, membership) = applied_in(&r).map_err(sm_read)?;
        let data = Data {
            machine: self
                .machine
                .dump(&r)
                .map_err(|e| StorageIOError::read_state_machine(&e))?,
            replies: raft::replies(&r).map_err(sm_read)?,
        };
        drop(r);
        let data = serde_json::to_vec(&data).expect("snapshot data serialises");
        let n: u64 = u64::from_be_bytes(crate::random::bytes());
        let meta = Meta {
            last_log_id: applied,
            last_membership: membership,
            snapshot_id: format!("{}-{n:016x}", applied.map_or(0, |l| l.index)),
        };
        let stored = Stored {
            meta: meta.clone(),
            data: data.clone(),
        };
        let keep = || -> Result<(), StoreError> {
            let w = self.store.write()?;
            put_state(&w, SNAPSHOT, &stored)?;
            w.commit()
        };
        keep().map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        tracing::debug!(id = %meta.snapshot_id, "snapshot built");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }

    fn install(&self, meta: &Meta, bytes: Vec<u8>) -> Result<(), RaftStorageError> {
        let bad = |e: &dyn std::error::Error| {
            RaftStorageError::from(StorageIOError::read_snapshot(
                Some(meta.signature()),
                openraft::AnyError::error(e.to_string()),
            ))
        };
        let data: Data = serde_json::from_slice(&bytes).map_err(|e| bad(&e))?;
        let install = || -> Result<(), MachineError> {
            let mut w = self.store.write()?;
            self.machine.restore(&mut w, &data.machine)?;
            raft::clear_replies(&w)?;
            for (id, reply) in &data.replies {
                raft::put_reply(&w, id, reply)?;
            }
            put_state(&w, APPLIED, &meta.last_log_id)?;
            put_state(&w, MEMBERSHIP, &meta.last_membership)?;
            put_state(
                &w,
                SNAPSHOT,
                &Stored {
                    meta: meta.clone(),
                    data: bytes.clone(),
                },
            )?;
            w.commit()?;
            Ok(())
        };
        install().map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e).into())
    }
}

/// Why a batch was not applied in one transaction.
enum Applied {
    /// A command in it was refused: the refusal, the command's reply.
    Refused(Vec<u8>),
    /// Storage failed or a command broke an invariant.
    Failed(Box<RaftStorageError>),
}

impl From<RaftStorageError> for Applied {
    fn from(e: RaftStorageError) -> Self {
        Applied::Failed(Box::new(e))
    }
}

/// The last entry applied and the membership it left.
fn applied_in(
    r: &redb::ReadTransaction,
) -> Result<(Option<LogId<NodeId>>, Membership), StoreError> {
    let applied = get_state::<Option<LogId<NodeId>>>(r, APPLIED)?.flatten();
    let membership = get_state::<Membership>(r, MEMBERSHIP)?.unwrap_or_default();
    Ok((applied, membership))
}

/// The replicas (voters and learners) of the membership the state machine last applied.
pub fn applied_members(
    r: &redb::ReadTransaction,
) -> Result<std::collections::BTreeSet<NodeId>, StoreError> {
    let (_, m) = applied_in(r)?;
    Ok(m.membership().nodes().map(|(id, _)| *id).collect())
}

/// Builds snapshots of a replica's state machine.
#[derive(Debug, Clone)]
pub struct SnapshotBuilder(StateMachine);

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, RaftStorageError> {
        let sm = self.0.clone();
        blocking(move || sm.build()).await
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, Membership), RaftStorageError> {
        applied_in(&self.store.read().map_err(sm_read)?).map_err(sm_read)
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Reply>, RaftStorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let (sm, entries): (Self, Vec<Entry>) = (self.clone(), entries.into_iter().collect());
        blocking(move || sm.apply_all(entries)).await
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder(self.clone())
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, RaftStorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), RaftStorageError> {
        let (sm, meta) = (self.clone(), meta.clone());
        blocking(move || sm.install(&meta, snapshot.into_inner())).await
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, RaftStorageError> {
        let r = self.store.read().map_err(sm_read)?;
        let stored: Option<Stored> = get_state(&r, SNAPSHOT).map_err(sm_read)?;
        Ok(stored.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}
