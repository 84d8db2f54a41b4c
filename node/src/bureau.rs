//! The supervising bureau (许可证局): it follows each office's transparency log read-only
//! over sync, keeps a copy of every log, and **witnesses** them — it co-signs an office's
//! checkpoint only when its own copy, extended by the entries the office sent, has that
//! checkpoint's root, which also proves the new tree extends the last one it co-signed (a
//! consistency check by replay). Monitors raise alarms for a forked log or a false
//! checkpoint (the office is then halted: no more reads or co-signatures until an
//! administrator looks), a licence number seen twice, and an entry or licence that does
//! not verify under the office's key chain. It keeps a national view: every licence number,
//! licences per office and day.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use exlic_client::certificate::Trust;
use exlic_client::licence::Licence;
use exlic_client::protocol::{Request, Response};
use exlic_client::translog::{self, Entry, EntryKind};

use crate::accounts::Accounts;
use crate::clock::{Clock, china_date};
use crate::store::bureau::{self as rows, Alarm, OfficeRow};
use crate::store::{Store, StoreError, WriteBatch, meta_get, meta_put, tlog};
use crate::upstream::{Answer, ClientRole, Credentials, SessionError, Step};

const META_SEED: &str = "bureau_seed";
const META_NAME: &str = "bureau_name";

/// Why a bureau action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BureauError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Input that cannot be used, naming its field.
    #[error("{field}: {message}")]
    BadInput {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Not initialised.
    #[error("bureau node is not initialised: {0}")]
    NotInitialised(&'static str),
}

crate::store::errors_via_store!(
    BureauError,
    redb::TableError,
    redb::StorageError,
    redb::TransactionError,
    redb::CommitError
);

fn bad(field: &str, message: impl Into<String>) -> BureauError {
    BureauError::BadInput {
        field: field.into(),
        message: message.into(),
    }
}

/// Most licences one search answers.
pub const SEARCH_LIMIT: usize = 200;

/// What the national view searches for (empty: not given).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Search {
    /// 许可证号, exactly.
    pub licence_no: String,
    /// The start of the exporter's 统一社会信用代码.
    pub enterprise: String,
    /// The start of the 商品编码.
    pub commodity: String,
}

/// A licence found by a search: where it is logged and what it says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LicenceHit {
    /// The office's number at the bureau.
    pub office: u32,
    /// The office's agency code.
    pub agency: String,
    /// Its entry in the office's log.
    pub index: u64,
    /// The licence.
    #[serde(flatten)]
    pub row: rows::LicenceRow,
}

/// Stores a new bureau's key and name (kept if already initialised).
pub fn initialise(store: &Store, name: &str) -> Result<[u8; 32], BureauError> {
    if name.is_empty() || !signed_note::is_key_name_valid(&translog::witness_name(name)) {
        return Err(bad("name", "non-empty, without spaces or '+'"));
    }
    let w = store.write()?;
    let seed = match meta_get(&w, META_SEED)?.and_then(|v| <[u8; 32]>::try_from(v).ok()) {
        Some(s) => s,
        None => {
            let s = crate::random::bytes::<32>();
            meta_put(&w, META_SEED, &s)?;
            meta_put(&w, META_NAME, name.as_bytes())?;
            s
        }
    };
    w.commit()?;
    Ok(SigningKey::from_bytes(&seed).verifying_key().to_bytes())
}

/// What the bureau did with one page of an office's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOutcome {
    /// Entries kept; more to read.
    More {
        /// Where to read next.
        from: u64,
    },
    /// Caught up and the checkpoint checked: send this co-signed note back.
    Cosign(Vec<u8>),
    /// Caught up; nothing new to co-sign.
    Done,
    /// A monitor halted the office (see the alarms).
    Halted,
}

/// The bureau role over one store.
pub struct Bureau {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    key: SigningKey,
    name: String,
    /// Supervisors' accounts (one role: `supervisor`), sign-in, the audit trail.
    pub staff: Accounts,
}

impl std::fmt::Debug for Bureau {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bureau").field("name", &self.name).finish()
    }
}

