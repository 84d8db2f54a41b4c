//! A deterministic simulated network: one authority and several devices of one enterprise,
//! each over its own store kept in memory, driven through thousands of seeded schedules of
//! local work (drafts, edits, seals, reports), lost requests and answers, partitions and
//! restarts from the stores. After each schedule the network heals and runs until quiet,
//! and the invariants are checked: identical documents everywhere, no acknowledged edit
//! lost, each reported submission received exactly once, statuses that agree.
//!
//! The roles run for real (the authority's request handling, the enterprise's sans-IO
//! [`Session`], redb, Automerge, signatures); only the network and the clock are
//! simulated. A failing schedule names its seed; `EXLIC_SIM_SEED=<seed> cargo test
//! simulation_replays_one_seed` runs that one schedule again, step for step.

use crate::upstream::Link;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use ed25519_dalek::SigningKey;
use exlic_client::DocId;
use exlic_client::cert_request::RequestKind;
use exlic_client::invite::Invite;
use exlic_client::protocol::{Request, Response};
use exlic_client::status::ApplicationStatus;
use redb::StorageBackend;

use crate::authority::{self, Authority, AuthorityInfo};
use crate::clock::ManualClock;
use crate::domain::numbering::NumberBlock;
use crate::domain::reference::Reference;
use crate::domain::rules::tests_support::{USCC, seed_form};
use crate::enterprise::session::{Credentials, Session, Step};
use crate::enterprise::{self, Enterprise, Identity, Settings};
use crate::random::Seeded;
use crate::store::{Store, StoreOptions};

/// 2024-12-11 10:00 China time: the day the seed form is valid on.
const START_MS: i64 = 1_733_882_400_000;
/// Local steps and network steps per schedule.
const STEPS: usize = 24;
/// The field each device edits on shared drafts (one per device, so every acknowledged
/// value has exactly one writer and must survive).
const FIELDS: [&str; 3] = ["remarks", "additional_info", "consignor_name"];

/// A store in memory that outlives the database over it, so a node can be restarted from
/// exactly what it had made durable: writes reach `live` at once and `synced` only at
/// `sync_data`, and a restart is a power loss (everything since the last sync is gone).
#[derive(Debug, Clone, Default)]
struct Memory {
    live: Arc<Mutex<Vec<u8>>>,
    synced: Arc<Mutex<Vec<u8>>>,
}

impl Memory {
    /// What the disk holds after a power loss now.
    fn durable_image(&self) -> Vec<u8> {
        lock(&self.synced).clone()
    }

    /// The disk after a power loss that left `image` (taken by [`Self::durable_image`]).
    fn power_loss(&self, image: Vec<u8>) {
        *lock(&self.live) = image.clone();
        *lock(&self.synced) = image;
    }
}

