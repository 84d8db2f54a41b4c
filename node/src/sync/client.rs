//! The network side of a node that syncs with its office as a client (the enterprise,
//! customs): keeps a link to the office (dial, exponential backoff with jitter, automatic
//! reconnect) and, while connected, moves the requests of the role's sans-IO session
//! ([`ClientRole`]: the enterprise's decides enrolment, document sync, attachments,
//! certificates and the outbox; customs' the standing feed and its usage ledger) and
//! waits between rounds for a local change or the poll interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exlic_client::protocol::{ErrorCode, Request, Response};
use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId, request_response};
use tokio::sync::{mpsc, oneshot, watch};

use super::net::{self, BehaviourEvent, NetLimits};
use crate::upstream::{ClientRole, Credentials, SessionError, Step};

/// Where the authority is and how to enrol with it.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The authority's public key (its libp2p identity).
    pub authority_key: [u8; 32],
    /// Its addresses.
    pub addrs: Vec<Multiaddr>,
    /// The invite secret, until enrolled.
    pub invite_secret: Option<[u8; 32]>,
    /// The enterprise master public key to register (customs: unused).
    pub master_key: [u8; 32],
    /// The office's agency code when it is not the node's home office (an enterprise
    /// enrolled with several; customs and the home office: `None`).
    pub office: Option<String>,
    /// How often to ask for the authority's changes when nothing happens locally.
    pub poll: Duration,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
}

/// What the sync loop reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    /// Connected to the authority now.
    pub online: bool,
    /// Last time a full sync (documents and outbox) completed, Unix ms.
    pub last_sync_ms: Option<i64>,
    /// Last error, if the last attempt failed.
    pub last_error: Option<String>,
    /// Enrolled with the authority.
    pub enrolled: bool,
    /// Sync rounds completed since start.
    pub rounds: u64,
}

/// Shared view of the sync loop's state.
pub type SyncStatus = Arc<Mutex<SyncState>>;

/// Why a connected session ended: the link, or the session itself.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    /// No connection, or it dropped.
    #[error("offline: {0}")]
    Offline(String),
    /// The authority answered a request with a refusal (handed to the session, which
    /// decides whether it can go on).
    #[error("the authority refused: {0:?}: {1}")]
    Refused(ErrorCode, String),
    /// The session stopped.
    #[error(transparent)]
    Session(#[from] SessionError),
}

enum Cmd {
    Dial(oneshot::Sender<Result<(), String>>),
    Request(Request, oneshot::Sender<Result<Response, String>>),
}

#[derive(Clone)]
struct Link {
    tx: mpsc::Sender<Cmd>,
    connected: watch::Receiver<bool>,
}

impl Link {
    async fn dial(&self) -> Result<(), LinkError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Dial(tx))
            .await
            .map_err(|_| LinkError::Offline("stopped".into()))?;
        match tokio::time::timeout(Duration::from_secs(10), rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(LinkError::Offline(e)),
            _ => Err(LinkError::Offline("dial timed out".into())),
        }
    }

    async fn request(&self, req: Request) -> Result<Response, LinkError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Request(req, tx))
            .await
            .map_err(|_| LinkError::Offline("stopped".into()))?;
        match rx.await {
            Ok(Ok(Response::Error { code, message })) => Err(LinkError::Refused(code, message)),
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(LinkError::Offline(e)),
            Err(_) => Err(LinkError::Offline("link closed".into())),
        }
    }
}

async fn drive(
    seed: [u8; 32],
    peer: PeerId,
    addrs: Vec<Multiaddr>,
    mut rx: mpsc::Receiver<Cmd>,
    connected: watch::Sender<bool>,
) {
    let mut swarm = match net::build(seed, &NetLimits::default(), Arc::default()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot start libp2p");
            return;
        }
    };
    for a in &addrs {
        swarm.add_peer_address(peer, a.clone());
    }
    let mut pending: HashMap<
        request_response::OutboundRequestId,
        oneshot::Sender<Result<Response, String>>,
    > = HashMap::new();
    let mut dialers: Vec<oneshot::Sender<Result<(), String>>> = Vec::new();
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                None => break,
                Some(Cmd::Dial(tx)) => {
                    if swarm.is_connected(&peer) {
                        let _ = tx.send(Ok(()));
                    } else {
                        dialers.push(tx);
                        let opts = DialOpts::peer_id(peer).addresses(addrs.clone()).condition(PeerCondition::DisconnectedAndNotDialing).build();
                        if let Err(e) = swarm.dial(opts)
                            && !matches!(e, libp2p::swarm::DialError::DialPeerConditionFalse(_)) {
                                for d in dialers.drain(..) {
                                    let _ = d.send(Err(e.to_string()));
                                }
                            }
                    }
                }
                Some(Cmd::Request(req, tx)) => {
                    if swarm.is_connected(&peer) {
                        let id = swarm.behaviour_mut().rr.send_request(&peer, super::codec::Inbound::Valid(req));
                        pending.insert(id, tx);
                    } else {
                        let _ = tx.send(Err("not connected".into()));
                    }
                }
            },
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == peer => {
                    connected.send_replace(true);
                    for d in dialers.drain(..) {
                        let _ = d.send(Ok(()));
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } if peer_id == peer => {
                    connected.send_replace(false);
                    for (_, tx) in pending.drain() {
                        let _ = tx.send(Err("connection closed".into()));
                    }
                }
                SwarmEvent::OutgoingConnectionError { peer_id: Some(p), error, .. } if p == peer => {
                    for d in dialers.drain(..) {
                        let _ = d.send(Err(error.to_string()));
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Rr(request_response::Event::Message {
                    message: request_response::Message::Response { request_id, response },
                    ..
                })) => {
                    if let Some(tx) = pending.remove(&request_id) {
                        let _ = tx.send(Ok(response));
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Rr(request_response::Event::OutboundFailure { request_id, error, .. })) => {
                    if let Some(tx) = pending.remove(&request_id) {
                        let _ = tx.send(Err(error.to_string()));
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Rr(request_response::Event::Message {
                    message: request_response::Message::Request { channel, .. },
                    ..
                })) => {
                    let _ = swarm.behaviour_mut().rr.send_response(channel, Response::error(ErrorCode::BadRequest, "a client node serves no requests"));
                }
                _ => {}
            }
        }
    }
}

