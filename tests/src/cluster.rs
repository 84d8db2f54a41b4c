//! A replicated office of three `exlic` processes on 127.0.0.1 and one enterprise enrolled
//! with it, prepared the way the README's "An office on three machines" does, and what the
//! replicated tests ask of it: the agreed leader, each replica's status, the office's
//! tables on every replica. Optionally every Raft link runs through a [`LinkProxy`] of its
//! own, so a test can cut or slow it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use exlic_client::authority::{AuthorityInfo, ClusterStatus};

use crate::proxy::{LinkProxy, Mode};
use crate::*;

/// The office's tables every replica must hold identically: what commands write.
/// (Each replica's copies of the enterprises' own documents are kept by sync with the
/// enterprise connected to it, not by the log.)
pub const OFFICE_TABLES: [&str; 14] = [
    "submissions",
    "cases",
    "seals",
    "receipts",
    "licences",
    "licence_state",
    "standings",
    "tlog_entries",
    "tlog_hashes",
    "certs",
    "devices",
    "enterprises",
    "invites",
    "blob_info",
];

/// Runs `exlic args`; its standard output, panicking with `what` on failure.
pub fn exlic_ok(args: &[&str], what: &str) -> String {
    let out = exlic().args(args).output().expect("running exlic");
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Three replicas' data directories (not started) and the enterprise's, under one root.
#[derive(Debug)]
pub struct Prepared {
    /// The replicas' data directories, replica `i + 1` at `i`.
    pub dirs: Vec<PathBuf>,
    /// The enterprise's data directory, enrolled with the office and listing every
    /// replica's address.
    pub enterprise: PathBuf,
    /// The Raft proxies, keyed (from, to): replica `from` reaches replica `to` through
    /// it. Empty when the replicas reach each other directly.
    pub links: BTreeMap<(u64, u64), LinkProxy>,
}

/// Prepares the office under `root`: replica 1 made and named a replica with its staff and
/// the enterprise's invite, replicas 2 and 3 copied from it (`init authority
/// --replica-of`), and the enterprise enrolled. With `proxied` (inside a runtime: the
/// proxies run on it), each replica dials each other one through a proxy of its own.
pub async fn prepare(root: &Path, proxied: bool) -> Prepared {
    let dirs: Vec<PathBuf> = (1..=3).map(|i| root.join(format!("r{i}"))).collect();
    let p2p: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let raft: Vec<u16> = (0..3).map(|_| free_port()).collect();
    init_authority(&dirs[0], p2p[0]);
    let token = invite(&dirs[0], USCC, NAME);
    let d = |i: usize| dirs[i].to_str().unwrap().to_owned();
    let d0 = d(0);
    let replicas: Vec<String> = (0..3)
        .map(|i| format!("{}=/ip4/127.0.0.1/tcp/{}", i + 1, raft[i]))
        .collect();
    let mut args = vec!["authority", "cluster", "--data-dir", &d0, "--id", "1"];
    for r in &replicas {
        args.extend(["--replica", r.as_str()]);
    }
    exlic_ok(&args, "exlic authority cluster");
    for (i, port) in p2p.iter().enumerate().skip(1) {
        let (id, listen) = ((i + 1).to_string(), format!("/ip4/127.0.0.1/tcp/{port}"));
        exlic_ok(
            &[
                "init",
                "authority",
                "--replica-of",
                &d(0),
                "--id",
                &id,
                "--data-dir",
                &d(i),
                "--p2p-listen",
                &listen,
            ],
            "exlic init authority --replica-of",
        );
    }
    let mut links = BTreeMap::new();
    if proxied {
        for from in 1..=3u64 {
            let mut config = exlic_node::config::Config::load(&dirs[from as usize - 1]).unwrap();
            let cluster = config.cluster.as_mut().expect("a replica's [cluster]");
            cluster.listen = Some(format!("/ip4/127.0.0.1/tcp/{}", raft[from as usize - 1]));
            for r in cluster.replicas.iter_mut().filter(|r| r.id != from) {
                let proxy = LinkProxy::start(raft[r.id as usize - 1]).await;
                r.addr = format!("/ip4/127.0.0.1/tcp/{}", proxy.port);
                links.insert((from, r.id), proxy);
            }
            config.save(&dirs[from as usize - 1]).unwrap();
        }
    }
    // The enterprise reaches the office at any of its replicas.
    let enterprise = root.join("enterprise");
    init_enrolled(&enterprise, &token);
    let addrs: Vec<String> = p2p
        .iter()
        .map(|p| format!("\"/ip4/127.0.0.1/tcp/{p}\""))
        .collect();
    edit_config(
        &enterprise,
        &format!("addrs = [\"/ip4/127.0.0.1/tcp/{}\"]", p2p[0]),
        &format!("addrs = [{}]", addrs.join(", ")),
    );
    Prepared {
        dirs,
        enterprise,
        links,
    }
}

impl Prepared {
    /// Cuts replica `id` off from the others (every link to or from it drops).
    pub fn isolate(&self, id: u64) {
        for ((from, to), p) in &self.links {
            if *from == id || *to == id {
                p.set(Mode::Drop);
            }
        }
    }

    /// Sets every Raft link to `m`.
    pub fn all_links(&self, m: Mode) {
        for p in self.links.values() {
            p.set(m);
        }
    }
}

/// The replica's view of the cluster (`GET /api/v1/node`), if it answers within 2 s.
pub async fn status(node: &Node) -> Option<ClusterStatus> {
    status_at(&node.url, &node.tls_cert()).await
}

/// [`status`] of the replica serving `url` with certificate `cert`.
pub async fn status_at(url: &str, cert: &[u8]) -> Option<ClusterStatus> {
    let http = exlic_client::client::http_client(cert).ok()?;
    let r = http
        .get(format!("{url}/api/v1/node"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    r.json::<AuthorityInfo>().await.ok()?.cluster
}

/// The leader all of `nodes` name, once they agree on one other than `gone`.
pub async fn leader(nodes: &[&Node], gone: Option<u64>) -> u64 {
    wait_for(30, "the replicas to agree on a leader", || async {
        let mut seen = Vec::new();
        for n in nodes {
            seen.push(status(n).await?.leader?);
        }
        seen.dedup();
        (seen.len() == 1 && Some(seen[0]) != gone).then(|| seen[0])
    })
    .await
}

/// Waits until every one of `nodes` has applied the same position of the log.
pub async fn applied_alike(nodes: &[&Node], secs: u64) {
    wait_for(secs, "every replica to apply the same log", || async {
        let mut applied = Vec::new();
        for n in nodes {
            applied.push(status(n).await?.applied);
        }
        applied.dedup();
        (applied.len() == 1).then_some(())
    })
    .await;
}

/// The [`OFFICE_TABLES`] of the stopped replica in `dir`, by name.
pub fn office_tables(dir: &Path) -> Vec<(String, Vec<exlic_node::store::dump::Row>)> {
    let store = exlic_node::store::Store::open(&dir.join("node.redb"), Default::default())
        .expect("the replica's store");
    let dump = exlic_node::store::dump::all(&store.read().unwrap()).unwrap();
    OFFICE_TABLES
        .iter()
        .map(|t| {
            (
                t.to_string(),
                exlic_node::store::dump::table(&dump, t).unwrap(),
            )
        })
        .collect()
}

/// The signed reference release in force in the stopped replica in `dir` (from the
/// office's public document), if one was published.
pub fn reference_release(dir: &Path) -> Option<Vec<u8>> {
    let store = exlic_node::store::Store::open(&dir.join("node.redb"), Default::default())
        .expect("the replica's store");
    let seed = exlic_node::authority::key_seed(&store).expect("an office's key");
    let root = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    let id = exlic_node::store::directory_doc::id(&root);
    let doc = exlic_node::store::docs::load(&store.read().unwrap(), id).unwrap()?;
    exlic_node::store::directory_doc::read_reference(&doc)
}

/// Asserts that the stopped replicas in `dirs` hold the same [`OFFICE_TABLES`] and the
/// same reference release; returns the first one's tables.
pub fn same_office(dirs: &[PathBuf]) -> Vec<(String, Vec<exlic_node::store::dump::Row>)> {
    let first = office_tables(&dirs[0]);
    let release = reference_release(&dirs[0]);
    assert!(release.is_some(), "the office has a reference release");
    for (i, dir) in dirs.iter().enumerate().skip(1) {
        for ((name, a), (_, b)) in first.iter().zip(office_tables(dir)) {
            assert!(*a == b, "table {name} differs on replica {}", i + 1);
        }
        assert!(
            reference_release(dir) == release,
            "the reference release differs on replica {}",
            i + 1
        );
    }
    first
}
