//! The office as one of several replicas: its commands proposed through openraft
//! ([`Proposer`]) and the state machine that applies them on every replica
//! ([`OfficeMachine`]), with the whole office as a snapshot.

use std::sync::Arc;

use crate::cluster::{Command, Machine, MachineError, TypeConfig};
use crate::store::{WriteBatch, dump};

use super::command::{self, Outcome, Refused, Stamped};
use super::office::Office;
use super::{Authority, AuthorityError};

/// The replica's Raft handle, and the runtime its writes are driven on.
pub struct Proposer {
    raft: openraft::Raft<TypeConfig>,
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
        let written = self
            .runtime
            .block_on(self.raft.client_write(cmd))
            .map_err(|e| AuthorityError::Unavailable(e.to_string()))?;
        command::decode_reply(&written.data.0)
            .map_err(|e| AuthorityError::Unavailable(format!("an unreadable reply: {e}")))?
            .map_err(Refused::into_error)
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
        Ok(dump::restore(w, data)?)
    }
}

impl Authority {
    /// The state machine a replica of this office runs under openraft.
    pub fn machine(&self) -> Arc<OfficeMachine> {
        Arc::new(OfficeMachine(self.office.clone()))
    }

    /// Makes this office one replica of several: from now on its writes are proposed
    /// through `raft` (driven on `runtime`) and applied from the log. Set once.
    pub fn replicate(&self, raft: openraft::Raft<TypeConfig>, runtime: tokio::runtime::Handle) {
        if self
            .office
            .replicated
            .set(Proposer { raft, runtime })
            .is_err()
        {
            tracing::warn!("the office is replicated already");
        }
    }
}
