//! The enterprise's network side: keeps a link to its authority (dial, exponential
//! backoff with jitter, automatic reconnect), enrols on first contact, then loops: sync
//! rounds until quiescent, upload attachments the outbox needs (resumably), deliver the
//! outbox and store receipts, then wait for a local change or the poll interval.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exlic_client::DocId;
use exlic_client::protocol::{BLOB_CHUNK, ErrorCode, Request, Response};
use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId, request_response};
use tokio::sync::{mpsc, oneshot, watch};

use super::net::{self, BehaviourEvent, NetLimits};
use crate::enterprise::Enterprise;
use crate::enterprise::replica::Outgoing;
use crate::replica::docsync::PeerStates;

/// Where the authority is and how to enrol with it.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The authority's public key (its libp2p identity).
    pub authority_key: [u8; 32],
    /// Its addresses.
    pub addrs: Vec<Multiaddr>,
    /// The invite secret, until enrolled.
    pub invite_secret: Option<[u8; 32]>,
    /// The enterprise master public key to register.
    pub master_key: [u8; 32],
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

#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("offline: {0}")]
    Offline(String),
    #[error("the authority refused: {0:?}: {1}")]
    Refused(ErrorCode, String),
    #[error("unexpected answer")]
    Unexpected,
    #[error("{0}")]
    Local(String),
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
                    let _ = swarm.behaviour_mut().rr.send_response(channel, Response::error(ErrorCode::BadRequest, "an enterprise node serves no requests"));
                }
                _ => {}
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::enterprise::EnterpriseError> + Send + 'static,
) -> Result<T, LinkError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| LinkError::Local(e.to_string())),
        Err(e) => Err(LinkError::Local(e.to_string())),
    }
}

/// Documents per sync page and the byte budget of one request.
const PAGE: usize = 1000;
const REQUEST_BUDGET: usize = 6 << 20;

/// Syncs every changed document until both sides have nothing more to say.
async fn sync_all(
    link: &Link,
    ent: &Arc<Enterprise>,
    states: &Arc<Mutex<PeerStates>>,
) -> Result<(), LinkError> {
    loop {
        let e = ent.clone();
        let ((acked, mut cursor), (head, changed)) = blocking(move || {
            Ok((
                e.sync_progress()?,
                e.changed_docs(e.sync_progress()?.0, PAGE)?,
            ))
        })
        .await?;
        let full_page = changed.len() == PAGE;
        let page_end = if full_page {
            changed.last().map(|c| c.0).unwrap_or(acked)
        } else {
            head
        };
        let mut active: BTreeSet<DocId> = changed.into_iter().map(|(_, d)| d).collect();
        let mut first = true;
        let mut more = false;
        loop {
            let (e, s, list) = (
                ent.clone(),
                states.clone(),
                active.iter().copied().collect::<Vec<_>>(),
            );
            let t = std::time::Instant::now();
            let msgs = blocking(move || {
                let mut st = s.lock().unwrap_or_else(|p| p.into_inner());
                e.sync_generate(&mut st, &list)
            })
            .await?;
            tracing::debug!(
                docs = msgs.len(),
                elapsed_ms = t.elapsed().as_millis() as u64,
                "sync messages generated"
            );
            if msgs.is_empty() && !first {
                break;
            }
            first = false;
            let mut next: BTreeSet<DocId> = msgs.iter().map(|(d, _)| *d).collect();
            // Split into requests within the byte budget (one empty request polls).
            let mut batches: Vec<Vec<(DocId, Vec<u8>)>> = vec![Vec::new()];
            let mut size = 0;
            for m in msgs {
                if size + m.1.len() > REQUEST_BUDGET
                    || batches.last().map(|b| b.len()).unwrap_or(0)
                        >= exlic_client::protocol::MAX_DOCS / 2
                {
                    batches.push(Vec::new());
                    size = 0;
                }
                size += m.1.len() + 24;
                batches.last_mut().expect("non-empty").push(m);
            }
            for batch in batches {
                match link
                    .request(Request::Sync {
                        cursor,
                        docs: batch,
                    })
                    .await?
                {
                    Response::Sync {
                        cursor: c,
                        docs,
                        more: m,
                    } => {
                        let (e, s) = (ent.clone(), states.clone());
                        let (follow, refused) = blocking(move || {
                            let mut st = s.lock().unwrap_or_else(|p| p.into_inner());
                            e.sync_receive(&mut st, docs)
                        })
                        .await?;
                        for d in &refused {
                            tracing::warn!(doc = %d, "the authority does not accept this document");
                            next.remove(d);
                        }
                        next.extend(follow);
                        cursor = cursor.max(c);
                        more = m;
                    }
                    _ => return Err(LinkError::Unexpected),
                }
            }
            active = next;
            if active.is_empty() {
                break;
            }
        }
        let e = ent.clone();
        blocking(move || e.set_sync_progress(page_end, cursor)).await?;
        if !full_page && !more {
            return Ok(());
        }
    }
}

