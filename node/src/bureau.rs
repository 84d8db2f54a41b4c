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

pub use link::{LinkSession, OfficeLink};

mod link;
#[cfg(test)]
mod tests;
