//! `exlic-bench-sync`: the standard sync workload of `shared/bench/WORKLOAD.md` on the real
//! exlic stack — three OS processes (authority, offline prepare, online enterprise), each
//! with its own redb file, over libp2p on 127.0.0.1 — printing one JSON line with the same
//! keys as the peer figures.
//!
//! The orchestrator spawns this binary again as `authority`, `prepare` and `enterprise`;
//! children take commands on stdin and report JSON lines on stdout.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT};
use exlic_client::DocId;
use exlic_node::authority::{Authority, AuthorityInfo};
use exlic_node::clock::SystemClock;
use exlic_node::config::Config;
use exlic_node::enterprise::Enterprise;
use exlic_node::store::kind;
use exlic_node::store::{Store, StoreOptions};
use exlic_node::sync;
use serde_json::{Value, json};

// ---- the workload generator, ported from shared/bench/common/workload.cjs ----

const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ";

struct Mulberry32(u32);
impl Mulberry32 {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x6d2b_79f5);
        let mut t = self.0;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        f64::from(t ^ (t >> 14)) / 4_294_967_296.0
    }
}

fn rstr(r: &mut Mulberry32, n: usize) -> String {
    (0..n)
        .map(|_| ALPHA[(r.next() * ALPHA.len() as f64) as usize] as char)
        .collect()
}

fn field_name(j: usize) -> String {
    format!("f{j:02}")
}

/// `genForm(i)` as a JSON value (key order as in JS).
fn gen_form(i: usize) -> Value {
    let mut r = Mulberry32(0x5eed_0000u32.wrapping_add(i as u32));
    let mut form = serde_json::Map::new();
    form.insert("app_id".into(), json!(format!("app-{i:06}")));
    for j in 0..40 {
        form.insert(field_name(j), json!(rstr(&mut r, 32)));
    }
    let mut goods = Vec::new();
    for g in 0..5 {
        let hs = rstr(&mut r, 10);
        let desc = rstr(&mut r, 48);
        let qty = 1 + (r.next() * 1000.0) as i64;
        let value = (r.next() * 1e9) as i64;
        goods.push(json!({"line": g + 1, "hs_code": hs, "description": desc, "quantity": qty, "unit": "kg", "value_eur_cents": value}));
    }
    form.insert("goods".into(), Value::Array(goods));
    Value::Object(form)
}

/// `genEdit(i, k)`: (field, new 8 characters at offset 8).
fn gen_edit(i: usize, k: usize) -> (String, String) {
    let mut r = Mulberry32(0xed17_0000u32.wrapping_add((i * 1009 + k) as u32));
    (field_name((i * 7 + k * 13) % 40), rstr(&mut r, 8))
}

fn doc_id(i: usize) -> DocId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(b"benchdoc");
    b[8..].copy_from_slice(&(i as u64).to_be_bytes());
    DocId(b)
}

fn build_doc(doc: &mut AutoCommit, form: &Value) {
    let m = form.as_object().unwrap();
    for (k, v) in m {
        match v {
            Value::String(s) if k == "app_id" => {
                doc.put(ROOT, k.as_str(), s.as_str()).unwrap();
            }
            Value::String(s) => {
                let t = doc.put_object(ROOT, k.as_str(), ObjType::Text).unwrap();
                doc.splice_text(&t, 0, 0, s).unwrap();
            }
            Value::Array(items) => {
                let l = doc.put_object(ROOT, k.as_str(), ObjType::List).unwrap();
                for (n, it) in items.iter().enumerate() {
                    let o = doc.insert_object(&l, n, ObjType::Map).unwrap();
                    for (gk, gv) in it.as_object().unwrap() {
                        match gv {
                            Value::String(s) => doc.put(&o, gk.as_str(), s.as_str()).unwrap(),
                            Value::Number(x) => {
                                doc.put(&o, gk.as_str(), x.as_i64().unwrap()).unwrap()
                            }
                            _ => unreachable!(),
                        }
                    }
                }
            }
            _ => unreachable!(),
        }
    }
}

fn edit(doc: &mut AutoCommit, field: &str, insert: &str) {
    let (_, t) = automerge::ReadDoc::get(doc, ROOT, field).unwrap().unwrap();
    doc.splice_text(&t, 8, 8, insert).unwrap();
}

