//! `exlic-bench-store`: the enterprise store under 100,000 applications, one JSON line.
//!
//! Fills a fresh store (bulk, non-durable commits: setup, not measured), reopens it with
//! durable commits and measures: durably acknowledged field edits, the three query shapes
//! (status + date range, commodity code, partial 申请表号), cold start to first answer,
//! bytes on disk per application and peak RSS. Baselines measured in the same run: a raw
//! redb durable commit of a 3 KB value, and a raw redb point read.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use exlic_client::DocId;
use exlic_client::application::ApplicationForm;
use exlic_client::query::ApplicationQuery;
use exlic_client::status::ApplicationStatus;
use exlic_node::clock::ManualClock;
use exlic_node::domain::numbering::NumberBlock;
use exlic_node::domain::reference::Reference;
use exlic_node::enterprise::{self, Enterprise, Identity, Settings};
use exlic_node::store::{Store, StoreOptions};
use redb::ReadableDatabase;

const USCC: &str = "913502000728319549";
const CODES: [(&str, &str); 6] = [
    ("2918140000", "t"),
    ("2936270000", "kg"),
    ("8703231900", "vehicle"),
    ("0202300090", "t"),
    ("3102100010", "t"),
    ("8110101000", "t"),
];
const MODES: [&str; 4] = [
    "general",
    "processing_imported",
    "processing_supplied",
    "fie_export",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn form(rng: &mut Rng, i: usize) -> ApplicationForm {
    let (code, unit) = CODES[rng.below(CODES.len() as u64) as usize];
    let mut f = exlic_client::sample::application(exlic_client::sample::NAME, USCC, 2026);
    f.trade_mode = MODES[rng.below(4) as usize].into();
    f.contract_no = format!("XM26-{i:08}");
    f.customs_district = if code == "8110101000" { "5200" } else { "3700" }.into();
    f.country = ["JPN", "KOR", "DEU", "USA", "VNM"][rng.below(5) as usize].into();
    f.commodity_code = code.into();
    f.additional_info = "纸塑复合袋包装，集装箱运输，分两批装运".into();
    f.goods.clear();
    for l in 0..1 + rng.below(3) {
        f.goods.push(exlic_client::application::GoodsLine {
            spec: format!("规格 {l} 等级 A 批次 {i}"),
            unit: unit.into(),
            quantity: (1 + rng.below(500)).to_string(),
            unit_price: format!("{}.{:02}", 100 + rng.below(5000), rng.below(100)),
        });
    }
    f.contract.contract_no = f.contract_no.clone();
    f.contract.buyer_name = format!("Buyer {i} Co., Ltd.");
    f.contract.buyer_country = f.country.clone();
    f.contract.total_amount = "10000".into();
    f
}

fn open(path: &std::path::Path, durable: bool, clock: ManualClock) -> Enterprise {
    let store = Arc::new(
        Store::open(
            path,
            StoreOptions {
                durable,
                ..Default::default()
            },
        )
        .expect("open store"),
    );
    enterprise::initialise(
        &store,
        NumberBlock::parse("269999400000000000000:10000000").unwrap(),
    )
    .unwrap();
    Enterprise::new(
        store,
        Arc::new(Reference::embedded()),
        Arc::new(clock),
        Identity {
            enterprise_name: "厦门示例化工进出口有限公司".into(),
            enterprise_uscc: USCC.into(),
            agency_code: "AA".into(),
            other_agencies: Vec::new(),
        },
        Settings::default(),
    )
    .expect("enterprise")
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    (v[i] * 1000.0).round() / 1000.0
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[path = "common/baselines.rs"]
mod baselines;

fn rss_kb(key: &str) -> u64 {
    baselines::status_kib("self", key).unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let n: usize = arg("--apps")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let samples: usize = arg("--samples").and_then(|v| v.parse().ok()).unwrap_or(500);
    let dir = arg("--data").map(PathBuf::from).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("exlic-bench-store-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("node.redb");
    let _ = std::fs::remove_file(&path);
    let loadavg = || {
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(-1.0)
    };
    let load_start = loadavg();

    // Baselines: raw redb durable commit (3 KB) and point read, same disk, same run.
    let base_path = dir.join("baseline.redb");
    let _ = std::fs::remove_file(&base_path);
    let (commit_p50, commit_p99, read_p50) = {
        let db = redb::Database::create(&base_path).unwrap();
        let t: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("t");
        let value = vec![7u8; 3000];
        let mut c = Vec::new();
        for i in 0..samples as u64 {
            let s = Instant::now();
            let w = db.begin_write().unwrap();
            w.open_table(t)
                .unwrap()
                .insert(i, value.as_slice())
                .unwrap();
            w.commit().unwrap();
            c.push(ms(s));
        }
        let mut r = Vec::new();
        for i in 0..samples as u64 {
            let s = Instant::now();
            let txn = db.begin_read().unwrap();
            let tb = txn.open_table(t).unwrap();
            assert!(tb.get(i).unwrap().is_some());
            r.push(ms(s));
        }
        (
            pct(&mut c.clone(), 0.5),
            pct(&mut c, 0.99),
            pct(&mut r, 0.5),
        )
    };
    let _ = std::fs::remove_file(&base_path);

    // Fill (setup): spread over 2026-01-01 .. 2026-11-26, China time.
    let t_fill = Instant::now();
    let start_ms = 1_767_196_800_000i64; // 2026-01-01T00:00+08:00
    let span_ms = 329 * 86_400_000i64;
    let clock = ManualClock::at(start_ms);
    let mut rng = Rng(42);
    let mut ids: Vec<(DocId, ApplicationStatus)> = Vec::with_capacity(n);
    {
        let ent = open(&path, false, clock.clone());
        for i in 0..n {
            clock.set(start_ms + (span_ms * i as i64) / n as i64);
            let f = form(&mut rng, i);
            let v = ent.applications.create(&f).unwrap();
            let roll = rng.below(10);
            let status = if roll < 4 {
                ent.attachments
                    .add(
                        v.id,
                        "合同.pdf",
                        "application/pdf",
                        b"%PDF-1.4 shared contract",
                    )
                    .unwrap();
                ent.sealing.seal(v.id).unwrap();
                if roll < 2 {
                    ent.sealing.report(v.id).unwrap();
                    ApplicationStatus::Queued
                } else {
                    ApplicationStatus::Sealed
                }
            } else {
                ApplicationStatus::Draft
            };
            ids.push((v.id, status));
            if i % 1000 == 999 {
                ent.store().compact_pending().unwrap();
            }
            if i % 10_000 == 9_999 {
                eprintln!(
                    "filled {} of {n} ({:.0} s)",
                    i + 1,
                    t_fill.elapsed().as_secs_f64()
                );
            }
        }
        ent.store().compact_pending().unwrap();
    }
    let fill_s = t_fill.elapsed().as_secs_f64();
    let store_bytes = std::fs::metadata(&path).unwrap().len();
    let rss_after_fill_mb = rss_kb("VmHWM:") as f64 / 1024.0;
    // Reset the peak so what follows measures the serving node, not the bulk fill.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();

    // Cold start: open the file and answer the first list query.
    clock.set(start_ms + span_ms);
    let t_cold = Instant::now();
    let ent = open(&path, true, clock);
    let first = ent
        .applications
        .query(&ApplicationQuery::default())
        .unwrap();
    let cold_ms = ms(t_cold);
    assert_eq!(first.items.len(), 20);

    // Durable field edits on random drafts.
    let drafts: Vec<DocId> = ids
        .iter()
        .filter(|(_, s)| *s == ApplicationStatus::Draft)
        .map(|(i, _)| *i)
        .collect();
    let mut edits = Vec::with_capacity(samples);
    for k in 0..samples {
        let id = drafts[rng.below(drafts.len() as u64) as usize];
        let s = Instant::now();
        ent.applications
            .patch(id, &serde_json::json!({"remarks": format!("edit {k}")}))
            .unwrap();
        edits.push(ms(s));
    }

    // Query shapes.
    let mut q_status = Vec::new();
    let mut q_code = Vec::new();
    let mut q_number = Vec::new();
    let sealed: Vec<DocId> = ids
        .iter()
        .filter(|(_, s)| *s != ApplicationStatus::Draft)
        .map(|(i, _)| *i)
        .collect();
    for _ in 0..samples {
        let day = rng.below(300);
        let from = jiff::civil::date(2026, 1, 1)
            .checked_add(jiff::Span::new().days(day as i64))
            .unwrap();
        let to = from.checked_add(jiff::Span::new().days(30)).unwrap();
        let q = ApplicationQuery {
            status: Some(if rng.below(2) == 0 {
                ApplicationStatus::Sealed
            } else {
                ApplicationStatus::Draft
            }),
            from: Some(from.to_string()),
            to: Some(to.to_string()),
            ..Default::default()
        };
        let s = Instant::now();
        let p = ent.applications.query(&q).unwrap();
        q_status.push(ms(s));
        assert!(!p.items.is_empty());

        let q = ApplicationQuery {
            commodity_code: Some(CODES[rng.below(CODES.len() as u64) as usize].0.into()),
            ..Default::default()
        };
        let s = Instant::now();
        let p = ent.applications.query(&q).unwrap();
        q_code.push(ms(s));
        assert_eq!(p.items.len(), 20);

        let id = sealed[rng.below(sealed.len() as u64) as usize];
        let no = ent.applications.get(id).unwrap().application_no.unwrap();
        let at = rng.below(15) as usize;
        let q = ApplicationQuery {
            application_no: Some(no[at..at + 6].into()),
            ..Default::default()
        };
        let s = Instant::now();
        let p = ent.applications.query(&q).unwrap();
        q_number.push(ms(s));
        assert!(!p.items.is_empty());
    }
    let peak_rss_mb = rss_kb("VmHWM:") as f64 / 1024.0;
    let edit_p99 = pct(&mut edits.clone(), 0.99);
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            (a / b * 100.0).round() / 100.0
        } else {
            0.0
        }
    };
    let out = serde_json::json!({
        "bench": "store",
        "apps": n,
        "samples": samples,
        "durability": "immediate",
        "fill_s": (fill_s * 10.0).round() / 10.0,
        "edit_p50_ms": pct(&mut edits.clone(), 0.5),
        "edit_p99_ms": edit_p99,
        "query_status_date_p50_ms": pct(&mut q_status.clone(), 0.5),
        "query_status_date_p99_ms": pct(&mut q_status, 0.99),
        "query_commodity_p50_ms": pct(&mut q_code.clone(), 0.5),
        "query_commodity_p99_ms": pct(&mut q_code, 0.99),
        "query_partial_number_p50_ms": pct(&mut q_number.clone(), 0.5),
        "query_partial_number_p99_ms": pct(&mut q_number, 0.99),
        "cold_start_to_first_answer_ms": (cold_ms * 1000.0).round() / 1000.0,
        "store_bytes": store_bytes,
        "bytes_per_application": store_bytes / n as u64,
        "peak_rss_mb": (peak_rss_mb * 10.0).round() / 10.0,
        "peak_rss_reset_after_fill": reset,
        "fill_peak_rss_mb": (rss_after_fill_mb * 10.0).round() / 10.0,
        "baseline_redb_durable_commit_3kb_p50_ms": commit_p50,
        "baseline_redb_durable_commit_3kb_p99_ms": commit_p99,
        "baseline_redb_point_read_p50_ms": read_p50,
        "edit_p99_over_baseline_commit_p99": ratio(edit_p99, commit_p99),
        "loadavg1_start": load_start,
        "loadavg1_end": loadavg(),
    });
    println!("{out}");
    let _ = std::fs::remove_file(&path);
}