async fn upload_blob(
    link: &Link,
    ent: &Arc<Enterprise>,
    hash: [u8; 32],
    size: u64,
) -> Result<(), LinkError> {
    let Response::BlobHave {
        received: mut offset,
    } = link
        .request(Request::BlobStatus { sha256: hash, size })
        .await?
    else {
        return Err(LinkError::Unexpected);
    };
    offset -= offset % BLOB_CHUNK as u64;
    while offset < size {
        let e = ent.clone();
        let bytes = blocking(move || e.blob_chunk(&hash, offset)).await?;
        match link
            .request(Request::BlobPut {
                sha256: hash,
                size,
                offset,
                bytes,
            })
            .await?
        {
            Response::BlobHave { received } => offset = received,
            _ => return Err(LinkError::Unexpected),
        }
    }
    Ok(())
}

/// Attachment relay, first half: uploads the blobs attached here before the documents
/// that list them are synced, so another device of this enterprise finds the bytes at the
/// authority as soon as it sees the listing (see `enterprise::blob_relay`).
async fn upload_queued_blobs(link: &Link, ent: &Arc<Enterprise>) -> Result<(), LinkError> {
    let e = ent.clone();
    for (hash, size) in blocking(move || e.blobs_to_upload()).await? {
        upload_blob(link, ent, hash, size).await?;
        let e = ent.clone();
        blocking(move || e.blob_uploaded(&hash)).await?;
    }
    Ok(())
}

/// Attachment relay, second half: fetches the blobs that synced documents list and this
/// node lacks. One the authority does not hold yet waits for a later round.
async fn fetch_wanted_blobs(link: &Link, ent: &Arc<Enterprise>) -> Result<(), LinkError> {
    let e = ent.clone();
    for (hash, size) in blocking(move || e.blobs_wanted()).await? {
        download_blob(link, ent, hash, size).await?;
    }
    Ok(())
}

