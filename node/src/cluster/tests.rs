//! openraft's own storage test suite against the redb adapter, and the state machine's
//! request-id deduplication and halt on a broken invariant.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};

use super::*;
use crate::store::{Store, StoreOptions};

/// A machine that hands out licence serials: a command takes serial `n` (4 bytes) and
/// answers it; a serial taken twice halts the replica.
struct Serials;

const TAKEN: &str = "cluster_test_serials";

impl Machine for Serials {
    fn apply(&self, w: &mut WriteBatch<'_>, body: &[u8]) -> Result<Vec<u8>, MachineError> {
        let n: [u8; 4] = body
            .try_into()
            .map_err(|_| MachineError::Malformed("a serial is 4 bytes".into()))?;
        let key = format!("{TAKEN}.{}", u32::from_be_bytes(n));
        if crate::store::meta_get(w, &key)?.is_some() {
            return Err(MachineError::Invariant(format!(
                "serial {} is taken already",
                u32::from_be_bytes(n)
            )));
        }
        crate::store::meta_put(w, &key, &[1])?;
        Ok(body.to_vec())
    }

    fn dump(&self, r: &redb::ReadTransaction) -> Result<Vec<u8>, MachineError> {
        let mut taken = Vec::new();
        for n in 0..64u32 {
            if crate::store::meta_get(r, &format!("{TAKEN}.{n}"))?.is_some() {
                taken.extend_from_slice(&n.to_be_bytes());
            }
        }
        Ok(taken)
    }

    fn restore(&self, w: &mut WriteBatch<'_>, dump: &[u8]) -> Result<(), MachineError> {
        for n in 0..64u32 {
            crate::store::meta_remove(w, &format!("{TAKEN}.{n}"))?;
        }
        for n in dump.chunks(4) {
            let n = u32::from_be_bytes(
                n.try_into()
                    .map_err(|_| MachineError::Malformed("a serial is 4 bytes".into()))?,
            );
            crate::store::meta_put(w, &format!("{TAKEN}.{n}"), &[1])?;
        }
        Ok(())
    }
}

/// Each build: a fresh redb file.
struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), RaftStorageError> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(
            Store::open(&dir.path().join("raft.redb"), StoreOptions::default()).expect("a store"),
        );
        let (log, sm) = storage(store, Arc::new(Serials));
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite_passes_against_the_redb_adapter() {
    Suite::test_all(Builder).unwrap();
}

fn command(id: u8, serial: u32) -> Command {
    Command {
        request_id: [id; 16],
        body: serial.to_be_bytes().to_vec(),
    }
}

fn entry(index: u64, c: Command) -> Entry {
    Entry {
        log_id: openraft::testing::log_id(1, 0, index),
        payload: openraft::EntryPayload::Normal(c),
    }
}

#[test]
fn a_retried_command_is_answered_again_and_never_applied_twice_and_a_taken_serial_halts() {
    use openraft::storage::RaftStateMachine;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raft.redb");
    let store = Arc::new(Store::open(&path, StoreOptions::default()).unwrap());
    let (_, mut sm) = storage(store.clone(), Arc::new(Serials));
    // A client retried during a failover: the same request id twice takes one serial.
    let replies = rt
        .block_on(sm.apply(vec![entry(1, command(1, 7)), entry(2, command(1, 7))]))
        .unwrap();
    assert_eq!(replies, vec![Reply(vec![0, 0, 0, 7]); 2]);
    assert_eq!(Serials.dump(&store.read().unwrap()).unwrap(), [0, 0, 0, 7]);
    // Another request for a serial already taken halts the replica; nothing of its batch
    // is written, not even the command before it.
    let e = rt
        .block_on(sm.apply(vec![entry(3, command(2, 8)), entry(4, command(3, 7))]))
        .unwrap_err();
    assert!(e.to_string().contains("serial 7 is taken already"), "{e}");
    assert_eq!(Serials.dump(&store.read().unwrap()).unwrap(), [0, 0, 0, 7]);
    assert_eq!(sm.applied().unwrap().map(|l| l.index), Some(2));
    // Reopened from its file, the replica resumes after the last entry it applied.
    drop((sm, store));
    let store = Arc::new(Store::open(&path, StoreOptions::default()).unwrap());
    let (_, mut sm) = storage(store, Arc::new(Serials));
    let (applied, _) = rt.block_on(sm.applied_state()).unwrap();
    assert_eq!(applied.map(|l| l.index), Some(2));
}

mod replicas;
