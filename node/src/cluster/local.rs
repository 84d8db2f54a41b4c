//! Replicas in one process: a network of in-memory links between Raft handles, by id,
//! any of which can be cut. Each replica is real (its own redb file, its own openraft);
//! only the links are not. The replicated tests and `exlic-bench-cluster` run on it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, Config, Raft};

use super::{NodeId, TypeConfig};

/// A replica's Raft handle.
pub type R = Raft<TypeConfig>;

/// The in-process network: which replicas are up, and which links are cut.
#[derive(Default)]
pub struct Net {
    /// The replicas that are up.
    pub nodes: Mutex<BTreeMap<NodeId, R>>,
    /// The links that are cut, (from, to).
    pub cut: Mutex<BTreeSet<(NodeId, NodeId)>>,
}

impl Net {
    /// Replica `to`'s handle as `from` reaches it: unreachable when it is down or the link
    /// is cut.
    pub fn reach(&self, from: NodeId, to: NodeId) -> Result<R, Unreachable> {
        let down = || Unreachable::new(&std::io::Error::other(format!("{to} unreachable")));
        if self.cut.lock().unwrap().contains(&(from, to)) {
            return Err(down());
        }
        self.nodes
            .lock()
            .unwrap()
            .get(&to)
            .cloned()
            .ok_or_else(down)
    }

    /// Cuts every link between `node` and the others, both ways.
    pub fn isolate(&self, node: NodeId, others: &[NodeId]) {
        let mut cut = self.cut.lock().unwrap();
        for &o in others {
            cut.insert((node, o));
            cut.insert((o, node));
        }
    }

    /// The leader every replica of `among` that is up names, if they agree on one of them.
    pub fn agreed_leader(&self, among: &[NodeId]) -> Option<NodeId> {
        let nodes = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
        let seen: BTreeSet<Option<NodeId>> = among
            .iter()
            .filter_map(|id| nodes.get(id))
            .map(|r| r.metrics().borrow().current_leader)
            .collect();
        match seen.iter().collect::<Vec<_>>()[..] {
            [Some(l)] if among.contains(l) => Some(*l),
            _ => None,
        }
    }

    /// Waits up to 5 s for the replicas of `among` to agree on a leader; it.
    pub async fn leader(&self, among: &[NodeId]) -> NodeId {
        for _ in 0..200 {
            if let Some(l) = self.agreed_leader(among) {
                return l;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("no leader among {among:?}");
    }

    /// Restores every link.
    pub fn heal(&self) {
        self.cut.lock().unwrap().clear();
    }
}

/// One replica's link to another.
pub struct Link {
    net: Arc<Net>,
    from: NodeId,
    to: NodeId,
}

/// Makes the links of replica `from`.
pub struct Factory {
    /// The network.
    pub net: Arc<Net>,
    /// The replica whose links these are.
    pub from: NodeId,
}

impl RaftNetworkFactory<TypeConfig> for Factory {
    type Network = Link;

    async fn new_client(&mut self, target: NodeId, _: &BasicNode) -> Link {
        Link {
            net: self.net.clone(),
            from: self.from,
            to: target,
        }
    }
}

fn remote<E: std::error::Error>(
    to: NodeId,
    e: RaftError<NodeId, E>,
) -> RPCError<NodeId, BasicNode, RaftError<NodeId, E>> {
    RPCError::RemoteError(RemoteError::new(to, e))
}

impl RaftNetwork<TypeConfig> for Link {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let t = self.net.reach(self.from, self.to)?;
        t.append_entries(rpc).await.map_err(|e| remote(self.to, e))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let t = self.net.reach(self.from, self.to)?;
        t.install_snapshot(rpc)
            .await
            .map_err(|e| remote(self.to, e))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let t = self.net.reach(self.from, self.to)?;
        t.vote(rpc).await.map_err(|e| remote(self.to, e))
    }
}

/// Timings for replicas in one process: elections in well under a second.
pub fn config() -> Config {
    Config {
        heartbeat_interval: 50,
        election_timeout_min: 200,
        election_timeout_max: 400,
        ..Default::default()
    }
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net")
            .field(
                "up",
                &self
                    .nodes
                    .lock()
                    .map(|n| n.keys().copied().collect::<Vec<_>>()),
            )
            .field("cut", &self.cut.lock().map(|c| c.len()))
            .finish()
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

impl std::fmt::Debug for Factory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factory").field("from", &self.from).finish()
    }
}