/// Fetches one blob from where its staged chunks end.
async fn download_blob(
    link: &Link,
    ent: &Arc<Enterprise>,
    hash: [u8; 32],
    size: u64,
) -> Result<(), LinkError> {
    let e = ent.clone();
    let mut offset = blocking(move || e.blob_fetch_offset(&hash)).await?;
    while offset < size {
        match link
            .request(Request::BlobGet {
                sha256: hash,
                offset,
            })
            .await
        {
            Ok(Response::BlobData {
                size: s,
                offset: o,
                bytes,
            }) if s == size && o == offset => {
                let e = ent.clone();
                match blocking(move || e.store_fetched_chunk(&hash, size, offset, &bytes)).await {
                    Ok(next) => offset = next,
                    Err(err) => {
                        // Bytes that fail their hash, or a local failure: the staged part
                        // is kept or discarded by the store, and a later round retries.
                        tracing::warn!(blob = %hex::encode(hash), %err, "attachment fetch stopped");
                        return Ok(());
                    }
                }
            }
            Ok(Response::BlobData { size: s, .. }) => {
                tracing::warn!(blob = %hex::encode(hash), listed = size, held = s, "attachment size differs from its listing; not fetched");
                return Ok(());
            }
            Ok(_) => return Err(LinkError::Unexpected),
            Err(LinkError::Refused(ErrorCode::NotFound, _)) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn deliver(
    link: &Link,
    ent: &Arc<Enterprise>,
    authority_key: [u8; 32],
) -> Result<(), LinkError> {
    let e = ent.clone();
    let outgoing: Vec<Outgoing> = blocking(move || e.outgoing()).await?;
    for o in outgoing {
        for (hash, size) in &o.attachments {
            upload_blob(link, ent, *hash, *size).await?;
        }
        match link.request(Request::Submit(o.envelope.clone())).await {
            Ok(Response::Receipt(r)) => {
                let e = ent.clone();
                blocking(move || e.accept_receipt(&o, &r, &authority_key).map(|_| ())).await?;
            }
            Ok(_) => return Err(LinkError::Unexpected),
            Err(LinkError::Refused(
                code @ (ErrorCode::BadSeal | ErrorCode::StaleRevision),
                msg,
            )) => {
                tracing::warn!(?code, %msg, "submission refused");
                let e = ent.clone();
                blocking(move || e.reject_submission(&o, &msg)).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn has_waiting_requests(ent: &Arc<Enterprise>) -> Result<bool, LinkError> {
    let e = ent.clone();
    Ok(blocking(move || e.certificate_requests())
        .await?
        .iter()
        .any(|r| r.status == crate::store::cert_requests::RequestStatus::Submitted))
}

async fn has_certificate(ent: &Arc<Enterprise>) -> Result<bool, LinkError> {
    let e = ent.clone();
    Ok(blocking(move || e.device_certificate()).await?.is_some())
}

/// Sends queued certificate requests, installs what comes back, and refreshes the
/// revocation list.
async fn certificates(
    link: &Link,
    ent: &Arc<Enterprise>,
    authority_key: [u8; 32],
) -> Result<(), LinkError> {
    use crate::store::cert_requests::RequestStatus;
    let e = ent.clone();
    let rows = blocking(move || e.certificate_requests()).await?;
    for row in rows
        .into_iter()
        .filter(|r| r.status == RequestStatus::Submitted)
    {
        let answer = match link.request(Request::Certify(row.signed.clone())).await {
            Ok(Response::Certified {
                certificate,
                revocations,
            }) => Ok((certificate, revocations)),
            Ok(_) => return Err(LinkError::Unexpected),
            Err(LinkError::Refused(ErrorCode::BadCertRequest, m)) => Err(m),
            Err(e) => return Err(e),
        };
        let e = ent.clone();
        blocking(move || e.finish_request(row.seq, answer, &authority_key)).await?;
    }
    // 制作证书: install whatever the authority holds for this device (also certificates
    // another device's e-key authorised for it), with the newest revocation list.
    if let Response::Certified {
        certificate,
        revocations,
    } = link.request(Request::MyCertificate).await?
    {
        let e = ent.clone();
        blocking(move || e.install_certificate(&certificate, &revocations, &authority_key)).await?;
    }
    Ok(())
}

async fn session(
    link: &Link,
    ent: &Arc<Enterprise>,
    up: &Upstream,
    status: &SyncStatus,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<bool, LinkError> {
    let e = ent.clone();
    if !blocking(move || e.enrolled()).await? {
        let secret = up
            .invite_secret
            .ok_or_else(|| LinkError::Local("not enrolled and no invite secret".into()))?;
        match link
            .request(Request::Enrol {
                secret,
                master_key: up.master_key,
            })
            .await?
        {
            Response::Enrolled { .. } => {
                let e = ent.clone();
                blocking(move || e.set_enrolled()).await?;
            }
            _ => return Err(LinkError::Unexpected),
        }
    }
    status.lock().unwrap_or_else(|p| p.into_inner()).enrolled = true;
    // Certificate work comes after the first document round, which brings the authority's
    // key rollover records: a revocation list signed by a key this node has not learnt yet
    // would otherwise fail every session before the records could arrive.
    let mut first = true;
    let states = Arc::new(Mutex::new(PeerStates::new(up.authority_key)));
    let mut connected = link.connected.clone();
    loop {
        // Arm the change notification before syncing, so a change during the round
        // triggers the next one.
        let notified = ent.store().changed().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        upload_queued_blobs(link, ent).await?;
        sync_all(link, ent, &states).await?;
        // Certificate work: requests waiting, no certificate yet (another device's e-key may
        // authorise this one at any time), or a periodic revocation-list refresh.
        let round = status.lock().unwrap_or_else(|p| p.into_inner()).rounds;
        fetch_wanted_blobs(link, ent).await?;
        if std::mem::take(&mut first)
            || has_waiting_requests(ent).await?
            || !has_certificate(ent).await?
            || round % 30 == 29
        {
            certificates(link, ent, up.authority_key).await?;
        }
        deliver(link, ent, up.authority_key).await?;
        {
            // An e-key unlock from the office, checked against its key before it applies.
            let (e, key) = (ent.clone(), up.authority_key);
            tokio::task::spawn_blocking(move || e.apply_pending_unlock(&key))
                .await
                .map_err(|e| LinkError::Local(e.to_string()))?
                .map_err(|e| LinkError::Local(e.to_string()))?;
        }
        {
            let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
            s.online = true;
            s.last_sync_ms = Some(ent.now_ms());
            s.last_error = None;
            s.rounds += 1;
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

/// Runs the enterprise's sync loop until `shutdown` turns true.
pub async fn run(
    ent: Arc<Enterprise>,
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
                let mut jitter = [0u8; 2];
                let _ = getrandom::fill(&mut jitter);
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
