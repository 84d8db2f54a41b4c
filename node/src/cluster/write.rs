//! Writing a command through any replica: proposed here on the leader, forwarded to the
//! leader from a follower, and tried again (with the same request id, so it is applied
//! once) while the replicas elect a new one.

use std::sync::Arc;
use std::time::Duration;

use openraft::Raft;
use openraft::error::{ClientWriteError, RaftError};

use super::{Command, NodeId, Reply, TypeConfig};

/// How long a forwarded write may take on the leader.
pub const FORWARD_TTL: Duration = Duration::from_secs(10);
/// How long one attempt waits for its command to be committed.
const ATTEMPT: Duration = Duration::from_secs(5);
/// The pause before trying again.
const PAUSE: Duration = Duration::from_millis(100);

/// How a follower reaches the leader with a write.
#[derive(Debug, Clone)]
pub enum Forward {
    /// It does not: a write taken by a follower is refused (`Unavailable`).
    No,
    /// Over the replicas' libp2p network.
    P2p(super::p2p::Transport),
    /// Over the in-process network of tests and the bench, from replica `from`.
    Local {
        /// The network.
        net: Arc<super::local::Net>,
        /// This replica.
        from: NodeId,
    },
}

impl Forward {
    async fn send(&self, leader: NodeId, cmd: Command) -> Result<Reply, String> {
        match self {
            Forward::No => Err("this replica is not the leader".into()),
            Forward::P2p(t) => t.forward(leader, cmd).await,
            Forward::Local { net, from } => {
                let raft = net.reach(*from, leader).map_err(|e| e.to_string())?;
                raft.client_write(cmd)
                    .await
                    .map(|w| w.data)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Asks the leader to make a membership change.
    pub(super) async fn membership(
        &self,
        leader: NodeId,
        change: super::membership::Change,
    ) -> Result<std::collections::BTreeSet<NodeId>, super::membership::MembershipError> {
        use super::membership::{MembershipError, apply};
        match self {
            Forward::No => Err(MembershipError::Unavailable(
                "this replica is not the leader".into(),
            )),
            Forward::P2p(t) => t.membership(leader, change).await,
            Forward::Local { net, from } => {
                let raft = net
                    .reach(*from, leader)
                    .map_err(|e| MembershipError::Unavailable(e.to_string()))?;
                apply(&raft, change).await
            }
        }
    }

    async fn read_index(&self, leader: NodeId) -> Result<u64, String> {
        match self {
            Forward::No => Err("this replica is not the leader".into()),
            Forward::P2p(t) => t.read_index(leader).await,
            Forward::Local { net, from } => {
                read_index(&net.reach(*from, leader).map_err(|e| e.to_string())?).await
            }
        }
    }
}

/// On the leader: the log index a read must see applied to be linearizable, once a quorum
/// has confirmed this replica still leads.
pub async fn read_index(raft: &Raft<TypeConfig>) -> Result<u64, String> {
    raft.get_read_log_id()
        .await
        .map(|(read, _)| read.map_or(0, |l| l.index))
        .map_err(|e| e.to_string())
}

/// Waits until this replica has applied everything the leader had committed when asked
/// (a read barrier: a read after it sees every write acknowledged before it), trying
/// again through elections until `patience` runs out.
pub async fn barrier(
    raft: &Raft<TypeConfig>,
    forward: &Forward,
    patience: Duration,
) -> Result<(), WriteError> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut last;
    loop {
        let index = match raft.current_leader().await {
            Some(l) if l == raft_id(raft) => read_index(raft).await,
            Some(l) => forward.read_index(l).await,
            None => Err("no leader is elected".into()),
        };
        match index {
            Ok(i) => {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                return raft
                    .wait(Some(left))
                    .applied_index_at_least(Some(i), "read barrier")
                    .await
                    .map(|_| ())
                    .map_err(|e| WriteError::Unavailable(e.to_string()));
            }
            Err(e) => last = e,
        }
        if tokio::time::Instant::now() + PAUSE >= deadline {
            return Err(WriteError::Unavailable(last));
        }
        tokio::time::sleep(PAUSE).await;
    }
}

fn raft_id(raft: &Raft<TypeConfig>) -> NodeId {
    raft.metrics().borrow().id
}

/// Why a write was not made.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No leader took it within the patience given: the last reason.
    #[error("the office's replicas did not commit the write: {0}")]
    Unavailable(String),
    /// This replica has stopped (its storage failed, or it was shut down).
    #[error("this replica has stopped: {0}")]
    Stopped(String),
}

/// Writes `cmd` through `raft`, forwarding it to the leader when this replica is not, and
/// trying again until `patience` runs out; the command's reply once committed and applied.
pub async fn write(
    raft: &Raft<TypeConfig>,
    forward: &Forward,
    cmd: Command,
    patience: Duration,
) -> Result<Reply, WriteError> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut last;
    loop {
        match tokio::time::timeout(ATTEMPT, raft.client_write(cmd.clone())).await {
            Ok(Ok(w)) => return Ok(w.data),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                match f.leader_id {
                    Some(leader) => match forward.send(leader, cmd.clone()).await {
                        Ok(reply) => return Ok(reply),
                        Err(e) => last = format!("the leader, replica {leader}: {e}"),
                    },
                    None => last = "no leader is elected".into(),
                }
            }
            Ok(Err(RaftError::APIError(e))) => last = e.to_string(),
            Ok(Err(RaftError::Fatal(e))) => return Err(WriteError::Stopped(e.to_string())),
            Err(_) => last = format!("not committed within {ATTEMPT:?}"),
        }
        if tokio::time::Instant::now() + PAUSE >= deadline {
            return Err(WriteError::Unavailable(last));
        }
        tokio::time::sleep(PAUSE).await;
    }
}
