//! The backlog phase of `exlic-bench-authority` (see its docs): real enterprise nodes,
//! in-process on their own redb files, draining their outboxes into the office over
//! libp2p on 127.0.0.1.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use exlic_client::application::ApplicationForm;
use exlic_node::authority::Authority;
use exlic_node::clock::{Clock, SystemClock};
use exlic_node::config::Config;
use exlic_node::enterprise::Enterprise;
use exlic_node::store::Store;
use exlic_node::sync;

/// Longest the drain may take before the bench gives up.
const TIMEOUT: Duration = Duration::from_secs(1800);

/// A valid USCC for backlog enterprise `k` (apart from the ingest phase's).
fn uscc(k: usize) -> String {
    let first17 = format!("91440300{k:09}");
    let c = exlic_client::uscc::check_char(&first17).expect("17 valid characters");
    format!("{first17}{c}")
}

/// An enterprise node initialised from an invite of `a` under `dir`, with `n`
/// applications sealed and reported offline (each with the same contract scan).
fn prepare(a: &Authority, dir: &Path, k: usize, n: usize) -> Arc<Enterprise> {
    let (u, name) = (uscc(k), format!("积压企业{k}"));
    let token = a
        .registry
        .invite(&u, &name, (n as u64 + 100).max(1000), 30)
        .expect("invite");
    exlic_node::cli::init_enrolled(
        dir,
        &token,
        "127.0.0.1:0",
        "bench-passphrase",
        "13800138000",
        exlic_node::ekey::KdfParams {
            m_kib: 64,
            t: 1,
            p: 1,
        },
    )
    .expect("init enterprise");
    let config = Config::load(dir).expect("config");
    // As `exlic serve` opens it.
    let store =
        Arc::new(Store::open(&dir.join("node.redb"), config.store_options()).expect("store"));
    let ent = Arc::new(
        Enterprise::new(
            store,
            Arc::new(config.reference().expect("reference")),
            Arc::new(SystemClock),
            config.identity(),
            config.settings(),
        )
        .expect("enterprise"),
    );
    let year = exlic_node::clock::china_date(SystemClock.now_ms()).year();
    let contract = format!("%PDF-1.4 contract of {u}").into_bytes();
    for i in 0..n {
        let form = ApplicationForm {
            remarks: format!("积压申请 {i}"),
            ..exlic_client::sample::application(&name, &u, year.into())
        };
        let v = ent.applications.create(&form).expect("create");
        ent.attachments
            .add(v.id, "合同.pdf", "application/pdf", &contract)
            .expect("attach");
        ent.sealing.seal(v.id).expect("seal");
        ent.sealing.report(v.id).expect("report");
        if (i + 1) % 1000 == 0 {
            eprintln!("backlog: {} of {n} sealed offline", i + 1);
        }
    }
    ent
}

/// Starts `ent`'s sync with the office at `addrs`.
fn connect(
    rt: &tokio::runtime::Runtime,
    a: &Authority,
    ent: &Arc<Enterprise>,
    addrs: &[libp2p::Multiaddr],
    stop: &tokio::sync::watch::Receiver<bool>,
) {
    let (secret, master) = ent.enrolment_keys().expect("enrolment keys");
    let up = sync::client::Upstream {
        authority_key: a.root_key(),
        addrs: addrs.to_vec(),
        invite_secret: secret,
        master_key: master,
        office: None,
        poll: Duration::from_secs(1),
        max_backoff: Duration::from_secs(1),
    };
    rt.spawn(sync::client::run(
        ent.clone(),
        up,
        Arc::default(),
        stop.clone(),
    ));
}

fn waiting(ent: &Enterprise) -> usize {
    ent.sealing.outbox().expect("outbox").len()
}

/// Runs the backlog phase; `ingest_per_s` is the ingest rate measured in this run.
pub fn run(a: Arc<Authority>, dir: &Path, n: usize, ingest_per_s: f64) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    rt.spawn(sync::server::run(
        a.clone(),
        vec!["/ip4/127.0.0.1/tcp/0".parse().expect("address")],
        sync::net::NetLimits::default(),
        Arc::default(),
        sync::server::PeerBudget::default(),
        bound_tx,
        stop_rx.clone(),
    ));
    let addrs = rt.block_on(bound_rx).expect("the office listens");

    let setup = Instant::now();
    let big = prepare(&a, &dir.join("backlog-big"), 1, n);
    let small = prepare(&a, &dir.join("backlog-small"), 2, 1);
    let setup_s = setup.elapsed().as_secs_f64();

    let (t0, cpu0) = (Instant::now(), crate::baselines::cpu_seconds());
    connect(&rt, &a, &big, &addrs, &stop_rx);
    let (mut first, mut small_start, mut small_done, mut last) = (None, None, None, None);
    while t0.elapsed() < TIMEOUT {
        std::thread::sleep(Duration::from_millis(10));
        let left = waiting(&big);
        if first.is_none() && left < n {
            first = Some(t0.elapsed());
            // The drain is under way: the second enterprise comes online now.
            small_start = Some(Instant::now());
            connect(&rt, &a, &small, &addrs, &stop_rx);
        }
        if small_done.is_none() && small_start.is_some() && waiting(&small) == 0 {
            small_done = small_start.map(|s| s.elapsed());
        }
        if left == 0 && last.is_none() {
            last = Some(t0.elapsed());
        }
        if last.is_some() && small_done.is_some() {
            break;
        }
    }
    let cores_busy = (crate::baselines::cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    rt.shutdown_timeout(Duration::from_secs(2));
    let (Some(first), Some(last)) = (first, last) else {
        panic!(
            "the backlog did not drain within {TIMEOUT:?}: {} of {n} left",
            waiting(&big)
        );
    };
    let drain = n as f64 / last.as_secs_f64();
    let delivery = n.saturating_sub(1) as f64 / (last - first).as_secs_f64().max(1e-6);
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    serde_json::json!({
        "submissions": n,
        "setup_s": (setup_s * 10.0).round() / 10.0,
        "first_receipt_s": r3(first.as_secs_f64()),
        "drained_s": r3(last.as_secs_f64()),
        "drain_per_s": (drain * 10.0).round() / 10.0,
        "delivery_per_s": (delivery * 10.0).round() / 10.0,
        "drain_vs_ingest": r3(drain / ingest_per_s),
        "delivery_vs_ingest": r3(delivery / ingest_per_s),
        "target_ratio": 0.5,
        "met": drain >= 0.5 * ingest_per_s,
        "second_enterprise_receipt_ms": small_done.map(|d| d.as_millis() as u64),
        // Office and enterprises share this machine's cores.
        "cores_busy_while_draining": (cores_busy * 100.0).round() / 100.0,
    })
}
