//! Authority: the enterprise registry as records — enrolment invites, enrolled enterprises
//! and the devices that speak for them.

use redb::ReadableTable;

use super::tables::{DEVICES, ENTERPRISES, INVITES, Txn};
use super::{StoreError, WriteBatch};

/// An enrolment invite, stored under the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRow {
    /// The enterprise it enrols (USCC).
    pub uscc: String,
    /// The enterprise's name as the office wrote it.
    pub name: String,
    /// When it stops being accepted, Unix ms.
    pub expires_ms: i64,
    /// The device that spent it, if one did.
    pub used_by: Option<[u8; 32]>,
}

/// The invite whose secret hashes to `hash`.
pub fn invite(txn: &impl Txn, hash: [u8; 32]) -> Result<Option<InviteRow>, StoreError> {
    Ok(txn.table(INVITES)?.get(hash)?.map(|v| {
        let (uscc, name, expires_ms, used_by) = v.value();
        InviteRow {
            uscc: uscc.to_owned(),
            name: name.to_owned(),
            expires_ms,
            used_by: (used_by != [0; 32]).then_some(used_by),
        }
    }))
}

/// Stores (or updates) the invite whose secret hashes to `hash`.
pub fn put_invite(w: &WriteBatch<'_>, hash: [u8; 32], row: &InviteRow) -> Result<(), StoreError> {
    w.txn().open_table(INVITES)?.insert(
        hash,
        (
            row.uscc.as_str(),
            row.name.as_str(),
            row.expires_ms,
            row.used_by.unwrap_or([0; 32]),
        ),
    )?;
    Ok(())
}

/// An enrolled enterprise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseRow {
    /// Its name at the office.
    pub name: String,
    /// Its master e-key, registered at its first enrolment.
    pub master_key: [u8; 32],
}

/// The enterprise `uscc`, if enrolled.
pub fn enterprise(txn: &impl Txn, uscc: &str) -> Result<Option<EnterpriseRow>, StoreError> {
    Ok(txn.table(ENTERPRISES)?.get(uscc)?.map(|v| {
        let (name, master_key) = v.value();
        EnterpriseRow {
            name: name.to_owned(),
            master_key,
        }
    }))
}

/// Every enrolled enterprise, by USCC.
pub fn enterprises(txn: &impl Txn) -> Result<Vec<(String, EnterpriseRow)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(ENTERPRISES)?.iter()? {
        let (k, v) = e?;
        let (name, master_key) = v.value();
        out.push((
            k.value().to_owned(),
            EnterpriseRow {
                name: name.to_owned(),
                master_key,
            },
        ));
    }
    Ok(out)
}

/// Registers `uscc` unless it is already enrolled (its first e-key stays).
pub fn add_enterprise(
    w: &WriteBatch<'_>,
    uscc: &str,
    row: &EnterpriseRow,
) -> Result<(), StoreError> {
    let mut t = w.txn().open_table(ENTERPRISES)?;
    if t.get(uscc)?.is_none() {
        t.insert(uscc, (row.name.as_str(), row.master_key))?;
    }
    Ok(())
}

/// Records the name of the enrolled enterprise `uscc` (an accepted 企业信息维护 change);
/// false if it is not enrolled.
pub fn rename_enterprise(w: &WriteBatch<'_>, uscc: &str, name: &str) -> Result<bool, StoreError> {
    let mut t = w.txn().open_table(ENTERPRISES)?;
    let Some(master_key) = t.get(uscc)?.map(|v| v.value().1) else {
        return Ok(false);
    };
    t.insert(uscc, (name, master_key))?;
    Ok(true)
}

/// The enterprise (USCC) device `device` speaks for.
pub fn enterprise_of(txn: &impl Txn, device: &[u8; 32]) -> Result<Option<String>, StoreError> {
    Ok(txn
        .table(DEVICES)?
        .get(*device)?
        .map(|v| v.value().to_owned()))
}

/// Records that `device` speaks for `uscc`.
pub fn add_device(w: &WriteBatch<'_>, device: [u8; 32], uscc: &str) -> Result<(), StoreError> {
    w.txn().open_table(DEVICES)?.insert(device, uscc)?;
    Ok(())
}
