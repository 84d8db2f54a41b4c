//! `exlic-bench-customs`: declarations per second at a customs node, and the size and time
//! of a standing sync, one JSON line.
//!
//! Setup (not measured): an office store holding the signed standing of 100,000 licences
//! (`--licences`), a customs node enrolled with it that has followed the whole standing
//! feed, and `--declarations` licences (一批一证) signed by the office for declarations.
//!
//! Measured:
//! * declarations: `--threads` callers at once, each declaration a check + 预核扣 + 实核注
//!   (the licence file verified under the key chain, standing, 一证一关, exporter,
//!   commodity, validity, uses and quantity; two durable steps, each a signed ledger
//!   entry), through the customs node's group commit: throughput and p99 latency of a
//!   whole declaration, beside raw ed25519 `verify_strict` per second on one core and raw
//!   redb durable commits per second, measured in the same run. Targets: ≥ 2,000
//!   declarations/s, ≥ half the slower raw limit, p99 < 20 ms.
//! * standing sync: 1,000 of the 100,000 licences change standing at the office; one
//!   customs round (the office builds and signs the page, customs verifies and applies it
//!   durably): bytes on the wire and time. Targets: < 64 KiB, < 100 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use exlic_client::certificate::key_id;
use exlic_client::invite::CustomsInvite;
use exlic_client::protocol::{Request, Response};
use exlic_client::standing::{Standing, State};
use exlic_client::usage::{DeclarationInput, Step};
use exlic_node::authority::{self, Authority};
use exlic_node::clock::{Clock, SystemClock};
use exlic_node::customs::{self, Customs};
use exlic_node::domain::reference::Reference;
use exlic_node::store::{Store, StoreOptions, licences, usage};
use exlic_node::upstream::Link;

#[path = "common/baselines.rs"]
mod baselines;
#[path = "common/fleet.rs"]
mod fleet;
use baselines::{arg, commit_rate, cpu_seconds, verify_rate};

/// Signs and keeps the standing of licences `range` at the office, in batches.
fn put_standings(store: &Store, key: &SigningKey, range: std::ops::Range<usize>, state: State) {
    let now = SystemClock.now_ms();
    let nos: Vec<usize> = range.collect();
    for chunk in nos.chunks(10_000) {
        let w = store.write().expect("write");
        for n in chunk {
            let no = format!("26AA{n:06}");
            let s = Standing {
                licence_no: no.clone(),
                state,
                since_ms: now - 1,
                as_of_ms: now,
                authority_key: key.verifying_key().to_bytes(),
            }
            .sign(key);
            licences::put_statement(&w, &no, &s).expect("statement");
            usage::feed_append(&w, &no).expect("feed");
        }
        w.commit().expect("commit");
    }
}

/// One customs round of the standing feed: (bytes of the answers, entries applied).
fn follow(a: &Authority, c: &Customs) -> (usize, usize) {
    let peer = c.public_key();
    let (mut bytes, mut entries) = (0, 0);
    loop {
        let cursor = c.feed_cursor(&Link::Home).expect("cursor");
        let r = a.handle(peer, Request::Standing { cursor }).response;
        bytes += r.encode().len();
        let Response::Standing { page, keys, more } = r else {
            panic!("standing refused: {r:?}");
        };
        let before = c.standing_count().expect("count");
        let to = c.apply_standing(&Link::Home, &page, &keys).expect("apply");
        entries +=
            exlic_client::standing::FeedPage::decode(exlic_client::signed::peek(&page).unwrap())
                .map(|p| p.entries.len())
                .unwrap_or(0);
        let _ = (before, to);
        if !more {
            return (bytes, entries);
        }
    }
}

