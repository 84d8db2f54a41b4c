//! Shared fixtures for the cross-node, crash and API tests: building and running the real
//! `exlic` binary, a fully filled-in application form, and small helpers.
//!
//! Every test gets its own temporary data directory and binds `127.0.0.1:0`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use exlic_client::DocId;
use exlic_client::application::{ApplicationForm, GoodsLine};
use exlic_client::authority::DecisionInput;
use exlic_client::client::Client;
use exlic_client::status::ApplicationStatus;

pub mod cluster;
pub mod proxy;

/// The demo enterprise's USCC (GB 32100 valid).
pub const USCC: &str = exlic_client::sample::USCC;
/// The demo enterprise's name.
pub const NAME: &str = exlic_client::sample::NAME;

/// Path of the `exlic` binary, built once per test process (same profile as the tests).
pub fn exlic_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| node_binary("exlic"))
}

/// The time the nodes this process starts take as "now" (`EXLIC_CLOCK_START`), if set.
static NODE_CLOCK: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Runs every node and command started from now on with its clock starting at `start`
/// (RFC 3339), or on the system clock for `None`; [`this_year`] follows.
pub fn set_node_clock(start: Option<&str>) {
    *NODE_CLOCK.lock().unwrap() = start.map(str::to_owned);
}

/// The password of every fixture operator, and the fixture e-key's PIN: a seal is
/// confirmed with the PIN where the node holds the e-key and with the operator's password
/// where it does not, so one secret confirms seals on every fixture node. Tests of the
/// difference set their own.
pub const OPERATOR_PASSWORD: &str = "fixture-password-1357";
/// The fixture e-key's PIN (a passphrase), the same as [`OPERATOR_PASSWORD`].
pub const EKEY_PIN: &str = OPERATOR_PASSWORD;
/// The first operator `exlic init enterprise` creates (a 盖章员, sealer).
pub const OPERATOR: &str = "operator";

/// An `exlic` command on the nodes' clock, creating operators with
/// [`OPERATOR_PASSWORD`].
pub fn exlic() -> Command {
    let mut c = Command::new(exlic_bin());
    c.env("EXLIC_OPERATOR_PASSWORD", OPERATOR_PASSWORD);
    if let Some(t) = NODE_CLOCK.lock().unwrap().as_deref() {
        c.env("EXLIC_CLOCK_START", t);
    }
    c
}

/// Builds one binary of `exlic-node` (a no-op when `scripts/test` already built it) and
/// returns its path.
///
/// The build runs without the `CARGO_*` variables Cargo sets for a test process: `ring`'s
/// build script declares `rerun-if-env-changed=CARGO_MANIFEST_DIR`, so inheriting the
/// test crate's value made every test binary rebuild ring, rustls, libp2p and the node
/// (about 40 s each) and the next `cargo build` rebuild them back.
pub fn node_binary(bin: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "-p", "exlic-node", "--bin", bin])
        .current_dir(&root);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || matches!(
                key.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
            )
        {
            build.env_remove(key.as_ref());
        }
    }
    let status = build.status().expect("running cargo build");
    assert!(status.success(), "building {bin} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("debug").join(bin)
}

