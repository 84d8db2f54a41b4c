//! Raft between an office's replicas over libp2p: a swarm of its own (TCP + Noise + Yamux)
//! under each replica's own key, which only the replicas named in `[cluster]` may connect
//! to, carrying openraft's messages and the writes a follower forwards to the leader on
//! `/exlic/raft/1`.
//!
//! A replica's key is derived from the office's root seed and its id ([`replica_seed`]):
//! only a holder of the office's root (which every replica holds to sign) can be a
//! replica, and nothing else has to be provisioned or kept in step. Who may connect and
//! where each replica is reached follow the office's membership as it changes (the
//! replicas named in `[cluster]` are only where a replica starts).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, allow_block_list, noise, request_response, tcp, yamux,
};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, Raft};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::membership::{self, Change, MembershipError};
use super::{Command, NodeId, Reply, TypeConfig};

/// The protocol replicas speak to each other.
const PROTOCOL: StreamProtocol = StreamProtocol::new("/exlic/raft/1");
/// The largest message: a batch of entries (at most [`super::MAX_PAYLOAD_ENTRIES`]
/// commands, the largest an attachment chunk) or a snapshot chunk, in JSON.
const MAX_MESSAGE: u64 = 256 << 20;

/// A replica's transport key: derived from the office's root seed and the replica's id.
pub fn replica_seed(root: &[u8; 32], id: NodeId) -> [u8; 32] {
    let mut m = b"exlic/raft-replica/1".to_vec();
    m.extend_from_slice(root);
    m.extend_from_slice(&id.to_be_bytes());
    exlic_client::seal::sha256(&m)
}

/// The libp2p keypair of a replica's seed.
fn keypair(seed: [u8; 32]) -> libp2p::identity::Keypair {
    let mut s = seed;
    libp2p::identity::Keypair::ed25519_from_bytes(&mut s).expect("a 32-byte seed is a key")
}

/// The peer id replica `id` of the office with root `root` has.
pub fn replica_peer(root: &[u8; 32], id: NodeId) -> PeerId {
    keypair(replica_seed(root, id)).public().to_peer_id()
}

/// What one replica asks another.
#[derive(Debug, Serialize, Deserialize)]
pub enum Rpc {
    /// openraft's log replication and heartbeat.
    Append(AppendEntriesRequest<TypeConfig>),
    /// A chunk of a snapshot.
    Snapshot(InstallSnapshotRequest<TypeConfig>),
    /// A vote in an election.
    Vote(VoteRequest<NodeId>),
    /// A write a follower took, for the leader to propose.
    Propose(Command),
    /// A follower asks the leader how far it must apply before it reads (read index).
    ReadIndex,
    /// A membership change a follower took, for the leader to make.
    Membership(Change),
}

/// The answer to an [`Rpc`], as the replica asked gave it.
#[derive(Debug, Serialize, Deserialize)]
pub enum RpcReply {
    /// To [`Rpc::Append`].
    Append(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    /// To [`Rpc::Snapshot`].
    Snapshot(Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>),
    /// To [`Rpc::Vote`].
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    /// To [`Rpc::Propose`]: the command's reply once committed and applied on the leader,
    /// or why not (not the leader any more, the leader lost its quorum).
    Propose(Result<Reply, String>),
    /// To [`Rpc::ReadIndex`]: the log index the leader has confirmed with a quorum.
    ReadIndex(Result<u64, String>),
    /// To [`Rpc::Membership`]: the voters after the change, or why it was not made.
    Membership(Result<BTreeSet<NodeId>, MembershipError>),
}

/// A replica the others know: its id, peer id and address.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its Raft id.
    pub id: NodeId,
    /// Its transport identity.
    pub peer: PeerId,
    /// Where it listens.
    pub addr: Multiaddr,
}

/// One message to send, with where its answer goes.
struct Outbound {
    to: PeerId,
    rpc: Rpc,
    answer: oneshot::Sender<Result<RpcReply, String>>,
}

/// Sends messages to the other replicas through the swarm ([`Listening::run`] delivers
/// them); a replica's peer id is derived from the office's root and its id.
#[derive(Clone)]
pub struct Transport {
    tx: mpsc::UnboundedSender<Outbound>,
    root: Arc<[u8; 32]>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

/// What [`run`] takes from the channel the [`Transport`] sends on.
pub struct Inbox(mpsc::UnboundedReceiver<Outbound>);

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inbox")
    }
}

/// A transport to the replicas of the office with root `root`, and the inbox
/// [`Listening::run`] serves it from.
pub fn transport(root: [u8; 32]) -> (Transport, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Transport {
            tx,
            root: Arc::new(root),
        },
        Inbox(rx),
    )
}

