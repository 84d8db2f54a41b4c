//! A replicated office under a nemesis: three `exlic` replicas on 127.0.0.1, each Raft link
//! through a proxy of its own, an enterprise submitting to whichever replica answers and
//! officers deciding on whichever replica answers, while a seeded nemesis kills a replica
//! (-9, then restarts it), pauses one (SIGSTOP, SIGCONT), cuts one off, or slows every
//! link, one fault at a time. Afterwards: every submission the enterprise made is held
//! once and issued, the serials are unique and gap-free, every licence verifies offline
//! with its log proof, and every replica holds the same office.
//!
//! `EXLIC_NEMESIS_SEED` replays a run (the seed is printed); `EXLIC_NEMESIS_SECS` sets how
//! long the nemesis acts (default 60).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exlic_client::DocId;
use exlic_client::client::Client;
use exlic_client::status::ApplicationStatus;
use exlic_node::random::Seeded;
use exlic_tests::cluster::*;
use exlic_tests::proxy::Mode;
use exlic_tests::*;

/// The replicas as the nemesis leaves them: `None` while one is killed.
type Replicas = Arc<Mutex<Vec<Option<Node>>>>;

/// A staff client of replica `i` signed in as `login`, if it answers within 5 s.
async fn staff(replicas: &Replicas, i: usize, login: &str) -> Option<Client> {
    let (url, cert) = {
        let r = replicas.lock().unwrap();
        let n = r[i].as_ref()?;
        (n.url.clone(), n.tls_cert())
    };
    let mut c = Client::with_roots(url, &cert).ok()?;
    tokio::time::timeout(Duration::from_secs(5), c.login(login, STAFF_PASSWORD))
        .await
        .ok()?
        .ok()?;
    Some(c)
}

