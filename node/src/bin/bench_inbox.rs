//! `exlic-bench-inbox`: the office's inbox at volume, one JSON line.
//!
//! Setup (not measured): `exlic init authority` with a reviewer, then 50,000 cases 待初审
//! (with their inbox summaries) written into its store, as ingest writes them; then
//! `exlic serve` over HTTPS on loopback. Measured, one request at a time over one kept-alive
//! connection: the staff inbox page (`GET /cases?status=pending_initial&page=N`) and the
//! JSON inbox (`GET /api/v1/cases?status=pending_initial&page=N`) at pages spread over the
//! whole inbox (first, last and between); their p50 and p99 beside the same server's sign-in
//! page (`GET /login`, no store read) measured in the same run. Target: p99 under 200 ms for
//! both.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use exlic_client::DocId;
use exlic_client::status::ApplicationStatus;
use exlic_node::store::cases::{self, CaseRow, CaseSummary};
use exlic_node::store::{Store, StoreOptions};

#[path = "common/baselines.rs"]
mod baselines;
use baselines::arg;

const PASSWORD: &str = "bench-password-2468";

fn exlic(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("EXLIC_LOG", "warn");
    c
}

fn run(c: &mut Command) {
    let out = c.output().expect("running exlic");
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `n` cases 待初审 in batches, one durable commit each.
fn fill(dir: &Path, n: usize) {
    let store = Store::open(&dir.join("node.redb"), StoreOptions::default()).expect("store");
    let t0 = 1_764_547_200_000_i64; // 2025-12-01
    for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
        let w = store.write().expect("write");
        for &i in chunk {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            id[8] = 0xbe;
            let app = DocId(id);
            cases::put(
                &w,
                app,
                &CaseRow {
                    owner: format!("91350200{:010}", i),
                    application_no: format!("26{:018}", i),
                    revision: 1,
                    status: ApplicationStatus::PendingInitial,
                    seal_hash: [(i % 251) as u8; 32],
                    received_ms: t0 + i as i64 * 60_000,
                },
            )
            .expect("case");
            cases::put_summary(
                &w,
                app,
                &CaseSummary {
                    exporter: format!("厦门示例化工进出口有限公司 {i}"),
                    commodity_code: "2918140000".into(),
                    quantity: "24.5".into(),
                    unit: "t".into(),
                    amount: "30520.38".into(),
                    currency: "USD".into(),
                },
            )
            .expect("summary");
        }
        w.commit().expect("commit");
    }
}

fn quantiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    (p(0.50), p(0.99))
}

fn main() {
    let n = arg("--cases", 50_000);
    let samples = arg("--requests", 200);
    let bin = std::env::current_exe()
        .expect("own path")
        .with_file_name("exlic");
    let dir = std::env::temp_dir().join(format!("exlic-bench-inbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let setup = Instant::now();
    run(exlic(&bin)
        .args(["init", "authority", "--data-dir"])
        .arg(&dir)
        .args(["--name", "bench", "--agency", "AA", "--p2p-listen"])
        .arg("/ip4/127.0.0.1/tcp/0"));
    run(exlic(&bin)
        .args(["authority", "staff", "--data-dir"])
        .arg(&dir)
        .args(["--login", "wang", "--role", "officer"])
        .env("EXLIC_STAFF_PASSWORD", PASSWORD));
    fill(&dir, n);
    let mut child = exlic(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("exlic serve");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("the URL");
    let url = url.trim().to_owned();
    let setup_s = setup.elapsed().as_secs_f64();
    let cert = std::fs::read(dir.join("tls/cert.pem")).expect("tls/cert.pem");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(async {
        let mut c = exlic_client::client::Client::with_roots(url.clone(), &cert).expect("client");
        c.login("wang", PASSWORD).await.expect("sign-in");
        let bearer = format!("Bearer {}", c.session().expect("session"));
        let http = exlic_client::client::http_builder(&cert)
            .expect("http")
            .build()
            .expect("http");
        let pages = n.div_ceil(50).max(1);
        let page_of = |i: usize| match i % 4 {
            0 => 1,
            1 => pages,
            _ => 1 + (i * 7919) % pages,
        };
        let get = |path: String| {
            let req = http
                .get(format!("{url}{path}"))
                .header("authorization", bearer.clone());
            async move {
                let t = Instant::now();
                let r = req.send().await.expect("request");
                assert!(r.status().is_success(), "{path}: {}", r.status());
                let body = r.bytes().await.expect("body");
                (t.elapsed(), body.len())
            }
        };
        // Warm up, and check that page 2 is not page 1.
        let (_, _) = get("/login".into()).await;
        let one = c.inbox("pending_initial", 1).await.expect("inbox");
        let two = c.inbox("pending_initial", 2).await.expect("inbox");
        assert_eq!(one.total as usize, n);
        assert_ne!(one.rows.first(), two.rows.first(), "page 2 differs");
        let (mut login, mut html, mut json) = (Vec::new(), Vec::new(), Vec::new());
        // A filter that matches nothing reads every case's row and summary: the worst case.
        let mut filtered = Vec::new();
        let (mut html_bytes, mut json_bytes) = (0, 0);
        for i in 0..samples {
            login.push(get("/login".into()).await.0);
            let (d, b) = get(format!("/cases?status=pending_initial&page={}", page_of(i))).await;
            html.push(d);
            html_bytes = html_bytes.max(b);
            let (d, b) = get(format!(
                "/api/v1/cases?status=pending_initial&page={}",
                page_of(i)
            ))
            .await;
            json.push(d);
            json_bytes = json_bytes.max(b);
            let path = "/api/v1/cases?status=pending_initial&enterprise=ZZZ&commodity=0101";
            filtered.push(get(path.into()).await.0);
        }
        (login, html, json, filtered, html_bytes, json_bytes)
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let (login, html, json, filtered, html_bytes, json_bytes) = result;
    let (f50, f99) = quantiles(filtered);
    let (l50, l99) = quantiles(login);
    let (h50, h99) = quantiles(html);
    let (j50, j99) = quantiles(json);
    let r = |x: f64| (x * 10.0).round() / 10.0;
    println!(
        "{}",
        serde_json::json!({
            "bench": "inbox",
            "cases": n,
            "requests_each": samples,
            "setup_s": r(setup_s),
            "page_p50_ms": r(h50), "page_p99_ms": r(h99), "page_bytes_max": html_bytes,
            "json_p50_ms": r(j50), "json_p99_ms": r(j99), "json_bytes_max": json_bytes,
            "filtered_scan_p50_ms": r(f50), "filtered_scan_p99_ms": r(f99),
            "filtered_scan_p99_vs_baseline": r(f99 / l99.max(0.001)),
            "baseline_login_page_p50_ms": r(l50), "baseline_login_page_p99_ms": r(l99),
            "page_p99_vs_baseline": r(h99 / l99.max(0.001)),
            "json_p99_vs_baseline": r(j99 / l99.max(0.001)),
            "met_p99": h99 < 200.0 && j99 < 200.0,
        })
    );
}
