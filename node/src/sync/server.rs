//! The authority's network side: listens, accepts requests, runs each on the blocking pool
//! through [`Authority::handle`], answers, and drops peers that break the protocol.
//!
//! Peers are budgeted by the work they hold, not by how often they ask: each may have a
//! few requests in progress at once ([`PeerBudget`]), and one more is answered
//! `RateLimited` at once, for nothing. An honest node asks one request at a time, so
//! it never meets the limit and its backlog drains as fast as the office works (a batch
//! of submissions is one request); a peer that floods holds no more of the office's
//! workers than its budget, so the others are served beside it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, request_response};
use tokio::sync::mpsc;

use super::net::{self, BehaviourEvent, NetLimits};
use crate::authority::Authority;
use exlic_client::protocol::{ErrorCode, Response};

/// What one peer may hold of the office's work at once.
#[derive(Debug, Clone, Copy)]
pub struct PeerBudget {
    /// Requests of one peer in progress at once.
    pub in_flight: u32,
}

impl Default for PeerBudget {
    fn default() -> Self {
        Self { in_flight: 4 }
    }
}

/// The requests of each peer in progress, against the [`PeerBudget`].
#[derive(Debug, Default)]
struct InFlight {
    held: HashMap<PeerId, u32>,
}

impl InFlight {
    /// Takes a slot for a request of `peer`; `false` (take nothing) if it holds its
    /// budget already.
    fn admit(&mut self, peer: PeerId, budget: &PeerBudget) -> bool {
        let held = self.held.entry(peer).or_default();
        if *held >= budget.in_flight {
            return false;
        }
        *held += 1;
        true
    }

    /// A request of `peer` was answered.
    fn release(&mut self, peer: &PeerId) {
        if let Some(n) = self.held.get_mut(peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.held.remove(peer);
            }
        }
    }

    /// `peer` went away.
    fn forget(&mut self, peer: &PeerId) {
        self.held.remove(peer);
    }
}

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The authority's key could not be read.
    #[error(transparent)]
    Authority(#[from] crate::authority::AuthorityError),
    /// libp2p could not be set up.
    #[error("libp2p: {0}")]
    Swarm(String),
    /// An address could not be listened on.
    #[error("{}", crate::cluster::p2p::listen_reason(.0))]
    Listen(#[from] libp2p::TransportError<std::io::Error>),
}

/// Runs the authority's libp2p listener until `shutdown` resolves. Sends the bound
/// addresses on `bound` once listening.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    authority: Arc<Authority>,
    listen: Vec<Multiaddr>,
    limits: NetLimits,
    counters: Arc<net::Counters>,
    budget: PeerBudget,
    bound: tokio::sync::oneshot::Sender<Vec<Multiaddr>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), ListenError> {
    let seed = crate::authority::key_seed(authority.store())?;
    let mut swarm =
        net::build(seed, &limits, counters).map_err(|e| ListenError::Swarm(e.to_string()))?;
    for a in &listen {
        swarm.listen_on(a.clone())?;
    }
    let mut bound = Some(bound);
    let mut addrs = Vec::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(
        PeerId,
        request_response::ResponseChannel<Response>,
        Response,
        bool,
    )>();
    let mut in_flight = InFlight::default();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some((peer, channel, response, drop_peer)) = done_rx.recv() => {
                in_flight.release(&peer);
                if swarm.behaviour_mut().rr.send_response(channel, response).is_err() {
                    tracing::debug!(%peer, "peer went away before the answer");
                }
                if drop_peer {
                    tracing::warn!(%peer, "protocol violation: dropping the peer's session");
                    authority.replica.disconnected(&net::peer_key(&peer).unwrap_or_default());
                    // Let the error answer go out first.
                    let _ = swarm.disconnect_peer_id(peer);
                }
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::NewListenAddr { address, .. } => {
                    addrs.push(address);
                    if addrs.len() >= listen.len()
                        && let Some(tx) = bound.take() {
                            let _ = tx.send(addrs.clone());
                        }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    if let Some(k) = net::peer_key(&peer_id) {
                        authority.replica.disconnected(&k);
                    }
                    in_flight.forget(&peer_id);
                }
                SwarmEvent::Behaviour(BehaviourEvent::Rr(request_response::Event::Message {
                    peer,
                    message: request_response::Message::Request { request, channel, .. },
                    ..
                })) => {
                    let Some(key) = net::peer_key(&peer) else {
                        let _ = swarm.disconnect_peer_id(peer);
                        continue;
                    };
                    let request = match request {
                        super::codec::Inbound::Valid(r) => r,
                        super::codec::Inbound::Malformed(why) => {
                            tracing::warn!(%peer, %why, "malformed request; dropping the peer's session");
                            authority.replica.disconnected(&key);
                            let _ = swarm.behaviour_mut().rr.send_response(channel, Response::error(ErrorCode::BadRequest, why));
                            let _ = swarm.disconnect_peer_id(peer);
                            continue;
                        }
                    };
                    if !in_flight.admit(peer, &budget) {
                        let _ = swarm.behaviour_mut().rr.send_response(channel, Response::error(ErrorCode::RateLimited, "too many requests in progress; wait for their answers"));
                        continue;
                    }
                    let a = authority.clone();
                    let tx = done_tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let h = a.handle(key, request);
                        let _ = tx.send((peer, channel, h.response, h.drop_peer));
                    });
                }
                SwarmEvent::Behaviour(BehaviourEvent::Rr(request_response::Event::InboundFailure { peer, error, .. })) => {
                    // Malformed, truncated or oversized frames end up here: drop the session.
                    tracing::warn!(%peer, %error, "bad inbound request; dropping the peer's session");
                    if let Some(k) = net::peer_key(&peer) {
                        authority.replica.disconnected(&k);
                    }
                    let _ = swarm.disconnect_peer_id(peer);
                }
                _ => {}
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_holds_at_most_its_budget_and_others_are_not_charged_for_it() {
        let budget = PeerBudget { in_flight: 4 };
        let (flood, honest) = (PeerId::random(), PeerId::random());
        let mut f = InFlight::default();
        let admitted = (0..100).filter(|_| f.admit(flood, &budget)).count();
        assert_eq!(admitted, 4, "a flooding peer holds no more than its budget");
        assert!(f.admit(honest, &budget), "another peer is served beside it");
        f.release(&flood);
        assert!(f.admit(flood, &budget), "an answer frees a slot");
        assert!(!f.admit(flood, &budget));
        f.forget(&flood);
        assert!(
            f.admit(flood, &budget),
            "a peer that went away starts afresh"
        );
        for _ in 0..10 {
            f.release(&honest);
        }
        assert!(
            !f.held.contains_key(&honest),
            "release never goes below zero"
        );
    }
}