/// Runs one step of `session` on the blocking pool (it reads and writes the store).
async fn stepped<R: ClientRole, T: Send + 'static>(
    ent: &Arc<R>,
    mut session: R::Session,
    f: impl FnOnce(&mut R::Session, &R) -> Result<T, SessionError> + Send + 'static,
) -> Result<(R::Session, T), LinkError> {
    let e = ent.clone();
    match tokio::task::spawn_blocking(move || {
        let r = f(&mut session, &e);
        (session, r)
    })
    .await
    {
        Ok((s, Ok(step))) => Ok((s, step)),
        Ok((_, Err(e))) => Err(e.into()),
        Err(e) => Err(SessionError::Local(e.to_string()).into()),
    }
}

/// One connected session: the [`Session`] state machine decides every request; this
/// moves them over the link and waits between rounds for a local change or the poll.
async fn session<R: ClientRole>(
    link: &Link,
    ent: &Arc<R>,
    up: &Upstream,
    status: &SyncStatus,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<bool, LinkError> {
    let creds = Credentials {
        authority_key: up.authority_key,
        invite_secret: up.invite_secret,
        master_key: up.master_key,
        office: up.office.clone(),
    };
    let rounds = status.lock().unwrap_or_else(|p| p.into_inner()).rounds;
    let mut s = ent.open(creds, rounds);
    let mut connected = link.connected.clone();
    loop {
        // Arm the change notification before the round, so a change during the round
        // triggers the next one.
        let notified = ent.store().changed().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (next, mut step) = stepped(ent, s, |s, e| e.round(s)).await?;
        s = next;
        while let Step::Send(request) = step {
            // The session's deferred work runs while the request is in flight.
            let answer = if R::has_deferred(&s) {
                let (answer, between) =
                    tokio::join!(link.request(request), stepped(ent, s, |s, e| e.between(s)));
                (s, ()) = between?;
                answer
            } else {
                link.request(request).await
            };
            let answer = match answer {
                Ok(r) => Ok(r),
                Err(LinkError::Refused(c, m)) => Err((c, m)),
                Err(e) => return Err(e),
            };
            if R::enrolled(&s) {
                status.lock().unwrap_or_else(|p| p.into_inner()).enrolled = true;
            }
            let (next, st) = stepped(ent, s, move |s, e| e.answer(s, answer)).await?;
            s = next;
            step = st;
        }
        {
            let mut st = status.lock().unwrap_or_else(|p| p.into_inner());
            st.enrolled = true;
            st.online = true;
            st.last_sync_ms = Some(ent.now_ms());
            st.last_error = None;
            st.rounds = R::rounds(&s);
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(up.poll) => {}
            r = connected.wait_for(|c| !*c) => {
                let _ = r;
                return Err(LinkError::Offline("connection lost".into()));
            }
            _ = shutdown.changed() => return Ok(true),
        }
    }
}

/// Runs a client role's sync loop until `shutdown` turns true.
pub async fn run<R: ClientRole>(
    ent: Arc<R>,
    up: Upstream,
    status: SyncStatus,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(peer) = net::peer_id(&up.authority_key) else {
        tracing::error!("the authority key is not a valid ed25519 key; sync disabled");
        return;
    };
    let (tx, rx) = mpsc::channel(64);
    let (ctx, crx) = watch::channel(false);
    let driver = tokio::spawn(drive(ent.device_seed(), peer, up.addrs.clone(), rx, ctx));
    let link = Link { tx, connected: crx };
    let mut backoff = Duration::from_millis(200);
    loop {
        if *shutdown.borrow() {
            break;
        }
        let outcome = match link.dial().await {
            Ok(()) => session(&link, &ent, &up, &status, &mut shutdown).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                let online = *link.connected.borrow();
                {
                    let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
                    s.online = online;
                    s.last_error = Some(e.to_string());
                }
                tracing::info!(error = %e, retry_in_ms = backoff.as_millis() as u64, "sync interrupted");
                let jitter = crate::random::bytes::<2>();
                let wait = backoff
                    + Duration::from_millis(
                        u64::from(u16::from_le_bytes(jitter))
                            % (backoff.as_millis() as u64 / 2 + 1),
                    );
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => break,
                }
                backoff = if online {
                    Duration::from_millis(200)
                } else {
                    (backoff * 2).min(up.max_backoff)
                };
                continue;
            }
        }
        backoff = Duration::from_millis(200);
    }
    drop(link);
    let _ = driver.await;
}