fn heads_hex(h: &[automerge::ChangeHash]) -> Vec<String> {
    let mut v: Vec<String> = h.iter().map(|x| hex::encode(x.0)).collect();
    v.sort();
    v
}

#[path = "common/baselines.rs"]
mod baselines;

fn rss_mb() -> f64 {
    baselines::status_kib("self", "VmHWM:")
        .map(|kb| (kb as f64 / 1024.0 * 10.0).round() / 10.0)
        .unwrap_or(0.0)
}

fn dir_bytes(p: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e.metadata().unwrap();
            n += if m.is_dir() {
                dir_bytes(&e.path())
            } else {
                m.len()
            };
        }
    }
    n
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn emit(v: Value) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}").unwrap();
    out.flush().unwrap();
}

fn read_cmd() -> Option<Value> {
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).ok()? == 0 {
        return None;
    }
    serde_json::from_str(&line).ok()
}

fn store_opts(docs: usize) -> StoreOptions {
    StoreOptions {
        doc_cache: docs + 64,
        ..Default::default()
    }
}

// ---- authority process ----

fn run_authority(dir: PathBuf, docs: usize) -> anyhow::Result<()> {
    let config = Config::authority("bench authority", "AA", "/ip4/127.0.0.1/tcp/0");
    exlic_node::cli::init_authority(&dir, &config)?;
    let store = Arc::new(Store::open(&dir.join("node.redb"), store_opts(docs))?);
    let auth = Arc::new(Authority::new(
        store,
        Arc::new(SystemClock),
        AuthorityInfo {
            name: "bench".into(),
            agency_code: "AA".into(),
            addrs: vec![],
            attachment_max_bytes: 20 << 20,
        },
    )?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let counters: Arc<sync::net::Counters> = Arc::default();
        let (btx, brx) = tokio::sync::oneshot::channel();
        let (stx, srx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(sync::server::run(
            auth.clone(),
            vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            sync::net::NetLimits::default(),
            counters.clone(),
            sync::server::PeerBudget::default(),
            btx,
            srx,
        ));
        let addrs = brx.await?;
        auth.registry.set_addrs(addrs.iter().map(|a| a.to_string()).collect());
        let token = auth.registry.invite("913502000728319549", "基准测试企业", 1_000_000, 1)?;
        emit(json!({"type": "ready", "token": token}));
        let mut cmds = tokio::sync::mpsc::unbounded_channel::<Value>();
        std::thread::spawn({
            let tx = cmds.0.clone();
            move || {
                while let Some(c) = read_cmd() {
                    if tx.send(c).is_err() {
                        break;
                    }
                }
            }
        });
        while let Some(cmd) = cmds.1.recv().await {
            match cmd["type"].as_str() {
                Some("expect") => {
                    let expected: BTreeMap<String, Vec<String>> = serde_json::from_value(cmd["docs"].clone())?;
                    let ids: Vec<(DocId, Vec<String>)> = expected.into_iter().map(|(k, v)| (k.parse().unwrap(), v)).collect();
                    let timeout = Instant::now() + Duration::from_secs(cmd["timeout_s"].as_u64().unwrap_or(600));
                    let mut pending = ids;
                    loop {
                        let a = auth.clone();
                        let p = std::mem::take(&mut pending);
                        pending = tokio::task::spawn_blocking(move || {
                            p.into_iter()
                                .filter(|(id, want)| {
                                    let have = a.replica.heads(*id).ok().flatten().map(|h| {
                                        let hs: Vec<automerge::ChangeHash> = h.into_iter().map(automerge::ChangeHash).collect();
                                        heads_hex(&hs)
                                    });
                                    have.as_ref() != Some(want)
                                })
                                .collect::<Vec<_>>()
                        })
                        .await?;
                        if pending.is_empty() {
                            break;
                        }
                        if Instant::now() > timeout {
                            anyhow::bail!("{} documents not at the expected heads", pending.len());
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    emit(json!({"type": "synced", "t": now_ms(),
                        "up": counters.read.load(Ordering::Relaxed), "down": counters.written.load(Ordering::Relaxed)}));
                }
                Some("finish") => {
                    let held = auth.replica.doc_count()?;
                    emit(json!({"type": "finished", "docs_held": held, "rss_mb": rss_mb()}));
                    break;
                }
                _ => {}
            }
        }
        let _ = stx.send(true);
        let _ = server.await;
        anyhow::Ok(())
    })
}

// ---- prepare process (offline) ----

fn run_prepare(dir: PathBuf, docs: usize, edits: usize, token: &str) -> anyhow::Result<()> {
    let t0 = Instant::now();
    exlic_node::cli::init_enrolled(
        &dir,
        token,
        "127.0.0.1:0",
        "bench-passphrase",
        "13800138000",
        exlic_node::ekey::KdfParams {
            m_kib: 64,
            t: 1,
            p: 1,
        },
    )?;
    let store = Store::open(&dir.join("node.redb"), store_opts(docs))?;
    let mut out = serde_json::Map::new();
    for i in 0..docs {
        let id = doc_id(i);
        let mut w = store.write()?;
        let d = w.create_doc(id, kind::OTHER)?;
        build_doc(d, &gen_form(i));
        d.commit();
        w.save_doc(id)?;
        for k in 0..edits {
            let (f, ins) = gen_edit(i, k);
            let d = w.doc(id)?.expect("created");
            edit(d, &f, &ins);
            d.commit();
            w.save_doc(id)?; // one change chunk per edit
        }
        let heads = heads_hex(&w.doc(id)?.expect("created").get_heads());
        w.commit()?;
        out.insert(id.to_string(), json!(heads));
    }
    store.compact_pending()?;
    emit(
        json!({"type": "prepared", "prepare_ms": t0.elapsed().as_millis() as u64, "docs": out, "rss_mb": rss_mb()}),
    );
    Ok(())
}

// ---- enterprise process (online) ----

fn run_enterprise(dir: PathBuf, docs: usize, edits: usize) -> anyhow::Result<()> {
    let config = Config::load(&dir)?;
    let t0 = Instant::now();
    let store = Arc::new(Store::open(&dir.join("node.redb"), store_opts(docs))?);
    for i in 0..docs {
        store
            .with_doc(doc_id(i), |_| ())?
            .expect("prepared document");
    }
    let load_ms = t0.elapsed().as_millis() as u64;
    let ent = Arc::new(Enterprise::new(
        store.clone(),
        Arc::new(config.reference()?),
        Arc::new(SystemClock),
        config.identity(),
        config.settings(),
    )?);
    emit(json!({"type": "loaded", "load_ms": load_ms}));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (mut stx, mut srx) = tokio::sync::watch::channel(false);
        let mut task = None;
        while let Some(cmd) = tokio::task::spawn_blocking(read_cmd).await? {
            match cmd["type"].as_str() {
                Some("connect") => {
                    let u = config.upstream.clone().expect("enrolled");
                    let mut key = [0u8; 32];
                    hex::decode_to_slice(&u.authority_key, &mut key)?;
                    let (secret, master) = ent.enrolment_keys()?;
                    let up = sync::client::Upstream {
                        authority_key: key,
                        addrs: u
                            .addrs
                            .iter()
                            .map(|a| a.parse())
                            .collect::<Result<_, _>>()?,
                        invite_secret: secret,
                        master_key: master,
                        office: None,
                        poll: Duration::from_secs(5),
                        max_backoff: Duration::from_secs(1),
                    };
                    emit(json!({"type": "connecting", "t": now_ms()}));
                    task = Some(tokio::spawn(sync::client::run(
                        ent.clone(),
                        up,
                        Arc::default(),
                        srx.clone(),
                    )));
                }
                Some("disconnect") => {
                    let _ = stx.send(true);
                    if let Some(t) = task.take() {
                        let _ = t.await;
                    }
                    (stx, srx) = tokio::sync::watch::channel(false);
                    emit(json!({"type": "disconnected"}));
                }
                Some("edit") => {
                    let doc = cmd["doc"].as_u64().unwrap_or(0) as usize;
                    let id = doc_id(doc);
                    let s = store.clone();
                    let (te, heads) = tokio::task::spawn_blocking(
                        move || -> anyhow::Result<(i64, Vec<String>)> {
                            let (f, ins) = gen_edit(doc, edits);
                            let mut w = s.write()?;
                            let te = now_ms();
                            let d = w.doc(id)?.expect("doc 0");
                            edit(d, &f, &ins);
                            d.commit();
                            let heads = heads_hex(&d.get_heads());
                            w.save_doc(id)?;
                            w.commit()?;
                            Ok((te, heads))
                        },
                    )
                    .await??;
                    emit(json!({"type": "edited", "t": te, "id": id.to_string(), "heads": heads}));
                }
                Some("finish") => {
                    emit(json!({"type": "finished", "rss_mb": rss_mb()}));
                    break;
                }
                _ => {}
            }
        }
        let _ = stx.send(true);
        if let Some(t) = task {
            let _ = t.await;
        }
        anyhow::Ok(())
    })
}

