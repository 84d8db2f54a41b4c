//! The Raft log and vote in redb: each append one durable transaction, committed before
//! openraft is told the entries are flushed (a replica that acknowledged an entry to the
//! leader still holds it after kill -9).

use std::fmt::Debug;
use std::ops::RangeBounds;
use std::sync::Arc;

use super::{Entry, NodeId, RaftStorageError, TypeConfig, blocking};
use crate::store::{Store, StoreError, Txn, WriteBatch, raft};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{LogId, RaftLogReader, StorageIOError, Vote};

pub(super) const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const LAST_PURGED: &str = "last_purged";

/// The log and vote of one replica.
#[derive(Debug, Clone)]
pub struct LogStore {
    store: Arc<Store>,
}

fn read_err(e: impl std::error::Error + 'static) -> RaftStorageError {
    StorageIOError::read_logs(&e).into()
}

fn write_err(e: impl std::error::Error + 'static) -> RaftStorageError {
    StorageIOError::write_logs(&e).into()
}

/// The JSON value of state `name`.
pub(super) fn get_state<T: serde::de::DeserializeOwned>(
    txn: &impl Txn,
    name: &'static str,
) -> Result<Option<T>, StoreError> {
    let Some(v) = raft::state(txn, name)? else {
        return Ok(None);
    };
    serde_json::from_slice(&v)
        .map(Some)
        .map_err(|_| StoreError::Record(name))
}

/// Stores `value` as state `name`, in JSON.
pub(super) fn put_state<T: serde::Serialize>(
    w: &WriteBatch<'_>,
    name: &str,
    value: &T,
) -> Result<(), StoreError> {
    raft::put_state(
        w,
        name,
        &serde_json::to_vec(value).expect("raft state serialises"),
    )
}

fn decode(bytes: &[u8]) -> Result<Entry, StoreError> {
    serde_json::from_slice(bytes).map_err(|_| StoreError::Record("raft log entry"))
}

impl LogStore {
    /// Runs `edit` in one write and commits it durably, off the async workers.
    async fn commit(
        &self,
        edit: impl FnOnce(&WriteBatch<'_>) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<(), StoreError> {
        let store = self.store.clone();
        blocking(move || {
            let w = store.write()?;
            edit(&w)?;
            w.commit()
        })
        .await
    }

    /// The log over `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    fn entries(&self, range: impl RangeBounds<u64>) -> Result<Vec<Entry>, StoreError> {
        raft::entries(&self.store.read()?, range)?
            .iter()
            .map(|b| decode(b))
            .collect()
    }

    fn state(&self) -> Result<LogState<TypeConfig>, StoreError> {
        let r = self.store.read()?;
        let last_purged: Option<LogId<NodeId>> = get_state(&r, LAST_PURGED)?;
        let last = match raft::last_entry(&r)? {
            Some(v) => Some(decode(&v)?.log_id),
            None => last_purged,
        };
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, RaftStorageError> {
        self.entries(range).map_err(read_err)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, RaftStorageError> {
        self.state().map_err(read_err)
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), RaftStorageError> {
        let vote = *vote;
        self.commit(move |w| put_state(w, VOTE, &vote))
            .await
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, RaftStorageError> {
        let r = self
            .store
            .read()
            .map_err(|e| RaftStorageError::from(StorageIOError::read_vote(&e)))?;
        get_state(&r, VOTE).map_err(|e| StorageIOError::read_vote(&e).into())
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), RaftStorageError> {
        self.commit(move |w| put_state(w, COMMITTED, &committed))
            .await
            .map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, RaftStorageError> {
        let r = self.store.read().map_err(read_err)?;
        Ok(get_state::<Option<LogId<NodeId>>>(&r, COMMITTED)
            .map_err(read_err)?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), RaftStorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let rows: Vec<(u64, Vec<u8>)> = entries
            .into_iter()
            .map(|e| {
                let bytes = serde_json::to_vec(&e).expect("a log entry serialises");
                (e.log_id.index, bytes)
            })
            .collect();
        // Durable before it is reported flushed.
        let done = self
            .commit(move |w| {
                for (index, bytes) in &rows {
                    raft::put_entry(w, *index, bytes)?;
                }
                Ok(())
            })
            .await;
        match done {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), RaftStorageError> {
        self.commit(move |w| raft::remove_entries(w, log_id.index, u64::MAX))
            .await
            .map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), RaftStorageError> {
        self.commit(move |w| {
            put_state(w, LAST_PURGED, &log_id)?;
            raft::remove_entries(w, 0, log_id.index)
        })
        .await
        .map_err(write_err)
    }
}
