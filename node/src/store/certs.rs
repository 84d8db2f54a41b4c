//! Authority: the device certificates it issued (a row with named fields and the signed
//! bytes per serial), each device's newest certificate, and the nonces of certificate
//! requests already carried out.

use redb::ReadableTable;

use super::tables::{CERT_BYTES, CERT_NONCES, CERTS, CERTS_OF, CERTS_REVOKED, DEVICE_CERT, Txn};
use super::{StoreError, WriteBatch};

/// One issued device certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRow {
    /// Its serial.
    pub serial: u64,
    /// The enterprise (USCC) it certifies a device of.
    pub uscc: String,
    /// The device's ed25519 key.
    pub device_key: [u8; 32],
    /// The mobile number it authorises.
    pub mobile: String,
    /// Valid from, Unix ms.
    pub not_before_ms: i64,
    /// Valid until, Unix ms.
    pub not_after_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

impl CertRow {
    /// Valid and unrevoked at `now`.
    pub fn active_at(&self, now: i64) -> bool {
        self.revoked_ms.is_none() && self.not_after_ms > now
    }

    /// Its standing at `now`: revoked wins over expired.
    pub fn standing_at(&self, now: i64) -> CertStanding {
        if self.revoked_ms.is_some_and(|r| r <= now) {
            CertStanding::Revoked
        } else if self.not_after_ms <= now {
            CertStanding::Expired
        } else {
            CertStanding::Valid
        }
    }
}

/// Where a device certificate stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStanding {
    /// In its validity period and not revoked.
    Valid,
    /// Past its validity period.
    Expired,
    /// Revoked (a 注销 or a replacement).
    Revoked,
}

impl CertStanding {
    /// Every standing, in the order the UI offers them.
    pub const ALL: [Self; 3] = [Self::Valid, Self::Expired, Self::Revoked];

    /// Its code (`valid`, `expired`, `revoked`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// The standing of a code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

fn decode(serial: u64, v: (&str, [u8; 32], &str, i64, i64, i64)) -> CertRow {
    let (uscc, device_key, mobile, not_before_ms, not_after_ms, revoked) = v;
    CertRow {
        serial,
        uscc: uscc.to_owned(),
        device_key,
        mobile: mobile.to_owned(),
        not_before_ms,
        not_after_ms,
        revoked_ms: (revoked != i64::MAX).then_some(revoked),
    }
}

/// The certificate `serial`.
pub fn get(txn: &impl Txn, serial: u64) -> Result<Option<CertRow>, StoreError> {
    Ok(txn
        .table(CERTS)?
        .get(serial)?
        .map(|v| decode(serial, v.value())))
}

/// Every certificate, oldest serial first.
pub fn all(txn: &impl Txn) -> Result<Vec<CertRow>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(CERTS)?.iter()? {
        let (k, v) = e?;
        out.push(decode(k.value(), v.value()));
    }
    Ok(out)
}

/// Every certificate of the enterprise `uscc`, oldest serial first.
pub fn of_enterprise(txn: &impl Txn, uscc: &str) -> Result<Vec<CertRow>, StoreError> {
    let certs = txn.table(CERTS)?;
    let mut out = Vec::new();
    for e in txn.table(CERTS_OF)?.range((uscc, 0)..=(uscc, u64::MAX))? {
        let serial = e?.0.value().1;
        if let Some(v) = certs.get(serial)? {
            out.push(decode(serial, v.value()));
        }
    }
    Ok(out)
}

/// (serial, revoked at) of every revoked certificate, lowest serial first.
pub fn revoked(txn: &impl Txn) -> Result<Vec<(u64, i64)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(CERTS_REVOKED)?.iter()? {
        let (k, v) = e?;
        out.push((k.value(), v.value()));
    }
    Ok(out)
}

/// Builds the by-enterprise and revoked indexes of a store whose certificates predate them
/// (run at open; does nothing once they exist).
pub(super) fn index_existing(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    use redb::ReadableTableMetadata;
    let certs = txn.open_table(CERTS)?;
    let mut of = txn.open_table(CERTS_OF)?;
    if certs.is_empty()? || !of.is_empty()? {
        return Ok(());
    }
    let mut revoked = txn.open_table(CERTS_REVOKED)?;
    for e in certs.iter()? {
        let (k, v) = e?;
        let row = decode(k.value(), v.value());
        of.insert((row.uscc.as_str(), row.serial), ())?;
        if let Some(at) = row.revoked_ms {
            revoked.insert(row.serial, at)?;
        }
    }
    Ok(())
}