impl Transport {
    /// Sends `rpc` to replica `to` and waits up to `ttl` for its answer.
    pub async fn call(&self, to: NodeId, rpc: Rpc, ttl: Duration) -> Result<RpcReply, String> {
        let peer = replica_peer(&self.root, to);
        let (answer, rx) = oneshot::channel();
        self.tx
            .send(Outbound {
                to: peer,
                rpc,
                answer,
            })
            .map_err(|_| "the replica's network has stopped".to_owned())?;
        match tokio::time::timeout(ttl, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err("the replica's network has stopped".into()),
            Err(_) => Err(format!("replica {to} did not answer in {ttl:?}")),
        }
    }

    /// Asks replica `leader` to propose `cmd`; its reply once applied there.
    pub async fn forward(&self, leader: NodeId, cmd: Command) -> Result<Reply, String> {
        match self
            .call(leader, Rpc::Propose(cmd), super::write::FORWARD_TTL)
            .await?
        {
            RpcReply::Propose(r) => r,
            _ => Err("a mismatched answer".into()),
        }
    }

    /// Asks replica `leader` to make a membership change; the voters after it.
    pub async fn membership(
        &self,
        leader: NodeId,
        change: Change,
    ) -> Result<BTreeSet<NodeId>, MembershipError> {
        let ttl = membership::CATCH_UP + super::write::FORWARD_TTL;
        match self.call(leader, Rpc::Membership(change), ttl).await {
            Ok(RpcReply::Membership(r)) => r,
            Ok(_) => Err(MembershipError::Unavailable("a mismatched answer".into())),
            Err(e) => Err(MembershipError::Unavailable(format!(
                "the leader, replica {leader}: {e}"
            ))),
        }
    }

    /// Asks replica `leader` for its read index.
    pub async fn read_index(&self, leader: NodeId) -> Result<u64, String> {
        match self
            .call(leader, Rpc::ReadIndex, super::write::FORWARD_TTL)
            .await?
        {
            RpcReply::ReadIndex(r) => r,
            _ => Err("a mismatched answer".into()),
        }
    }
}

/// Makes the links of one replica (openraft asks one per target).
#[derive(Debug, Clone)]
pub struct Factory(pub Transport);

impl RaftNetworkFactory<TypeConfig> for Factory {
    type Network = Link;

    async fn new_client(&mut self, target: NodeId, _: &BasicNode) -> Link {
        Link {
            transport: self.0.clone(),
            to: target,
        }
    }
}

/// One replica's link to another.
#[derive(Debug)]
pub struct Link {
    transport: Transport,
    to: NodeId,
}

type Rpce<E = openraft::error::Infallible> = RPCError<NodeId, BasicNode, RaftError<NodeId, E>>;

impl Link {
    async fn call(&self, rpc: Rpc, option: &RPCOption) -> Result<RpcReply, Unreachable> {
        self.transport
            .call(self.to, rpc, option.hard_ttl())
            .await
            .map_err(|e| Unreachable::new(&std::io::Error::other(e)))
    }

    // openraft's error type is its own; it is what the trait returns.
    #[allow(clippy::result_large_err)]
    fn answer<T, E: std::error::Error>(
        &self,
        r: Result<T, RaftError<NodeId, E>>,
    ) -> Result<T, Rpce<E>> {
        r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.to, e)))
    }
}

fn mismatched<E: std::error::Error>() -> Rpce<E> {
    RPCError::Network(NetworkError::new(&std::io::Error::other(
        "a mismatched answer",
    )))
}

