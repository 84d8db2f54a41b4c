//! `exlic-bench-log`: the transparency log's costs, one JSON line.
//!
//! 1. **Issuance with and without the log**, same run, same disk: a durable transaction
//!    that stores a signed licence and its signed standing statement (what an issuance
//!    writes besides the case), then the same with what the log adds — both entries
//!    appended, the tree head computed, a checkpoint signed and kept, the licence's
//!    inclusion proof made. The ratio is the log's cost in the write path.
//! 2. **Proofs** in a log of `--entries` (default 100,000): inclusion-proof generation
//!    from the store, the audit path checked alone, and the whole offline check (the
//!    checkpoint's signature too).
//! 3. **Bureau catch-up**: a bureau that has read nothing follows that office's log in
//!    pages of 1,024 as the sync link hands them over (entries decoded, each licence's
//!    signature checked under the office's chain, the duplicate-number index, the copy of
//!    the tree, the checkpoint compared and co-signed), in process: cases per second.
//!
//! Baselines in the same run: a raw redb durable commit and raw ed25519 verification.

use std::sync::Arc;
use std::time::Instant;

use ed25519_dalek::SigningKey;
use exlic_client::licence::Licence;
use exlic_client::translog::{self, Entry, EntryKind, InclusionProof};
use exlic_node::bureau::{Bureau, PageOutcome};
use exlic_node::clock::ManualClock;
use exlic_node::store::tlog::{self, OWN};
use exlic_node::store::{Store, StoreOptions, licences};

#[path = "common/baselines.rs"]
mod baselines;

const NOW: i64 = 1_767_000_000_000;

fn store(path: &std::path::Path, durable: bool) -> Store {
    Store::open(
        path,
        StoreOptions {
            durable,
            ..StoreOptions::default()
        },
    )
    .expect("a store")
}

fn licence(key: &SigningKey, n: u64) -> (String, Vec<u8>) {
    let l = Licence {
        licence_no: format!("26AA{:06}", n % 1_000_000),
        issued_at_ms: NOW,
        key_id: exlic_client::certificate::key_id(&key.verifying_key().to_bytes()),
        ..exlic_client::sample::licence()
    };
    (l.licence_no.clone(), l.sign(key))
}

fn statement(key: &SigningKey, no: &str) -> Vec<u8> {
    exlic_client::standing::Standing {
        licence_no: no.to_owned(),
        state: exlic_client::standing::State::Valid,
        since_ms: NOW,
        as_of_ms: NOW,
        authority_key: key.verifying_key().to_bytes(),
    }
    .sign(key)
}