impl Bureau {
    /// Opens an initialised bureau store.
    pub fn open(store: Arc<Store>, clock: Arc<dyn Clock>) -> Result<Self, BureauError> {
        let txn = store.read()?;
        let seed = meta_get(&txn, META_SEED)?
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or(BureauError::NotInitialised("no key"))?;
        let name = meta_get(&txn, META_NAME)?
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or(BureauError::NotInitialised("no name"))?;
        drop(txn);
        Ok(Self {
            staff: Accounts::new(store.clone(), clock.clone()),
            store,
            clock,
            key: SigningKey::from_bytes(&seed),
            name,
        })
    }

    /// Now, by the bureau's clock, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its public key (its libp2p peer and its co-signing key).
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Starts following an office: its agency code, name, identity key (hex) and libp2p
    /// addresses. Returns its number.
    pub fn add_office(
        &self,
        agency: &str,
        name: &str,
        root_key: &str,
        addrs: &[String],
    ) -> Result<u32, BureauError> {
        let agency = agency.trim();
        if agency.is_empty()
            || agency.len() > 8
            || !agency.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(bad("agency", "1–8 letters or digits"));
        }
        let mut k = [0u8; 32];
        if hex::decode_to_slice(root_key.trim(), &mut k).is_err()
            || ed25519_dalek::VerifyingKey::from_bytes(&k).is_err()
        {
            return Err(bad(
                "root_key",
                "64 hex characters of an Ed25519 public key",
            ));
        }
        if addrs.is_empty() {
            return Err(bad("addr", "at least one libp2p address of the office"));
        }
        let w = self.store.write()?;
        if rows::offices(&w)?
            .iter()
            .any(|(_, o)| o.root_key == root_key.trim())
        {
            return Err(bad("root_key", "this office is already followed"));
        }
        let id = rows::next_office_id(&w)?;
        rows::put_office(
            &w,
            id,
            &OfficeRow {
                agency: agency.to_owned(),
                name: name.trim().to_owned(),
                root_key: root_key.trim().to_owned(),
                addrs: addrs.to_vec(),
                key_records: Vec::new(),
                cosigned: 0,
                cosigned_note: String::new(),
                last_read_ms: 0,
                halted: String::new(),
            },
        )?;
        w.commit()?;
        Ok(id)
    }

    /// Every office followed, by number, with how many entries of its log are held.
    pub fn offices(&self) -> Result<Vec<(u32, OfficeRow, u64)>, BureauError> {
        let txn = self.store.read()?;
        let mut out = Vec::new();
        for (id, row) in rows::offices(&txn)? {
            let size = tlog::size(&txn, id)?;
            out.push((id, row, size));
        }
        Ok(out)
    }

    /// Every alarm, newest first.
    pub fn alarms(&self) -> Result<Vec<Alarm>, BureauError> {
        Ok(rows::alarms(&self.store.read()?)?)
    }

    /// Where licence `no` is logged: (office number, entry index) for each office.
    pub fn find_licence(&self, no: &str) -> Result<Vec<(u32, u64)>, BureauError> {
        Ok(rows::licence(&self.store.read()?, no.trim())?)
    }

    /// The national view's search: licences by number (exact), else by the start of the
    /// exporter's USCC, else by the start of the commodity code — the other given filter
    /// narrowing the result —, up to [`SEARCH_LIMIT`]; with whether more match. Nothing
    /// given is a [`BureauError::BadInput`] naming `licence_no`.
    pub fn search(&self, q: &Search) -> Result<(Vec<LicenceHit>, bool), BureauError> {
        let (no, ent, com) = (q.licence_no.trim(), q.enterprise.trim(), q.commodity.trim());
        if no.is_empty() && ent.is_empty() && com.is_empty() {
            return Err(bad(
                "licence_no",
                "give a licence number, the start of an enterprise's USCC or of a commodity code",
            ));
        }
        for (field, v, max) in [
            ("licence_no", no, 20),
            ("enterprise", ent, 18),
            ("commodity", com, 10),
        ] {
            if v.len() > max || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(bad(field, format!("at most {max} letters and digits")));
            }
        }
        let txn = self.store.read()?;
        let offices: std::collections::HashMap<u32, String> = rows::offices(&txn)?
            .into_iter()
            .map(|(id, o)| (id, o.agency))
            .collect();
        let keep = |r: &rows::LicenceRow| {
            r.enterprise_uscc.starts_with(ent) && r.commodity_code.starts_with(com)
        };
        let (found, more) = if !no.is_empty() {
            let mut out = Vec::new();
            for (office, index) in rows::licence(&txn, &no.to_uppercase())? {
                if let Some(r) = rows::licence_row(&txn, office, index)? {
                    out.push((office, index, r));
                }
            }
            (out, false)
        } else if !ent.is_empty() {
            rows::search(
                &txn,
                rows::SearchBy::Enterprise,
                &ent.to_uppercase(),
                SEARCH_LIMIT,
            )?
        } else {
            rows::search(&txn, rows::SearchBy::Commodity, com, SEARCH_LIMIT)?
        };
        let hits = found
            .into_iter()
            .filter(|(_, _, r)| keep(r))
            .map(|(office, index, row)| LicenceHit {
                agency: offices.get(&office).cloned().unwrap_or_default(),
                office,
                index,
                row,
            })
            .collect();
        Ok((hits, more))
    }

    /// Licences issued per (day YYYYMMDD, office), from day `from` on.
    pub fn daily(&self, from: u32) -> Result<Vec<rows::DayCount>, BureauError> {
        Ok(rows::daily(&self.store.read()?, from)?)
    }

    /// How many entries of office `id`'s log the bureau holds (where to read next).
    pub fn held(&self, id: u32) -> Result<u64, BureauError> {
        Ok(tlog::size(&self.store.read()?, id)?)
    }

    /// Whether office `id` is halted by a monitor.
    pub fn halted(&self, id: u32) -> Result<bool, BureauError> {
        Ok(rows::office(&self.store.read()?, id)?.is_none_or(|o| !o.halted.is_empty()))
    }

    /// Applies one page of office `id`'s log, read from `from`: keeps the entries (one
    /// transaction), runs the monitors over them, and once caught up checks the checkpoint
    /// against its own copy and co-signs it.
    pub fn apply_page(
        &self,
        id: u32,
        from: u64,
        entries: &[Vec<u8>],
        checkpoint: &[u8],
        keys: &[Vec<u8>],
        more: bool,
    ) -> Result<PageOutcome, BureauError> {
        let now = self.clock.now_ms();
        let w = self.store.write()?;
        let Some(mut office) = rows::office(&w, id)? else {
            return Err(bad("office", format!("no office {id}")));
        };
        if !office.halted.is_empty() {
            return Ok(PageOutcome::Halted);
        }
        let mut root = [0u8; 32];
        hex::decode_to_slice(&office.root_key, &mut root)
            .map_err(|_| StoreError::Record("bureau_offices"))?;
        let mut trust = Trust::new(root);
        trust.follow(keys);
        office.key_records = keys.iter().map(hex::encode).collect();
        office.last_read_ms = now;
        let held = tlog::size(&w, id)?;
        if from != held {
            return Err(bad(
                "from",
                format!("page from {from}, but {held} are held"),
            ));
        }
        for (i, raw) in entries.iter().enumerate() {
            let index = held + i as u64;
            let entry = match Entry::decode(raw) {
                Ok(e) => e,
                Err(e) => {
                    return self.halt(
                        w,
                        id,
                        office,
                        now,
                        "bad_entry",
                        &format!("@index={index};reason={e}"),
                    );
                }
            };
            let subject = match entry.kind {
                EntryKind::Licence | EntryKind::Standing => {
                    self.monitor_licence(&w, id, &trust, index, &entry, now)?
                }
                EntryKind::Certificate => exlic_client::signed::peek(&entry.object)
                    .ok()
                    .and_then(|p| exlic_client::certificate::DeviceCertificate::decode(p).ok())
                    .map(|c| c.serial.to_string())
                    .unwrap_or_default(),
                EntryKind::Revocation => translog::Revocation::decode(&entry.object)
                    .map(|r| r.serial.to_string())
                    .unwrap_or_default(),
            };
            tlog::append(&w, id, &entry, &subject)?;
        }
        let held = tlog::size(&w, id)?;
        let outcome = if more || checkpoint.is_empty() {
            rows::put_office(&w, id, &office)?;
            w.commit()?;
            return Ok(if more {
                PageOutcome::More { from: held }
            } else {
                PageOutcome::Done
            });
        } else {
            let origin = translog::origin(&office.agency);
            let cp = match translog::open_checkpoint(checkpoint, &origin, &trust, None) {
                Ok(cp) => cp,
                Err(e) => {
                    return self.halt(
                        w,
                        id,
                        office,
                        now,
                        "bad_checkpoint",
                        &format!("@reason={e}"),
                    );
                }
            };
            if cp.head.size < office.cosigned {
                let detail = format!("@size={};cosigned={}", cp.head.size, office.cosigned);
                return self.halt(w, id, office, now, "fork", &detail);
            }
            if cp.head.size > held {
                return self.halt(
                    w,
                    id,
                    office,
                    now,
                    "bad_checkpoint",
                    &format!("@size={};held={held}", cp.head.size),
                );
            }
            let ours = tlog::head(&w, id, cp.head.size)?;
            if ours != cp.head {
                return self.halt(
                    w,
                    id,
                    office,
                    now,
                    "fork",
                    &format!(
                        "@size={};root={};ours={}",
                        cp.head.size,
                        hex::encode(cp.head.hash),
                        hex::encode(ours.hash)
                    ),
                );
            }
            if cp.head.size == office.cosigned {
                PageOutcome::Done
            } else {
                let note =
                    translog::cosign(checkpoint, &translog::witness_name(&self.name), &self.key)
                        .map_err(|e| bad("checkpoint", e.to_string()))?;
                tlog::put_checkpoint(&w, id, cp.head.size, &note)?;
                office.cosigned = cp.head.size;
                office.cosigned_note = String::from_utf8_lossy(&note).into_owned();
                PageOutcome::Cosign(note)
            }
        };
        rows::put_office(&w, id, &office)?;
        w.commit()?;
        Ok(outcome)
    }

    /// The monitors of a licence or standing entry: the object verifies under the office's
    /// chain, and a licence number is seen once nationally. Returns the licence number.
    #[allow(clippy::too_many_arguments)]
    fn monitor_licence(
        &self,
        w: &WriteBatch<'_>,
        id: u32,
        trust: &Trust,
        index: u64,
        entry: &Entry,
        now: i64,
    ) -> Result<String, BureauError> {
        if entry.kind == EntryKind::Standing {
            let st = match exlic_client::standing::Standing::verify_trusted(&entry.object, trust) {
                Ok(st) => st,
                Err(e) => {
                    rows::raise(
                        w,
                        now,
                        id,
                        "bad_standing",
                        &format!("@index={index};reason={e}"),
                    )?;
                    return Ok(String::new());
                }
            };
            // A standing changes only for a licence the office issued, and an issued
            // licence is logged first: a standing for a number this office never logged
            // (used up at customs, deleted, written off) is a licence outside its log.
            if !rows::licence(w, &st.licence_no)?
                .iter()
                .any(|(office, _)| *office == id)
            {
                rows::raise(
                    w,
                    now,
                    id,
                    "licence_not_logged",
                    &format!(
                        "@licence_no={};index={index};state={}",
                        st.licence_no,
                        st.state.code()
                    ),
                )?;
            }
            return Ok(st.licence_no);
        }
        let l = match Licence::verify(&entry.object, trust) {
            Ok(l) => l,
            Err(e) => {
                rows::raise(
                    w,
                    now,
                    id,
                    "bad_licence",
                    &format!("@index={index};reason={e}"),
                )?;
                return Ok(String::new());
            }
        };
        let seen = rows::add_licence(w, &l.licence_no, id, index)?;
        rows::put_licence_row(
            w,
            id,
            index,
            &rows::LicenceRow {
                licence_no: l.licence_no.clone(),
                enterprise_uscc: l.exporter[2].clone(),
                enterprise_name: l.exporter[0].clone(),
                commodity_code: l.commodity[0].clone(),
                commodity_name: l.commodity[1].clone(),
                issued_at_ms: l.issued_at_ms,
            },
        )?;
        if let Some((other, at)) = seen.first() {
            let other_agency = rows::office(w, *other)?
                .map(|o| o.agency)
                .unwrap_or_default();
            rows::raise(
                w,
                now,
                id,
                "duplicate_licence_no",
                &format!(
                    "@licence_no={};index={index};other_agency={other_agency};other_index={at}",
                    l.licence_no
                ),
            )?;
        }
        let day = china_date(l.issued_at_ms)
            .strftime("%Y%m%d")
            .to_string()
            .parse::<u32>()
            .unwrap_or(0);
        rows::count_day(w, day, id)?;
        Ok(l.licence_no)
    }

    /// Halts office `id` with an alarm: nothing of the page is kept but the alarm.
    fn halt(
        &self,
        w: WriteBatch<'_>,
        id: u32,
        mut office: OfficeRow,
        now: i64,
        kind: &str,
        detail: &str,
    ) -> Result<PageOutcome, BureauError> {
        drop(w); // the page's entries are not kept
        let w = self.store.write()?;
        rows::raise(&w, now, id, kind, detail)?;
        office.halted = format!("{kind}: {detail}");
        rows::put_office(&w, id, &office)?;
        w.commit()?;
        tracing::error!(office = id, kind, detail, "bureau monitor raised an alarm");
        Ok(PageOutcome::Halted)
    }
}

