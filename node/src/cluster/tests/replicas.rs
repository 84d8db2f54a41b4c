//! Three replicas in one process, each on its own redb file, over an in-process network
//! that can cut any link: a leader stopped, a leader partitioned away and healed (its
//! uncommitted tail is dropped), a replica brought up by a snapshot after the log it
//! missed was purged (snapshots every 10 entries, the log purged up to each), and every
//! replica restarted from its file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::{Config, Raft};

use super::super::local::{Factory, Net, R, config};
use super::super::*;
use super::{Serials, command};
use crate::store::{Store, StoreOptions};

/// A cluster of replicas numbered 1…n, each on its own file under `dir`.
struct Cluster {
    net: Arc<Net>,
    dir: PathBuf,
    config: Arc<Config>,
    stores: BTreeMap<NodeId, Arc<Store>>,
}

impl Cluster {
    fn new(dir: PathBuf, config: Config) -> Self {
        Self {
            net: Arc::default(),
            dir,
            config: Arc::new(config.validate().unwrap()),
            stores: BTreeMap::new(),
        }
    }

    /// Starts replica `id` from its file (made on first start).
    async fn start(&mut self, id: NodeId) -> R {
        // A stopped replica's tasks let go of its file shortly after `shutdown` returns.
        let path = self.dir.join(format!("{id}.redb"));
        let mut tries = 0;
        let store = loop {
            match Store::open(&path, StoreOptions::default()) {
                Ok(s) => break Arc::new(s),
                Err(e) if tries < 100 => {
                    tries += 1;
                    tracing::debug!(%e, "waiting for replica {id}'s file");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("replica {id}'s file: {e}"),
            }
        };
        self.stores.insert(id, store.clone());
        let (log, sm) = storage(store, Arc::new(Serials));
        let factory = Factory {
            net: self.net.clone(),
            from: id,
        };
        let raft = Raft::new(id, self.config.clone(), factory, log, sm)
            .await
            .unwrap();
        self.net.nodes.lock().unwrap().insert(id, raft.clone());
        raft
    }

    /// Stops replica `id` (as a crash would, as far as the others can tell) and closes
    /// its file.
    async fn stop(&mut self, id: NodeId) {
        let raft = self.net.nodes.lock().unwrap().remove(&id).unwrap();
        raft.shutdown().await.unwrap();
        drop(raft);
        self.stores.remove(&id);
    }

    /// Starts replicas 1, 2 and 3 and makes them one cluster.
    async fn start_three(&mut self) {
        for id in 1..=3 {
            self.start(id).await;
        }
        self.raft(1)
            .initialize(BTreeSet::from([1, 2, 3]))
            .await
            .unwrap();
    }

    fn raft(&self, id: NodeId) -> R {
        self.net.nodes.lock().unwrap()[&id].clone()
    }

    /// The leader the replicas in `among` agree on.
    async fn leader(&self, among: &[NodeId]) -> NodeId {
        self.net.leader(among).await
    }

    /// Writes serial `n` under request id `id` through the leader among `among`.
    async fn write(&self, among: &[NodeId], id: u8, n: u32) -> Reply {
        let l = self.leader(among).await;
        self.raft(l)
            .client_write(command(id, n))
            .await
            .unwrap()
            .data
    }

    /// Waits until every replica in `among` has applied through the same entry and
    /// holds the same serials; returns them.
    async fn settled(&self, among: &[NodeId]) -> Vec<u8> {
        for _ in 0..200 {
            let applied: BTreeSet<_> = among
                .iter()
                .map(|id| self.raft(*id).metrics().borrow().last_applied)
                .collect();
            let dumps: BTreeSet<Vec<u8>> = among
                .iter()
                .map(|id| Serials.dump(&self.stores[id].read().unwrap()).unwrap())
                .collect();
            if applied.len() == 1 && dumps.len() == 1 {
                return dumps.into_iter().next().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("replicas {among:?} did not converge");
    }
}

fn serials(ns: impl IntoIterator<Item = u32>) -> Vec<u8> {
    ns.into_iter().flat_map(u32::to_be_bytes).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_leader_stopped_is_replaced_a_retry_takes_nothing_twice_and_every_replica_restarts_from_its_file()
 {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let mut c = Cluster::new(dir.path().to_owned(), config());
        c.start_three().await;
        for n in 1..=10 {
            assert_eq!(c.write(&[1, 2, 3], n as u8, n).await, Reply(serials([n])));
        }
        let old = c.leader(&[1, 2, 3]).await;
        c.stop(old).await;
        let rest: Vec<NodeId> = (1..=3).filter(|i| *i != old).collect();
        for n in 11..=20 {
            c.write(&rest, n as u8, n).await;
        }
        // A client that did not hear the answer for serial 5 retries through the new
        // leader: the first answer, and nothing taken again (the machine would halt).
        assert_eq!(c.write(&rest, 5, 5).await, Reply(serials([5])));
        assert_eq!(c.settled(&rest).await, serials(1..=20));
        // Every replica stops and starts again from its redb file.
        for id in rest.clone() {
            c.stop(id).await;
        }
        for id in 1..=3 {
            c.start(id).await;
        }
        c.write(&[1, 2, 3], 21, 21).await;
        assert_eq!(c.settled(&[1, 2, 3]).await, serials(1..=21));
    });
}

#[test]
fn a_partitioned_leader_loses_its_uncommitted_tail_when_the_partition_heals() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let mut c = Cluster::new(dir.path().to_owned(), config());
        c.start_three().await;
        c.write(&[1, 2, 3], 1, 1).await;
        let old = c.leader(&[1, 2, 3]).await;
        let rest: Vec<NodeId> = (1..=3).filter(|i| *i != old).collect();
        c.net.isolate(old, &rest);
        // The old leader takes a write it can never commit: no answer comes.
        let stranded = c.raft(old);
        let pending = tokio::spawn(async move { stranded.client_write(command(99, 9)).await });
        let new = c.leader(&rest).await;
        assert_ne!(new, old);
        c.write(&rest, 2, 2).await;
        assert!(!pending.is_finished(), "an uncommitted write was answered");
        c.net.heal();
        // Healed: the old leader follows, its tail (serial 9) is gone, and the client is
        // told it was not the leader rather than that serial 9 was taken.
        assert_eq!(c.settled(&[1, 2, 3]).await, serials([1, 2]));
        let answer = tokio::time::timeout(Duration::from_secs(10), pending)
            .await
            .expect("the stranded write is answered once healed")
            .unwrap();
        assert!(answer.is_err(), "{answer:?}");
        for id in 1..=3 {
            let entries = crate::store::raft::entries(&c.stores[&id].read().unwrap(), ..).unwrap();
            assert!(
                !entries
                    .iter()
                    .any(|e| serde_json::from_slice::<Entry>(e).unwrap().payload
                        == openraft::EntryPayload::Normal(command(99, 9))),
                "replica {id} still holds the uncommitted entry"
            );
        }
    });
}

