//! An office as one replica of several: `exlic authority cluster` (naming the replicas),
//! `exlic init authority --replica-of` (a replica from a copy of the office), starting a
//! replica's Raft and network in `serve`, and the refusal of offline writes to a replica.

use std::collections::BTreeMap;

use openraft::{BasicNode, Raft};

use super::*;
use crate::cluster::{self, p2p, write::Forward};
use crate::config::{ClusterSection, ReplicaEntry};

/// Loads the config of a stopped authority node whose store a command will write
/// directly; refuses a replica, whose store changes only through the office's log.
pub(super) fn offline_authority(data_dir: &Path) -> anyhow::Result<Config> {
    let config = Config::load(data_dir)?;
    if !config.is_authority() {
        bail!("{} is not an authority node", data_dir.display());
    }
    if let Some(c) = &config.cluster {
        bail!(
            "{} is replica {} of a replicated office: its store changes only through the office's log, so this is done on the running office (its staff UI or API), which every replica then applies",
            data_dir.display(),
            c.id
        );
    }
    Ok(config)
}

/// Parses `--replica ID=ADDRESS`.
pub fn parse_replica(s: &str) -> Result<ReplicaEntry, String> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected ID=ADDRESS, e.g. 2=/ip4/10.0.0.2/tcp/7400"))?;
    let id = id
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: the id must be a number"))?;
    Ok(ReplicaEntry {
        id,
        addr: addr.trim().to_owned(),
    })
}

/// `exlic authority cluster`: makes a stopped office that has never been a replica
/// replica `id` of the voters `replicas`.
pub fn set_cluster(data_dir: &Path, id: u64, replicas: Vec<ReplicaEntry>) -> anyhow::Result<()> {
    let mut config = Config::load(data_dir)?;
    if !config.is_authority() {
        bail!("{} is not an authority node", data_dir.display());
    }
    let store = open_store(data_dir, &config)?;
    if !cluster::untouched(&store)? {
        bail!(
            "{} has run as a replica already; its voters change only by a membership change",
            data_dir.display()
        );
    }
    drop(store);
    // The office's own reference files published now, as a lone office, if they changed
    // since it last ran: every replica copied from it starts with that release in force,
    // and none publishes on its own.
    drop(open_authority(data_dir, &config, Vec::new()).context("opening the office")?);
    config.cluster = Some(ClusterSection {
        id,
        listen: None,
        replicas,
        joined: false,
        heartbeat_ms: config.cluster.as_ref().map_or(150, |c| c.heartbeat_ms),
        election_ms: config.cluster.as_ref().map_or(750, |c| c.election_ms),
    });
    config.validate().context("--replica")?;
    config.save(data_dir)?;
    Ok(())
}

/// Where a new replica listens: its own addresses, not its source's.
#[derive(Debug, Clone)]
pub struct ReplicaListen {
    /// The libp2p address enterprises reach it on.
    pub p2p: Option<String>,
    /// Its staff UI's address.
    pub http: Option<String>,
    /// Where the other replicas reach it (a multiaddress): required for a replica that
    /// joins a running office, which lists no address for it yet.
    pub raft: Option<String>,
}

