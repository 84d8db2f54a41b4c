//! `exlic-bench-office-scale`: one office process holding 100,000 enrolled enterprises and
//! 5,000 concurrent enterprise connections while one host tries to starve it of handshakes;
//! one JSON line.
//!
//! Setup (not measured): `exlic init authority` in a temporary directory, then
//! `--enterprises` enterprises enrolled, certified (新授权) and their applications synced
//! through the office's own handler in this process (commits not waiting for fsync, to
//! keep the setup short). Then the office runs as its own process (`exlic serve`, durable
//! commits), so the memory measured is the office's alone.
//!
//! Measured, over real libp2p connections on 127.0.0.0/8:
//! 1. **Attack**, for the whole run: one host (127.0.0.66) opens TCP connections to the
//!    office's libp2p port at `--attack-rate` a second and never finishes a handshake.
//! 2. **Connect**: `--connections` enterprises, each from its own source address
//!    (127.1.x.y, as enterprises on their own links), connect (`--dialing` dialling at a
//!    time) and each syncs one change of its application, then stays connected.
//!    Reported: changes synced per second from the first dial to the last answer (each
//!    with its handshake), and the cores the office and the clients used meanwhile.
//! 3. **Ingest over held connections**: every connected enterprise syncs one more change
//!    at once over the link it holds; changes per second from the first to the last
//!    answer. This is the office's ingest, judged against the raw rates.
//! 4. **Reconnect**: with all of them connected, one at a time at `--reconnect-rate` a
//!    second (`--reconnects` in all) drops its link, dials again and syncs a change. A
//!    reconnect is timed from dialling to the office's answer holding the change.
//! 5. **Soak** (`--soak SECONDS`): phase 4 continues that long; every 10 s the office's
//!    RSS is sampled and its staff UI page and JSON API must answer.
//!
//! Afterwards the office is stopped and its store opened: every change it answered is in
//! it (nothing acknowledged lost). Reported beside the raw redb durable commit rate and
//! ed25519 verification rate measured in the same run. Targets: 5,000 connections in under
//! 2 GiB, reconnect p99 under 100 ms, every honest enterprise connected within 5 s while
//! the attack runs, changes synced over held connections at least half the slower raw
//! rate.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use automerge::sync::{self as am_sync, SyncDoc};
use exlic_client::protocol::{DocReply, Request, Response};
use exlic_node::authority::Authority;
use exlic_node::clock::SystemClock;
use exlic_node::config::Config;
use exlic_node::store::{Store, form_doc};
use exlic_node::sync::codec::{Codec, protocol};
use futures::StreamExt;
use futures::future::BoxFuture;
use libp2p::core::transport::{DialOpts, ListenerId, TransportError, TransportEvent};
use libp2p::core::{Transport, multiaddr::Protocol};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, noise, request_response, yamux};
use tokio::sync::mpsc;

#[path = "common/baselines.rs"]
mod baselines;
#[path = "common/fleet.rs"]
mod fleet;
use baselines::{arg, commit_rate, verify_rate};
use fleet::Member;

/// The staff password of the bench office's admin.
const PASSWORD: &str = "bench-office-scale-password";
/// Where the attacking host's connections come from.
const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 66);
/// Enrolments between durable commits while filling the office's store.
const PERSIST_EVERY: u64 = 2_000;
/// Longest an enterprise keeps trying to connect before the bench fails.
const CONNECT_GIVE_UP: Duration = Duration::from_secs(120);

fn exlic_binary() -> PathBuf {
    std::env::current_exe()
        .expect("own path")
        .with_file_name("exlic")
}