/// Takes application `id` through 初审 and 复审, each decided on whichever replica answers
/// (tried again elsewhere until the enterprise sees the decision); its licence number.
async fn through_review(c: &Client, replicas: &Replicas, rng: &Mutex<Seeded>, id: DocId) -> String {
    let stages = [
        ("initial", "wang", ApplicationStatus::PendingSecond),
        ("second", "li", ApplicationStatus::Issued),
    ];
    wait_for(120, "the submission's receipt", || async {
        (c.application(id).await.ok()?.status == ApplicationStatus::PendingInitial).then_some(())
    })
    .await;
    for (stage, login, next) in stages {
        let start = Instant::now();
        loop {
            assert!(
                start.elapsed() < Duration::from_secs(180),
                "the {stage} review of {id:?} was not made within 180 s"
            );
            let i = rng.lock().unwrap().between(0, 2) as usize;
            let answer = match staff(replicas, i, login).await {
                Some(officer) => tokio::time::timeout(
                    Duration::from_secs(20),
                    officer.decide(id, &decision(stage, true, "")),
                )
                .await
                .map(|r| r.map(|_| ()).map_err(|e| e.to_string()))
                .unwrap_or_else(|_| Err("no answer within 20 s".into())),
                None => Err(format!("replica {} did not answer", i + 1)),
            };
            if let Err(e) = &answer {
                eprintln!("  {stage} on replica {}: {e}", i + 1);
            }
            // The enterprise sees the decision once its replica has applied it.
            let seen = async {
                loop {
                    if c.application(id).await.is_ok_and(|a| a.status == next) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            };
            if tokio::time::timeout(Duration::from_secs(10), seen)
                .await
                .is_ok()
            {
                break;
            }
        }
    }
    c.application(id).await.unwrap().licence_no.unwrap()
}

/// Applies one fault after another until `until`, then leaves every replica running and
/// every link passing.
fn nemesis(prepared: &Prepared, replicas: &Replicas, rng: &Mutex<Seeded>, until: Instant) {
    let t0 = Instant::now();
    let ms = |lo, hi| Duration::from_millis(rng.lock().unwrap().between(lo, hi));
    let mut faults = [0usize; 4];
    while Instant::now() < until {
        std::thread::sleep(ms(1_500, 3_500));
        let (kind, victim) = {
            let mut r = rng.lock().unwrap();
            (r.between(0, 3) as usize, r.between(1, 3))
        };
        faults[kind] += 1;
        let at = t0.elapsed().as_secs_f64();
        let i = victim as usize - 1;
        match kind {
            0 => {
                eprintln!("{at:6.1} s  kill -9 replica {victim}");
                let node = replicas.lock().unwrap()[i].take().expect("running");
                node.kill();
                std::thread::sleep(ms(1_000, 3_000));
                let restarted = Node::start(&prepared.dirs[i]);
                replicas.lock().unwrap()[i] = Some(restarted);
            }
            1 => {
                eprintln!("{at:6.1} s  SIGSTOP replica {victim}");
                replicas.lock().unwrap()[i].as_ref().unwrap().signal("STOP");
                std::thread::sleep(ms(1_500, 4_000));
                replicas.lock().unwrap()[i].as_ref().unwrap().signal("CONT");
            }
            2 => {
                eprintln!("{at:6.1} s  cut replica {victim} off");
                prepared.isolate(victim);
                std::thread::sleep(ms(1_500, 4_000));
                prepared.all_links(Mode::Pass);
            }
            _ => {
                let d = ms(20, 80);
                eprintln!("{at:6.1} s  every link delayed {d:?}");
                prepared.all_links(Mode::Delay(d));
                std::thread::sleep(ms(2_000, 4_000));
                prepared.all_links(Mode::Pass);
            }
        }
    }
    eprintln!("faults: {faults:?} (kill, pause, cut off, delay)");
}

#[test]
fn a_replicated_office_under_a_seeded_nemesis_loses_nothing_and_numbers_each_licence_once() {
    let seed = std::env::var("EXLIC_NEMESIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| random_below(u64::MAX));
    let secs = std::env::var("EXLIC_NEMESIS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    eprintln!("nemesis seed {seed} (EXLIC_NEMESIS_SEED replays it), {secs} s");
    let rng = Mutex::new(Seeded(seed));
    // Which replica each decision is tried on: its own sequence, apart from the faults'.
    let pick = Mutex::new(Seeded(seed ^ 0x5EED));
    let root = tempfile::tempdir().unwrap();
    let rt = runtime();
    let prepared = rt.block_on(prepare(root.path(), true));
    let started: Vec<Node> = prepared.dirs.iter().map(|d| Node::start(d)).collect();
    let ent = Node::start(&prepared.enterprise);
    let c = ent.client();
    rt.block_on(leader(&started.iter().collect::<Vec<_>>(), None));
    let replicas: Replicas = Arc::new(Mutex::new(started.into_iter().map(Some).collect()));

    let until = Instant::now() + Duration::from_secs(secs);
    let mut issued: Vec<(DocId, String)> = Vec::new();
    std::thread::scope(|s| {
        s.spawn(|| nemesis(&prepared, &replicas, &rng, until));
        rt.block_on(async {
            while Instant::now() < until {
                let id = submit(&c).await;
                let no = through_review(&c, &replicas, &pick, id).await;
                eprintln!("issued {no}");
                issued.push((id, no));
            }
        });
    });

    // Every replica up and every link passing: they settle on one log.
    let nodes: Vec<Node> = replicas.lock().unwrap().drain(..).flatten().collect();
    assert_eq!(nodes.len(), 3, "every replica is running again");
    rt.block_on(applied_alike(&nodes.iter().collect::<Vec<_>>(), 60));
    assert!(issued.len() >= 3, "only {} licences issued", issued.len());
    // Each licence as the enterprise holds it verifies offline with its log proof.
    let root_key = rt.block_on(async {
        let http = exlic_client::client::http_client(&nodes[0].tls_cert()).unwrap();
        http.get(format!("{}/api/v1/node", nodes[0].url))
            .send()
            .await
            .unwrap()
            .json::<exlic_client::authority::AuthorityInfo>()
            .await
            .unwrap()
            .root_key
    });
    let scratch = tempfile::tempdir().unwrap();
    for (_, no) in &issued {
        let (licence, proof) = rt.block_on(async {
            (
                c.licence_file(no).await.unwrap(),
                ent.get_ok(&format!("/api/v1/licences/{no}/proof")).await,
            )
        });
        let (ok, text) = verify_with_proof(scratch.path(), &root_key, &licence, &proof);
        assert!(ok, "{no}: {text}");
    }
    drop(c);
    ent.stop();
    for n in nodes {
        n.stop();
    }

    // Each submission once, each licence once, serials 1..=n in the order issued.
    let serials: Vec<u64> = issued
        .iter()
        .map(|(_, no)| no[no.len() - 6..].parse().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=issued.len() as u64).collect();
    assert_eq!(serials, expected, "{issued:?}");
    let office = same_office(&prepared.dirs);
    for table in ["cases", "submissions", "licences"] {
        let rows = &office.iter().find(|(t, _)| t == table).unwrap().1;
        assert_eq!(rows.len(), issued.len(), "{table}: one row per submission");
    }
}