/// The bureau's link to one office, for the network driver: one per office.
#[derive(Debug, Clone)]
pub struct OfficeLink {
    /// The bureau.
    pub bureau: Arc<Bureau>,
    /// The office's number.
    pub office: u32,
}

/// Where a link's session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Read,
    Cosign,
}

/// One link's session: read the log page by page, then send the co-signature.
#[derive(Debug)]
pub struct LinkSession {
    phase: Phase,
    from: u64,
    rounds: u64,
}

impl From<BureauError> for SessionError {
    fn from(e: BureauError) -> Self {
        SessionError::Local(e.to_string())
    }
}

impl ClientRole for OfficeLink {
    type Session = LinkSession;

    fn device_seed(&self) -> [u8; 32] {
        self.bureau.key.to_bytes()
    }

    fn store(&self) -> &Arc<Store> {
        &self.bureau.store
    }

    fn now_ms(&self) -> i64 {
        self.bureau.clock.now_ms()
    }

    fn open(&self, _creds: Credentials, rounds: u64) -> LinkSession {
        LinkSession {
            phase: Phase::Read,
            from: 0,
            rounds,
        }
    }

    fn round(&self, s: &mut LinkSession) -> Result<Step, SessionError> {
        if self.bureau.halted(self.office)? {
            s.rounds += 1;
            return Ok(Step::RoundDone);
        }
        s.phase = Phase::Read;
        s.from = self.bureau.held(self.office)?;
        Ok(Step::Send(Request::LogPage { from: s.from }))
    }

