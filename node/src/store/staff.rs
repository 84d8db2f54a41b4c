//! Authority: staff accounts by login — role, name, Argon2id hash and the failure count and
//! lock of the sign-in guard.

use exlic_client::encoding::{Reader, Writer};
use redb::ReadableTable;

use super::tables::{STAFF, Txn};
use super::{StoreError, WriteBatch};

/// One staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The role's code (`officer`, `chief`, `admin`).
    pub role: String,
    /// Display name.
    pub name: String,
    /// Argon2id in PHC string format (parameters and salt included).
    pub hash: String,
    /// Wrong passwords since the last success or lock.
    pub failures: u32,
    /// Locked until, Unix ms (0: not locked).
    pub locked_until_ms: i64,
}

/// Record format version of [`AccountRow`].
const ACCOUNT_V1: u8 = 1;

impl AccountRow {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(ACCOUNT_V1)
            .str(&self.role)
            .str(&self.name)
            .str(&self.hash)
            .u32(self.failures)
            .i64(self.locked_until_ms);
        w.finish()
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Reader::new(b);
        r.version(ACCOUNT_V1).ok()?;
        let a = AccountRow {
            role: r.str("role", 16).ok()?.to_owned(),
            name: r.str("name", 256).ok()?.to_owned(),
            hash: r.str("hash", 512).ok()?.to_owned(),
            failures: r.u32("failures").ok()?,
            locked_until_ms: r.i64("locked_until_ms").ok()?,
        };
        r.end().ok()?;
        Some(a)
    }
}

/// The account `login`.
pub fn get(txn: &impl Txn, login: &str) -> Result<Option<AccountRow>, StoreError> {
    match txn.table(STAFF)?.get(login)? {
        Some(v) => Ok(Some(
            AccountRow::decode(v.value()).ok_or(StoreError::Record("staff"))?,
        )),
        None => Ok(None),
    }
}

/// Every account, by login.
pub fn all(txn: &impl Txn) -> Result<Vec<(String, AccountRow)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(STAFF)?.iter()? {
        let (k, v) = e?;
        if let Some(a) = AccountRow::decode(v.value()) {
            out.push((k.value().to_owned(), a));
        }
    }
    Ok(out)
}

/// Stores the account `login`.
pub fn put(w: &WriteBatch<'_>, login: &str, a: &AccountRow) -> Result<(), StoreError> {
    w.txn()
        .open_table(STAFF)?
        .insert(login, a.encode().as_slice())?;
    Ok(())
}

/// The account's record as stored (for tests that check no password is kept).
pub fn raw(txn: &impl Txn, login: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn.table(STAFF)?.get(login)?.map(|v| v.value().to_vec()))
}
