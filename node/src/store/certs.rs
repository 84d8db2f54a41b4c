//! Authority: the device certificates it issued (a row with named fields and the signed
//! bytes per serial), each device's newest certificate, and the nonces of certificate
//! requests already carried out.

use redb::ReadableTable;

use super::tables::{CERT_BYTES, CERT_NONCES, CERTS, DEVICE_CERT, Txn};
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
