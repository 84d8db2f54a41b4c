//! `exlic-bench-cluster`: an office of three replicas against a lone office, same run,
//! same disk, one JSON line.
//!
//! Setup (not measured): one office with `--apps` + `--writes` + 1 enterprises enrolled,
//! certified, their application documents synced and sealed (as `exlic-bench-authority`
//! makes them). Its file is copied four times: a lone office, and three replicas made one
//! cluster (openraft over in-process links; each replica a real redb file, every log append
//! and every applied batch a durable commit).
//!
//! Measured, on the lone office and then on the cluster's leader, from `--threads` threads:
//! 1. **Ingest**: `--apps` sealed submissions (上报), each answered with a receipt.
//! 2. **Issuance**: the same applications' 复审 approvals (after their 初审, not timed),
//!    each numbering, signing and logging a licence.
//!
//! Then on the cluster:
//! 3. **Catch-up**: a follower is stopped and its file closed; `--writes` further
//!    submissions are committed by the other two; the follower restarts from its file and
//!    the time until it has applied everything the leader has is taken.
//! 4. **Failover**: the leader is stopped (its Raft shut down, its links gone, as far as the
//!    others can tell a crash); the time from then to the first write committed through a
//!    surviving replica.
//!
//! Finally every replica's tables are compared (all but the Raft log's own).
//!
//! Targets (DESIGN.md, issue "replicated office"): cluster ingest at least a quarter of
//! the lone office's; failover under 3 s; catch-up under 10 s.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use exlic_client::DocId;
use exlic_client::protocol::{Request, Response};
use exlic_client::seal::{SealPayload, SealedSubmission};
use exlic_node::authority::{self, Authority, AuthorityError};
use exlic_node::clock::SystemClock;
use exlic_node::cluster::local::{Factory, Net, R};
use exlic_node::cluster::{NodeId, storage};
use exlic_node::domain::review::Stage;
use exlic_node::store::{Store, StoreOptions, dump};

#[path = "common/baselines.rs"]
mod baselines;
#[path = "common/fleet.rs"]
mod fleet;
use baselines::arg;

type Work = Vec<([u8; 32], Vec<u8>)>;

/// The office on the file at `path`; a replica just stopped lets go of its file shortly
/// after its Raft shut down, so an open that finds it still held is tried again.
fn open(path: &Path) -> Arc<Authority> {
    let mut tries = 0;
    let store = loop {
        match Store::open(path, StoreOptions::default()) {
            Ok(s) => break Arc::new(s),
            Err(e) if tries < 500 => {
                tries += 1;
                let _ = e;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    };
    Arc::new(Authority::new(store, Arc::new(SystemClock), fleet::office_info()).expect("office"))
}

/// Runs `f` on every item from `threads` threads; seconds taken.
fn spread<T: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) + Sync) -> f64 {
    let queue = std::sync::Mutex::new(items);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let Some(item) = queue.lock().expect("queue").pop() else {
                        break;
                    };
                    f(item);
                }
            });
        }
    });
    t.elapsed().as_secs_f64()
}

fn application_of(env: &[u8]) -> DocId {
    let sub = SealedSubmission::decode(env).expect("envelope");
    SealPayload::decode(&sub.payload)
        .expect("payload")
        .application_id
}

/// Who takes writes: the lone office, or whichever replica leads now.
type Target<'a> = &'a (dyn Fn() -> Arc<Authority> + Sync);

/// Answers "the office cannot commit writes now" seen by the writers (a leader changing):
/// each was tried again on whoever leads then, as an enterprise node retries.
static UNAVAILABLE: AtomicUsize = AtomicUsize::new(0);