    fn answer(&self, s: &mut LinkSession, answer: Answer) -> Result<Step, SessionError> {
        let r = answer.map_err(|(c, m)| SessionError::Refused(c, m))?;
        match (s.phase, r) {
            (
                Phase::Read,
                Response::LogPage {
                    entries,
                    checkpoint,
                    keys,
                    more,
                },
            ) => match self.bureau.apply_page(
                self.office,
                s.from,
                &entries,
                &checkpoint,
                &keys,
                more,
            )? {
                PageOutcome::More { from } => {
                    s.from = from;
                    Ok(Step::Send(Request::LogPage { from }))
                }
                PageOutcome::Cosign(note) => {
                    s.phase = Phase::Cosign;
                    Ok(Step::Send(Request::Cosigned { checkpoint: note }))
                }
                PageOutcome::Done | PageOutcome::Halted => {
                    s.rounds += 1;
                    Ok(Step::RoundDone)
                }
            },
            (Phase::Cosign, Response::CosignKept) => {
                s.rounds += 1;
                Ok(Step::RoundDone)
            }
            _ => Err(SessionError::Unexpected),
        }
    }

    fn enrolled(_s: &LinkSession) -> bool {
        true
    }

    fn rounds(s: &LinkSession) -> u64 {
        s.rounds
    }
}

