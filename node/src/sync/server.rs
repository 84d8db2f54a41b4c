//! The authority's network side: listens, accepts requests, runs each on the blocking pool
//! through [`Authority::handle`], answers, and drops peers that break the protocol. A
//! per-peer token bucket limits request rates.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, request_response};
use tokio::sync::mpsc;

use super::net::{self, BehaviourEvent, NetLimits};
use crate::authority::Authority;
use exlic_client::protocol::{ErrorCode, Response};

/// Requests per second a peer may sustain, and its burst.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Burst size.
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 200.0,
            burst: 400.0,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
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
    #[error("listen: {0}")]
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
    rate: RateLimit,
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
    let mut buckets: HashMap<PeerId, Bucket> = HashMap::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some((peer, channel, response, drop_peer)) = done_rx.recv() => {
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
                    buckets.remove(&peer_id);
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
                    let b = buckets.entry(peer).or_insert(Bucket { tokens: rate.burst, at: Instant::now() });
                    let now = Instant::now();
                    b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate.per_second).min(rate.burst);
                    b.at = now;
                    if b.tokens < 1.0 {
                        let _ = swarm.behaviour_mut().rr.send_response(channel, Response::error(ErrorCode::RateLimited, "too many requests; slow down"));
                        continue;
                    }
                    b.tokens -= 1.0;
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
