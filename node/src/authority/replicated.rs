//! The office as one of several replicas: its commands proposed through openraft
//! ([`Proposer`]) and the state machine that applies them on every replica
//! ([`OfficeMachine`]), with the whole office as a snapshot.

use std::sync::Arc;

use exlic_client::authority::{ClusterStatus, ReplicaStatus};

use crate::cluster::membership::{self, Change, MembershipError};
use crate::cluster::write::{self, Forward};
use crate::cluster::{Command, Machine, MachineError, TypeConfig};
use crate::store::{WriteBatch, dump};

use super::command::{self, Outcome, Refused, Stamped};
use super::office::Office;
use super::{Authority, AuthorityError};

/// How long a write waits for the replicas to commit it (through an election, say)
/// before it is answered `Unavailable`.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(15);

/// The replica's Raft handle, how it reaches the leader, and the runtime its writes are
/// driven on.
pub struct Proposer {
    raft: openraft::Raft<TypeConfig>,
    forward: Forward,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Proposer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proposer").finish_non_exhaustive()
    }
}

impl Proposer {
    /// Proposes `c` and waits until it is committed and applied here; its answer. Called
    /// from a blocking thread (the API runs office work on tokio's blocking pool).
    pub(super) fn propose(&self, c: &Stamped) -> Result<Outcome, AuthorityError> {
        let cmd = Command {
            request_id: crate::random::bytes(),
            body: command::encode(c),
        };
        let reply = self
            .runtime
            .block_on(write::write(&self.raft, &self.forward, cmd, PATIENCE))
            .map_err(|e| AuthorityError::Unavailable(e.to_string()))?;
        command::decode_reply(&reply.0)
            .map_err(|e| AuthorityError::Unavailable(format!("an unreadable reply: {e}")))?
            .map_err(Refused::into_error)
    }

    /// Waits until this replica has applied every write committed before the call, so a
    /// check it makes next decides on the office as it stands (a linearizable read).
    pub(super) fn barrier(&self) -> Result<(), AuthorityError> {
        self.runtime
            .block_on(write::barrier(&self.raft, &self.forward, PATIENCE))
            .map_err(|e| AuthorityError::Unavailable(e.to_string()))
    }
}

/// The office's state machine: applies each command with [`command::apply`].
#[derive(Debug, Clone)]
pub struct OfficeMachine(Arc<Office>);

impl Machine for OfficeMachine {
    fn apply(&self, w: &mut WriteBatch<'_>, body: &[u8]) -> Result<Vec<u8>, MachineError> {
        let c = command::decode(body).map_err(|e| MachineError::Malformed(e.to_string()))?;
        match command::apply(&self.0, w, &c) {
            Ok(out) => Ok(command::encode_reply(&Ok(out))),
            Err(e) => match Refused::of(&e) {
                Some(r) => Err(MachineError::Refused(command::encode_reply(&Err(r)))),
                None => match e {
                    AuthorityError::Store(s) => Err(MachineError::Store(s)),
                    other => Err(MachineError::Invariant(other.to_string())),
                },
            },
        }
    }

    fn dump(&self, r: &redb::ReadTransaction) -> Result<Vec<u8>, MachineError> {
        Ok(dump::all(r)?)
    }

    fn restore(&self, w: &mut WriteBatch<'_>, data: &[u8]) -> Result<(), MachineError> {
        dump::restore(w, data)?;
        // The enterprises' feed is now the leader's, numbered as the leader numbered it:
        // positions read here before mean nothing in it.
        crate::store::feed::new_epoch(w)?;
        // The signing key and its chain are the leader's now.
        self.0
            .reload_signing(&*w)
            .map_err(|e| MachineError::Invariant(e.to_string()))?;
        // So are the reference data in force.
        super::reference::ReferencePublisher::reload(&self.0, &*w)
            .map_err(|e| MachineError::Invariant(e.to_string()))?;
        Ok(())
    }
}

impl Authority {
    /// This replica's view of the office's replicas; `None` for a lone office.
    pub fn cluster_status(&self) -> Option<ClusterStatus> {
        let p = self.office.replicated.get()?;
        let m = p.raft.metrics().borrow().clone();
        let role = match m.state {
            openraft::ServerState::Leader => "leader",
            openraft::ServerState::Follower => "follower",
            openraft::ServerState::Candidate => "candidate",
            openraft::ServerState::Learner => "learner",
            openraft::ServerState::Shutdown => "stopped",
        };
        let last_log = m.last_log_index.unwrap_or(0);
        let replication = m.replication.as_ref();
        let membership = m.membership_config.membership();
        let voters: std::collections::BTreeSet<u64> = membership.voter_ids().collect();
        let replicas = membership
            .nodes()
            .map(|(&id, node)| {
                // On the leader: the last entry each acknowledged this term (none yet for
                // a replica it has not heard from, which is all of the log behind).
                let known = replication.map(|r| r.get(&id).copied().flatten().map(|l| l.index));
                ReplicaStatus {
                    id,
                    addr: node.addr.clone(),
                    voter: voters.contains(&id),
                    matched: known.flatten(),
                    lag: known.map(|m| last_log.saturating_sub(m.unwrap_or(0))),
                }
            })
            .collect();
        Some(ClusterStatus {
            id: m.id,
            role: role.into(),
            leader: m.current_leader,
            term: m.current_term,
            last_log,
            applied: m.last_applied.map_or(0, |l| l.index),
            replicas,
        })
    }

    /// Adds or removes a replica of this replicated office (on the leader, or forwarded to
    /// it); the voters after the change. A lone office has no replicas to change. Called
    /// from a blocking thread.
    pub fn change_replicas(&self, change: Change) -> Result<Vec<u64>, MembershipError> {
        let p = self
            .office
            .replicated
            .get()
            .ok_or_else(|| MembershipError::Refused {
                field: "id".into(),
                rule: "alone".into(),
                message: "this office runs alone, not as replicas; make it replicas with `exlic authority cluster` first".into(),
            })?;
        p.runtime
            .block_on(membership::change(&p.raft, &p.forward, change))
            .map(|v| v.into_iter().collect())
    }

    /// The state machine a replica of this office runs under openraft.
    pub fn machine(&self) -> Arc<OfficeMachine> {
        Arc::new(OfficeMachine(self.office.clone()))
    }

    /// Makes this office one replica of several: from now on its writes are proposed
    /// through `raft` (driven on `runtime`; taken by a follower, sent to the leader by
    /// `forward`) and applied from the log. Set once.
    pub fn replicate(
        &self,
        raft: openraft::Raft<TypeConfig>,
        forward: Forward,
        runtime: tokio::runtime::Handle,
    ) {
        if self
            .office
            .replicated
            .set(Proposer {
                raft,
                forward,
                runtime,
            })
            .is_err()
        {
            tracing::warn!("the office is replicated already");
        }
    }
}

impl From<MembershipError> for AuthorityError {
    fn from(e: MembershipError) -> Self {
        match e {
            MembershipError::Refused { field, message, .. } => {
                AuthorityError::WrongState { field, message }
            }
            MembershipError::Unavailable(e) => AuthorityError::Unavailable(e),
        }
    }
}