#[cfg(test)]
mod tests {
    //! The bureau's monitors over pages an office sends, built here with real signatures
    //! and a real log in a second store: catch-up, a fork, a false checkpoint, a licence
    //! number seen twice.

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::tlog::OWN;

    const NOW: i64 = 1_767_000_000_000;

    /// An office's side: its key, its log in a store of its own.
    struct Office {
        key: SigningKey,
        store: Store,
        _dir: tempfile::TempDir,
    }

    impl Office {
        fn new(seed: u8) -> Self {
            let (dir, store) = Store::temp();
            Self {
                key: SigningKey::from_bytes(&[seed; 32]),
                store,
                _dir: dir,
            }
        }

        /// Appends licences numbered `from..to` (`26AA` + serial), signed by the office.
        fn issue(&self, from: u32, to: u32) {
            let w = self.store.write().unwrap();
            for n in from..to {
                let l = Licence {
                    licence_no: format!("26AA{n:06}"),
                    issued_at_ms: NOW,
                    key_id: exlic_client::certificate::key_id(&self.key.verifying_key().to_bytes()),
                    ..exlic_client::sample::licence()
                };
                let file = l.sign(&self.key);
                tlog::append(
                    &w,
                    OWN,
                    &Entry::new(EntryKind::Licence, &file),
                    &l.licence_no,
                )
                .unwrap();
            }
            w.commit().unwrap();
        }

