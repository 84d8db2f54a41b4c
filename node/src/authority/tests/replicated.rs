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
            auth.replicate(
                raft.clone(),
                crate::cluster::write::Forward::Local {
                    net: net.clone(),
                    from: id,
                },
                tokio::runtime::Handle::current(),
            );
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

    /// The leader all three agree on, and another replica (a follower).
    async fn leader_and_follower(&self) -> (NodeId, NodeId) {
        let l = self.leader(&[1, 2, 3]).await;
        (l, (1..=3).find(|i| *i != l).expect("three replicas"))
    }

    /// Stops every replica's Raft.
    async fn shutdown(&self) {
        for r in &self.replicas {
            r.raft.shutdown().await.unwrap();
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

    // A follower takes a decision too: it forwards it to the leader, and the licence is
    // numbered once, the same on every replica.
    let f = (1..=3).find(|i| *i != l).unwrap();
    let follower = office.replica(f).auth.clone();
    let (answer, _) = off_runtime(wait, move || decide(&follower, apps[1]));
    let (_, no1) = answer.expect("the follower answers").unwrap();
    let no1 = no1.unwrap();
    assert!(no1.ends_with("000002"), "{no1}");
    rt.block_on(office.settled());
    for id in 1..=3 {
        let r = office.replica(id).auth.store().read().unwrap();
        let l1 = licences::get(&r, &no1).unwrap().unwrap();
        assert_eq!(l1.application_id, apps[1], "replica {id}");
    }

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
        off_runtime(Duration::from_millis(300), move || decide(&old, apps[2]));
    assert!(stranded.is_none(), "an uncommitted decision was answered");
    let new = rt.block_on(office.leader(&rest));
    // The new leader commits: a refusal it answers is a committed command.
    let leader = office.replica(new).auth.clone();
    let (refused, _) = off_runtime(wait, move || decide(&leader, apps[1]));
    let err = refused.expect("the new leader answers").unwrap_err();
    assert!(matches!(err, AuthorityError::WrongState { .. }), "{err}");
    // Nobody applied the stranded decision: no licence for application 3 anywhere.
    for id in 1..=3 {
        let r = office.replica(id).auth.store().read().unwrap();
        let case = crate::store::cases::get(&r, apps[2]).unwrap().unwrap();
        assert_eq!(
            case.status,
            ApplicationStatus::PendingSecond,
            "replica {id}"
        );
    }

    // Healed, the old leader learns it was deposed and hands the decision to the new
    // one (the same request id): issued once, by a committed command.
    office.net.heal();
    let answer = stranded_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the stranded decision is answered once healed");
    let (_, no2) = answer.expect("the decision is made through the new leader");
    let no2 = no2.unwrap();
    assert!(no2.ends_with("000003"), "{no2}");
    rt.block_on(office.settled());
    for id in 1..=3 {
        let r = office.replica(id).auth.store().read().unwrap();
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
    rt.block_on(office.shutdown());
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
    rt.block_on(office.shutdown());
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
    // A reference release published through a follower: one release, the same signed
    // bytes and the same data in force on every replica.
    let a = office.replica(f).auth.clone();
    let before = a.reference.current().version().to_owned();
    let (bad, _) = off_runtime(wait, {
        let a = a.clone();
        move || {
            a.reference
                .publish(vec![("codes.json".into(), "{}".into())], "note", "admin")
        }
    });
    let err = bad.expect("answered").unwrap_err();
    assert!(
        matches!(err, AuthorityError::BadInput { ref field, .. } if field == "file"),
        "{err}"
    );
    assert_eq!(
        rt.block_on(office.settled()),
        settled,
        "a refused release writes nothing"
    );
    let mut codes = a
        .reference
        .current()
        .sources()
        .iter()
        .find(|(n, _)| n == "codes.json")
        .expect("the release holds its code lists")
        .clone();
    codes.1.push('\n');
    let (published, _) = off_runtime(wait, {
        let a = a.clone();
        move || a.reference.publish(vec![codes], "新的代码表", "admin")
    });
    let number = published.expect("answered").expect("published");
    rt.block_on(office.settled());
    let signed = a.reference.signed().unwrap().expect("a release");
    for r in &office.replicas {
        assert_eq!(r.auth.reference.signed().unwrap().as_ref(), Some(&signed));
        let info = r.auth.reference.release().unwrap().expect("in force");
        assert_eq!((info.number, info.note.as_str()), (number, "新的代码表"));
        assert_eq!(r.auth.reference.current().version(), before);
    }
    rt.block_on(office.shutdown());
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
    rt.block_on(office.shutdown());
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
    rt.block_on(office.shutdown());
}

#[test]
fn customs_enrols_and_reports_usage_through_a_follower_into_identical_tables() {
    use exlic_client::invite::CustomsInvite;
    use exlic_client::usage::Step;

    let (base, apps) = base_office();
    let rt = runtime();
    let office = rt.block_on(Office::from_copies_of(base.path(), config()));
    let wait = Duration::from_secs(10);
    let (l, f) = rt.block_on(office.leader_and_follower());
    let leader = office.replica(l).auth.clone();
    let (issued, _) = off_runtime(wait, move || decide(&leader, apps[0]));
    let no = issued.expect("the leader answers").unwrap().1.unwrap();
    rt.block_on(office.settled());
    let district = licences::get(&office.replica(f).auth.store().read().unwrap(), &no)
        .unwrap()
        .unwrap()
        .customs_district;

    // The invite is made on a follower (forwarded; its secret drawn before proposing), the
    // customs node enrols with another follower-or-leader, and reports a run of usage.
    let follower = office.replica(f).auth.clone();
    let d = district.clone();
    let (token, _) = off_runtime(wait, move || follower.customs.invite(&d, 7));
    let inv = CustomsInvite::from_token(&token.expect("the follower answers").unwrap()).unwrap();
    let customs = key(60);
    let pk = customs.verifying_key().to_bytes();
    let follower = office.replica(f).auth.clone();
    let secret = inv.secret;
    let (enrolled, _) = off_runtime(wait, move || {
        follower
            .handle(pk, Request::EnrolCustoms { secret })
            .response
    });
    assert_eq!(
        enrolled.expect("the follower answers"),
        Response::Enrolled {
            enterprise_uscc: district.clone()
        }
    );
    let run = vec![
        super::customs::entry(&customs, &district, 1, &no, Step::Reserve, "23"),
        super::customs::entry(&customs, &district, 2, &no, Step::Confirm, "23"),
    ];
    // Twice through the follower: the retry is answered with the same position and
    // folded once.
    for _ in 0..2 {
        let follower = office.replica(f).auth.clone();
        let run = run.clone();
        let (stored, _) = off_runtime(wait, move || {
            follower.handle(pk, Request::Usage(run)).response
        });
        assert_eq!(
            stored.expect("the follower answers"),
            Response::UsageStored { seq: 2 }
        );
    }
    // A gap, through the leader: refused, and nothing changes anywhere.
    let before = rt.block_on(office.settled());
    let leader = office.replica(l).auth.clone();
    let gap = vec![super::customs::entry(
        &customs,
        &district,
        4,
        &no,
        Step::Reserve,
        "1",
    )];
    let (answer, _) = off_runtime(wait, move || {
        leader.handle(pk, Request::Usage(gap)).response
    });
    assert!(refused(
        &answer.expect("the leader answers"),
        ErrorCode::BadRequest
    ));
    assert_eq!(rt.block_on(office.settled()), before);
    for id in 1..=3 {
        let a = &office.replica(id).auth;
        let (view, flags) = a.customs.usage_of(&no).unwrap().unwrap();
        assert_eq!(
            (view.uses, view.remaining_quantity.as_str()),
            (1, "0"),
            "replica {id}"
        );
        assert!(flags.is_empty(), "replica {id}: {flags:?}");
        // Used up, in the signed feed each replica serves.
        let page = super::customs::feed(a, &customs, 0);
        let last = page.entries.iter().rfind(|e| e.licence_no == no).unwrap();
        assert_eq!(
            last.state,
            exlic_client::standing::State::UsedUp,
            "replica {id}"
        );
    }
    rt.block_on(office.shutdown());
}

#[test]
fn a_key_rollover_through_a_follower_reaches_every_replica_and_signs_what_follows() {
    let (base, apps) = base_office();
    let rt = runtime();
    let office = rt.block_on(Office::from_copies_of(base.path(), config()));
    let wait = Duration::from_secs(10);
    let (l, f) = rt.block_on(office.leader_and_follower());
    let root = office.replica(1).auth.root_key();

    let follower = office.replica(f).auth.clone();
    let (rolled, _) = off_runtime(wait, move || follower.keys.roll("admin"));
    let new_key = rolled.expect("the follower answers").unwrap();
    assert_ne!(new_key, root);
    rt.block_on(office.settled());
    // Every replica signs with the new key, certified by the chain each holds.
    for r in &office.replicas {
        assert_eq!(r.auth.public_key(), new_key);
        assert_eq!(r.auth.keys.chain().len(), 2);
    }
    // A licence issued next, through the leader, is signed by the new key and verifies
    // under the chain from the office's root.
    let leader = office.replica(l).auth.clone();
    let (issued, _) = off_runtime(wait, move || decide(&leader, apps[0]));
    let no = issued.expect("the leader answers").unwrap().1.unwrap();
    rt.block_on(office.settled());
    let records = office.replica(f).auth.keys.records().unwrap();
    let mut trust = exlic_client::certificate::Trust::new(root);
    assert_eq!(trust.follow(&records), 1);
    for r in &office.replicas {
        let file = licences::file(&r.auth.store().read().unwrap(), &no)
            .unwrap()
            .unwrap();
        let licence = exlic_client::licence::Licence::verify(&file, &trust).unwrap();
        assert_eq!(
            licence.key_id,
            exlic_client::certificate::key_id(&new_key),
            "{no}"
        );
    }
    rt.block_on(office.shutdown());
}

#[test]
fn a_device_enrolled_through_the_leader_is_known_at_once_on_a_follower_that_lagged() {
    let (base, _) = base_office();
    let rt = runtime();
    let office = rt.block_on(Office::from_copies_of(base.path(), config()));
    let (l, f) = rt.block_on(office.leader_and_follower());
    let others: Vec<NodeId> = (1..=3).filter(|i| *i != f).collect();
    // The follower is cut off while the device enrols through the leader.
    office.net.isolate(f, &others);
    let leader = office.replica(l).auth.clone();
    let (secret, _) = off_runtime(Duration::from_secs(10), move || {
        enrol(&leader, USCC_B, &key(20))
    });
    secret.expect("the leader answers");
    {
        let txn = office.replica(f).auth.store().read().unwrap();
        let peer = key(20).verifying_key().to_bytes();
        assert!(
            crate::store::registry::enterprise_of(&txn, &peer)
                .unwrap()
                .is_none()
        );
    }
    // Healed, the device's next request reaches the follower before the enrolment has:
    // it is answered as an enrolled device's, not refused as unknown.
    office.net.heal();
    let follower = office.replica(f).auth.clone();
    let (answer, _) = off_runtime(Duration::from_secs(20), move || {
        follower
            .handle(key(20).verifying_key().to_bytes(), Request::Revocations)
            .response
    });
    let answer = answer.expect("the follower answers");
    assert!(matches!(answer, Response::Revocations(_)), "{answer:?}");
    rt.block_on(office.shutdown());
}

#[test]
fn the_directory_and_a_profile_accepted_through_a_follower_reach_every_replica_alike() {
    let (base, _) = base_office();
    let rt = runtime();
    let office = rt.block_on(Office::from_copies_of(base.path(), config()));
    let wait = Duration::from_secs(10);
    let (_, f) = rt.block_on(office.leader_and_follower());

    // 发证机构联系方式, published through a follower.
    let dir = exlic_client::directory::Directory {
        contacts: vec![exlic_client::directory::Contact {
            name: "厦门市商务局".into(),
            address: "厦门市湖滨北路".into(),
            phone: "0592-0000000".into(),
            note: String::new(),
        }],
        guides: Vec::new(),
        updated_ms: 0,
    };
    let follower = office.replica(f).auth.clone();
    let (put, _) = off_runtime(wait, move || follower.directory.put(dir, "admin"));
    put.expect("the follower answers").unwrap();

    // The enterprise proposes a profile; each replica holds the proposal as synced to it.
    let p = exlic_client::profile::EnterpriseProfile {
        enterprise_name: "厦门新名称化工有限公司".into(),
        enterprise_code: "3502960012345".into(),
        uscc: USCC_A.into(),
        registered_address: "厦门市思明区湖滨南路1号".into(),
        applicant_name: "张鑫".into(),
        applicant_sex: "男".into(),
        id_type: "身份证".into(),
        id_number: "350203199001011234".into(),
        login_name: "zhangxin@example.com".into(),
        email: "zhangxin@example.com".into(),
        contact_address: "厦门市思明区湖滨南路1号".into(),
        mobile: "13800138000".into(),
        landline: String::new(),
        department: "外贸部".into(),
        title: "经理".into(),
        work_address: "厦门市思明区湖滨南路1号".into(),
        postcode: "361000".into(),
    };
    let proposal = DocId([0xD0; 16]);
    let mut doc = AutoCommit::new();
    crate::store::profile_doc::write(
        &mut doc,
        crate::store::profile_doc::PROPOSAL,
        &p,
        1_779_000_000_000,
    )
    .unwrap();
    doc.commit();
    for r in &office.replicas {
        let a = r.auth.clone();
        let mut d = doc.clone();
        let (synced, _) = off_runtime(wait, move || sync_doc(&a, &key(10), &mut d, proposal));
        synced.expect("the replica answers");
    }
    let follower = office.replica(f).auth.clone();
    let (accepted, _) = off_runtime(wait, move || follower.profiles.accept(USCC_A, "admin"));
    accepted.expect("the follower answers").unwrap();

    rt.block_on(office.settled());
    for r in &office.replicas {
        let d = r.auth.directory.get().unwrap();
        assert_eq!(d.contacts.len(), 1);
        assert!(d.updated_ms > 0);
        let state = r.auth.profiles.list().unwrap();
        let mine = state.iter().find(|s| s.uscc == USCC_A).unwrap();
        assert_eq!(mine.accepted.as_ref().map(|a| &a.0), Some(&p));
        assert_eq!(mine.name, "厦门新名称化工有限公司");
    }
    rt.block_on(office.shutdown());
}

#[test]
fn a_staff_account_made_through_a_follower_signs_in_on_every_replica() {
    let (base, _) = base_office();
    let rt = runtime();
    let office = rt.block_on(Office::from_copies_of(base.path(), config()));
    let (l, f) = rt.block_on(office.leader_and_follower());
    let follower = office.replica(f).auth.clone();
    let (put, _) = off_runtime(Duration::from_secs(10), move || {
        follower.staff.put(
            "zhao",
            "赵",
            super::super::staff::Role::Chief,
            "correct horse battery",
        )
    });
    put.expect("the follower answers").unwrap();
    rt.block_on(office.settled());
    for r in &office.replicas {
        let who = r
            .auth
            .staff
            .login("zhao", "correct horse battery", "127.0.0.1")
            .unwrap()
            .expect("signs in");
        assert_eq!(who.role, super::super::staff::Role::Chief);
    }
    // A bad account is refused before anything is proposed.
    let follower = office.replica(f).auth.clone();
    let (bad, _) = off_runtime(Duration::from_secs(10), move || {
        follower
            .staff
            .put("zhao", "赵", super::super::staff::Role::Chief, "short")
    });
    let err = bad.expect("the follower answers").unwrap_err();
    assert!(err.to_string().contains("password"), "{err}");
    // Made through the leader while a follower is cut off, the account signs in on that
    // follower as soon as it is back, before it has applied the account.
    let others: Vec<NodeId> = (1..=3).filter(|i| *i != f).collect();
    office.net.isolate(f, &others);
    let leader = office.replica(l).auth.clone();
    let (put, _) = off_runtime(Duration::from_secs(10), move || {
        leader.staff.put(
            "qian",
            "钱",
            super::super::staff::Role::Officer,
            "correct horse battery",
        )
    });
    put.expect("the leader answers").unwrap();
    office.net.heal();
    let follower = office.replica(f).auth.clone();
    let (signed_in, _) = off_runtime(Duration::from_secs(20), move || {
        follower
            .staff
            .login("qian", "correct horse battery", "127.0.0.1")
    });
    let who = signed_in.expect("the follower answers").unwrap();
    assert!(who.is_ok(), "{who:?}");
    rt.block_on(office.shutdown());
}