fn run_exlic(args: &[&str], dir: &Path) {
    let out = Command::new(exlic_binary())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("EXLIC_STAFF_PASSWORD", PASSWORD)
        .output()
        .expect("running exlic (build it beside this binary)");
    assert!(
        out.status.success(),
        "exlic {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Enrols `n` enterprises with the office in `dir` (stopped, configured by `config`); returns
/// the first `keep`.
fn populate(dir: &Path, config: &Config, n: usize, keep: usize) -> (Vec<Member>, [u8; 32]) {
    let store = Arc::new(
        Store::open(
            &dir.join("node.redb"),
            exlic_node::store::StoreOptions {
                durable: false,
                ..config.store_options()
            },
        )
        .expect("store"),
    );
    let a = Arc::new(
        Authority::with_reference(
            store.clone(),
            Arc::new(SystemClock),
            fleet::office_info(),
            Arc::new(config.reference().expect("reference")),
        )
        .expect("authority"),
    );
    let done = AtomicU64::new(0);
    let started = Instant::now();
    let kept = std::sync::Mutex::new(Vec::with_capacity(keep));
    std::thread::scope(|s| {
        for t in 0..2 {
            let (a, done, kept, store, started) = (&a, &done, &kept, &store, &started);
            s.spawn(move || {
                for i in (t..n).step_by(2) {
                    let m = fleet::enrol(a, "91110000", i);
                    if i < keep {
                        kept.lock().expect("kept").push((i, m));
                    }
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    // redb reuses the pages non-durable commits free only after a durable
                    // one: without this the fill slows as the file grows.
                    if d % PERSIST_EVERY == 0 {
                        store.persist().expect("durable");
                    }
                    if d % 10_000 == 0 {
                        let rate = d as f64 / started.elapsed().as_secs_f64();
                        eprintln!("setup: {d} of {n} enterprises enrolled ({rate:.0}/s)");
                    }
                }
            });
        }
    });
    let root = a.root_key();
    drop(a);
    // Everything made without fsync reaches the disk before the office opens it.
    store.persist().expect("durable");
    drop(store);
    let mut kept = kept.into_inner().expect("kept");
    kept.sort_by_key(|(i, _)| *i);
    (kept.into_iter().map(|(_, m)| m).collect(), root)
}

/// The office process and its RSS, sampled.
struct Office {
    child: Child,
    url: String,
    peak_rss: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Office {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(exlic_binary())
            .args(["serve", "--data-dir"])
            .arg(dir)
            .env("EXLIC_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("exlic serve");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
            child.stdout.take().expect("stdout"),
        ));
        let url = loop {
            let line = lines
                .next()
                .expect("the office printed its URL")
                .expect("stdout");
            if let Some(i) = line.find("https://") {
                break line[i..]
                    .split_whitespace()
                    .next()
                    .expect("url")
                    .to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let (peak_rss, stop) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let pid = child.id();
        let (p, s) = (peak_rss.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    p.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Self {
            child,
            url,
            peak_rss,
            stop,
        }
    }

    fn rss_mib(&self) -> f64 {
        rss_kib(self.child.id()).unwrap_or(0) as f64 / 1024.0
    }

    /// CPU seconds the office process has used so far.
    fn cpu_s(&self) -> f64 {
        baselines::cpu_seconds_of(&self.child.id().to_string())
    }

    /// Stops the office as an operator would (SIGTERM) and waits for it.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "the office stopped with {status}");
        self.peak_rss.load(Ordering::Relaxed)
    }
}

impl Drop for Office {
    /// A bench that fails leaves no office running.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.child.kill();
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    baselines::status_kib(&pid.to_string(), "VmRSS:")
}

/// A dial-only TCP transport whose connections leave from one source address, as an
/// enterprise on its own link would (libp2p's TCP transport binds no source address).
#[derive(Debug, Clone, Copy)]
struct FromAddr(IpAddr);

impl Transport for FromAddr {
    type Output = libp2p::tcp::tokio::TcpStream;
    type Error = std::io::Error;
    type ListenerUpgrade = futures::future::Pending<Result<Self::Output, Self::Error>>;
    type Dial = BoxFuture<'static, Result<Self::Output, Self::Error>>;

    fn listen_on(
        &mut self,
        _: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<Self::Error>> {
        Err(TransportError::MultiaddrNotSupported(addr))
    }

    fn remove_listener(&mut self, _: ListenerId) -> bool {
        false
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        _: DialOpts,
    ) -> Result<Self::Dial, TransportError<Self::Error>> {
        let mut it = addr.iter();
        let (Some(Protocol::Ip4(ip)), Some(Protocol::Tcp(port))) = (it.next(), it.next()) else {
            return Err(TransportError::MultiaddrNotSupported(addr));
        };
        let (src, dst) = (self.0, SocketAddr::new(ip.into(), port));
        Ok(Box::pin(async move {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(src, 0))?;
            let stream = socket.connect(dst).await?;
            stream.set_nodelay(true)?;
            Ok(libp2p::tcp::tokio::TcpStream(stream))
        }))
    }

    fn poll(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, Self::Error>> {
        Poll::Pending
    }
}

type Client = Swarm<request_response::Behaviour<Codec>>;

/// The swarm of an enterprise's device, connecting from `src`.
fn client_swarm(m: &Member, src: IpAddr) -> Client {
    let key = exlic_node::sync::net::keypair(m.device.to_bytes());
    libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_other_transport(
            |key| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                Ok(FromAddr(src)
                    .upgrade(libp2p::core::upgrade::Version::V1)
                    .authenticate(noise::Config::new(key)?)
                    .multiplex(yamux::Config::default()))
            },
        )
        .expect("transport")
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                Codec,
                [(protocol(), request_response::ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(60)),
            )
        })
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build()
}

/// Dials until connected; how long it took, and how many dials were refused.
async fn connect(swarm: &mut Client, office: &Multiaddr) -> Result<(Duration, u32), String> {
    let t = Instant::now();
    let mut refused = 0;
    loop {
        swarm.dial(office.clone()).map_err(|e| e.to_string())?;
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { .. } => return Ok((t.elapsed(), refused)),
                SwarmEvent::OutgoingConnectionError { .. } => break,
                _ => {}
            }
        }
        refused += 1;
        if t.elapsed() > CONNECT_GIVE_UP {
            return Err(format!("not connected after {refused} dials"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One request, answered.
async fn ask(swarm: &mut Client, office: PeerId, req: Request) -> Result<Response, String> {
    let id = swarm
        .behaviour_mut()
        .send_request(&office, exlic_node::sync::codec::Inbound::Valid(req));
    loop {
        match swarm.select_next_some().await {
            SwarmEvent::Behaviour(request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            }) if request_id == id => return Ok(response),
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                request_id,
                error,
                ..
            }) if request_id == id => return Err(error.to_string()),
            _ => {}
        }
    }
}

/// One change of the enterprise's application, synced until the office holds it.
async fn sync_change(
    swarm: &mut Client,
    office: PeerId,
    m: &mut Member,
    (feed, cursor): (&mut u64, &mut u64),
    n: u64,
) -> Result<(), String> {
    let mut form = form_doc::read_form(&m.doc);
    form.remarks = format!("change {n}");
    form_doc::write_form(&mut m.doc, &form).map_err(|e| e.to_string())?;
    m.doc.commit();
    let mut state = am_sync::State::new();
    for _ in 0..10 {
        let Some(msg) = m.doc.sync().generate_sync_message(&mut state) else {
            return Ok(());
        };
        let req = Request::Sync {
            feed: *feed,
            cursor: *cursor,
            docs: vec![(m.doc_id, msg.encode())],
        };
        match ask(swarm, office, req).await? {
            Response::Sync {
                feed: f,
                cursor: c,
                docs,
                ..
            } => {
                *cursor = if f == *feed { c.max(*cursor) } else { c };
                *feed = f;
                for (d, reply) in docs {
                    if let (true, DocReply::Message(b)) = (d == m.doc_id, reply) {
                        let msg = am_sync::Message::decode(&b).map_err(|e| e.to_string())?;
                        m.doc
                            .sync()
                            .receive_sync_message(&mut state, msg)
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
            other => return Err(format!("sync answered {other:?}")),
        }
    }
    Err("the document did not settle in 10 rounds".into())
}

/// A timed phase of the bench and the CPU the office and the clients used in it.
struct Phase {
    started: Instant,
    office_cpu_s: f64,
    clients_cpu_s: f64,
}

impl Phase {
    fn start(office: &Office) -> Self {
        Self {
            started: Instant::now(),
            office_cpu_s: office.cpu_s(),
            clients_cpu_s: baselines::cpu_seconds(),
        }
    }

    /// Seconds since the start, and the cores the office and the clients kept busy.
    fn end(&self, office: &Office) -> (f64, serde_json::Value) {
        let secs = self.started.elapsed().as_secs_f64();
        let cores = |used: f64| (used / secs * 100.0).round() / 100.0;
        let busy = serde_json::json!({
            "office": cores(office.cpu_s() - self.office_cpu_s),
            "clients": cores(baselines::cpu_seconds() - self.clients_cpu_s),
        });
        (secs, busy)
    }
}

/// What one connection of an enterprise saw.
#[derive(Debug)]
struct Round {
    client: usize,
    /// Dial to connected.
    connect: Duration,
    /// Dial to the office's answer holding the change.
    synced: Duration,
    refused: u32,
    /// The document's heads the office acknowledged.
    heads: Vec<automerge::ChangeHash>,
}

/// What the bench tells a connected enterprise to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    /// Sync another change over the connection it holds.
    Change,
    /// Drop the link, dial again and sync another change.
    Reconnect,
}

/// An enterprise: connects and syncs a change, then holds its connection until told to
/// sync another change over it, to reconnect (and sync another change) or to stop.
async fn enterprise(
    k: usize,
    mut m: Member,
    office: Multiaddr,
    office_peer: PeerId,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    out: mpsc::UnboundedSender<Result<Round, String>>,
) -> Member {
    let src = IpAddr::V4(Ipv4Addr::new(127, 1, (k / 250) as u8, (k % 250 + 2) as u8));
    let mut swarm = client_swarm(&m, src);
    let (mut feed, mut cursor, mut n) = (0u64, 0u64, 0u64);
    let mut dial = true;
    loop {
        let t = Instant::now();
        let r = async {
            let (connect, refused) = if dial {
                connect(&mut swarm, &office).await?
            } else {
                (Duration::ZERO, 0)
            };
            n += 1;
            sync_change(&mut swarm, office_peer, &mut m, (&mut feed, &mut cursor), n).await?;
            Ok(Round {
                client: k,
                connect,
                synced: t.elapsed(),
                refused,
                heads: m.doc.get_heads(),
            })
        }
        .await;
        let failed = r.is_err();
        let _ = out.send(r);
        if failed {
            return m;
        }
        // Hold the connection (answering the office's pings) until told otherwise.
        loop {
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::Change) => {
                        dial = false;
                        break;
                    }
                    Some(Cmd::Reconnect) => {
                        dial = true;
                        let _ = swarm.disconnect_peer_id(office_peer);
                        while swarm.is_connected(&office_peer) {
                            swarm.select_next_some().await;
                        }
                        break;
                    }
                    None => return m,
                },
                _ = swarm.select_next_some() => {}
            }
        }
    }
}