        /// The page the office would send from `from`: entries and a checkpoint of all.
        fn page(&self, from: u64) -> (Vec<Vec<u8>>, Vec<u8>) {
            let txn = self.store.read().unwrap();
            let size = tlog::size(&txn, OWN).unwrap();
            let head = tlog::head(&txn, OWN, size).unwrap();
            let note = translog::sign_checkpoint(&translog::origin("AA"), head, NOW, &self.key);
            (tlog::entries(&txn, OWN, from, 100_000).unwrap(), note)
        }

        fn root(&self) -> String {
            hex::encode(self.key.verifying_key().to_bytes())
        }
    }

    fn bureau() -> (Bureau, tempfile::TempDir) {
        let (dir, store) = Store::temp();
        initialise(&store, "bureau").unwrap();
        let b = Bureau::open(Arc::new(store), Arc::new(ManualClock::at(NOW))).unwrap();
        (b, dir)
    }

    /// Reads office `id` to the end in pages of at most 1,024, as the link does.
    fn follow(b: &Bureau, id: u32, o: &Office) -> PageOutcome {
        loop {
            let from = b.held(id).unwrap();
            let (entries, note) = o.page(from);
            let more = entries.len() > 1024;
            let page: Vec<Vec<u8>> = entries.into_iter().take(1024).collect();
            match b.apply_page(id, from, &page, &note, &[], more).unwrap() {
                PageOutcome::More { from: next } => assert_eq!(next, from + 1024),
                other => return other,
            }
        }
    }

    #[test]
    fn a_bureau_offline_through_a_thousand_issuances_catches_up_once_each_and_cosigns() {
        let (b, _d) = bureau();
        let o = Office::new(1);
        let id = b
            .add_office("AA", "一局", &o.root(), &["/ip4/127.0.0.1/tcp/1".into()])
            .unwrap();
        o.issue(1, 4);
        assert!(matches!(follow(&b, id, &o), PageOutcome::Cosign(_)));
        // Offline while the office issues 1,000 more.
        o.issue(4, 1_004);
        let PageOutcome::Cosign(note) = follow(&b, id, &o) else {
            panic!("no co-signature after catching up");
        };
        assert_eq!(b.held(id).unwrap(), 1_003);
        // Every licence once, none twice: no alarm.
        assert!(b.alarms().unwrap().is_empty(), "{:?}", b.alarms().unwrap());
        for n in [1u32, 500, 1_003] {
            assert_eq!(b.find_licence(&format!("26AA{n:06}")).unwrap().len(), 1);
        }
        // The co-signature verifies with the bureau required.
        let trust = Trust::new(o.key.verifying_key().to_bytes());
        let w = translog::Witness {
            name: translog::witness_name("bureau"),
            key: b.public_key(),
        };
        let cp =
            translog::open_checkpoint(&note, &translog::origin("AA"), &trust, Some(&w)).unwrap();
        assert_eq!(cp.head.size, 1_003);
        // Nothing new: nothing to co-sign again.
        assert_eq!(follow(&b, id, &o), PageOutcome::Done);
        // A page that does not start where the bureau is, is refused and changes nothing.
        let (entries, note) = o.page(0);
        assert!(
            b.apply_page(id, 0, &entries[..1], &note, &[], true)
                .is_err()
        );
        assert_eq!(b.held(id).unwrap(), 1_003);
    }