fn main() {
    let total = arg("--licences", 100_000);
    let declarations = arg("--declarations", 4_000);
    let threads = arg("--threads", 64);
    let dir = std::env::temp_dir().join(format!("exlic-bench-customs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let setup = Instant::now();

    // The office, holding the standing of `total` licences.
    let ostore =
        Arc::new(Store::open(&dir.join("office.redb"), StoreOptions::default()).expect("store"));
    authority::initialise(&ostore).expect("initialise");
    let office_key = SigningKey::from_bytes(&authority::key_seed(&ostore).expect("seed"));
    let a = Authority::new(ostore.clone(), Arc::new(SystemClock), fleet::office_info())
        .expect("authority");
    put_standings(&ostore, &office_key, 0..total, State::Valid);

    // The customs node, enrolled, having followed the whole feed.
    let token = a.customs.invite("3700", 7).expect("invite");
    let cstore =
        Arc::new(Store::open(&dir.join("customs.redb"), StoreOptions::default()).expect("store"));
    customs::initialise(&cstore, &token).expect("customs init");
    let c = Arc::new(
        Customs::open(cstore, Arc::new(SystemClock), Reference::embedded_shared()).expect("open"),
    );
    let secret = CustomsInvite::from_token(&token).expect("token").secret;
    let r = a
        .handle(c.public_key(), Request::EnrolCustoms { secret })
        .response;
    assert!(matches!(r, Response::Enrolled { .. }), "{r:?}");
    let (first_bytes, first_entries) = follow(&a, &c);
    assert_eq!(first_entries, total, "the whole feed");

    // The licences declarations present (一批一证, 23 t each), signed by the office.
    let now = SystemClock.now_ms();
    let today = exlic_node::clock::china_date(now)
        .strftime("%Y%m%d")
        .to_string();
    let year_end = format!("{}1231", &today[..4]);
    let work: Vec<DeclarationInput> = (0..declarations)
        .map(|n| {
            let mut l = exlic_client::sample::licence();
            l.licence_no = format!("26AB{n:06}");
            l.issue_date = today.clone();
            l.expiry = year_end.clone();
            l.issued_at_ms = now;
            l.key_id = key_id(&office_key.verifying_key().to_bytes());
            DeclarationInput {
                declaration_no: format!("370020261{n:09}"),
                item: 1,
                licence: hex::encode(l.sign(&office_key)),
                licence_no: String::new(),
                exporter: exlic_client::sample::USCC.into(),
                commodity_code: "2918140000".into(),
                quantity: "23".into(),
                check_only: false,
            }
        })
        .collect();
    let setup_s = setup.elapsed().as_secs_f64();

    // Measured: declarations from `threads` callers at once.
    let queue = std::sync::Mutex::new(work);
    let latencies = std::sync::Mutex::new(Vec::with_capacity(declarations));
    let (t, cpu0) = (Instant::now(), cpu_seconds());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let Some(d) = queue.lock().expect("queue").pop() else {
                        break;
                    };
                    let t0 = Instant::now();
                    let o = c.declare(&d).expect("declare");
                    assert!(o.passed && o.state == "reserved", "{o:?}");
                    let o = c
                        .step(&d.declaration_no, d.item, Step::Confirm, "")
                        .expect("confirm");
                    assert_eq!(o.state, "confirmed");
                    mine.push(t0.elapsed());
                }
                latencies.lock().expect("latencies").extend(mine);
            });
        }
    });
    let elapsed = t.elapsed().as_secs_f64();
    let cores_busy = (cpu_seconds() - cpu0) / elapsed;
    let mut lat = latencies.into_inner().expect("latencies");
    assert_eq!(lat.len(), declarations);
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    let rate = declarations as f64 / elapsed;
    assert_eq!(
        c.ledger_position().expect("ledger").0,
        2 * declarations as u64
    );

    // Measured: 1,000 standing changes, one round.
    let changed = 1_000.min(total);
    put_standings(&ostore, &office_key, 0..changed, State::Deleted);
    let t = Instant::now();
    let (bytes, entries) = follow(&a, &c);
    let sync_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(entries, changed);

    let verify = verify_rate(Duration::from_millis(1500));
    let commit = commit_rate(&dir, 500);
    let slower = verify.min(commit);
    let ms = |d: Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
    println!(
        "{}",
        serde_json::json!({
            "bench": "customs",
            "licences_with_standing": total,
            "declarations": declarations,
            "threads": threads,
            "declarations_per_s": (rate * 10.0).round() / 10.0,
            "declaration_p50_ms": ms(p(0.50)),
            "declaration_p99_ms": ms(p(0.99)),
            "ed25519_verify_strict_per_s": verify.round(),
            "redb_durable_commit_per_s": (commit * 10.0).round() / 10.0,
            "ratio_vs_slower_baseline": (rate / slower * 1000.0).round() / 1000.0,
            "met_throughput": rate >= 2000.0 && rate >= 0.5 * slower,
            "met_p99": p(0.99) < Duration::from_millis(20),
            "cores_busy_while_declaring": (cores_busy * 100.0).round() / 100.0,
            "standing_changes": changed,
            "standing_sync_bytes": bytes,
            "standing_sync_ms": (sync_ms * 10.0).round() / 10.0,
            "met_standing_sync": bytes < 64 * 1024 && sync_ms < 100.0,
            "first_standing_sync_bytes": first_bytes,
            "setup_s": (setup_s * 10.0).round() / 10.0,
        })
    );
    drop(c);
    drop(a);
    std::fs::remove_dir_all(&dir).ok();
}