// ---- orchestrator ----

struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Proc {
    fn start(args: &[String]) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .env(
                "EXLIC_LOG",
                std::env::var("EXLIC_BENCH_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }
    fn send(&mut self, v: Value) -> anyhow::Result<()> {
        writeln!(self.stdin, "{v}")?;
        self.stdin.flush()?;
        Ok(())
    }
    fn wait(&mut self, ty: &str) -> anyhow::Result<Value> {
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line)? == 0 {
                anyhow::bail!("child exited while waiting for {ty}");
            }
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["type"] == ty
            {
                return Ok(v);
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(-1.0)
}

fn orchestrate(docs: usize, edits: usize, timeout: u64, data: PathBuf) -> anyhow::Result<Value> {
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let load0 = loadavg();
    let (adir, edir) = (data.join("authority"), data.join("enterprise"));
    let s = |p: &Path| p.display().to_string();
    let mut auth = Proc::start(&["authority".into(), s(&adir), docs.to_string()])?;
    let token = auth.wait("ready")?["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut prep = Proc::start(&[
        "prepare".into(),
        s(&edir),
        docs.to_string(),
        edits.to_string(),
        token,
    ])?;
    let p = prep.wait("prepared")?;
    let _ = prep.child.wait();
    let mut ent = Proc::start(&[
        "enterprise".into(),
        s(&edir),
        docs.to_string(),
        edits.to_string(),
    ])?;
    let loaded = ent.wait("loaded")?;
    auth.send(json!({"type": "expect", "docs": p["docs"], "timeout_s": timeout}))?;
    ent.send(json!({"type": "connect"}))?;
    let conn = ent.wait("connecting")?;
    let full = auth.wait("synced")?;
    std::thread::sleep(Duration::from_millis(500));
    // Byte counters before the re-sync edit.
    auth.send(json!({"type": "expect", "docs": {}, "timeout_s": 10}))?;
    let b0 = auth.wait("synced")?;
    ent.send(json!({"type": "edit"}))?;
    let ed = ent.wait("edited")?;
    let mut one = serde_json::Map::new();
    one.insert(ed["id"].as_str().unwrap().to_owned(), ed["heads"].clone());
    auth.send(json!({"type": "expect", "docs": one, "timeout_s": 60}))?;
    let rs = auth.wait("synced")?;
    // Reconnect after an offline edit: cost must track what changed, not what exists.
    ent.send(json!({"type": "disconnect"}))?;
    ent.wait("disconnected")?;
    let doc = (docs / 2) as u64;
    ent.send(json!({"type": "edit", "doc": doc}))?;
    let ed2 = ent.wait("edited")?;
    auth.send(json!({"type": "expect", "docs": {}, "timeout_s": 10}))?;
    let b1 = auth.wait("synced")?;
    let mut one = serde_json::Map::new();
    one.insert(ed2["id"].as_str().unwrap().to_owned(), ed2["heads"].clone());
    ent.send(json!({"type": "connect"}))?;
    let conn2 = ent.wait("connecting")?;
    auth.send(json!({"type": "expect", "docs": one, "timeout_s": 60}))?;
    let rc = auth.wait("synced")?;
    ent.send(json!({"type": "finish"}))?;
    auth.send(json!({"type": "finish"}))?;
    let ef = ent.wait("finished")?;
    let af = auth.wait("finished")?;
    let _ = ent.child.wait();
    let _ = auth.child.wait();
    let i = |v: &Value| v.as_i64().unwrap_or(0);
    Ok(json!({
        "peer": "rust-node",
        "ok": af["docs_held"].as_u64() >= Some(docs as u64),
        "versions": {"automerge": "0.12.0", "libp2p": "0.57.1", "redb": "4.6.0", "ed25519-dalek": "3.0.0", "tokio": "1.54", "rustc": "1.95.0"},
        "docs": docs, "edits": edits,
        "durability": "immediate",
        "signed": false,
        "prepare_ms": p["prepare_ms"],
        "load_ms": loaded["load_ms"],
        "sync_ms": i(&full["t"]) - i(&conn["t"]),
        "sync_matched_ms": i(&full["t"]) - i(&conn["t"]),
        "bytes_up": full["up"], "bytes_down": full["down"],
        "resync_ms": i(&rs["t"]) - i(&ed["t"]),
        "resync_bytes_up": i(&rs["up"]) - i(&b0["up"]),
        "resync_bytes_down": i(&rs["down"]) - i(&b0["down"]),
        "reconnect_ms": i(&rc["t"]) - i(&conn2["t"]),
        "reconnect_bytes_up": i(&rc["up"]) - i(&b1["up"]),
        "reconnect_bytes_down": i(&rc["down"]) - i(&b1["down"]),
        "enterprise_prepare_peak_rss_mb": p["rss_mb"],
        "enterprise_peak_rss_mb": ef["rss_mb"],
        "authority_peak_rss_mb": af["rss_mb"],
        "enterprise_store_bytes": dir_bytes(&edir),
        "authority_store_bytes": dir_bytes(&adir),
        "authority_docs_held": af["docs_held"],
        "loadavg1_start": load0, "loadavg1_end": loadavg(),
    }))
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EXLIC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let result = match args.get(1).map(String::as_str) {
        Some("authority") => {
            run_authority(PathBuf::from(&args[2]), args[3].parse().unwrap_or(1000))
        }
        Some("prepare") => run_prepare(
            PathBuf::from(&args[2]),
            args[3].parse().unwrap_or(1000),
            args[4].parse().unwrap_or(20),
            &args[5],
        ),
        Some("enterprise") => run_enterprise(
            PathBuf::from(&args[2]),
            args[3].parse().unwrap_or(1000),
            args[4].parse().unwrap_or(20),
        ),
        _ => {
            let docs = arg("--docs").and_then(|v| v.parse().ok()).unwrap_or(1000);
            let edits = arg("--edits").and_then(|v| v.parse().ok()).unwrap_or(20);
            let timeout = arg("--timeout").and_then(|v| v.parse().ok()).unwrap_or(600);
            let data = arg("--data").map(PathBuf::from).unwrap_or_else(|| {
                std::env::temp_dir().join(format!("exlic-bench-sync-{}", std::process::id()))
            });
            match orchestrate(docs, edits, timeout, data.clone()) {
                Ok(v) => {
                    let ok = v["ok"] == true;
                    println!("{v}");
                    let _ = std::fs::remove_dir_all(&data);
                    std::process::exit(if ok { 0 } else { 1 });
                }
                Err(e) => {
                    println!(
                        "{}",
                        json!({"peer": "rust-node", "ok": false, "error": e.to_string()})
                    );
                    std::process::exit(1);
                }
            }
        }
    };
    if let Err(e) = result {
        eprintln!("bench-sync child: {e:#}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `JSON.stringify` of a form, keys in the JS insertion order.
    fn js_stringify(v: &Value) -> String {
        let m = v.as_object().unwrap();
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort_by_key(|k| match k.as_str() {
            "app_id" => 0,
            "goods" => 1000,
            f => 1 + f[1..].parse::<usize>().unwrap(),
        });
        let mut out = String::from("{");
        for (n, k) in keys.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(k).unwrap());
            out.push(':');
            if *k == "goods" {
                out.push('[');
                for (gi, g) in m[*k].as_array().unwrap().iter().enumerate() {
                    if gi > 0 {
                        out.push(',');
                    }
                    let parts: Vec<String> = [
                        "line",
                        "hs_code",
                        "description",
                        "quantity",
                        "unit",
                        "value_eur_cents",
                    ]
                    .iter()
                    .map(|f| format!("{}:{}", serde_json::to_string(f).unwrap(), g[*f]))
                    .collect();
                    out.push('{');
                    out.push_str(&parts.join(","));
                    out.push('}');
                }
                out.push(']');
            } else {
                out.push_str(&serde_json::to_string(&m[*k]).unwrap());
            }
        }
        out.push('}');
        out
    }

    /// The generator matches the JS reference: SHA-256 of `JSON.stringify(genForm(0))`.
    #[test]
    fn gen_form_matches_the_js_workload() {
        let s = js_stringify(&gen_form(0));
        let h = hex::encode(exlic_client::seal::sha256(s.as_bytes()));
        assert_eq!(
            h,
            include_str!("../../../scripts/bench-sync.genform0.sha256").trim()
        );
    }
}