#[test]
fn a_replica_that_missed_a_purged_log_is_brought_up_by_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let mut c = Cluster::new(
            dir.path().to_owned(),
            Config {
                snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(10),
                max_in_snapshot_log_to_keep: 0,
                purge_batch_size: 1,
                ..config()
            },
        );
        c.start_three().await;
        c.write(&[1, 2, 3], 1, 1).await;
        let leader = c.leader(&[1, 2, 3]).await;
        let behind = (1..=3).find(|i| *i != leader).unwrap();
        let up: Vec<NodeId> = (1..=3).filter(|i| *i != behind).collect();
        c.stop(behind).await;
        for n in 2..=30 {
            c.write(&up, n as u8, n).await;
        }
        // The leader has snapshotted past what the stopped replica holds and purged the
        // log up to its snapshot.
        let l = c.raft(leader);
        l.wait(Some(Duration::from_secs(10)))
            .metrics(
                |m| m.purged.is_some_and(|p| p.index >= 10),
                "the leader's log purged past a snapshot",
            )
            .await
            .unwrap();
        // The replica comes back from its file; the entries it lacks are gone from the
        // leader's log, so it is sent the snapshot.
        c.start(behind).await;
        assert_eq!(c.settled(&[1, 2, 3]).await, serials(1..=30));
        let m = c.raft(behind).metrics().borrow().clone();
        assert!(
            m.snapshot.is_some(),
            "replica {behind} installed a snapshot: {m:?}"
        );
    });
}