/// `exlic init authority --replica-of`: makes replica `id` of the office in `source` in
/// `data_dir`: a copy of its store and settings, its own listen addresses and TLS pair.
///
/// Two kinds of source: a stopped office named a replica by `exlic authority cluster`,
/// never yet run as one (a founding replica: `id` is one of its `[cluster]` replicas);
/// or a stopped replica of a running office (a new replica that joins it: `id` is a new
/// id, `listen.raft` where the others reach it, and the office's administrator then adds
/// it, `POST /api/v1/cluster/replicas`). A joining copy holds the source's log and state,
/// so the leader sends it only what it lacks (or a snapshot once the log has moved on).
pub fn init_replica_of(
    source: &Path,
    data_dir: &Path,
    id: u64,
    listen: ReplicaListen,
) -> anyhow::Result<Joining> {
    let mut config = Config::load(source).context("--replica-of")?;
    let Some(cluster) = config
        .cluster
        .as_mut()
        .filter(|_| config.role == "authority")
    else {
        bail!(
            "--replica-of {}: not an office named a replica yet; run `exlic authority cluster` on it first",
            source.display()
        );
    };
    let named = cluster.replicas.iter().any(|r| r.id == id);
    cluster.id = id;
    cluster.listen = None;
    let cluster_addrs = cluster.replicas.clone();
    // Opening the source's store holds its lock: the source is stopped, and stays so while
    // it is copied.
    let src = open_store(source, &config).context("--replica-of")?;
    let joining = !cluster::untouched(&src)?;
    let c = config.cluster.as_mut().expect("checked above");
    if joining {
        let members = cluster::applied_members(&src.read()?)?;
        if named || members.contains(&id) {
            bail!(
                "--id {id}: replica {id} is a member of the office already (or was); a new replica takes an id of its own"
            );
        }
        let Some(raft) = listen.raft else {
            bail!(
                "--raft: required, since {} has run as a replica: where the other replicas reach the new one, e.g. /ip4/10.0.0.4/tcp/7400",
                source.display()
            );
        };
        c.replicas.push(ReplicaEntry {
            id,
            addr: raft.trim().to_owned(),
        });
        c.joined = true;
    } else {
        if !named {
            bail!(
                "--id {id}: not one of the replicas {} was named with ({}); a replica added later is copied from a replica that has run",
                source.display(),
                cluster_addrs
                    .iter()
                    .map(|r| r.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if let Some(raft) = listen.raft {
            c.listen = Some(raft);
        }
    }
    let a = config.authority.as_mut().expect("an authority node");
    if let Some(p) = listen.p2p {
        a.p2p_listen = vec![p];
    }
    if let Some(h) = listen.http {
        config.http.listen = h;
    }
    config
        .validate()
        .context(if joining { "--raft" } else { "--id" })?;
    fresh_dir(data_dir)?;
    let to = data_dir.join(STORE_FILE);
    let part = data_dir.join(format!("{STORE_FILE}.part"));
    std::fs::copy(source.join(STORE_FILE), &part)
        .with_context(|| format!("copying the store to {}", part.display()))?;
    std::fs::File::open(&part)?.sync_all()?;
    drop(src);
    std::fs::rename(&part, &to)?;
    // The copy numbers the enterprises' feed on its own from now on: a feed of its own.
    {
        let store = open_store(data_dir, &config).context("the copied store")?;
        let w = store.write()?;
        crate::store::feed::new_epoch(&w)?;
        w.commit()?;
    }
    // Its own self-signed TLS pair under its own directory (the paths are relative to it)
    // unless the source names files elsewhere.
    ensure_tls(data_dir, config.authority.as_ref().expect("authority"))?;
    config.save(data_dir)?;
    Ok(if joining {
        Joining::Joins
    } else {
        Joining::Founds
    })
}

/// What a replica made by [`init_replica_of`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joining {
    /// One of the replicas a new office starts with.
    Founds,
    /// A new replica of a running office, voting once its administrator has added it.
    Joins,
}

/// A running replica: its Raft and its network.
pub(super) struct RunningReplica {
    raft: Raft<cluster::TypeConfig>,
    net: tokio::task::JoinHandle<Result<(), p2p::P2pError>>,
}

/// Starts `authority` as replica `c.id`: its Raft over the store, its network, and from
/// then on its writes through the log. The replica of the lowest id starts the cluster
/// when no replica has a log yet.
pub(super) async fn start_replica(
    authority: &Arc<Authority>,
    c: &ClusterSection,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<RunningReplica> {
    let root = authority::key_seed(authority.store())?;
    let peers = c
        .replicas
        .iter()
        .map(|r| {
            Ok(p2p::Peer {
                id: r.id,
                peer: p2p::replica_peer(&root, r.id),
                addr: r.addr.parse()?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .context("cluster.replica")?;
    let listen = c
        .listen_addr()
        .context("cluster.listen")?
        .parse()
        .context("cluster.listen")?;
    let config = Arc::new(
        cluster::config(c.heartbeat_ms, c.election_ms)
            .validate()
            .context("[cluster]")?,
    );
    // Bound before the Raft starts: a replica that cannot listen stops here, saying why.
    let network = p2p::listen(root, c.id, listen, peers.clone())?;
    let (transport, inbox) = p2p::transport(root);
    let (log, sm) = cluster::storage(authority.store().clone(), authority.machine());
    let raft = Raft::new(c.id, config, p2p::Factory(transport.clone()), log, sm)
        .await
        .context("starting the replica")?;
    let net = tokio::spawn(network.run(raft.clone(), inbox, shutdown));
    authority.replicate(
        raft.clone(),
        Forward::P2p(transport),
        tokio::runtime::Handle::current(),
    );
    let first = c.replicas.iter().map(|r| r.id).min();
    if !c.joined && first == Some(c.id) && !raft.is_initialized().await? {
        let voters: BTreeMap<u64, BasicNode> = c
            .replicas
            .iter()
            .map(|r| (r.id, BasicNode::new(&r.addr)))
            .collect();
        raft.initialize(voters)
            .await
            .context("starting the cluster")?;
        tracing::info!(replicas = c.replicas.len(), "started the office's cluster");
    }
    tracing::info!(id = c.id, "serving as a replica of the office");
    Ok(RunningReplica { raft, net })
}

impl RunningReplica {
    /// Stops the Raft, then the network.
    pub(super) async fn stop(self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "the replica did not stop cleanly");
        }
        match self.net.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "the replica network stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "the replica network panicked"),
            Ok(Ok(())) => {}
        }
    }
}
