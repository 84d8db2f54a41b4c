//! The libp2p swarm both roles run: TCP + Noise + Yamux, identify, ping, connection
//! limits (in all and per source address) and the exlic request-response protocol.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{AsyncRead, AsyncWrite};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    PeerId, Swarm, Transport, connection_limits, identify, identity, noise, ping, request_response,
    tcp, yamux,
};

use super::codec::{Codec, protocol};

/// Limits on connections and requests.
#[derive(Debug, Clone)]
pub struct NetLimits {
    /// Connections per peer.
    pub per_peer: u32,
    /// Established inbound connections in all.
    pub inbound: u32,
    /// Pending inbound (handshaking) connections in all.
    pub pending_inbound: u32,
    /// Pending inbound connections from one source address ([`super::per_source`]).
    pub pending_per_source: u32,
    /// Time a request may take.
    pub request_timeout: Duration,
}

impl Default for NetLimits {
    fn default() -> Self {
        Self {
            per_peer: 2,
            inbound: 2000,
            pending_inbound: 256,
            pending_per_source: 16,
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// The behaviours of a node.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Unfinished handshakes per source address (asked first, so a refused one never
    /// takes a slot of the global cap).
    pub per_source: super::per_source::Behaviour,
    /// Connection caps.
    pub limits: connection_limits::Behaviour,
    /// Who is on the other side (agent version, listen addresses).
    pub identify: identify::Behaviour,
    /// Liveness.
    pub ping: ping::Behaviour,
    /// The exlic protocol.
    pub rr: request_response::Behaviour<Codec>,
}

impl std::fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Behaviour")
    }
}

/// A libp2p keypair from a node's ed25519 seed (the same key signs seals or licences).
pub fn keypair(seed: [u8; 32]) -> identity::Keypair {
    let mut s = seed;
    identity::Keypair::ed25519_from_bytes(&mut s).expect("32-byte seed is a valid ed25519 key")
}

/// The peer id of an ed25519 public key.
pub fn peer_id(public: &[u8; 32]) -> Option<PeerId> {
    let pk = identity::ed25519::PublicKey::try_from_bytes(public).ok()?;
    Some(PeerId::from_public_key(&identity::PublicKey::from(pk)))
}

/// The ed25519 public key inside a peer id (exlic peers always use ed25519 keys).
pub fn peer_key(peer: &PeerId) -> Option<[u8; 32]> {
    let mh = peer.as_ref();
    if mh.code() != 0 {
        return None;
    }
    let pk = identity::PublicKey::try_decode_protobuf(mh.digest()).ok()?;
    Some(pk.try_into_ed25519().ok()?.to_bytes())
}

/// Bytes read from and written to TCP sockets (Noise and Yamux framing included).
#[derive(Debug, Default)]
pub struct Counters {
    /// Bytes read.
    pub read: AtomicU64,
    /// Bytes written.
    pub written: AtomicU64,
}

/// A TCP stream that counts its bytes.
#[derive(Debug)]
pub struct Counted<S> {
    inner: S,
    counters: Arc<Counters>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.counters.read.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.counters
                .written
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// Builds the swarm; `counters` counts the bytes on its TCP sockets.
pub fn build(
    seed: [u8; 32],
    limits: &NetLimits,
    counters: Arc<Counters>,
) -> Result<Swarm<Behaviour>, Box<dyn std::error::Error + Send + Sync>> {
    let key = keypair(seed);
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_other_transport(
            |key| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                let c = counters.clone();
                Ok(
                    tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
                        .map(move |s, _| Counted {
                            inner: s,
                            counters: c,
                        })
                        .upgrade(libp2p::core::upgrade::Version::V1)
                        .authenticate(noise::Config::new(key)?)
                        .multiplex(yamux::Config::default()),
                )
            },
        )?
        .with_behaviour(|key| Behaviour {
            per_source: super::per_source::Behaviour::new(limits.pending_per_source),
            limits: connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established_per_peer(Some(limits.per_peer))
                    .with_max_established_incoming(Some(limits.inbound))
                    .with_max_pending_incoming(Some(limits.pending_inbound)),
            ),
            identify: identify::Behaviour::new(
                identify::Config::new("/exlic/id/1".into(), key.public())
                    .with_agent_version(format!("exlic/{}", env!("CARGO_PKG_VERSION"))),
            ),
            ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(15))),
            rr: request_response::Behaviour::with_codec(
                Codec,
                [(protocol(), request_response::ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(limits.request_timeout)
                    .with_max_concurrent_streams(64),
            ),
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    Ok(swarm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_carry_the_ed25519_key() {
        let seed = [9u8; 32];
        let pk = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        let id = keypair(seed).public().to_peer_id();
        assert_eq!(peer_id(&pk), Some(id));
        assert_eq!(peer_key(&id), Some(pk));
    }
}