/// The starvation attack: TCP connections from [`ATTACKER`] at `rate` a second, each
/// left silent until the office closes it. Returns how many it opened and how many the
/// office let it hold at most.
async fn attack(port: u16, rate: usize, stop: Arc<AtomicBool>) -> (u64, u64) {
    let dst = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port);
    let (opened, open_now, most) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let (opened, open_now, most) = (opened.clone(), open_now.clone(), most.clone());
        tokio::spawn(async move {
            let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
                return;
            };
            if socket.bind(SocketAddr::new(ATTACKER.into(), 0)).is_err() {
                return;
            }
            let Ok(mut stream) = socket.connect(dst).await else {
                return;
            };
            opened.fetch_add(1, Ordering::Relaxed);
            let now = open_now.fetch_add(1, Ordering::Relaxed) + 1;
            most.fetch_max(now, Ordering::Relaxed);
            // Silent: read until the office gives up on the handshake (or 30 s).
            let mut buf = [0u8; 256];
            let _ = tokio::time::timeout(Duration::from_secs(30), async {
                use tokio::io::AsyncReadExt;
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
            open_now.fetch_sub(1, Ordering::Relaxed);
        });
    }
    (opened.load(Ordering::Relaxed), most.load(Ordering::Relaxed))
}

/// Milliseconds at quantile `q` of `v` (sorted here).
fn quantile_ms(v: &mut [Duration], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort();
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    (v[i].as_secs_f64() * 10_000.0).round() / 10.0
}

