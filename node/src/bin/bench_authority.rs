//! `exlic-bench-authority`: sealed submissions ingested per second by an authority node
//! while 1,000 enterprise peers submit concurrently, one JSON line.
//!
//! Setup (not measured): a fresh authority store with durable commits; 1,000 enterprises,
//! each with one device that is enrolled, certified (新授权) and has synced one application
//! document; each device seals its application. Measured: the 1,000 sealed submissions
//! handed to `Authority::handle` from many threads at once, as the libp2p server does for
//! concurrent peers. Each one is decoded, its seal and certificate verified (`verify_strict`),
//! checked against the synced document, stored and indexed, and answered with a signed
//! receipt in one durable transaction. Baselines measured in the same run: raw ed25519
//! `verify_strict` per second on one core, and raw redb durable commits per second of a
//! small row. Target: ingest ≥ half of the slower baseline.
//!
//! The peers are in-process callers of the same handler the network layer calls; the
//! libp2p transport is measured by `exlic-bench-sync`.
//!
//! `--backlog N` adds, after that, a backlog over a real libp2p connection on 127.0.0.1:
//! an enterprise node that sealed and reported N applications offline connects to the
//! same office and drains its outbox (documents synced first, then the submissions), while
//! a second enterprise, connecting once the drain is under way, reports one application.
//! Reported: the drain rate (from connecting to the last receipt, and from the first
//! receipt to the last) as a ratio of the ingest rate measured above in the same run, and
//! how long the second enterprise waited for its receipt. Target: the drain at least half
//! the ingest rate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use exlic_client::protocol::{Request, Response};
use exlic_node::authority::{self, Authority};
use exlic_node::clock::SystemClock;
use exlic_node::store::{Store, StoreOptions};

#[path = "common/backlog.rs"]
mod backlog;
#[path = "common/baselines.rs"]
mod baselines;
#[path = "common/fleet.rs"]
mod fleet;
use baselines::{arg, commit_rate, cpu_seconds, verify_rate};

fn main() {
    let peers = arg("--peers", 1000);
    let threads = arg("--threads", 64);
    let dir = std::env::temp_dir().join(format!("exlic-bench-authority-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store =
        Arc::new(Store::open(&dir.join("authority.redb"), StoreOptions::default()).expect("store"));
    authority::initialise(&store).expect("initialise");
    let a = Arc::new(
        Authority::new(store, Arc::new(SystemClock), fleet::office_info()).expect("authority"),
    );
    let setup = Instant::now();
    let work: Vec<([u8; 32], Vec<u8>)> = (0..peers)
        .map(|n| fleet::sealed_submission(&a, "91350200", n))
        .collect();
    let setup_s = setup.elapsed().as_secs_f64();

    // Measured: every peer submits at once.
    let queue = std::sync::Mutex::new(work);
    let receipts = std::sync::atomic::AtomicUsize::new(0);
    let (t, cpu0) = (Instant::now(), cpu_seconds());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let Some((peer, env)) = queue.lock().expect("queue").pop() else {
                        break;
                    };
                    match a.handle(peer, Request::Submit(env)).response {
                        Response::Receipt(_) => {
                            receipts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        other => panic!("submission refused: {other:?}"),
                    }
                }
            });
        }
    });
    let elapsed = t.elapsed().as_secs_f64();
    let cores_busy = (cpu_seconds() - cpu0) / elapsed;
    let ingested = receipts.into_inner();
    assert_eq!(ingested, peers, "every submission answered with a receipt");
    let ingest = ingested as f64 / elapsed;
    let backlog_n = arg("--backlog", 0);
    let backlog = (backlog_n > 0).then(|| backlog::run(a.clone(), &dir, backlog_n, ingest));
    let verify = verify_rate(Duration::from_millis(1500));
    let commit = commit_rate(&dir, 500.min(peers.max(100)));
    let slower = verify.min(commit);
    println!(
        "{}",
        serde_json::json!({
            "bench": "authority-ingest",
            "peers": peers,
            "threads": threads,
            "submissions": ingested,
            "ingest_per_s": (ingest * 10.0).round() / 10.0,
            "ingest_ms_total": (elapsed * 1000.0).round(),
            "ed25519_verify_strict_per_s": verify.round(),
            "redb_durable_commit_per_s": (commit * 10.0).round() / 10.0,
            "ratio_vs_slower_baseline": (ingest / slower * 1000.0).round() / 1000.0,
            "target_ratio": 0.5,
            "met": ingest >= 0.5 * slower,
            "cores_busy_while_ingesting": (cores_busy * 100.0).round() / 100.0,
            "setup_s": (setup_s * 10.0).round() / 10.0,
            "backlog": backlog,
        })
    );
    drop(a);
    std::fs::remove_dir_all(&dir).ok();
}
