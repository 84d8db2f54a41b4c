//! Three replicas of one office over the in-process network, each an `Authority` on its
//! own redb file and its own clock: review decisions and licence issuance go through the
//! log, and every replica ends with the same tables; a follower cannot decide; a leader
//! cut off mid-issuance never signs, and its number goes to what the new leader issued.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

use openraft::Raft;

use super::*;
use crate::cluster::local::{Factory, Net, config};
use crate::cluster::{NodeId, storage};
use crate::domain::review::Stage;
use crate::store::{dump, licences};
use exlic_client::status::ApplicationStatus;

/// One replica: its office and its Raft handle.
struct Replica {
    auth: Arc<Authority>,
    raft: crate::cluster::local::R,
}

struct Office {
    net: Arc<Net>,
    replicas: Vec<Replica>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Office {
    /// Three replicas started from copies of the office in `base`, which is closed.
    async fn from_copies_of(base: &std::path::Path, config: openraft::Config) -> Self {
        let config = Arc::new(config.validate().unwrap());
        let net = Arc::new(Net::default());
        let (mut replicas, mut dirs) = (Vec::new(), Vec::new());
        for id in 1..=3u64 {
            let dir = tempfile::tempdir().unwrap();
            std::fs::copy(base.join("a.redb"), dir.path().join("a.redb")).unwrap();
            // Each replica's clock is its own; only the stamp a command carries counts.
            let clock = ManualClock::at(1_779_000_000_000 + id as i64 * 7_000);
            let auth = Arc::new(office_on(dir.path(), "AA", &clock, 1 << 20));
            let (log, sm) = storage(auth.store().clone(), auth.machine());
            let raft = Raft::new(
                id,
                config.clone(),
                Factory {
                    net: net.clone(),
                    from: id,
                },
                log,
                sm,
            )
            .await
            .unwrap();
            net.nodes.lock().unwrap().insert(id, raft.clone());
            auth.replicate(raft.clone(), tokio::runtime::Handle::current());
            replicas.push(Replica { auth, raft });
            dirs.push(dir);
        }
        replicas[0]
            .raft
            .initialize(BTreeSet::from([1, 2, 3]))
            .await
            .unwrap();
        Self {
            net,
            replicas,
            _dirs: dirs,
        }
    }

    fn replica(&self, id: NodeId) -> &Replica {
        &self.replicas[id as usize - 1]
    }

    /// The leader those in `among` agree on.
    async fn leader(&self, among: &[NodeId]) -> NodeId {
        self.net.leader(among).await
    }

    /// Waits until every replica has applied through the same entry and holds the same
    /// tables (all but the Raft log's own); returns them.
    async fn settled(&self) -> Vec<u8> {
        let mut last = Vec::new();
        for _ in 0..200 {
            let applied: BTreeSet<_> = self
                .replicas
                .iter()
                .map(|r| r.raft.metrics().borrow().last_applied)
                .collect();
            let dumps: Vec<Vec<u8>> = self
                .replicas
                .iter()
                .map(|r| dump::all(&r.auth.store().read().unwrap()).unwrap())
                .collect();
            if applied.len() == 1 && dumps.iter().all(|d| *d == dumps[0]) {
                return dumps.into_iter().next().unwrap();
            }
            last = dumps.iter().map(Vec::len).collect();
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the replicas did not converge (dump sizes {last:?})");
    }
}

/// Runs `f` on a thread of its own (office work blocks on the runtime, as on the API's
/// blocking pool); its result, or `None` if it did not finish within `wait`.
fn off_runtime<T: Send + 'static>(
    wait: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> (Option<T>, mpsc::Receiver<T>) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    (rx.recv_timeout(wait).ok(), rx)
}

fn decide(
    a: &Arc<Authority>,
    app: DocId,
) -> Result<(ApplicationStatus, Option<String>), AuthorityError> {
    a.review.decide(app, Stage::Second, true, "", "处长")
}

/// The office as it stands before it is replicated, in a directory of its own: three
/// applications past 初审, waiting for 复审.
fn base_office() -> (tempfile::TempDir, [DocId; 3]) {
    let (base, apps, _) = base_office_with_draft();
    (base, apps)
}

/// [`base_office`], and a fourth application synced to it and sealed, not yet sent: its
/// id and envelope.
fn base_office_with_draft() -> (tempfile::TempDir, [DocId; 3], (DocId, Vec<u8>)) {
    let base = tempfile::tempdir().unwrap();
    let apps: [DocId; 3] = {
        let a = authority_at(base.path(), 1_779_000_000_000, 1 << 20);
        let dev = key(10);
        enrol(&a, USCC_A, &dev);
        let att = b"contract".to_vec();
        upload(&a, &dev, &att);
        let mut apps = Vec::new();
        for i in 0..3u8 {
            let id = DocId([0xA0 + i; 16]);
            past_initial_review(&a, &dev, &att, id);
            apps.push(id);
        }
        apps.try_into().unwrap()
    };
    let draft = {
        let a = authority_at(base.path(), 1_779_000_000_000, 1 << 20);
        let dev = key(10);
        let id = DocId([0xB0; 16]);
        (id, sealed_2026(&a, &dev, b"contract", id).1)
    };
    (base, apps, draft)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn replicas_issue_through_the_log_into_identical_tables_and_a_cut_off_leader_signs_nothing() {
    let (base, apps) = base_office();
    let rt = runtime();
    let office = rt.block_on(Office::from_copies_of(base.path(), config()));
    let wait = Duration::from_secs(10);

    // Issued through the leader: numbered once, the same licence on every replica.
    let l = rt.block_on(office.leader(&[1, 2, 3]));
    let leader = office.replica(l).auth.clone();
    let (first, _) = off_runtime(wait, move || decide(&leader, apps[0]));
    let (status, no) = first.expect("the leader answers").unwrap();
    assert_eq!(status, ApplicationStatus::Issued);
    let no = no.unwrap();
    assert!(no.ends_with("000001"), "{no}");
    rt.block_on(office.settled());
    let file = licences::file(&office.replica(1).auth.store().read().unwrap(), &no).unwrap();
    assert!(file.is_some());

    // A follower does not decide: it says so, and nothing changes anywhere.
    let f = (1..=3).find(|i| *i != l).unwrap();
    let follower = office.replica(f).auth.clone();
    let (answer, _) = off_runtime(wait, move || decide(&follower, apps[1]));
    let err = answer.expect("the follower answers").unwrap_err();
    assert!(matches!(err, AuthorityError::Unavailable(_)), "{err}");

    // A refused command is refused the same everywhere and changes nothing.
    let before = rt.block_on(office.settled());
    let leader = office.replica(l).auth.clone();
    let (again, _) = off_runtime(wait, move || decide(&leader, apps[0]));
    let err = again.expect("the leader answers").unwrap_err();
    assert!(matches!(err, AuthorityError::WrongState { .. }), "{err}");
    let after = rt.block_on(office.settled());
    assert_eq!(before.len(), after.len());

    // The leader is cut off mid-issuance: its decision waits, uncommitted and unsigned.
    let rest: Vec<NodeId> = (1..=3).filter(|i| *i != l).collect();
    office.net.isolate(l, &rest);
    let old = office.replica(l).auth.clone();
    let (stranded, stranded_rx) =
        off_runtime(Duration::from_millis(300), move || decide(&old, apps[1]));
    assert!(stranded.is_none(), "an uncommitted decision was answered");
    let new = rt.block_on(office.leader(&rest));
    let leader = office.replica(new).auth.clone();
    let (third, _) = off_runtime(wait, move || decide(&leader, apps[2]));
    let (_, no2) = third.expect("the new leader answers").unwrap();
    let no2 = no2.unwrap();
    assert!(no2.ends_with("000002"), "{no2}");
    // The old leader applied nothing while cut off: no licence for application 2.
    let r = office.replica(l).auth.store().read().unwrap();
    assert_eq!(
        crate::store::cases::get(&r, apps[1])
            .unwrap()
            .unwrap()
            .status,
        ApplicationStatus::PendingSecond
    );
    assert!(licences::file(&r, &no2).unwrap().is_none());
    drop(r);

    office.net.heal();
    let answer = stranded_rx
        .recv_timeout(wait)
        .expect("the stranded decision is answered once healed");
    assert!(
        matches!(answer, Err(AuthorityError::Unavailable(_))),
        "{answer:?}"
    );
    rt.block_on(office.settled());
    for id in 1..=3 {
        let r = office.replica(id).auth.store().read().unwrap();
        assert_eq!(
            crate::store::cases::get(&r, apps[1])
                .unwrap()
                .unwrap()
                .status,
            ApplicationStatus::PendingSecond,
            "replica {id}"
        );
        let l2 = licences::get(&r, &no2).unwrap().unwrap();
        assert_eq!(l2.application_id, apps[2], "replica {id}");
        assert_eq!(
            crate::store::tlog::size(&r, crate::store::tlog::OWN).unwrap(),
            crate::store::tlog::size(
                &office.replica(1).auth.store().read().unwrap(),
                crate::store::tlog::OWN
            )
            .unwrap()
        );
    }
    for r in &office.replicas {
        rt.block_on(r.raft.shutdown()).unwrap();
    }
}

#[test]
fn a_replica_that_missed_purged_entries_is_brought_up_by_a_snapshot_of_the_whole_office() {
    let (base, apps) = base_office();
    let rt = runtime();
    // A snapshot after every two entries, and the log purged up to it.
    let config = openraft::Config {
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(2),
        max_in_snapshot_log_to_keep: 0,
        purge_batch_size: 1,
        ..config()
    };
    let office = rt.block_on(Office::from_copies_of(base.path(), config));
    let wait = Duration::from_secs(10);
    let l = rt.block_on(office.leader(&[1, 2, 3]));
    let behind = (1..=3).find(|i| *i != l).unwrap();
    let others: Vec<NodeId> = (1..=3).filter(|i| *i != behind).collect();
    office.net.isolate(behind, &others);
    let mut numbers = Vec::new();
    for app in apps {
        let leader = office.replica(l).auth.clone();
        let (done, _) = off_runtime(wait, move || decide(&leader, app));
        numbers.push(done.expect("the leader answers").unwrap().1.unwrap());
    }
    // The leader's log no longer holds what the cut-off replica misses: only a snapshot
    // can bring it up.
    let had = office
        .replica(behind)
        .raft
        .metrics()
        .borrow()
        .last_log_index
        .unwrap_or(0);
    let purged = rt.block_on(async {
        for _ in 0..200 {
            let m = office.replica(l).raft.metrics().borrow().clone();
            if m.purged.is_some_and(|p| p.index > had) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    });
    assert!(purged, "the leader purged its log");
    office.net.heal();
    rt.block_on(office.settled());
    let r = office.replica(behind).auth.store().read().unwrap();
    for (app, no) in apps.iter().zip(&numbers) {
        assert_eq!(licences::get(&r, no).unwrap().unwrap().application_id, *app);
    }
    drop(r);
    for r in &office.replicas {
        rt.block_on(r.raft.shutdown()).unwrap();
    }
}

#[test]
fn a_submission_through_the_leader_is_received_once_on_every_replica() {
    let (base, _, (id, env)) = base_office_with_draft();
    let rt = runtime();
    let office = rt.block_on(Office::from_copies_of(base.path(), config()));
    let wait = Duration::from_secs(10);
    let peer = key(10).verifying_key().to_bytes();
    let submit = |replica: NodeId| {
        let a = office.replica(replica).auth.clone();
        let env = env.clone();
        let (r, _) = off_runtime(wait, move || a.handle(peer, Request::Submit(env)).response);
        r.expect("the replica answers")
    };
    let l = rt.block_on(office.leader(&[1, 2, 3]));
    let Response::Receipt(receipt) = submit(l) else {
        panic!("no receipt from the leader")
    };
    let settled = rt.block_on(office.settled());
    for r in &office.replicas {
        let txn = r.auth.store().read().unwrap();
        let row = crate::store::cases::get(&txn, id).unwrap().unwrap();
        assert_eq!(row.status, ApplicationStatus::PendingInitial);
        assert_eq!(
            crate::store::seals::receipt(&txn, row.seal_hash).unwrap(),
            Some(receipt.clone())
        );
    }
    // Sent again, to the leader or to a follower: the same receipt, nothing stored twice.
    let f = (1..=3).find(|i| *i != l).unwrap();
    for replica in [l, f] {
        assert_eq!(submit(replica), Response::Receipt(receipt.clone()));
    }
    assert_eq!(rt.block_on(office.settled()), settled);
    for r in &office.replicas {
        rt.block_on(r.raft.shutdown()).unwrap();
    }
}

#[test]
fn a_certificate_request_is_carried_out_once_through_the_log_and_a_refused_one_spends_nothing() {
    let (base, _) = base_office();
    let rt = runtime();
    let office = rt.block_on(Office::from_copies_of(base.path(), config()));
    let wait = Duration::from_secs(10);
    let dev = key(10);
    let peer = dev.verifying_key().to_bytes();
    let certify = |replica: NodeId, request: Vec<u8>| {
        let a = office.replica(replica).auth.clone();
        let (r, _) = off_runtime(wait, move || {
            a.handle(peer, Request::Certify(request)).response
        });
        r.expect("the replica answers")
    };
    let l = rt.block_on(office.leader(&[1, 2, 3]));
    // 号码变更 naming a mobile the device does not have: refused, its nonce not spent.
    let wrong = cert_request(
        RequestKind::NumberChange,
        USCC_A,
        &dev,
        "13900139000",
        "13700000000",
        77,
    );
    assert!(refused(&certify(l, wrong), ErrorCode::BadCertRequest));
    let before = rt.block_on(office.settled());
    // The same change naming the right mobile, with the same nonce: carried out.
    let right = cert_request(
        RequestKind::NumberChange,
        USCC_A,
        &dev,
        "13900139000",
        "13800138000",
        77,
    );
    let Response::Certified { certificate, .. } = certify(l, right.clone()) else {
        panic!("not certified")
    };
    assert!(!certificate.is_empty());
    let after = rt.block_on(office.settled());
    assert_ne!(before, after, "the change is on every replica");
    for r in &office.replicas {
        let txn = r.auth.store().read().unwrap();
        let mobiles: Vec<String> = crate::store::certs::of_enterprise(&txn, USCC_A)
            .unwrap()
            .into_iter()
            .filter(|c| c.revoked_ms.is_none())
            .map(|c| c.mobile)
            .collect();
        assert_eq!(mobiles, vec!["13900139000".to_string()]);
    }
    // Sent again: a replay, refused the same way on every replica.
    assert!(refused(&certify(l, right), ErrorCode::BadCertRequest));
    assert_eq!(rt.block_on(office.settled()), after);
    for r in &office.replicas {
        rt.block_on(r.raft.shutdown()).unwrap();
    }
}

#[test]
fn an_invite_an_enrolment_and_a_first_certificate_through_the_leader_reach_every_replica() {
    let (base, _) = base_office();
    let rt = runtime();
    let office = rt.block_on(Office::from_copies_of(base.path(), config()));
    let before = rt.block_on(office.settled());
    let l = rt.block_on(office.leader(&[1, 2, 3]));
    let leader = office.replica(l).auth.clone();
    // Invite (its secret drawn by the leader), enrolment and 新授权, all through the log.
    let (secret, _) = off_runtime(Duration::from_secs(10), move || {
        enrol(&leader, USCC_B, &key(20))
    });
    let secret = secret.expect("the leader answers");
    let after = rt.block_on(office.settled());
    assert_ne!(before, after);
    for r in &office.replicas {
        let txn = r.auth.store().read().unwrap();
        assert_eq!(
            crate::store::registry::enterprise_of(&txn, &key(20).verifying_key().to_bytes())
                .unwrap()
                .as_deref(),
            Some(USCC_B)
        );
        assert!(
            crate::store::registry::invite(&txn, exlic_client::seal::sha256(&secret))
                .unwrap()
                .is_some()
        );
    }
    // Another device with the spent invite: refused alike everywhere, nothing changes.
    let leader = office.replica(l).auth.clone();
    let (answer, _) = off_runtime(Duration::from_secs(10), move || {
        leader
            .handle(
                key(21).verifying_key().to_bytes(),
                Request::Enrol {
                    secret,
                    master_key: master(USCC_B).verifying_key().to_bytes(),
                },
            )
            .response
    });
    assert!(refused(&answer.unwrap(), ErrorCode::BadInvite));
    assert_eq!(rt.block_on(office.settled()), after);
    for r in &office.replicas {
        rt.block_on(r.raft.shutdown()).unwrap();
    }
}