/// One page of the certificates `admits` takes, newest serial first: `limit` after the
/// newest `offset`, and how many it takes in all.
pub fn newest_page(
    txn: &impl Txn,
    admits: impl Fn(&CertRow) -> bool,
    offset: usize,
    limit: usize,
) -> Result<(Vec<CertRow>, u64), StoreError> {
    let mut out = Vec::with_capacity(limit);
    let mut total = 0u64;
    for e in txn.table(CERTS)?.iter()?.rev() {
        let (k, v) = e?;
        let row = decode(k.value(), v.value());
        if !admits(&row) {
            continue;
        }
        if total as usize >= offset && out.len() < limit {
            out.push(row);
        }
        total += 1;
    }
    Ok((out, total))
}

/// How many certificates were issued.
pub fn count(txn: &impl Txn) -> Result<u64, StoreError> {
    use redb::ReadableTableMetadata;
    Ok(txn.table(CERTS)?.len()?)
}

/// Stores a certificate's row (a new one, or a revocation of an old one).
pub fn put(w: &WriteBatch<'_>, row: &CertRow) -> Result<(), StoreError> {
    w.txn().open_table(CERTS)?.insert(
        row.serial,
        (
            row.uscc.as_str(),
            row.device_key,
            row.mobile.as_str(),
            row.not_before_ms,
            row.not_after_ms,
            row.revoked_ms.unwrap_or(i64::MAX),
        ),
    )?;
    w.txn()
        .open_table(CERTS_OF)?
        .insert((row.uscc.as_str(), row.serial), ())?;
    let mut revoked = w.txn().open_table(CERTS_REVOKED)?;
    match row.revoked_ms {
        Some(at) => revoked.insert(row.serial, at)?,
        None => revoked.remove(row.serial)?,
    };
    Ok(())
}

/// Stores a newly issued certificate: its row, its signed bytes, and the device's newest.
pub fn issue(w: &WriteBatch<'_>, row: &CertRow, signed: &[u8]) -> Result<(), StoreError> {
    put(w, row)?;
    w.txn().open_table(CERT_BYTES)?.insert(row.serial, signed)?;
    w.txn()
        .open_table(DEVICE_CERT)?
        .insert(row.device_key, row.serial)?;
    Ok(())
}

/// The serial of the newest certificate issued for `device`.
pub fn newest_for(txn: &impl Txn, device: &[u8; 32]) -> Result<Option<u64>, StoreError> {
    Ok(txn.table(DEVICE_CERT)?.get(*device)?.map(|v| v.value()))
}

/// The signed certificate `serial`.
pub fn signed(txn: &impl Txn, serial: u64) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn
        .table(CERT_BYTES)?
        .get(serial)?
        .map(|v| v.value().to_vec()))
}

/// Records a certificate request's nonce; false if it was carried out before (a replay).
pub fn spend_nonce(w: &WriteBatch<'_>, nonce: [u8; 16]) -> Result<bool, StoreError> {
    Ok(w.txn()
        .open_table(CERT_NONCES)?
        .insert(nonce, ())?
        .is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn row(serial: u64, uscc: &str, revoked_ms: Option<i64>) -> CertRow {
        CertRow {
            serial,
            uscc: uscc.into(),
            device_key: [serial as u8; 32],
            mobile: "13800138000".into(),
            not_before_ms: 0,
            not_after_ms: 1_000,
            revoked_ms,
        }
    }

    #[test]
    fn an_enterprise_finds_its_own_and_the_list_holds_the_revoked() {
        let (_dir, store) = Store::temp();
        let w = store.write().unwrap();
        for r in [row(1, "A", None), row(2, "B", None), row(3, "A", None)] {
            issue(&w, &r, b"signed").unwrap();
        }
        put(&w, &row(1, "A", Some(500))).unwrap();
        w.commit().unwrap();
        let txn = store.read().unwrap();
        let serials: Vec<u64> = of_enterprise(&txn, "A")
            .unwrap()
            .iter()
            .map(|c| c.serial)
            .collect();
        assert_eq!(serials, [1, 3]);
        assert_eq!(of_enterprise(&txn, "B").unwrap(), [row(2, "B", None)]);
        assert!(of_enterprise(&txn, "C").unwrap().is_empty());
        assert_eq!(revoked(&txn).unwrap(), [(1, 500)]);
    }

    #[test]
    fn a_store_from_before_the_indexes_gets_them_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        {
            let store = Store::open(&path, Default::default()).unwrap();
            let w = store.write().unwrap();
            for r in [row(1, "A", Some(7)), row(2, "B", None)] {
                put(&w, &r).unwrap();
            }
            // As a store written before the indexes: only the rows.
            w.txn()
                .open_table(CERTS_OF)
                .unwrap()
                .retain(|_, _| false)
                .unwrap();
            w.txn()
                .open_table(CERTS_REVOKED)
                .unwrap()
                .retain(|_, _| false)
                .unwrap();
            w.commit().unwrap();
        }
        let store = Store::open(&path, Default::default()).unwrap();
        let txn = store.read().unwrap();
        assert_eq!(of_enterprise(&txn, "A").unwrap(), [row(1, "A", Some(7))]);
        assert_eq!(revoked(&txn).unwrap(), [(1, 7)]);
    }
}