/// Issuance-shaped durable transactions per second, with or without the log's part.
fn issuance_rate(s: &Store, key: &SigningKey, n: u64, with_log: bool) -> f64 {
    let origin = translog::origin("AA");
    let t = Instant::now();
    for i in 0..n {
        let (no, file) = licence(key, i + if with_log { 500_000 } else { 0 });
        let st = statement(key, &no);
        let w = s.write().expect("write");
        licences::put(&w, &no, &file).expect("put");
        licences::put_statement(&w, &no, &st).expect("statement");
        if with_log {
            let index =
                tlog::append(&w, OWN, &Entry::new(EntryKind::Licence, &file), &no).expect("append");
            tlog::append(&w, OWN, &Entry::new(EntryKind::Standing, &st), &no).expect("append");
            let size = tlog::size(&w, OWN).expect("size");
            let head = tlog::head(&w, OWN, size).expect("head");
            let note = translog::sign_checkpoint(&origin, head, NOW, key);
            tlog::put_checkpoint(&w, OWN, size, &note).expect("checkpoint");
            let proof = tlog::prove(&w, OWN, index, size).expect("prove");
            std::hint::black_box(proof);
        }
        w.commit().expect("commit");
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// A scratch directory removed when the run ends.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let entries = baselines::arg("--entries", 100_000) as u64;
    let issuances = baselines::arg("--issuances", 500) as u64;
    let scratch = std::env::temp_dir().join(format!("exlic-bench-log-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("temp dir");
    let dir = Scratch(scratch);
    let key = SigningKey::from_bytes(&[1; 32]);

    // Baselines.
    let commit = baselines::commit_rate(dir.path(), 300);
    let verify = baselines::verify_rate(std::time::Duration::from_millis(500));

    // 1. Issuance with and without the log: alternate to share the disk's mood.
    let s = store(&dir.path().join("issue.redb"), true);
    let mut without = Vec::new();
    let mut with = Vec::new();
    for _ in 0..3 {
        without.push(issuance_rate(&s, &key, issuances / 3, false));
        with.push(issuance_rate(&s, &key, issuances / 3, true));
    }
    let (without, with) = (percentile(without, 0.5), percentile(with, 0.5));
    drop(s);

    // 2. A log of `entries` licences (bulk, non-durable: setup).
    eprintln!("filling an office log of {entries} licences …");
    let office = store(&dir.path().join("office.redb"), false);
    let mut files = Vec::with_capacity(entries as usize);
    let mut batch = 0;
    let mut w = office.write().expect("write");
    for i in 0..entries {
        let (no, file) = licence(&key, i);
        tlog::append(&w, OWN, &Entry::new(EntryKind::Licence, &file), &no).expect("append");
        if i % 97 == 0 {
            files.push((i, file));
        }
        batch += 1;
        if batch == 5_000 {
            w.commit().expect("commit");
            w = office.write().expect("write");
            batch = 0;
        }
    }
    let head = tlog::head(&w, OWN, entries).expect("head");
    let note = translog::sign_checkpoint(&translog::origin("AA"), head, NOW, &key);
    tlog::put_checkpoint(&w, OWN, entries, &note).expect("checkpoint");
    w.commit().expect("commit");
    let trust = exlic_client::certificate::Trust::new(key.verifying_key().to_bytes());
    let origin = translog::origin("AA");
    let (mut gen_us, mut path_us, mut full_us) = (Vec::new(), Vec::new(), Vec::new());
    let txn = office.read().expect("read");
    for (i, file) in &files {
        let t = Instant::now();
        let hashes = tlog::prove(&txn, OWN, *i, entries).expect("prove");
        gen_us.push(t.elapsed().as_secs_f64() * 1e6);
        let p = InclusionProof {
            index: *i,
            tree_size: entries,
            hashes,
            checkpoint: note.clone(),
        };
        let e = Entry::new(EntryKind::Licence, file);
        let t = Instant::now();
        p.check_path(&e, head).expect("path");
        path_us.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        p.verify(&e, &origin, &trust, None).expect("proof");
        full_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(txn);

    // 3. The bureau catches up from nothing.
    let bstore = Arc::new(store(&dir.path().join("bureau.redb"), true));
    exlic_node::bureau::initialise(&bstore, "bureau").expect("bureau");
    let bureau = Bureau::open(bstore, Arc::new(ManualClock::at(NOW))).expect("bureau");
    let id = bureau
        .add_office(
            "AA",
            "bench",
            &hex::encode(key.verifying_key().to_bytes()),
            &["/ip4/127.0.0.1/tcp/1".into()],
        )
        .expect("office");
    let t = Instant::now();
    let mut pages = 0u64;
    loop {
        let from = bureau.held(id).expect("held");
        let page = {
            let txn = office.read().expect("read");
            tlog::entries(&txn, OWN, from, 1024).expect("entries")
        };
        let more = from + (page.len() as u64) < entries;
        pages += 1;
        match bureau
            .apply_page(id, from, &page, &note, &[], more)
            .expect("page")
        {
            PageOutcome::More { .. } => {}
            PageOutcome::Cosign(_) => break,
            other => panic!("the bureau stopped: {other:?}"),
        }
    }
    let catch_up_s = t.elapsed().as_secs_f64();
    let alarms = bureau.alarms().expect("alarms").len();
    let disk_bytes = std::fs::metadata(dir.path().join("office.redb"))
        .map(|m| m.len())
        .unwrap_or(0);
    let out = serde_json::json!({
        "bench": "log",
        "entries": entries,
        "issuance_per_s_without_log": without.round(),
        "issuance_per_s_with_log": with.round(),
        "log_cost_fraction": ((1.0 - with / without) * 1000.0).round() / 1000.0,
        "proof_generation_p50_us": percentile(gen_us.clone(), 0.5),
        "proof_generation_p99_us": percentile(gen_us, 0.99),
        "proof_path_check_p50_us": percentile(path_us.clone(), 0.5),
        "proof_path_check_p99_us": percentile(path_us, 0.99),
        "proof_verify_with_checkpoint_p50_us": percentile(full_us.clone(), 0.5),
        "proof_verify_with_checkpoint_p99_us": percentile(full_us, 0.99),
        "bureau_catch_up_s": (catch_up_s * 100.0).round() / 100.0,
        "bureau_catch_up_cases_per_s": (entries as f64 / catch_up_s).round(),
        "bureau_pages": pages,
        "bureau_alarms": alarms,
        "office_log_bytes_per_entry": disk_bytes / entries.max(1),
        "baseline_redb_durable_commits_per_s": commit.round(),
        "baseline_ed25519_verify_per_s": verify.round(),
    });
    println!("{out}");
}