fn lock(m: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl StorageBackend for Memory {
    fn len(&self) -> Result<u64, std::io::Error> {
        Ok(lock(&self.live).len() as u64)
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let live = lock(&self.live);
        let start = offset as usize;
        let src = live
            .get(start..start + out.len())
            .ok_or_else(|| std::io::Error::other("read past the end"))?;
        out.copy_from_slice(src);
        Ok(())
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        lock(&self.live).resize(len as usize, 0);
        Ok(())
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        let live = lock(&self.live).clone();
        *lock(&self.synced) = live;
        Ok(())
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        let mut live = lock(&self.live);
        let start = offset as usize;
        live.get_mut(start..start + data.len())
            .ok_or_else(|| std::io::Error::other("write past the end"))?
            .copy_from_slice(data);
        Ok(())
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        doc_cache: 64,
        page_cache_bytes: 1 << 20,
        ..StoreOptions::default()
    }
}

fn reference() -> Arc<Reference> {
    Reference::embedded_shared()
}

/// What the schedule did, as the model the invariants are checked against.
#[derive(Debug, Default)]
struct Model {
    /// Applications created: (creating device, shared draft, sealed).
    apps: BTreeMap<DocId, (usize, bool, bool)>,
    /// The last acknowledged value of each (application, field).
    edits: BTreeMap<(DocId, &'static str), String>,
    /// Acknowledged reports: application → revision.
    reported: BTreeMap<DocId, u32>,
    counter: u64,
}

#[derive(Debug)]
struct Device {
    mem: Memory,
    key: [u8; 32],
    ent: Arc<Enterprise>,
    creds: Credentials,
    session: Option<Session>,
    /// The request sent and not yet answered.
    pending: Option<Request>,
    linked: bool,
    rounds: u64,
}

#[derive(Debug)]
struct World {
    rng: Seeded,
    clock: Arc<ManualClock>,
    auth_mem: Memory,
    auth: Authority,
    devices: Vec<Device>,
    model: Model,
    /// Every step, for a failure report.
    trace: Vec<String>,
}

fn open_authority(mem: &Memory, clock: &Arc<ManualClock>) -> Authority {
    let store = Arc::new(Store::open_backend(mem.clone(), options()).expect("authority store"));
    authority::initialise(&store).expect("initialise");
    Authority::new(
        store,
        clock.clone(),
        AuthorityInfo {
            name: "模拟发证机构".into(),
            agency_code: "AA".into(),
            addrs: vec!["/ip4/127.0.0.1/tcp/1".into()],
            attachment_max_bytes: 1 << 20,
        },
    )
    .expect("authority")
}

fn open_enterprise(mem: &Memory, clock: &Arc<ManualClock>) -> Arc<Enterprise> {
    let store = Arc::new(Store::open_backend(mem.clone(), options()).expect("device store"));
    Arc::new(
        Enterprise::new(
            store,
            reference(),
            clock.clone(),
            Identity {
                enterprise_name: "厦门示例化工进出口有限公司".into(),
                enterprise_uscc: USCC.into(),
                agency_code: "AA".into(),
                other_agencies: Vec::new(),
            },
            Settings::default(),
        )
        .expect("enterprise"),
    )
}

/// A throwaway enterprise, to hold a device's place while it restarts.
fn blank_enterprise(clock: &Arc<ManualClock>) -> Arc<Enterprise> {
    let mem = Memory::default();
    {
        let store = Store::open_backend(mem.clone(), options()).expect("store");
        let block = NumberBlock::parse("249999400000560600000:1").expect("block");
        enterprise::initialise(&store, block).expect("initialise");
    }
    open_enterprise(&mem, clock)
}

impl World {
    fn new(seed: u64, devices: usize) -> Self {
        Self::with_blocks(seed, devices, 1000)
    }

    /// A world whose devices are enrolled with blocks of `numbers` 申请表号.
    fn with_blocks(seed: u64, devices: usize, numbers: u64) -> Self {
        crate::random::seed_this_thread(Some(seed));
        let clock = Arc::new(ManualClock::at(START_MS));
        let auth_mem = Memory::default();
        let auth = open_authority(&auth_mem, &clock);
        let master = SigningKey::from_bytes(&crate::random::bytes());
        let mut devs = Vec::new();
        for i in 0..devices {
            let token = auth
                .registry
                .invite(USCC, "厦门示例化工进出口有限公司", numbers, 30)
                .expect("invite");
            let inv = Invite::from_token(&token).expect("token");
            let mem = Memory::default();
            {
                let store = Store::open_backend(mem.clone(), options()).expect("store");
                let block =
                    NumberBlock::parse(&format!("{:021}:{}", inv.block_first, inv.block_len))
                        .expect("block");
                enterprise::initialise(&store, block).expect("initialise");
                enterprise::initialise_enrolment(&store, inv.secret).expect("enrolment");
            }
            let ent = open_enterprise(&mem, &clock);
            let key = ent.device_public_key();
            devs.push(Device {
                mem,
                key,
                ent,
                creds: Credentials {
                    authority_key: auth.root_key(),
                    invite_secret: Some(inv.secret),
                    master_key: master.verifying_key().to_bytes(),
                    office: None,
                },
                session: None,
                pending: None,
                linked: true,
                rounds: 0,
            });
            // The first device's e-key authorises every device: 新授权 for itself, 手机变更
            // naming each other device's key.
            let (kind, device) = if i == 0 {
                (RequestKind::New, None)
            } else {
                (RequestKind::DeviceChange, Some(key))
            };
            devs[0]
                .ent
                .certificates
                .queue_request(kind, &format!("1380013800{i}"), "", &master, device)
                .expect("certificate request");
        }
        Self {
            rng: Seeded(seed ^ 0x5EED),
            clock,
            auth_mem,
            auth,
            devices: devs,
            model: Model::default(),
            trace: Vec::new(),
        }
    }

    fn log(&mut self, what: String) {
        self.trace.push(what);
    }

    /// Ends device `d`'s session, as a dropped connection does on both sides.
    fn disconnect(&mut self, d: usize) {
        let dev = &mut self.devices[d];
        if let Some(s) = dev.session.take() {
            dev.rounds = s.rounds();
        }
        dev.pending = None;
        self.auth.replica.disconnected(&dev.key);
    }

    /// One network step of device `d`: connect, send, or start the next round. `lossy`
    /// lets the network lose the request or its answer.
    fn net_step(&mut self, d: usize, lossy: bool) -> Result<bool, String> {
        if !self.devices[d].linked {
            return Ok(false);
        }
        let step = if self.devices[d].session.is_none() {
            self.auth.replica.disconnected(&self.devices[d].key);
            let dev = &mut self.devices[d];
            let mut s = Session::new(dev.creds.clone(), dev.rounds);
            let step = s.round(&dev.ent);
            dev.session = Some(s);
            step
        } else if let Some(req) = self.devices[d].pending.take() {
            if lossy && self.rng.chance(4) {
                self.log(format!("d{d}: request lost"));
                self.disconnect(d);
                return Ok(true);
            }
            let handled = self.auth.handle(self.devices[d].key, req);
            if handled.drop_peer {
                return Err(format!(
                    "d{d}: the authority dropped an honest device: {:?}",
                    handled.response
                ));
            }
            if lossy && self.rng.chance(4) {
                self.log(format!("d{d}: answer lost"));
                self.disconnect(d);
                return Ok(true);
            }
            let answer = match handled.response {
                Response::Error { code, message } => Err((code, message)),
                r => Ok(r),
            };
            let dev = &mut self.devices[d];
            let s = dev
                .session
                .as_mut()
                .expect("a pending request has a session");
            s.answer(&dev.ent, answer)
        } else {
            let dev = &mut self.devices[d];
            let s = dev.session.as_mut().expect("checked");
            s.round(&dev.ent)
        };
        match step {
            Ok(Step::Send(r)) => {
                self.devices[d].pending = Some(r);
                Ok(true)
            }
            Ok(Step::RoundDone) => Ok(false),
            Err(e) => {
                self.log(format!("d{d}: session ended: {e}"));
                self.disconnect(d);
                Ok(true)
            }
        }
    }

    fn restart_device(&mut self, d: usize) {
        self.disconnect(d);
        let dev = &mut self.devices[d];
        // Drop the role and its store (no two databases over one memory), then reopen them
        // from what was committed.
        let image = dev.mem.durable_image();
        let old = std::mem::replace(&mut dev.ent, blank_enterprise(&self.clock));
        drop(old);
        dev.mem.power_loss(image);
        dev.ent = open_enterprise(&dev.mem, &self.clock);
    }

    fn restart_authority(&mut self) {
        for d in 0..self.devices.len() {
            self.disconnect(d);
        }
        let placeholder = open_authority(&Memory::default(), &self.clock);
        let image = self.auth_mem.durable_image();
        drop(std::mem::replace(&mut self.auth, placeholder));
        self.auth_mem.power_loss(image);
        self.auth = open_authority(&self.auth_mem, &self.clock);
    }

    fn next_value(&mut self, d: usize) -> String {
        self.model.counter += 1;
        format!("d{d}-{}", self.model.counter)
    }

    /// One piece of local work on device `d`.
    fn local_step(&mut self, d: usize) {
        let ent = self.devices[d].ent.clone();
        match self.rng.below(4) {
            0 => {
                let shared = self.rng.chance(50);
                let mut form = seed_form();
                form.contract_no = self.next_value(d);
                form.contract.contract_no = form.contract_no.clone();
                if let Ok(v) = ent.applications.create(&form) {
                    self.model.apps.insert(v.id, (d, shared, false));
                    self.log(format!("d{d}: created {} shared={shared}", v.id));
                }
            }
            1 | 2 => {
                // An edit: on a shared draft any device holds, or its own unsealed one.
                let candidates: Vec<DocId> = self
                    .model
                    .apps
                    .iter()
                    .filter(|(_, (c, shared, sealed))| !sealed && (*shared || *c == d))
                    .map(|(id, _)| *id)
                    .collect();
                if candidates.is_empty() {
                    return;
                }
                let id = candidates[self.rng.below(candidates.len())];
                // Only a draft this device holds (another's may not have synced here yet).
                if !ent
                    .applications
                    .get(id)
                    .is_ok_and(|v| v.status == ApplicationStatus::Draft)
                {
                    return;
                }
                let field = FIELDS[d % FIELDS.len()];
                let value = self.next_value(d);
                let patch = serde_json::json!({ field: value });
                if ent.applications.patch(id, &patch).is_ok() {
                    self.log(format!("d{d}: {id}.{field} = {value}"));
                    self.model.edits.insert((id, field), value);
                }
            }
            _ => {
                // Seal and report one of its own, never-shared drafts.
                let candidates: Vec<DocId> = self
                    .model
                    .apps
                    .iter()
                    .filter(|(_, (c, shared, sealed))| *c == d && !shared && !sealed)
                    .map(|(id, _)| *id)
                    .collect();
                if candidates.is_empty() {
                    return;
                }
                let id = candidates[self.rng.below(candidates.len())];
                if ent
                    .applications
                    .get(id)
                    .is_ok_and(|v| v.attachments.is_empty())
                    && ent
                        .attachments
                        .add(id, "合同.pdf", "application/pdf", id.to_string().as_bytes())
                        .is_err()
                {
                    return;
                }
                let Ok(sealed) = ent.sealing.seal(id) else {
                    return; // no certificate yet: sealing waits for one
                };
                self.model.apps.get_mut(&id).expect("known").2 = true;
                self.log(format!("d{d}: sealed {id} rev {}", sealed.revision));
                if ent.sealing.report(id).is_ok() {
                    self.model.reported.insert(id, sealed.revision);
                    self.log(format!("d{d}: reported {id}"));
                }
            }
        }
    }

    /// Runs a lossy, partitioned, restarting schedule.
    fn run_schedule(&mut self) -> Result<(), String> {
        let n = self.devices.len();
        for _ in 0..STEPS {
            self.clock.advance(self.rng.below(5_000) as i64);
            let d = self.rng.below(n);
            match self.rng.below(100) {
                0..30 => self.local_step(d),
                30..88 => {
                    self.net_step(d, true)?;
                }
                88..94 => {
                    let linked = !self.devices[d].linked;
                    if !linked {
                        self.disconnect(d);
                    }
                    self.devices[d].linked = linked;
                    self.log(format!("d{d}: linked={linked}"));
                }
                94..98 => {
                    self.log(format!("d{d}: restart"));
                    self.restart_device(d);
                }
                _ => {
                    self.log("authority: restart".into());
                    self.restart_authority();
                }
            }
        }
        Ok(())
    }

    /// Heals the network and runs every device's rounds until nothing changes.
    fn quiesce(&mut self) -> Result<(), String> {
        for d in &mut self.devices {
            d.linked = true;
        }
        let mut last = String::new();
        for _ in 0..40 {
            for d in 0..self.devices.len() {
                // One whole round per device (a session first if needed).
                let mut guard = 0;
                while self.net_step(d, false)? {
                    guard += 1;
                    if guard > 10_000 {
                        return Err(format!("d{d}: a round that never ends"));
                    }
                }
            }
            let now = self.fingerprint()?;
            if now == last {
                return Ok(());
            }
            last = now;
        }
        Err("the network did not become quiet".into())
    }

    /// Every document's heads on every node, the outboxes and the statuses.
    fn fingerprint(&self) -> Result<String, String> {
        let mut out = String::new();
        for (i, d) in self.devices.iter().enumerate() {
            let docs = d
                .ent
                .replica
                .changed_docs(&Link::Home, 0, usize::MAX)
                .map_err(|e| e.to_string())?
                .docs;
            for (_, id) in docs {
                let h = d.ent.replica.heads(id).map_err(|e| e.to_string())?;
                let a = self.auth.replica.heads(id).map_err(|e| e.to_string())?;
                out.push_str(&format!("{i}:{id}:{h:?}:{a:?};"));
            }
            let outbox = d.ent.sealing.outbox().map_err(|e| e.to_string())?.len();
            out.push_str(&format!("outbox{i}={outbox};"));
        }
        Ok(out)
    }

    fn check(&self) -> Result<(), String> {
        // Identical documents on every device and at the authority.
        let mut sets = Vec::new();
        for (i, d) in self.devices.iter().enumerate() {
            let docs = d
                .ent
                .replica
                .changed_docs(&Link::Home, 0, usize::MAX)
                .map_err(|e| e.to_string())?
                .docs;
            let ids: BTreeSet<DocId> = docs.into_iter().map(|(_, id)| id).collect();
            for id in &ids {
                let mine = d.ent.replica.heads(*id).map_err(|e| e.to_string())?;
                let office = self.auth.replica.heads(*id).map_err(|e| e.to_string())?;
                if mine != office {
                    return Err(format!("d{i}: {id} differs from the authority's copy"));
                }
            }
            sets.push(ids);
        }
        if sets.windows(2).any(|w| w[0] != w[1]) {
            return Err("the devices hold different documents".into());
        }
        // No acknowledged edit lost.
        for ((id, field), value) in &self.model.edits {
            for (i, d) in self.devices.iter().enumerate() {
                let v = d
                    .ent
                    .applications
                    .get(*id)
                    .map_err(|e| format!("d{i}: {id}: {e}"))?;
                let form = serde_json::to_value(&v.form).expect("form serialises");
                if form[*field] != serde_json::Value::String(value.clone()) {
                    return Err(format!(
                        "d{i}: {id}.{field} is {}, the acknowledged edit was {value}",
                        form[*field]
                    ));
                }
            }
        }
        // Each reported submission received exactly once, and statuses agree.
        let received = self
            .auth
            .ingest
            .submission_count()
            .map_err(|e| e.to_string())?;
        if received != self.model.reported.len() as u64 {
            return Err(format!(
                "{received} submissions received, {} reported",
                self.model.reported.len()
            ));
        }
        for (id, rev) in &self.model.reported {
            let case = self
                .auth
                .review
                .case_status(*id)
                .map_err(|e| e.to_string())?;
            if case != Some((ApplicationStatus::PendingInitial, *rev)) {
                return Err(format!("{id}: case at the authority is {case:?}"));
            }
            for (i, d) in self.devices.iter().enumerate() {
                let v = d
                    .ent
                    .applications
                    .get(*id)
                    .map_err(|e| format!("d{i}: {id}: {e}"))?;
                if v.status != ApplicationStatus::PendingInitial {
                    return Err(format!("d{i}: {id} is {:?}, not 待初审", v.status));
                }
            }
        }
        for (i, d) in self.devices.iter().enumerate() {
            if !d
                .ent
                .sealing
                .outbox()
                .map_err(|e| e.to_string())?
                .is_empty()
            {
                return Err(format!("d{i}: the outbox did not drain"));
            }
        }
        Ok(())
    }
}

/// Runs schedule `seed`; the error names the seed, the failure and the last steps.
fn schedule(seed: u64) -> Result<(), String> {
    let mut w = World::new(seed, 2 + (seed % 2) as usize);
    let result = w
        .run_schedule()
        .and_then(|()| w.quiesce())
        .and_then(|()| w.check());
    crate::random::seed_this_thread(None);
    result.map_err(|e| {
        let tail: Vec<&String> = w.trace.iter().rev().take(25).collect();
        format!(
            "seed {seed}: {e}\nlast steps, newest first:\n  {}",
            tail.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    })
}

/// How many schedules to run (`EXLIC_SIM_SCHEDULES`, default 2,000).
fn schedules() -> u64 {
    std::env::var("EXLIC_SIM_SCHEDULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

#[test]
fn simulation_of_lossy_partitioned_restarting_networks_keeps_every_invariant() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let n = schedules();
    // Both cores: even seeds on one thread, odd on the other.
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2u64)
            .map(|lane| {
                s.spawn(move || {
                    (0..n)
                        .filter(|seed| seed % 2 == lane)
                        .filter_map(|seed| schedule(seed).err())
                        .take(1)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("lane"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_device_seals_three_times_its_block_across_syncs_without_a_pause() {
    let mut w = World::with_blocks(1, 1, 4);
    w.quiesce().unwrap();
    let ent = w.devices[0].ent.clone();
    let mut numbers = BTreeSet::new();
    for i in 0..12 {
        let mut form = seed_form();
        form.contract_no = format!("HT{i}");
        form.contract.contract_no = form.contract_no.clone();
        let v = ent.applications.create(&form).unwrap();
        ent.attachments
            .add(
                v.id,
                "合同.pdf",
                "application/pdf",
                format!("{i}").as_bytes(),
            )
            .unwrap();
        let sealed = ent
            .sealing
            .seal(v.id)
            .unwrap_or_else(|e| panic!("seal {i}: {e:?}"));
        numbers.insert(sealed.application_no);
        ent.sealing.report(v.id).unwrap();
        w.quiesce().unwrap();
    }
    assert_eq!(numbers.len(), 12, "{numbers:?}");
    // Every number is this office's (AA: registry digits 90) for the year of the clock.
    assert!(numbers.iter().all(|n| n.starts_with("2490")), "{numbers:?}");
    assert!(ent.numbers.left().unwrap() >= 2);
    let received = w.auth.ingest.submission_count().unwrap();
    assert_eq!(received, 12);
}

#[test]
fn simulation_replays_one_seed() {
    let seed = std::env::var("EXLIC_SIM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    // The same seed gives the same steps and the same outcome.
    let run = |seed| {
        let mut w = World::new(seed, 2);
        let r = w.run_schedule().and_then(|()| w.quiesce());
        crate::random::seed_this_thread(None);
        (r, w.trace.clone(), w.fingerprint().unwrap_or_default())
    };
    let (a, b) = (run(seed), run(seed));
    assert_eq!(a.1, b.1, "the steps differ between two runs of seed {seed}");
    assert_eq!(
        a.2, b.2,
        "the outcome differs between two runs of seed {seed}"
    );
    schedule(seed).unwrap();
}

#[test]
fn a_device_moving_between_two_copies_of_its_office_misses_nothing_either_way() {
    // Two replicas of one office, as `init authority --replica-of` makes them: the same
    // office, each numbering the enterprises' feed itself from the copy on.
    let mut w = World::with_blocks(3, 1, 10);
    w.quiesce().unwrap();
    let ent = w.devices[0].ent.clone();
    let reported = {
        let v = ent.applications.create(&seed_form()).unwrap();
        ent.attachments
            .add(v.id, "合同.pdf", "application/pdf", b"contract")
            .unwrap();
        ent.sealing.seal(v.id).unwrap();
        ent.sealing.report(v.id).unwrap();
        v.id
    };
    w.quiesce().unwrap();
    assert_eq!(
        ent.applications.get(reported).unwrap().status,
        ApplicationStatus::PendingInitial
    );
    let b_mem = Memory::default();
    b_mem.power_loss(w.auth_mem.durable_image());
    let b = open_authority(&b_mem, &w.clock);
    {
        let wb = b.store().write().unwrap();
        crate::store::feed::new_epoch(&wb).unwrap();
        wb.commit().unwrap();
    }
    // With the first replica: a new draft and edits, which move its feed well ahead.
    let draft = ent.applications.create(&seed_form()).unwrap().id;
    for i in 0..5 {
        let patch = serde_json::json!({ "remarks": format!("edit {i}") });
        ent.applications.patch(draft, &patch).unwrap();
        w.quiesce().unwrap();
    }
    assert_eq!(
        w.auth.replica.heads(draft).unwrap(),
        ent.replica.heads(draft).unwrap()
    );
    // On the second, an officer decides 初审 (one change of its feed, behind the first's).
    b.review
        .decide(
            reported,
            crate::domain::review::Stage::Initial,
            true,
            "",
            "经办人",
        )
        .unwrap();
    // A position read in the first replica's feed means nothing in the second's: asked
    // with it, the second answers from the start of its own, the decision included.
    let feed_a = crate::store::feed::epoch(&w.auth.store().read().unwrap()).unwrap();
    let feed_b = crate::store::feed::epoch(&b.store().read().unwrap()).unwrap();
    assert_ne!(feed_a, feed_b);
    let asked = Request::Sync {
        feed: feed_a,
        cursor: u64::MAX / 2,
        docs: Vec::new(),
    };
    b.replica.disconnected(&w.devices[0].key);
    let Response::Sync { feed, docs, .. } = b.handle(w.devices[0].key, asked).response else {
        panic!("no sync answer")
    };
    assert_eq!(feed, feed_b);
    let case = crate::store::case_doc::case_id(reported);
    assert!(docs.iter().any(|(d, _)| *d == case), "{docs:?}");
    b.replica.disconnected(&w.devices[0].key);
    // The device moves to the second replica: it hands over the draft that one never saw,
    // and it takes the decision it made.
    w.disconnect(0);
    let a = std::mem::replace(&mut w.auth, b);
    w.quiesce().unwrap();
    assert_eq!(
        w.auth.replica.heads(draft).unwrap(),
        ent.replica.heads(draft).unwrap(),
        "the second replica holds the draft"
    );
    assert_eq!(
        ent.applications.get(reported).unwrap().status,
        ApplicationStatus::PendingSecond,
        "the device sees the decision made on the second replica"
    );
    // Back on the first, what the device met there before still counts: nothing lost.
    w.disconnect(0);
    let b = std::mem::replace(&mut w.auth, a);
    w.quiesce().unwrap();
    assert_eq!(
        ent.applications.get(reported).unwrap().status,
        ApplicationStatus::PendingSecond
    );
    drop(b);
}
