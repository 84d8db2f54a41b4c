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

use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};
use ed25519_dalek::SigningKey;
use exlic_client::DocId;
use exlic_client::application::ApplicationForm;
use exlic_client::cert_request::{CertRequest, RequestKind};
use exlic_client::invite::Invite;
use exlic_client::protocol::{DocReply, Request, Response};
use exlic_client::seal::{
    AttachmentDigest, SealPayload, SealedSubmission, canonical_content, sha256,
};
use exlic_node::authority::{self, Authority, AuthorityInfo};
use exlic_node::clock::{Clock, SystemClock};
use exlic_node::store::{Store, StoreOptions, form_doc};

#[path = "common/backlog.rs"]
mod backlog;
#[path = "common/baselines.rs"]
mod baselines;
use baselines::{arg, commit_rate, cpu_seconds, verify_rate};

/// A valid USCC for enterprise `n` (GB 32100 check character computed).
fn uscc(n: usize) -> String {
    let first17 = format!("91350200{n:09}");
    let c = exlic_client::uscc::check_char(&first17).expect("17 valid characters");
    format!("{first17}{c}")
}

fn key(seed: u64, n: usize) -> SigningKey {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b[8..16].copy_from_slice(&(n as u64).to_le_bytes());
    b[31] = 7;
    SigningKey::from_bytes(&b)
}

/// Enrols, certifies and syncs one enterprise's device; returns its sealed submission.
fn prepare(a: &Authority, n: usize) -> ([u8; 32], Vec<u8>) {
    let (u, device, master) = (uscc(n), key(1, n), key(2, n));
    let peer = device.verifying_key().to_bytes();
    let inv = Invite::from_token(&a.registry.invite(&u, "企业", 100, 30).expect("invite"))
        .expect("token");
    let r = a.handle(
        peer,
        Request::Enrol {
            secret: inv.secret,
            master_key: master.verifying_key().to_bytes(),
        },
    );
    assert!(
        matches!(r.response, Response::Enrolled { .. }),
        "{:?}",
        r.response
    );
    let req = CertRequest {
        kind: RequestKind::New,
        enterprise_uscc: u.clone(),
        device_key: peer,
        mobile: "13800138000".into(),
        old_mobile: String::new(),
        requested_at_ms: 0,
        nonce: sha256(&peer)[..16].try_into().expect("16 bytes"),
    }
    .sign(&master);
    let r = a.handle(peer, Request::Certify(req));
    assert!(
        matches!(r.response, Response::Certified { .. }),
        "{:?}",
        r.response
    );

    let id = DocId(sha256(u.as_bytes())[..16].try_into().expect("16 bytes"));
    let mut doc = AutoCommit::new();
    // The sample application (it passes the office's own checks at receipt).
    let year = exlic_node::clock::china_date(SystemClock.now_ms()).year();
    let form = ApplicationForm {
        remarks: format!("enterprise {n}"),
        ..exlic_client::sample::application(exlic_client::sample::NAME, &u, year.into())
    };
    form_doc::init(&mut doc, 0, &form).expect("form");
    doc.commit();
    let mut state = sync::State::new();
    for _ in 0..10 {
        let Some(msg) = doc.sync().generate_sync_message(&mut state) else {
            break;
        };
        let r = a.handle(
            peer,
            Request::Sync {
                cursor: 0,
                docs: vec![(id, msg.encode())],
            },
        );
        let Response::Sync { docs, .. } = r.response else {
            panic!("sync: {:?}", r.response)
        };
        for (d, reply) in docs {
            if let (true, DocReply::Message(m)) = (d == id, reply) {
                doc.sync()
                    .receive_sync_message(&mut state, sync::Message::decode(&m).expect("msg"))
                    .expect("receive");
            }
        }
    }
    // The contract scan every sealed application carries (V22), uploaded in setup.
    let contract = format!("%PDF-1.4 contract of enterprise {n}").into_bytes();
    let r = a.handle(
        peer,
        Request::BlobPut {
            sha256: sha256(&contract),
            size: contract.len() as u64,
            offset: 0,
            bytes: contract.clone(),
        },
    );
    assert!(
        matches!(r.response, Response::BlobHave { .. }),
        "upload: {:?}",
        r.response
    );
    let content = canonical_content(&form_doc::read_form(&doc));
    let mut heads: Vec<[u8; 32]> = doc.get_heads().iter().map(|h| h.0).collect();
    heads.sort();
    let p = SealPayload {
        enterprise_uscc: u,
        application_id: id,
        application_no: format!("2699994{n:014}"),
        revision: 1,
        heads,
        content_sha256: sha256(&content),
        attachments: vec![AttachmentDigest {
            sha256: sha256(&contract),
            size: contract.len() as u64,
        }],
        device_key: peer,
        sealed_at_ms: 0,
        certificate_serial: None,
    };
    (peer, SealedSubmission::seal(&p, content, &device).encode())
}

fn main() {
    let peers = arg("--peers", 1000);
    let threads = arg("--threads", 64);
    let dir = std::env::temp_dir().join(format!("exlic-bench-authority-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store =
        Arc::new(Store::open(&dir.join("authority.redb"), StoreOptions::default()).expect("store"));
    authority::initialise(&store).expect("initialise");
    let a = Arc::new(
        Authority::new(
            store,
            Arc::new(SystemClock),
            AuthorityInfo {
                name: "bench".into(),
                agency_code: "AA".into(),
                addrs: vec!["/ip4/127.0.0.1/tcp/1".into()],
                attachment_max_bytes: 20 << 20,
            },
        )
        .expect("authority"),
    );
    let setup = Instant::now();
    let work: Vec<([u8; 32], Vec<u8>)> = (0..peers).map(|n| prepare(&a, n)).collect();
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