/// Submits `env` until it is received.
fn submit(target: Target<'_>, peer: [u8; 32], env: &[u8]) {
    loop {
        match target()
            .handle(peer, Request::Submit(env.to_vec()))
            .response
        {
            Response::Receipt(_) => return,
            Response::Error {
                code: exlic_client::protocol::ErrorCode::Unavailable,
                ..
            } => {
                UNAVAILABLE.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
            other => panic!("submission refused: {other:?}"),
        }
    }
}

/// Decides `app` at `stage` until the decision is committed; the licence number.
fn decide(target: Target<'_>, app: DocId, stage: Stage) -> Option<String> {
    loop {
        let actor = if stage == Stage::Initial {
            "经办人"
        } else {
            "处长"
        };
        match target().review.decide(app, stage, true, "", actor) {
            Ok((_, no)) => return no,
            Err(AuthorityError::Unavailable(_)) => {
                UNAVAILABLE.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
            // A retry of a decision committed just before its leader changed.
            Err(AuthorityError::WrongState { .. }) if stage == Stage::Initial => return None,
            Err(e) => panic!("decision refused: {e}"),
        }
    }
}

/// Ingest then issuance of `work`: (ingest per s, issuance per s).
fn workload(target: Target<'_>, work: Work, threads: usize) -> (f64, f64) {
    let n = work.len() as f64;
    let apps: Vec<DocId> = work.iter().map(|(_, env)| application_of(env)).collect();
    let ingest = spread(work, threads, |(peer, env)| submit(target, peer, &env));
    spread(apps.clone(), threads, |app| {
        decide(target, app, Stage::Initial);
    });
    let issued = AtomicUsize::new(0);
    let issuance = spread(apps, threads, |app| {
        assert!(
            decide(target, app, Stage::Second).is_some(),
            "a licence issued"
        );
        issued.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(issued.into_inner() as f64, n);
    (n / ingest, n / issuance)
}

struct Replica {
    auth: Arc<Authority>,
    raft: R,
}

struct Cluster {
    net: Arc<Net>,
    config: Arc<openraft::Config>,
    dir: PathBuf,
    replicas: std::collections::BTreeMap<NodeId, Replica>,
}

impl Cluster {
    fn path(&self, id: NodeId) -> PathBuf {
        self.dir.join(format!("replica-{id}.redb"))
    }

    async fn start(&mut self, id: NodeId) {
        let auth = open(&self.path(id));
        let (log, sm) = storage(auth.store().clone(), auth.machine());
        let raft = R::new(
            id,
            self.config.clone(),
            Factory {
                net: self.net.clone(),
                from: id,
            },
            log,
            sm,
        )
        .await
        .expect("raft");
        self.net.nodes.lock().expect("net").insert(id, raft.clone());
        auth.replicate(
            raft.clone(),
            exlic_node::cluster::write::Forward::Local {
                net: self.net.clone(),
                from: id,
            },
            tokio::runtime::Handle::current(),
        );
        self.replicas.insert(id, Replica { auth, raft });
    }

    /// Stops replica `id` as a crash looks to the others, and closes its file.
    async fn stop(&mut self, id: NodeId) {
        self.net.nodes.lock().expect("net").remove(&id);
        let r = self.replicas.remove(&id).expect("running");
        r.raft.shutdown().await.expect("shutdown");
        drop(r);
    }

    /// Who takes writes now: the running replicas and a lookup of the one that leads.
    fn target(&self) -> impl Fn() -> Arc<Authority> + Sync + use<> {
        let running: Vec<(NodeId, Arc<Authority>, R)> = self
            .replicas
            .iter()
            .map(|(id, r)| (*id, r.auth.clone(), r.raft.clone()))
            .collect();
        move || loop {
            let leader = running
                .iter()
                .find_map(|(_, _, raft)| raft.metrics().borrow().current_leader);
            if let Some((_, a, _)) = running.iter().find(|(id, _, _)| Some(*id) == leader) {
                return a.clone();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    async fn leader(&self) -> NodeId {
        let up: Vec<NodeId> = self.replicas.keys().copied().collect();
        self.net.leader(&up).await
    }
}

fn main() {
    let apps = arg("--apps", 1000);
    let writes = arg("--writes", 10_000);
    let threads = arg("--threads", 16);
    let dir = std::env::temp_dir().join(format!("exlic-bench-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let base_path = dir.join("base.redb");

    let setup = Instant::now();
    let (work, later, extra) = {
        let store = Arc::new(Store::open(&base_path, StoreOptions::default()).expect("store"));
        authority::initialise(&store).expect("initialise");
        drop(store);
        let a = open(&base_path);
        let mut all: Work = (0..apps + writes + 1)
            .map(|n| fleet::sealed_submission(&a, "91350200", n))
            .collect();
        let extra = all.pop().expect("one more");
        let later = all.split_off(apps);
        (all, later, extra)
    };
    for name in [
        "lone.redb",
        "replica-1.redb",
        "replica-2.redb",
        "replica-3.redb",
    ] {
        std::fs::copy(&base_path, dir.join(name)).expect("copy");
    }
    let setup_s = setup.elapsed().as_secs_f64();

    // The lone office.
    let lone = open(&dir.join("lone.redb"));
    let (lone_ingest, lone_issuance) = workload(&|| lone.clone(), work.clone(), threads);
    drop(lone);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let config = openraft::Config {
        heartbeat_interval: 100,
        election_timeout_min: 500,
        election_timeout_max: 1000,
        ..Default::default()
    };
    let mut c = Cluster {
        net: Arc::new(Net::default()),
        config: Arc::new(config.clone().validate().expect("config")),
        dir: dir.clone(),
        replicas: Default::default(),
    };
    rt.block_on(async {
        for id in 1..=3 {
            c.start(id).await;
        }
        c.replicas[&1]
            .raft
            .initialize(BTreeSet::from([1, 2, 3]))
            .await
            .expect("initialise");
    });
    let term = |c: &Cluster| {
        c.replicas
            .values()
            .map(|r| r.raft.metrics().borrow().current_term)
            .max()
            .unwrap_or(0)
    };
    rt.block_on(c.leader());
    let term0 = term(&c);
    let (ingest, issuance) = workload(&c.target(), work, threads);
    let elections_under_load = term(&c) - term0;
    let unavailable_under_load = UNAVAILABLE.swap(0, Ordering::Relaxed);

    // Catch-up: a follower down during `writes` submissions.
    let l = rt.block_on(c.leader());
    let f = (1..=3).find(|i| *i != l).expect("a follower");
    rt.block_on(c.stop(f));
    let target = c.target();
    let write_s = spread(later, threads, |(peer, env)| submit(&target, peer, &env));
    drop(target);
    let l = rt.block_on(c.leader());
    let target = c.replicas[&l].raft.metrics().borrow().last_applied;
    let catch_up = rt.block_on(async {
        let t = Instant::now();
        c.start(f).await;
        loop {
            if c.replicas[&f].raft.metrics().borrow().last_applied >= target {
                break t.elapsed().as_secs_f64();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });

    // Failover: the leader stops; the first write committed through a survivor.
    let (peer, env) = extra;
    let failover = {
        // Its links go first (a crash, as far as the others can tell), the clock starts,
        // and its Raft is shut down meanwhile.
        c.net.nodes.lock().expect("net").remove(&l);
        let t = Instant::now();
        let gone = c.replicas.remove(&l).expect("the leader");
        let shutdown = rt.spawn(async move { gone.raft.shutdown().await });
        let survivors: Vec<Arc<Authority>> = c.replicas.values().map(|r| r.auth.clone()).collect();
        let mut tries = 0u32;
        'found: loop {
            for a in &survivors {
                tries += 1;
                match a.handle(peer, Request::Submit(env.clone())).response {
                    Response::Receipt(_) => break 'found,
                    Response::Error { .. } => {}
                    other => panic!("unexpected answer: {other:?}"),
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let took = t.elapsed().as_secs_f64();
        rt.block_on(shutdown).expect("join").expect("shutdown");
        (took, tries)
    };

    rt.block_on(c.start(l));

    // Every replica ends with the same tables.
    let identical = rt.block_on(async {
        for _ in 0..2000 {
            let applied: BTreeSet<_> = c
                .replicas
                .values()
                .map(|r| r.raft.metrics().borrow().last_applied)
                .collect();
            let dumps: BTreeSet<Vec<u8>> = c
                .replicas
                .values()
                .map(|r| dump::all(&r.auth.store().read().expect("read")).expect("dump"))
                .collect();
            if applied.len() == 1 && dumps.len() == 1 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    });
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    let r1 = |x: f64| (x * 10.0).round() / 10.0;
    println!(
        "{}",
        serde_json::json!({
            "bench": "cluster",
            "apps": apps,
            "threads": threads,
            "replicas": 3,
            "links": "in-process",
            "election_timeout_ms": [config.election_timeout_min, config.election_timeout_max],
            "lone_ingest_per_s": r1(lone_ingest),
            "cluster_ingest_per_s": r1(ingest),
            "ingest_ratio": r3(ingest / lone_ingest),
            "ingest_target_ratio": 0.25,
            "lone_issuance_per_s": r1(lone_issuance),
            "cluster_issuance_per_s": r1(issuance),
            "issuance_ratio": r3(issuance / lone_issuance),
            "catch_up_writes": writes,
            "writes_while_down_per_s": r1(writes as f64 / write_s),
            "catch_up_s": r3(catch_up),
            "catch_up_target_s": 10,
            "failover_s": r3(failover.0),
            "failover_tries": failover.1,
            "failover_target_s": 3,
            "identical_tables": identical,
            "elections_under_load": elections_under_load,
            "unavailable_answers_under_load": unavailable_under_load,
            "unavailable_answers_while_one_down": UNAVAILABLE.load(Ordering::Relaxed),
            "met": ingest >= 0.25 * lone_ingest && failover.0 < 3.0 && catch_up < 10.0 && identical,
            "setup_s": r1(setup_s),
        })
    );
    rt.block_on(async {
        for id in [1, 2, 3] {
            if c.replicas.contains_key(&id) {
                c.stop(id).await;
            }
        }
    });
    std::fs::remove_dir_all(&dir).ok();
}
