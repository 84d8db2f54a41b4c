//! Adding and removing a replica of a running office (a membership change): run on the
//! leader, forwarded there by a follower. A new replica is first a learner the leader
//! brings up to date, then a voter; an office never drops below three voters.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use openraft::{BasicNode, Raft};
use serde::{Deserialize, Serialize};

use super::write::Forward;
use super::{NodeId, TypeConfig};

/// How long a new replica may take to catch up with the leader before it is made a voter.
pub const CATCH_UP: Duration = Duration::from_secs(120);
/// The fewest voters an office keeps: one may be lost and the office still writes.
pub const MIN_VOTERS: usize = 3;

/// A change to the office's voters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Add replica `id`, which the others reach at `addr` (a multiaddress).
    Add {
        /// Its id: 1 or more, not a voter already.
        id: NodeId,
        /// Where the others reach it.
        addr: String,
    },
    /// Remove voter `id`.
    Remove {
        /// Its id.
        id: NodeId,
    },
}

/// Why a membership change was not made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum MembershipError {
    /// The change cannot be made to the office as it is (nothing changed): the field and
    /// the rule.
    #[error("{field}: {message}")]
    Refused {
        /// The field (`id` or `addr`).
        field: String,
        /// The rule it breaks, as a code for a translated message: `id_zero`,
        /// `voter_already`, `not_voter`, `too_few`, `addr_not_multiaddr`, `addr_peer_id`.
        rule: String,
        /// The rule it breaks, in words.
        message: String,
    },
    /// The replicas could not make it now (no leader, the new replica unreachable); the
    /// voters may be as before or changed, as the status shows.
    #[error("the office's replicas did not change: {0}")]
    Unavailable(String),
}

fn refused(field: &str, rule: &str, message: String) -> MembershipError {
    MembershipError::Refused {
        field: field.into(),
        rule: rule.into(),
        message,
    }
}

/// The voters of `raft`'s latest membership.
pub fn voters(raft: &Raft<TypeConfig>) -> BTreeSet<NodeId> {
    raft.metrics()
        .borrow()
        .membership_config
        .membership()
        .voter_ids()
        .collect()
}

/// Checks `change` against the voters `now`; the voters after it.
pub fn check(change: &Change, now: &BTreeSet<NodeId>) -> Result<BTreeSet<NodeId>, MembershipError> {
    let mut after = now.clone();
    match change {
        Change::Add { id, addr } => {
            if *id == 0 {
                return Err(refused("id", "id_zero", "must be 1 or more".into()));
            }
            if now.contains(id) {
                return Err(refused(
                    "id",
                    "voter_already",
                    format!("replica {id} is a voter already"),
                ));
            }
            let m: libp2p::Multiaddr = addr.parse().map_err(|_| {
                refused(
                    "addr",
                    "addr_not_multiaddr",
                    format!("{addr:?} is not a multiaddress, e.g. /ip4/10.0.0.4/tcp/7400"),
                )
            })?;
            if m.iter()
                .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
            {
                return Err(refused(
                    "addr",
                    "addr_peer_id",
                    format!(
                        "{addr:?} names a peer id; a replica's is derived from the office's key and its id"
                    ),
                ));
            }
            after.insert(*id);
        }
        Change::Remove { id } => {
            if !now.contains(id) {
                return Err(refused(
                    "id",
                    "not_voter",
                    format!("replica {id} is not a voter"),
                ));
            }
            if now.len() <= MIN_VOTERS {
                return Err(refused(
                    "id",
                    "too_few",
                    format!(
                        "the office has {} voters and keeps at least {MIN_VOTERS}; add a replica before removing one",
                        now.len()
                    ),
                ));
            }
            after.remove(id);
        }
    }
    Ok(after)
}