    #[test]
    fn the_national_view_finds_licences_by_number_enterprise_and_commodity_and_names_a_bad_query() {
        let (b, _d) = bureau();
        let o = Office::new(1);
        let id = b
            .add_office("AA", "一局", &o.root(), &["/ip4/127.0.0.1/tcp/1".into()])
            .unwrap();
        o.issue(1, 4);
        follow(&b, id, &o);
        let uscc = exlic_client::sample::licence().exporter[2].clone();
        let q = |no: &str, ent: &str, com: &str| Search {
            licence_no: no.into(),
            enterprise: ent.into(),
            commodity: com.into(),
        };
        let (hits, more) = b.search(&q("26aa000002", "", "")).unwrap();
        assert_eq!((hits.len(), more), (1, false));
        assert_eq!(hits[0].agency, "AA");
        assert_eq!(hits[0].row.commodity_name, "柠檬酸");
        assert_eq!(b.search(&q("", &uscc[..6], "")).unwrap().0.len(), 3);
        assert_eq!(b.search(&q("", "", "2918")).unwrap().0.len(), 3);
        assert_eq!(b.search(&q("", &uscc, "2918")).unwrap().0.len(), 3);
        // The other filter narrows.
        assert!(b.search(&q("", &uscc, "1001")).unwrap().0.is_empty());
        assert!(b.search(&q("", "", "1001")).unwrap().0.is_empty());
        // Nothing given, or something that is no code, is named.
        for (bad_q, field) in [
            (q("", " ", ""), "licence_no"),
            (q("", "91'--", ""), "enterprise"),
            (q("", "", &"9".repeat(11)), "commodity"),
        ] {
            match b.search(&bad_q) {
                Err(BureauError::BadInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{bad_q:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_office_that_shows_two_histories_is_refused_a_cosignature_and_halted() {
        let (b, _d) = bureau();
        let o = Office::new(1);
        let id = b
            .add_office("AA", "一局", &o.root(), &["/ip4/127.0.0.1/tcp/1".into()])
            .unwrap();
        o.issue(1, 6);
        assert!(matches!(follow(&b, id, &o), PageOutcome::Cosign(_)));
        // The same office key signs a second history of the same first five entries:
        // entry 3 is another licence.
        let fork = Office::new(1);
        fork.issue(1, 3);
        fork.issue(900, 901);
        fork.issue(4, 8);
        let (entries, note) = fork.page(5);
        assert_eq!(
            b.apply_page(id, 5, &entries, &note, &[], false).unwrap(),
            PageOutcome::Halted
        );
        let alarms = b.alarms().unwrap();
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        assert_eq!(alarms[0].kind, "fork");
        assert!(alarms[0].detail.contains(";ours="), "{}", alarms[0].detail);
        // Nothing of the forked page was kept, and the office stays halted.
        assert_eq!(b.held(id).unwrap(), 5);
        assert!(b.halted(id).unwrap());
        let (entries, note) = o.page(5);
        assert_eq!(
            b.apply_page(id, 5, &entries, &note, &[], false).unwrap(),
            PageOutcome::Halted
        );
    }

    #[test]
    fn a_checkpoint_not_signed_by_the_office_or_shrinking_raises_an_alarm() {
        let (b, _d) = bureau();
        let o = Office::new(1);
        let id = b
            .add_office("AA", "一局", &o.root(), &["/ip4/127.0.0.1/tcp/1".into()])
            .unwrap();
        o.issue(1, 3);
        let (entries, _) = o.page(0);
        let txn = o.store.read().unwrap();
        let head = tlog::head(&txn, OWN, 2).unwrap();
        let stranger = SigningKey::from_bytes(&[9; 32]);
        let forged = translog::sign_checkpoint(&translog::origin("AA"), head, NOW, &stranger);
        assert_eq!(
            b.apply_page(id, 0, &entries, &forged, &[], false).unwrap(),
            PageOutcome::Halted
        );
        assert_eq!(b.alarms().unwrap()[0].kind, "bad_checkpoint");
        assert_eq!(b.held(id).unwrap(), 0, "nothing of the page is kept");
    }

    #[test]
    fn a_standing_for_a_licence_the_office_never_logged_raises_an_alarm() {
        let (b, _d) = bureau();
        let o = Office::new(1);
        let id = b
            .add_office("AA", "一局", &o.root(), &["/ip4/127.0.0.1/tcp/1".into()])
            .unwrap();
        o.issue(1, 3);
        // A licence the office signed outside its log is used up at customs: its used-up
        // standing is logged, the licence never was. A standing signed by another key is
        // refused too.
        let standing = |no: &str, key: &SigningKey| {
            exlic_client::standing::Standing {
                licence_no: no.into(),
                state: exlic_client::standing::State::UsedUp,
                since_ms: NOW,
                as_of_ms: NOW,
                authority_key: key.verifying_key().to_bytes(),
            }
            .sign(key)
        };
        let w = o.store.write().unwrap();
        for (no, key) in [
            ("26AA000001", o.key.clone()),
            ("26AA000777", o.key.clone()),
            ("26AA000002", SigningKey::from_bytes(&[9; 32])),
        ] {
            let e = Entry::new(EntryKind::Standing, &standing(no, &key));
            tlog::append(&w, OWN, &e, no).unwrap();
        }
        w.commit().unwrap();
        assert!(matches!(follow(&b, id, &o), PageOutcome::Cosign(_)));
        let kinds: Vec<(String, String)> = b
            .alarms()
            .unwrap()
            .into_iter()
            .map(|a| (a.kind, a.detail))
            .collect();
        // Newest first.
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert_eq!(kinds[1].0, "licence_not_logged", "{kinds:?}");
        assert!(kinds[1].1.contains("26AA000777"), "{kinds:?}");
        assert_eq!(kinds[0].0, "bad_standing");
        // Not a fork: the office is still followed.
        assert!(!b.halted(id).unwrap());
    }

    #[test]
    fn the_same_licence_number_from_two_offices_raises_an_alarm() {
        let (b, _d) = bureau();
        let (o1, o2) = (Office::new(1), Office::new(2));
        let one = b
            .add_office("AA", "一局", &o1.root(), &["/ip4/127.0.0.1/tcp/1".into()])
            .unwrap();
        let two = b
            .add_office("AA", "二局", &o2.root(), &["/ip4/127.0.0.1/tcp/2".into()])
            .unwrap();
        o1.issue(1, 3);
        o2.issue(2, 3);
        follow(&b, one, &o1);
        assert!(b.alarms().unwrap().is_empty(), "{:?}", b.alarms().unwrap());
        assert!(b.alarms().unwrap().is_empty());
        assert!(matches!(follow(&b, two, &o2), PageOutcome::Cosign(_)));
        let alarms = b.alarms().unwrap();
        assert_eq!(alarms.len(), 1);
        assert_eq!(alarms[0].kind, "duplicate_licence_no");
        assert!(alarms[0].detail.contains("26AA000002"));
        // Not a fork: the second office is still followed.
        assert!(!b.halted(two).unwrap());
        // A malformed office key or address is refused, naming the field.
        assert!(matches!(
            b.add_office("AA", "", "zz", &["/ip4/127.0.0.1/tcp/3".into()]),
            Err(BureauError::BadInput { field, .. }) if field == "root_key"
        ));
        assert!(matches!(
            b.add_office("AA", "", &o1.root(), &["/ip4/127.0.0.1/tcp/3".into()]),
            Err(BureauError::BadInput { field, .. }) if field == "root_key"
        ));
    }
}