impl RaftNetwork<TypeConfig> for Link {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, Rpce> {
        match self.call(Rpc::Append(rpc), &option).await? {
            RpcReply::Append(r) => self.answer(r),
            _ => Err(mismatched()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, Rpce<InstallSnapshotError>> {
        match self.call(Rpc::Snapshot(rpc), &option).await? {
            RpcReply::Snapshot(r) => self.answer(r),
            _ => Err(mismatched()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, Rpce> {
        match self.call(Rpc::Vote(rpc), &option).await? {
            RpcReply::Vote(r) => self.answer(r),
            _ => Err(mismatched()),
        }
    }
}

/// The replica swarm's behaviours: only the listed replicas may connect.
#[derive(NetworkBehaviour)]
struct Behaviour {
    allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    rr: request_response::json::Behaviour<Rpc, RpcReply>,
}

/// Why the replica network could not start.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// libp2p could not be set up.
    #[error("the replica network: {0}")]
    Swarm(String),
    /// The Raft address could not be listened on.
    #[error("listening for the other replicas on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why, in words (libp2p's own display of it is empty).
        reason: String,
    },
}

/// Why listening failed, in words (libp2p's own display of it is empty).
pub(crate) fn listen_reason(e: &libp2p::TransportError<std::io::Error>) -> String {
    match e {
        libp2p::TransportError::MultiaddrNotSupported(a) => {
            format!("{a} is not an address this node can listen on")
        }
        libp2p::TransportError::Other(io) => io.to_string(),
    }
}

fn build(seed: [u8; 32], peers: &[Peer]) -> Result<Swarm<Behaviour>, P2pError> {
    let swarm_err = |e: &dyn std::fmt::Display| P2pError::Swarm(e.to_string());
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair(seed))
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| swarm_err(&e))?
        .with_behaviour(|_| {
            let codec = request_response::json::codec::Codec::default()
                .set_request_size_maximum(MAX_MESSAGE)
                .set_response_size_maximum(MAX_MESSAGE);
            Behaviour {
                allow: allow_block_list::Behaviour::default(),
                rr: request_response::Behaviour::with_codec(
                    codec,
                    [(PROTOCOL, request_response::ProtocolSupport::Full)],
                    // Every call carries its own deadline (openraft's, or the forward's);
                    // this one only bounds a stream nobody waits on any more, so it outlasts
                    // the longest (a forwarded membership change waiting for a new replica).
                    request_response::Config::default()
                        .with_request_timeout(membership::CATCH_UP + Duration::from_secs(60))
                        .with_max_concurrent_streams(256),
                ),
            }
        })
        .map_err(|e| swarm_err(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    for p in peers {
        swarm.behaviour_mut().allow.allow_peer(p.peer);
    }
    Ok(swarm)
}

/// Replica `me`'s network, listening for the other replicas (no one else may connect) but
/// not yet serving: [`Listening::run`] does.
pub struct Listening {
    swarm: Swarm<Behaviour>,
    root: [u8; 32],
    me: NodeId,
    /// The replicas named in `[cluster]`, other than this one: reached and admitted until
    /// the membership says otherwise, and always admitted.
    others: Vec<Peer>,
}

/// Sets up replica `me`'s network and binds `listen`. Fails at once, naming the address
/// and the reason, when the address cannot be bound: a replica that runs without its Raft
/// listener would look alive while no other replica can reach it.
pub fn listen(
    root: [u8; 32],
    me: NodeId,
    listen: Multiaddr,
    peers: Vec<Peer>,
) -> Result<Listening, P2pError> {
    let others: Vec<Peer> = peers.into_iter().filter(|p| p.id != me).collect();
    let mut swarm = build(replica_seed(&root, me), &others)?;
    swarm
        .listen_on(listen.clone())
        .map_err(|e| P2pError::Listen {
            addr: listen,
            reason: listen_reason(&e),
        })?;
    Ok(Listening {
        swarm,
        root,
        me,
        others,
    })
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("peer", self.swarm.local_peer_id())
            .field("others", &self.others)
            .finish()
    }
}

impl Listening {
    /// Runs the network until `shutdown`: hands what the other replicas ask to `raft`,
    /// and sends what the [`Transport`] of `inbox` asks of them.
    pub async fn run(
        self,
        raft: Raft<TypeConfig>,
        inbox: Inbox,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), P2pError> {
        let Listening {
            mut swarm,
            root,
            me,
            others,
        } = self;
        let mut addrs: HashMap<PeerId, Multiaddr> =
            others.iter().map(|p| (p.peer, p.addr.clone())).collect();
        let mut metrics = raft.metrics();
        let mut members = BTreeMap::new();
        follow_membership(
            &mut swarm,
            &mut addrs,
            &mut members,
            &root,
            me,
            &others,
            &metrics.borrow_and_update(),
        );
        let mut known_leader = (None, 0);
        let mut inbox = inbox.0;
        let mut waiting: HashMap<
            request_response::OutboundRequestId,
            oneshot::Sender<Result<RpcReply, String>>,
        > = HashMap::new();
        let (done_tx, mut done_rx) =
            mpsc::unbounded_channel::<(request_response::ResponseChannel<RpcReply>, RpcReply)>();
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                Ok(()) = metrics.changed() => {
                    let m = metrics.borrow_and_update().clone();
                    if (m.current_leader, m.current_term) != known_leader {
                        known_leader = (m.current_leader, m.current_term);
                        match m.current_leader {
                            Some(l) => tracing::info!(leader = l, term = m.current_term, "the office's replicas have a leader"),
                            None => tracing::info!(term = m.current_term, "the office's replicas are electing a leader"),
                        }
                    }
                    follow_membership(&mut swarm, &mut addrs, &mut members, &root, me, &others, &m);
                }
                Some(out) = inbox.recv() => {
                    let at = addrs.get(&out.to).cloned().into_iter().collect();
                    let id = swarm.behaviour_mut().rr.send_request_with_addresses(&out.to, out.rpc, at);
                    waiting.insert(id, out.answer);
                }
                Some((channel, reply)) = done_rx.recv() => {
                    // The asker may have given up and gone; nothing to do then.
                    let _ = swarm.behaviour_mut().rr.send_response(channel, reply);
                }
                event = swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(BehaviourEvent::Rr(request_response::Event::Message { message, .. })) => match message {
                        request_response::Message::Request { request, channel, .. } => {
                            let (raft, done) = (raft.clone(), done_tx.clone());
                            tokio::spawn(async move {
                                let _ = done.send((channel, serve(&raft, request).await));
                            });
                        }
                        request_response::Message::Response { request_id, response } => {
                            if let Some(a) = waiting.remove(&request_id) {
                                let _ = a.send(Ok(response));
                            }
                        }
                    },
                    SwarmEvent::Behaviour(BehaviourEvent::Rr(request_response::Event::OutboundFailure { request_id, error, .. })) => {
                        if let Some(a) = waiting.remove(&request_id) {
                            let _ = a.send(Err(error.to_string()));
                        }
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Rr(request_response::Event::InboundFailure { peer, error, .. })) => {
                        tracing::debug!(%peer, %error, "a replica's request failed");
                    }
                    SwarmEvent::IncomingConnectionError { send_back_addr, error, .. } => {
                        tracing::debug!(%send_back_addr, %error, "a connection to the replica network was refused");
                    }
                    SwarmEvent::ListenerClosed { addresses, reason: Err(error), .. } => {
                        tracing::error!(?addresses, %error, "the replica network stopped listening");
                    }
                    SwarmEvent::ListenerError { error, .. } => {
                        tracing::warn!(%error, "the replica network's listener failed");
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// Brings who may connect and where each replica is reached in line with the membership
/// in `m`, when it differs from `members` (what was last followed): every replica of the
/// membership and of `[cluster]` (`others`) is admitted, one removed from both is not.
fn follow_membership(
    swarm: &mut Swarm<Behaviour>,
    addrs: &mut HashMap<PeerId, Multiaddr>,
    members: &mut BTreeMap<NodeId, String>,
    root: &[u8; 32],
    me: NodeId,
    others: &[Peer],
    m: &openraft::RaftMetrics<NodeId, BasicNode>,
) {
    let now = membership::addresses(m);
    if &now == members {
        return;
    }
    let named = |id: &NodeId| others.iter().any(|p| p.id == *id);
    for id in members
        .keys()
        .filter(|id| !now.contains_key(id) && !named(id))
    {
        let peer = replica_peer(root, *id);
        swarm.behaviour_mut().allow.disallow_peer(peer);
        addrs.remove(&peer);
        tracing::info!(replica = id, "a replica left the office's membership");
    }
    for (id, addr) in now.iter().filter(|(id, _)| **id != me) {
        let peer = replica_peer(root, *id);
        match addr.parse::<Multiaddr>() {
            Ok(a) => {
                addrs.insert(peer, a);
            }
            Err(_) => tracing::warn!(
                replica = id,
                addr,
                "a member's address is not a multiaddress"
            ),
        }
        if !members.contains_key(id) {
            swarm.behaviour_mut().allow.allow_peer(peer);
        }
    }
    *members = now;
}

/// Hands one request of another replica to `raft`; its answer.
async fn serve(raft: &Raft<TypeConfig>, rpc: Rpc) -> RpcReply {
    match rpc {
        Rpc::Append(r) => RpcReply::Append(raft.append_entries(r).await),
        Rpc::Snapshot(r) => RpcReply::Snapshot(raft.install_snapshot(r).await),
        Rpc::Vote(r) => RpcReply::Vote(raft.vote(r).await),
        Rpc::Propose(c) => RpcReply::Propose(
            raft.client_write(c)
                .await
                .map(|w| w.data)
                .map_err(|e| e.to_string()),
        ),
        Rpc::ReadIndex => RpcReply::ReadIndex(super::write::read_index(raft).await),
        Rpc::Membership(c) => RpcReply::Membership(membership::apply(raft, c).await),
    }
}