/// On the leader: makes `change`; the voters after it. A new replica is added as a learner,
/// waited for until it has every entry (up to [`CATCH_UP`]), then made a voter.
pub async fn apply(
    raft: &Raft<TypeConfig>,
    change: Change,
) -> Result<BTreeSet<NodeId>, MembershipError> {
    let unavailable = |e: &dyn std::fmt::Display| MembershipError::Unavailable(e.to_string());
    let after = check(&change, &voters(raft))?;
    if let Change::Add { id, addr } = &change {
        raft.add_learner(*id, BasicNode::new(addr), false)
            .await
            .map_err(|e| unavailable(&e))?;
        let id = *id;
        raft.wait(Some(CATCH_UP))
            .metrics(
                |m| {
                    let (Some(last), Some(r)) = (m.last_log_index, m.replication.as_ref()) else {
                        return false;
                    };
                    r.get(&id)
                        .copied()
                        .flatten()
                        .is_some_and(|l| l.index >= last)
                },
                "the new replica caught up",
            )
            .await
            .map_err(|e| {
                MembershipError::Unavailable(format!(
                    "replica {id} did not catch up with the leader within {CATCH_UP:?} ({e}); it stays a learner: check that it runs and that the leader reaches it at its address, then ask again"
                ))
            })?;
    }
    raft.change_membership(after.clone(), false)
        .await
        .map_err(|e| unavailable(&e))?;
    tracing::info!(?change, voters = ?after, "changed the office's voters");
    Ok(after)
}

/// Makes `change` through any replica: here on the leader, or forwarded to it.
pub async fn change(
    raft: &Raft<TypeConfig>,
    forward: &Forward,
    change: Change,
) -> Result<BTreeSet<NodeId>, MembershipError> {
    // Refuse what is plainly wrong here, before any leader is asked.
    check(&change, &voters(raft))?;
    let me = raft.metrics().borrow().id;
    match raft.current_leader().await {
        Some(l) if l == me => apply(raft, change).await,
        Some(l) => forward.membership(l, change).await,
        None => Err(MembershipError::Unavailable("no leader is elected".into())),
    }
}

/// The addresses of `raft`'s latest membership, voters and learners.
pub fn addresses(m: &openraft::RaftMetrics<NodeId, BasicNode>) -> BTreeMap<NodeId, String> {
    m.membership_config
        .membership()
        .nodes()
        .map(|(id, n)| (*id, n.addr.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[u64]) -> BTreeSet<u64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn a_change_names_the_field_and_rule_it_breaks() {
        let three = set(&[1, 2, 3]);
        let add = |id, addr: &str| Change::Add {
            id,
            addr: addr.into(),
        };
        assert_eq!(
            check(&add(4, "/ip4/127.0.0.1/tcp/7400"), &three),
            Ok(set(&[1, 2, 3, 4]))
        );
        let field = |r: Result<_, MembershipError>| match r {
            Err(MembershipError::Refused { field, message, .. }) => (field, message),
            other => panic!("expected a refusal, got {other:?}"),
        };
        let (f, m) = field(check(&add(2, "/ip4/127.0.0.1/tcp/7400"), &three));
        assert_eq!(f, "id");
        assert!(m.contains("voter already"), "{m}");
        assert_eq!(field(check(&add(0, "/ip4/1.2.3.4/tcp/1"), &three)).0, "id");
        let (f, m) = field(check(&add(4, "10.0.0.4:7400"), &three));
        assert_eq!(f, "addr");
        assert!(m.contains("not a multiaddress"), "{m}");
        let with_peer =
            "/ip4/1.2.3.4/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
        assert_eq!(field(check(&add(4, with_peer), &three)).0, "addr");
        let (f, m) = field(check(&Change::Remove { id: 2 }, &three));
        assert_eq!(f, "id");
        assert!(m.contains("at least 3"), "{m}");
        assert_eq!(
            check(&Change::Remove { id: 2 }, &set(&[1, 2, 3, 4])),
            Ok(set(&[1, 3, 4]))
        );
        assert_eq!(field(check(&Change::Remove { id: 9 }, &three)).0, "id");
    }
}