/// The staff UI's sign-in page and the JSON API answer.
async fn office_answers(http: &exlic_client::client::reqwest::Client, url: &str) -> bool {
    let page = http.get(format!("{url}/login")).send().await;
    let api = http
        .post(format!("{url}/api/v1/session"))
        .json(&serde_json::json!({"login": "admin", "password": PASSWORD}))
        .send()
        .await;
    matches!((page, api), (Ok(p), Ok(a)) if p.status().is_success() && a.status().is_success())
}

fn main() {
    let enterprises = arg("--enterprises", 100_000);
    let connections = arg("--connections", 5_000).min(enterprises);
    let dialing = arg("--dialing", 64);
    let reconnects = arg("--reconnects", 2_000);
    let reconnect_rate = arg("--reconnect-rate", 100);
    let attack_rate = arg("--attack-rate", 50);
    let soak_s = arg("--soak", 0) as u64;
    // The office's document cache ([store] doc_cache); 0 keeps what `exlic init` wrote.
    let doc_cache = arg("--doc-cache", 0);
    // Its memory bound ([store] doc_cache_mb); 0 keeps what `exlic init` wrote.
    let doc_cache_mb = arg("--doc-cache-mb", 0);
    rlimit::increase_nofile_limit(connections as u64 * 2 + 4096).expect("open-file limit");

    let tmp = std::env::temp_dir().join(format!("exlic-bench-office-{}", std::process::id()));
    let dir = tmp.join("office");
    let port = free_port();
    run_exlic(
        &[
            "init",
            "authority",
            "--name",
            "基准发证机构",
            "--agency",
            "AA",
            "--p2p-listen",
            &format!("/ip4/127.0.0.1/tcp/{port}"),
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
        ],
        &dir,
    );
    run_exlic(
        &["authority", "staff", "--login", "admin", "--role", "admin"],
        &dir,
    );
    let mut config = Config::load(&dir).expect("config");
    if doc_cache_mb > 0 {
        config.store.doc_cache_mb = doc_cache_mb;
    }
    if doc_cache > 0 {
        config.store.doc_cache = doc_cache;
    }
    config.save(&dir).expect("config written");
    let setup = Instant::now();
    let (members, root) = populate(&dir, &config, enterprises, connections);
    let setup_s = setup.elapsed().as_secs_f64();
    let store_mib = std::fs::metadata(dir.join("node.redb"))
        .map(|m| m.len())
        .unwrap_or(0) as f64
        / (1 << 20) as f64;
    let (verify, commit) = (
        verify_rate(Duration::from_millis(1500)),
        commit_rate(&tmp, 500),
    );

    let office = Office::start(&dir);
    let idle_rss = office.rss_mib();
    let office_peer = exlic_node::sync::net::peer_id(&root).expect("office peer id");
    let office_addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}/p2p/{office_peer}")
        .parse()
        .expect("address");
    let http = exlic_client::client::http_client(
        &std::fs::read(dir.join("tls/cert.pem")).expect("the office's TLS certificate"),
    )
    .expect("http client");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let stop_attack = Arc::new(AtomicBool::new(false));
    let attacker = rt.spawn(attack(port, attack_rate, stop_attack.clone()));

    // Phase 2: every enterprise connects and syncs a change, `dialing` at a time.
    let (out_tx, mut out_rx) = mpsc::unbounded_channel();
    let mut cmds = Vec::with_capacity(connections);
    let mut tasks = Vec::with_capacity(connections);
    let connecting = Phase::start(&office);
    let mut rounds: Vec<Round> = Vec::new();
    let mut latest: Vec<Vec<automerge::ChangeHash>> = vec![Vec::new(); connections];
    let mut take = |r: Result<Round, String>, rounds: &mut Vec<Round>| {
        let r = r.unwrap_or_else(|e| panic!("an enterprise failed: {e}"));
        latest[r.client] = r.heads.clone();
        rounds.push(r);
    };
    for (k, m) in members.into_iter().enumerate() {
        while k >= dialing + rounds.len() {
            let r = rt.block_on(out_rx.recv()).expect("results");
            take(r, &mut rounds);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        cmds.push(tx);
        tasks.push(rt.spawn(enterprise(
            k,
            m,
            office_addr.clone(),
            office_peer,
            rx,
            out_tx.clone(),
        )));
        if (k + 1) % 1000 == 0 {
            eprintln!("connect: {} of {connections} dialled", k + 1);
        }
    }
    while rounds.len() < connections {
        let r = rt.block_on(out_rx.recv()).expect("results");
        take(r, &mut rounds);
    }
    let (connect_s, connect_cores) = connecting.end(&office);
    let connected_rss = office.rss_mib();
    let answers_connected = rt.block_on(office_answers(&http, &office.url));

    // Ingest over the held connections: every enterprise syncs one more change at once.
    let holding = Phase::start(&office);
    for c in &cmds {
        let _ = c.send(Cmd::Change);
    }
    let mut held: Vec<Round> = Vec::with_capacity(connections);
    while held.len() < connections {
        let r = rt.block_on(out_rx.recv()).expect("results");
        take(r, &mut held);
    }
    let (held_s, held_cores) = holding.end(&office);
    let mut held_times: Vec<Duration> = held.iter().map(|r| r.synced).collect();
    let mut first_connects: Vec<Duration> = rounds.iter().map(|r| r.synced).collect();
    let honest_connect_max = rounds.iter().map(|r| r.connect).max().unwrap_or_default();
    let refused_first: u32 = rounds.iter().map(|r| r.refused).sum();

    // Phases 4 and 5: reconnects at a steady rate while the rest hold their connections.
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let period = Duration::from_secs_f64(1.0 / reconnect_rate.max(1) as f64);
    let soak = Duration::from_secs(soak_s);
    let (t1, mut sent) = (Instant::now(), 0usize);
    let mut recon: Vec<Round> = Vec::new();
    let mut samples: Vec<serde_json::Value> = Vec::new();
    let mut answered_always = answers_connected;
    let mut next_sample = Instant::now();
    loop {
        let soaking = t1.elapsed() < soak;
        if sent >= reconnects && !soaking && recon.len() >= sent {
            break;
        }
        if (sent < reconnects || soaking) && t1 + period * sent as u32 <= Instant::now() {
            let _ = cmds[next() as usize % connections].send(Cmd::Reconnect);
            sent += 1;
        }
        while let Ok(r) = out_rx.try_recv() {
            take(r, &mut recon);
        }
        if soak_s > 0 && Instant::now() >= next_sample {
            let ok = rt.block_on(office_answers(&http, &office.url));
            answered_always &= ok;
            samples.push(serde_json::json!({
                "t_s": t1.elapsed().as_secs(),
                "rss_mib": (office.rss_mib() * 10.0).round() / 10.0,
                "reconnects": recon.len(),
                "answers": ok,
            }));
            eprintln!("soak: {}", samples.last().expect("sample"));
            next_sample += Duration::from_secs(10);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let recon_s = t1.elapsed().as_secs_f64();
    let mut recon_times: Vec<Duration> = recon.iter().map(|r| r.synced).collect();
    let recon_connect_max = recon.iter().map(|r| r.connect).max().unwrap_or_default();

    stop_attack.store(true, Ordering::Relaxed);
    drop(cmds);
    for t in tasks {
        let _ = rt.block_on(t);
    }
    let (attack_opened, attack_held) = rt.block_on(attacker).expect("attack");
    rt.shutdown_timeout(Duration::from_secs(2));
    let answered_end = rt_answers(&http, &office.url);
    let peak_rss = office.stop() as f64 / 1024.0;

    // Nothing acknowledged lost: every change an enterprise saw answered is in the store.
    let store = Store::open(&dir.join("node.redb"), Default::default()).expect("store");
    let mut missing = 0usize;
    for (k, heads) in latest.iter().enumerate() {
        let id = fleet::Member::doc_id_of(&fleet::uscc("91110000", k));
        let held = store
            .with_doc(id, |d| {
                heads.iter().all(|h| d.get_change_by_hash(h).is_some())
            })
            .expect("read")
            .unwrap_or(false);
        missing += usize::from(!held);
    }
    drop(store);

    let r1 = |x: f64| (x * 10.0).round() / 10.0;
    let synced_per_s = connections as f64 / connect_s;
    let held_per_s = connections as f64 / held_s;
    let slower = verify.min(commit);
    let p99 = quantile_ms(&mut recon_times, 0.99);
    let connect_max = honest_connect_max.max(recon_connect_max);
    println!(
        "{}",
        serde_json::json!({
            "bench": "office-scale",
            "enterprises_enrolled": enterprises,
            "store_mib": r1(store_mib),
            "setup_s": r1(setup_s),
            "connections": connections,
            "doc_cache": config.store.doc_cache,
            "doc_cache_mb": config.store.doc_cache_mb,
            "office_rss_mib": {
                "idle": r1(idle_rss),
                "all_connected": r1(connected_rss),
                "peak": r1(peak_rss),
            },
            "first_connect_and_sync_ms": {
                "p50": quantile_ms(&mut first_connects, 0.5),
                "p99": quantile_ms(&mut first_connects, 0.99),
            },
            "changes_synced_per_s": r1(synced_per_s),
            "held_connections": {
                "changes_synced_per_s": r1(held_per_s),
                "sync_ms_p50": quantile_ms(&mut held_times, 0.5),
                "sync_ms_p99": quantile_ms(&mut held_times, 0.99),
                "vs_slower_baseline": (held_per_s / slower * 1000.0).round() / 1000.0,
                "cores_busy": held_cores,
            },
            "cores_busy_while_connecting": connect_cores,
            "reconnects": recon.len(),
            "reconnect_rate_per_s": r1(recon.len() as f64 / recon_s),
            "reconnect_ms": {
                "p50": quantile_ms(&mut recon_times, 0.5),
                "p99": p99,
                "max": quantile_ms(&mut recon_times, 1.0),
            },
            "attack": {
                "rate_per_s": attack_rate,
                "connections_opened": attack_opened,
                "held_at_most": attack_held,
                "honest_connect_max_ms": r1(connect_max.as_secs_f64() * 1000.0),
                "honest_dials_refused": refused_first,
            },
            "office_answered_ui_and_api": answered_always && answered_end,
            "acknowledged_changes_missing": missing,
            "soak": samples,
            "ed25519_verify_strict_per_s": verify.round(),
            "redb_durable_commit_per_s": r1(commit),
            "synced_vs_slower_baseline": (synced_per_s / slower * 1000.0).round() / 1000.0,
            "targets": {
                "rss_under_mib": 2048,
                "reconnect_p99_under_ms": 100,
                "honest_connect_under_ms": 5000,
                "held_connections_vs_slower_baseline": 0.5,
            },
            "met": peak_rss < 2048.0
                && p99 < 100.0
                && connect_max < Duration::from_secs(5)
                && held_per_s >= 0.5 * slower
                && missing == 0,
        })
    );
    std::fs::remove_dir_all(&tmp).ok();
}

/// [`office_answers`] outside the bench's runtime.
fn rt_answers(http: &exlic_client::client::reqwest::Client, url: &str) -> bool {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(office_answers(http, url))
}
