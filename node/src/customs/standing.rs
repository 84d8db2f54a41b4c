//! What customs knows of each licence's standing and usage: each office's standing feed
//! applied page by page, the standing of a licence as of its office's feed, the usage
//! ledger's report position at each office, and the consistency check of the ledger
//! against the licences.

use super::*;

impl Customs {
    /// Where the next standing feed page of the office of `link` starts.
    pub fn feed_cursor(&self, link: &Link) -> Result<u64, CustomsError> {
        Ok(meta_get(&self.store.read()?, &link.key(META_FEED_CURSOR))?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    /// When the office of `link` last told this node the standing of its licences (the
    /// newest feed page's time), Unix ms; `None` before the first.
    pub fn standing_as_of_at(&self, link: &Link) -> Result<Option<i64>, CustomsError> {
        Ok(meta_get(&self.store.read()?, &link.key(META_FEED_AS_OF))?
            .and_then(|v| v.try_into().ok())
            .map(i64::from_be_bytes))
    }

    /// How old the standing this node holds is: the oldest of its offices' last word
    /// (Unix ms); `None` while any office has said nothing yet.
    pub fn standing_as_of(&self) -> Result<Option<i64>, CustomsError> {
        Ok(self.links()?.standing_as_of())
    }

    /// Every office's link as this node holds it, read at once, home first.
    pub fn links(&self) -> Result<Links, CustomsError> {
        let r = self.store.read()?;
        let mut offices = Vec::with_capacity(self.offices.len());
        for o in &self.offices {
            offices.push(OfficeState {
                agency_code: o.invite.agency_code.clone(),
                authority_key: o.invite.authority_key,
                standing_as_of: meta_get(&r, &o.link.key(META_FEED_AS_OF))?
                    .and_then(|v| v.try_into().ok())
                    .map(i64::from_be_bytes),
                acked: acked(&r, &o.link)?,
                log: super::log_head::log_view_in(&r, &o.link)?,
            });
        }
        Ok(Links {
            ledger: usage::ledger_last(&r)?,
            offices,
        })
    }

    /// How many licences' standing this node holds.
    pub fn standing_count(&self) -> Result<u64, CustomsError> {
        Ok(usage::fed_count(&self.store.read()?)?)
    }

    /// Applies one standing feed page of the office of `link` with its key records, in
    /// one transaction: the records first (a page may be signed by a key this node learns
    /// from them), then every entry. A page that does not verify, does not start where the
    /// last ended, or speaks of another office's licence changes nothing.
    pub fn apply_standing(
        &self,
        link: &Link,
        page: &[u8],
        keys: &[Vec<u8>],
    ) -> Result<u64, CustomsError> {
        let office = self.office(link);
        let mut trust = Trust::new(office.invite.authority_key);
        trust.follow(keys);
        let p = FeedPage::verify_trusted(page, &trust).map_err(|e| {
            bad(
                "page",
                format!("the standing feed page does not verify: {e}"),
            )
        })?;
        // An office speaks only of its own licences: another's standing from it would
        // let one office delete what a second issued, as far as this node is concerned.
        let code = &office.invite.agency_code;
        if let Some(e) = p
            .entries
            .iter()
            .find(|e| !code.is_empty() && e.licence_no.get(2..4) != Some(code.as_str()))
        {
            return Err(bad(
                "page",
                format!(
                    "office {code} spoke of licence {}, not one of its own",
                    e.licence_no
                ),
            ));
        }
        let w = self.store.write()?;
        let cursor = meta_get(&w, &link.key(META_FEED_CURSOR))?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        if p.from != cursor {
            return Err(bad(
                "page",
                format!("the page starts at {}, not at {cursor}", p.from),
            ));
        }
        key_records::extend(&w, link.other(), keys)?;
        for e in &p.entries {
            usage::put_fed(&w, &e.licence_no, e.state, e.since_ms, p.as_of_ms)?;
        }
        meta_put(&w, &link.key(META_FEED_CURSOR), &p.to.to_be_bytes())?;
        meta_put(&w, &link.key(META_FEED_AS_OF), &p.as_of_ms.to_be_bytes())?;
        w.commit()?;
        self.floor_ms.fetch_max(p.as_of_ms, Ordering::Relaxed);
        *office.trust.write().unwrap_or_else(|p| p.into_inner()) = trust;
        Ok(p.to)
    }

    /// The ledger entries the office of `link` has not acknowledged, at most `max`.
    pub fn unreported(&self, link: &Link, max: usize) -> Result<Vec<Vec<u8>>, CustomsError> {
        let r = self.store.read()?;
        Ok(usage::ledger_from(&r, acked(&r, link)? + 1, max)?)
    }

    /// Records that the office of `link` holds the ledger through `seq`.
    pub fn set_reported(&self, link: &Link, seq: u64) -> Result<(), CustomsError> {
        let w = self.store.write()?;
        meta_put(&w, &link.key(META_ACKED), &seq.to_be_bytes())?;
        w.commit()?;
        Ok(())
    }

    /// Entries of the ledger, and how many the office of `link` holds: (last,
    /// acknowledged).
    pub fn ledger_position_at(&self, link: &Link) -> Result<(u64, u64), CustomsError> {
        let r = self.store.read()?;
        Ok((usage::ledger_last(&r)?, acked(&r, link)?))
    }

    /// Entries of the ledger, and how many every office holds: (last, the fewest any
    /// office has acknowledged).
    pub fn ledger_position(&self) -> Result<(u64, u64), CustomsError> {
        let l = self.links()?;
        Ok((l.ledger, l.reported()))
    }

    /// The standing of `l` as this node judges it: the office's last word (from the feed),
    /// else expired by this node's date, else valid; with when the office said so (0:
    /// the office has said nothing of this licence, or nothing at all yet).
    pub fn standing_of(&self, l: &Licence) -> Result<(State, i64), CustomsError> {
        let fed = usage::fed(&self.store.read()?, &l.licence_no)?;
        let as_of = match fed {
            Some((_, _, as_of)) => as_of,
            None => self
                .standing_as_of_at(&self.office_of_agency(&l.agency[0]))?
                .unwrap_or(0),
        };
        Ok((judge(l, fed.map(|f| f.0), &self.today()), as_of))
    }

    pub(super) fn standing_in(
        &self,
        w: &WriteBatch<'_>,
        l: &Licence,
        today: &str,
    ) -> Result<(State, i64), CustomsError> {
        let fed = usage::fed(w, &l.licence_no)?;
        Ok((judge(l, fed.map(|f| f.0), today), fed.map_or(0, |f| f.2)))
    }

    /// Licence `no`'s usage at this district, if this node holds the licence.
    pub fn usage_of(&self, no: &str) -> Result<Option<(Licence, UsageView)>, CustomsError> {
        let r = self.store.read()?;
        let Some(l) = licences::get(&r, no)? else {
            return Ok(None);
        };
        let items = usage::items_of(&r, no)?;
        let view = policy::view(&l, &items, self.overfill(&l));
        Ok(Some((l, view)))
    }

    /// What `exlic check` finds wrong: the ledger must be numbered 1, 2, … without gaps,
    /// every entry must verify under this node's key, and replaying it must give exactly
    /// the items stored (so no step was counted twice or lost).
    pub fn check_consistency(&self) -> Result<Vec<String>, CustomsError> {
        let r = self.store.read()?;
        let mut problems = Vec::new();
        let mut replayed: std::collections::BTreeMap<(String, String, u32), (ItemState, Decimal)> =
            std::collections::BTreeMap::new();
        let last = usage::ledger_last(&r)?;
        let entries = usage::ledger_from(&r, 1, usize::MAX)?;
        if entries.len() as u64 != last {
            problems.push(format!(
                "the usage ledger has {} entries but ends at {last}",
                entries.len()
            ));
        }
        for (i, signed) in entries.iter().enumerate() {
            let e = match UsageEntry::verify(signed, &self.public_key()) {
                Ok(e) => e,
                Err(err) => {
                    problems.push(format!("ledger entry {}: {err}", i + 1));
                    continue;
                }
            };
            if e.seq != i as u64 + 1 {
                problems.push(format!("ledger entry {} is numbered {}", i + 1, e.seq));
            }
            let q = Decimal::from_str(&e.quantity).unwrap_or_default();
            let key = (e.licence_no, e.declaration_no, e.item);
            let prev = replayed.get(&key).map(|p| p.1);
            let next = match e.step {
                Step::Reserve => (ItemState::Reserved, q),
                Step::Confirm | Step::Adjust => (ItemState::Confirmed, q),
                Step::Cancel => (ItemState::Cancelled, prev.unwrap_or(q)),
            };
            replayed.insert(key, next);
        }
        let mut stored = std::collections::BTreeMap::new();
        for l in licences::all(&r)? {
            for (d, i, _, it) in usage::items_of(&r, &l.0)? {
                stored.insert((l.0.clone(), d, i), (it.state, it.quantity));
            }
        }
        for (k, v) in &replayed {
            if stored.get(k) != Some(v) {
                problems.push(format!(
                    "item {}/{} of licence {}: the ledger says {:?}, the store {:?}",
                    k.1,
                    k.2,
                    k.0,
                    v,
                    stored.get(k)
                ));
            }
        }
        for k in stored.keys() {
            if !replayed.contains_key(k) {
                problems.push(format!(
                    "item {}/{} of licence {} is stored but not in the ledger",
                    k.1, k.2, k.0
                ));
            }
        }
        Ok(problems)
    }

    /// The licences this node holds, in number order.
    pub fn licences(&self) -> Result<Vec<Licence>, CustomsError> {
        let r = self.store.read()?;
        Ok(licences::all(&r)?
            .into_iter()
            .filter_map(|(_, f)| {
                exlic_client::signed::peek(&f)
                    .ok()
                    .and_then(|p| Licence::decode(p).ok())
            })
            .collect())
    }
}

/// One office's link as this node holds it.
#[derive(Debug, Clone)]
pub struct OfficeState {
    /// Its agency code (empty: a home office enrolled with a version-1 invite).
    pub agency_code: String,
    /// Its root key.
    pub authority_key: [u8; 32],
    /// When it last told this node the standing of its licences (Unix ms).
    pub standing_as_of: Option<i64>,
    /// How much of the usage ledger it holds.
    pub acked: u64,
    /// Its log as this node holds it.
    pub log: super::log_head::LogView,
}

/// Every office's link, home first, and the ledger's length.
#[derive(Debug, Clone)]
pub struct Links {
    /// Entries of the usage ledger.
    pub ledger: u64,
    /// Each office, home first.
    pub offices: Vec<OfficeState>,
}

impl Links {
    /// The oldest office's last word; `None` while any office has said nothing yet.
    pub fn standing_as_of(&self) -> Option<i64> {
        self.offices
            .iter()
            .map(|o| o.standing_as_of)
            .try_fold(i64::MAX, |oldest, at| Some(oldest.min(at?)))
            .filter(|_| !self.offices.is_empty())
    }

    /// The fewest ledger entries any office has acknowledged.
    pub fn reported(&self) -> u64 {
        self.offices.iter().map(|o| o.acked).min().unwrap_or(0)
    }
}

/// How much of the ledger the office of `link` holds.
fn acked(txn: &impl crate::store::Txn, link: &Link) -> Result<u64, CustomsError> {
    Ok(meta_get(txn, &link.key(META_ACKED))?
        .and_then(|v| v.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0))
}

/// The office's word on `l` unless it is valid, else expired by `today` (`YYYYMMDD`, this
/// node's China date), else valid.
pub(super) fn judge(l: &Licence, fed: Option<State>, today: &str) -> State {
    match fed {
        Some(s) if s != State::Valid => s,
        _ if l.expiry.replace('-', "").as_str() < today => State::Expired,
        _ => State::Valid,
    }
}