/// Initialises an enterprise node in `dir` with the demo identity.
pub fn init_enterprise(dir: &Path) {
    let out = exlic()
        .args(["init", "enterprise", "--data-dir"])
        .arg(dir)
        .args(["--name", NAME, "--uscc", USCC, "--agency", "AA"])
        .output()
        .expect("running exlic init");
    assert!(
        out.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Replaces text in the node's `config.toml` (for limits tests).
pub fn edit_config(dir: &Path, from: &str, to: &str) {
    let p = dir.join("config.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "config.toml has no {from:?}");
    std::fs::write(&p, text.replace(from, to)).unwrap();
}

/// A running `exlic serve` process.
#[derive(Debug)]
pub struct Node {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its data directory.
    pub dir: PathBuf,
}

impl Node {
    /// Starts `exlic serve` on `dir` and waits for its URL.
    pub fn start(dir: &Path) -> Node {
        let mut child = exlic()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env(
                "EXLIC_LOG",
                std::env::var("EXLIC_TEST_NODE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting exlic serve");
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the URL");
        let url = line.trim().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
            "unexpected first line {url:?}"
        );
        Node {
            child,
            url,
            dir: dir.to_owned(),
        }
    }

    /// A signed-in client: for an enterprise node as its first operator (a sealer); for
    /// an authority node over TLS trusting its self-signed certificate, as the
    /// administrator.
    pub fn client(&self) -> Client {
        if self.url.starts_with("https://") {
            self.client_as("admin")
        } else {
            self.client_as(OPERATOR)
        }
    }

    /// A bare HTTP client of an enterprise node that presents its first operator's
    /// session (`Authorization: Bearer`) on every request, for tests that craft their own
    /// requests.
    pub fn http(&self) -> reqwest::Client {
        let token = self.client().session().expect("signed in").to_owned();
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("a header value"),
        );
        exlic_client::client::http_builder(b"")
            .expect("an HTTP client")
            .default_headers(h)
            .build()
            .expect("an HTTP client")
    }

    /// `GET path` on an enterprise node as its first operator ([`Self::http`]): the body,
    /// after checking the answer is 200.
    pub async fn get_ok(&self, path: &str) -> Vec<u8> {
        let r = self
            .http()
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("a request to the node");
        assert_eq!(r.status().as_u16(), 200, "GET {path}");
        r.bytes().await.expect("a body").to_vec()
    }

    /// The authority's self-signed certificate (PEM).
    pub fn tls_cert(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("tls/cert.pem")).expect("the authority's tls/cert.pem")
    }

    /// A client signed in as `login`: at an authority node a staff member (see
    /// [`init_authority`]: `wang` 经办人, `li` 处长, `admin`), at an enterprise node an
    /// operator (with [`OPERATOR_PASSWORD`]).
    pub fn client_as(&self, login: &str) -> Client {
        let tls = self.url.starts_with("https://");
        let roots = if tls { self.tls_cert() } else { Vec::new() };
        let mut c = Client::with_roots(self.url.clone(), &roots).expect("TLS roots");
        // Sign in on a thread of its own: callers may be inside a runtime or not.
        let password = if tls {
            STAFF_PASSWORD
        } else {
            OPERATOR_PASSWORD
        };
        let (url, login) = (self.url.clone(), login.to_owned());
        let token = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let mut c = Client::with_roots(url, &roots).expect("TLS roots");
                c.login(&login, password).await.expect("sign-in");
                c.session().expect("signed in").to_owned()
            })
        })
        .join()
        .expect("login thread");
        c.set_session(token);
        c
    }

    /// Sends the process `signal` (`STOP`, `CONT`, …).
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{signal} failed");
    }

    /// SIGKILL, then wait for the process to be gone.
    pub fn kill(mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    /// SIGTERM and wait for a clean exit; panics if it does not exit cleanly in 10 s.
    pub fn stop(mut self) {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "exlic exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child.kill().ok();
        panic!("exlic did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Runs `exlic check` on a stopped node; returns its output, panicking on failure.
pub fn check_store(dir: &Path) -> String {
    let out = exlic()
        .args(["check", "--data-dir"])
        .arg(dir)
        .output()
        .expect("exlic check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "exlic check failed:\n{text}");
    text
}

/// This year in China, as the node's rules see it.
pub fn this_year() -> String {
    let now = match NODE_CLOCK.lock().unwrap().as_deref() {
        Some(t) => t.parse().expect("an RFC 3339 time"),
        None => jiff::Timestamp::now(),
    };
    now.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .year()
        .to_string()
}

/// A form with every field filled in with values that pass every rule this year.
pub fn full_form() -> ApplicationForm {
    full_form_for(this_year().parse().expect("a year"))
}

/// The same for quota year `year` (a next-year form notes in 备注 that validity starts
/// 1月1日, as V18 asks).
pub fn full_form_for(year: i32) -> ApplicationForm {
    let mut form = exlic_client::sample::application(NAME, USCC, year);
    form.consignor_code = "3502960012345".into();
    form.goods.push(GoodsLine {
        spec: "一水柠檬酸 E330".into(),
        unit: "t".into(),
        quantity: "1.5".into(),
        unit_price: "1180.25".into(),
    });
    form.remarks = "分两批装运".into();
    form.contract.total_amount = "30520.38".into();
    form.contract.notes = "信用证即期".into();
    form
}

/// Random bytes for attachments.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v).expect("random");
    v
}

/// A small random number below `n`.
pub fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("random");
    u64::from_le_bytes(b) % n
}

/// A free TCP port on 127.0.0.1 (for the authority's p2p listener, which must keep its
/// port across restarts because enrolment tokens carry it).
///
/// Picked below the kernel's ephemeral range, never with `bind(0)`: a port from that
/// range, released again until the node binds it, may meanwhile be handed to anything
/// binding port 0 or dialling out (a proxy, an HTTP client), and the node would then fail
/// to listen. Ports are walked from a random start, so test processes rarely meet.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let high = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .filter(|h| *h > LOW + 1_000)
        .unwrap_or(32_768);
    let span = high - LOW;
    let _ = NEXT.compare_exchange(
        0,
        1 + random_below(u64::from(span)) as u32,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..span {
        let port = (LOW + NEXT.fetch_add(1, Ordering::Relaxed) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 between {LOW} and {high}")
}

/// A multi-threaded runtime for driving the typed clients from a plain `#[test]`.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// An authority node and an enterprise node enrolled with it (the fixture enterprise),
/// initialised under `root`: (authority dir, enterprise dir). Neither is started.
pub fn enrolled_pair(root: &Path) -> (PathBuf, PathBuf) {
    let adir = root.join("authority");
    init_authority(&adir, free_port());
    let edir = root.join("enterprise");
    init_enrolled(&edir, &invite(&adir, USCC, NAME));
    (adir, edir)
}

/// The password of every fixture staff account.
pub const STAFF_PASSWORD: &str = "fixture-password-1357";

/// The fixture staff: (login, role).
pub const STAFF: [(&str, &str); 3] = [("wang", "officer"), ("li", "chief"), ("admin", "admin")];

/// Initialises an authority node in `dir` listening for enterprises on `p2p_port`.
pub fn init_authority(dir: &Path, p2p_port: u16) {
    init_authority_as(dir, p2p_port, "AA", "商务部配额许可证事务局");
}

/// [`init_authority`] for the office of agency `agency` (a code of the agency registry).
pub fn init_authority_as(dir: &Path, p2p_port: u16, agency: &str, name: &str) {
    let out = exlic()
        .args(["init", "authority", "--data-dir"])
        .arg(dir)
        .args(["--name", name, "--agency", agency, "--p2p-listen"])
        .arg(format!("/ip4/127.0.0.1/tcp/{p2p_port}"))
        .output()
        .expect("running exlic init authority");
    assert!(
        out.status.success(),
        "init authority failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (login, role) in STAFF {
        let out = exlic()
            .args(["authority", "staff", "--data-dir"])
            .arg(dir)
            .args(["--login", login, "--role", role])
            .env("EXLIC_STAFF_PASSWORD", STAFF_PASSWORD)
            .output()
            .expect("running exlic authority staff");
        assert!(
            out.status.success(),
            "staff failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Issues an enrolment token from a stopped authority node.
pub fn invite(authority_dir: &Path, uscc: &str, name: &str) -> String {
    let out = exlic()
        .args(["authority", "invite", "--data-dir"])
        .arg(authority_dir)
        .args(["--uscc", uscc, "--name", name])
        .output()
        .expect("running exlic authority invite");
    assert!(
        out.status.success(),
        "invite failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Initialises an enterprise node from an enrolment token.
pub fn init_enrolled(dir: &Path, token: &str) {
    let out = exlic()
        .args(["init", "enterprise", "--data-dir"])
        .arg(dir)
        .args([
            "--token",
            token,
            "--pin",
            EKEY_PIN,
            "--mobile",
            "13800138000",
        ])
        .output()
        .expect("running exlic init enterprise --token");
    assert!(
        out.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Poll the authority every second in tests (the default is 5 s).
    edit_config(dir, "poll_seconds = 5", "poll_seconds = 1");
    edit_config(dir, "max_backoff_seconds = 30", "max_backoff_seconds = 1");
}

/// The fixture customs officer's login (password [`STAFF_PASSWORD`]).
pub const OFFICER: &str = "officer";

/// A customs invite for `district` from the stopped authority at `authority_dir`
/// (`exlic authority invite-customs`).
pub fn customs_invite(authority_dir: &Path, district: &str) -> String {
    let out = exlic()
        .args(["authority", "invite-customs", "--data-dir"])
        .arg(authority_dir)
        .args(["--district", district])
        .output()
        .expect("running exlic authority invite-customs");
    assert!(
        out.status.success(),
        "invite-customs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Initialises a customs node of `district` under `dir` from an invite of the stopped
/// authority at `authority_dir`, with the officer [`OFFICER`].
pub fn init_customs(dir: &Path, authority_dir: &Path, district: &str) {
    let token = customs_invite(authority_dir, district);
    let out = exlic()
        .args(["init", "customs", "--data-dir"])
        .arg(dir)
        .args(["--token", &token, "--officer", OFFICER])
        .env("EXLIC_OFFICER_PASSWORD", STAFF_PASSWORD)
        .output()
        .expect("running exlic init customs");
    assert!(
        out.status.success(),
        "init customs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    edit_config(dir, "poll_seconds = 5", "poll_seconds = 1");
    edit_config(dir, "max_backoff_seconds = 30", "max_backoff_seconds = 1");
}

/// `GET path` on a customs node as the officer [`OFFICER`], as a browser asks for a page:
/// the body, whatever the status.
pub async fn customs_page(customs: &Node, path: &str) -> String {
    let http = exlic_client::client::http_builder(&customs.tls_cert())
        .unwrap()
        .build()
        .unwrap();
    let token = customs.client_as(OFFICER).session().unwrap().to_owned();
    http.get(format!("{}{path}", customs.url))
        .header("Cookie", format!("exlic_customs={token}"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Initialises another device of an enrolled enterprise from its token (`--join`: no
/// e-key); returns the device key it prints.
pub fn init_joined(dir: &Path, token: &str) -> String {
    let out = exlic()
        .args(["init", "enterprise", "--data-dir"])
        .arg(dir)
        .args(["--token", token, "--join"])
        .output()
        .expect("running exlic init enterprise --join");
    assert!(
        out.status.success(),
        "init --join failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    edit_config(dir, "poll_seconds = 5", "poll_seconds = 1");
    edit_config(dir, "max_backoff_seconds = 30", "max_backoff_seconds = 1");
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("this device's key: "))
        .expect("the device key is printed")
        .trim()
        .to_owned()
}

/// Polls `check` every 100 ms until it returns `Some`, or panics with `what` after `secs`.
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = std::time::Instant::now();
    let deadline = start + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            if start.elapsed() > Duration::from_secs(10) {
                eprintln!("waited {:.1} s for {what}", start.elapsed().as_secs_f64());
            }
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every application id a node lists, across all pages.
pub async fn all_ids(c: &Client) -> Vec<exlic_client::DocId> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let q = exlic_client::query::ApplicationQuery {
            page: Some(page),
            per_page: Some(200),
            ..Default::default()
        };
        let p = c.query(&q).await.unwrap();
        out.extend(p.items.iter().map(|s| s.id));
        if !p.has_more {
            return out;
        }
        page += 1;
    }
}

/// A review decision for `stage` (`initial` or `second`).
pub fn decision(stage: &str, approve: bool, reason: &str) -> DecisionInput {
    DecisionInput {
        stage: stage.into(),
        approve,
        reason: reason.into(),
    }
}

/// Creates a full application with an attachment, seals and reports it.
pub async fn submit(c: &Client) -> DocId {
    submit_form(c, &full_form()).await
}

/// Creates `form` with an attachment, seals and reports it.
pub async fn submit_form(c: &Client, form: &ApplicationForm) -> DocId {
    let v = c.create_application(form).await.unwrap();
    c.upload_attachment(v.id, "合同.pdf", "application/pdf", random_bytes(500))
        .await
        .unwrap();
    c.seal(v.id, EKEY_PIN).await.unwrap();
    c.report(v.id).await.unwrap();
    v.id
}

/// Adds operator `login` with `role` (`drafter` or `sealer`) to a stopped enterprise
/// node, with [`OPERATOR_PASSWORD`].
pub fn add_operator(dir: &Path, login: &str, role: &str) {
    let out = exlic()
        .args(["operator", "--data-dir"])
        .arg(dir)
        .args(["--login", login, "--role", role])
        .output()
        .expect("running exlic operator");
    assert!(
        out.status.success(),
        "exlic operator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until the enterprise shows `want` for application `id`.
pub async fn status_becomes(c: &Client, id: DocId, want: ApplicationStatus) {
    wait_for(
        60,
        &format!("{} on the enterprise", want.code()),
        || async { (c.application(id).await.ok()?.status == want).then_some(()) },
    )
    .await;
}

/// Seals, reports and has both reviews pass; returns the licence number once the
/// enterprise holds the licence.
pub async fn issue(c: &Client, officer: &Client, chief: &Client) -> String {
    issue_form(c, officer, chief, &full_form()).await
}

/// The same for `form`.
pub async fn issue_form(
    c: &Client,
    officer: &Client,
    chief: &Client,
    form: &ApplicationForm,
) -> String {
    let id = submit_form(c, form).await;
    status_becomes(c, id, ApplicationStatus::PendingInitial).await;
    officer
        .decide(id, &decision("initial", true, ""))
        .await
        .unwrap();
    status_becomes(c, id, ApplicationStatus::PendingSecond).await;
    chief
        .decide(id, &decision("second", true, ""))
        .await
        .unwrap();
    status_becomes(c, id, ApplicationStatus::Issued).await;
    c.application(id).await.unwrap().licence_no.unwrap()
}

/// Where the browser walk (`e2e.mjs`) and its node modules live.
pub fn browser_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Runs one phase of the browser walk (`tests/browser/e2e.mjs`) in Debian's Chromium;
/// returns its JSON result line.
pub fn phase(name: &str, ent: &str, auth: &str, state: &str) -> String {
    phase_with(name, ent, auth, "", state)
}

/// [`phase`] with the customs node's URL too.
pub fn phase_with(name: &str, ent: &str, auth: &str, customs: &str, state: &str) -> String {
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("target/screenshots");
    let out = std::process::Command::new("node")
        .arg(browser_dir().join("e2e.mjs"))
        .arg(name)
        .env("ENT_URL", ent)
        .env("AUTH_URL", auth)
        .env("CUSTOMS_URL", customs)
        .env("SHOTS", &shots)
        .env("STAFF_PASSWORD", STAFF_PASSWORD)
        .env("PIN", EKEY_PIN)
        .env("OPERATOR", OPERATOR)
        .env("OPERATOR_PASSWORD", OPERATOR_PASSWORD)
        .env("STATE", state)
        .current_dir(browser_dir())
        .output()
        .expect("running node (Node.js is required for the browser tests)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "browser phase {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap_or("{}").to_owned()
}

/// Fills the outbox of the stopped enterprise node at `dir`: `n` applications of
/// [`full_form`], each sealed and reported through the node's own library on its real
/// store, as a clerk working offline would leave them (the seal confirmation by PIN is the
/// web layer's and is skipped). Application `i` carries the attachment `attach(i)`, if
/// any. Returns the applications, in outbox order.
pub fn seal_offline(dir: &Path, n: usize, attach: impl Fn(usize) -> Option<Vec<u8>>) -> Vec<DocId> {
    use std::sync::Arc;

    use exlic_node::clock::SystemClock;
    use exlic_node::config::Config;
    use exlic_node::enterprise::Enterprise;
    use exlic_node::store::{Store, StoreOptions};

    let config = Config::load(dir).expect("enterprise config");
    let store = Arc::new(Store::open(&dir.join("node.redb"), StoreOptions::default()).unwrap());
    let ent = Enterprise::new(
        store,
        Arc::new(config.reference().unwrap()),
        Arc::new(SystemClock),
        config.identity(),
        config.settings(),
    )
    .expect("an initialised enterprise node");
    (0..n)
        .map(|i| {
            let mut f = full_form();
            f.remarks = format!("积压申请 {i}");
            let v = ent.applications.create(&f).unwrap();
            if let Some(bytes) = attach(i) {
                ent.attachments
                    .add(v.id, "合同.pdf", "application/pdf", &bytes)
                    .unwrap();
            }
            ent.sealing.seal(v.id).unwrap();
            ent.sealing.report(v.id).unwrap();
            v.id
        })
        .collect()
}

/// Runs `exlic verify` on a licence and its log proof under office root key `root` (hex);
/// (exit 0, what it printed).
pub fn verify_with_proof(
    dir: &std::path::Path,
    root: &str,
    licence: &[u8],
    proof: &[u8],
) -> (bool, String) {
    let (lf, pf) = (dir.join("l.lic"), dir.join("l.proof"));
    std::fs::write(&lf, licence).unwrap();
    std::fs::write(&pf, proof).unwrap();
    let out = exlic()
        .arg("verify")
        .arg(&lf)
        .args(["--authority-key", root, "--proof"])
        .arg(&pf)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// 删证 of licence `no` from enterprise `c`, approved at its office (`office`, the staff
/// view; `officer` decides), until the enterprise sees it deleted.
pub async fn delete_licence(c: &Client, office: &Client, officer: &Client, no: &str) {
    c.request_licence_change(&exlic_client::licence_request::LicenceRequestInput {
        kind: "delete".into(),
        licence_no: no.to_owned(),
    })
    .await
    .unwrap();
    let pending = wait_for(60, "the 删证 request at the office", || async {
        let p = office.licence_requests(Some("pending")).await.ok()?;
        p.into_iter().find(|r| r.licence_no == no)
    })
    .await;
    officer
        .decide_licence_request(
            pending.id,
            &exlic_client::licence_request::LicenceDecisionInput {
                approve: true,
                reason: String::new(),
            },
        )
        .await
        .unwrap();
    wait_for(60, "the deletion on the enterprise", || async {
        let s = c.licence_status(no).await.ok()?;
        (s.status == "deleted").then_some(())
    })
    .await;
}
