//! Customs usage and the standing feed: declaration items and the usage ledger (customs),
//! the entries customs nodes report, their flags, the standing feed and the enrolled
//! customs nodes (authority), and each licence's usage as the office last told it
//! (enterprise).

use std::str::FromStr;

use exlic_client::encoding::{Reader, Writer};
use exlic_client::standing::State;
use redb::{ReadableTable, ReadableTableMetadata};
use rust_decimal::Decimal;

use super::tables::{
    CUSTOMS_INVITES, CUSTOMS_NODES, DECL_ITEMS, FEED_STANDING, STANDING_LOG, Txn, USAGE_FLAGS,
    USAGE_IN, USAGE_ITEMS, USAGE_LOG, USAGE_VIEWS,
};
use super::{StoreError, WriteBatch};
use crate::domain::customs::{Counted, Item, ItemState};

/// One declaration item against a licence: (报关单号, 项号, 关区, the item).
pub type ItemRow = (String, u32, String, Item);

fn encode_item(district: &str, it: &Item) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(1)
        .u8(it.state.tag())
        .str(&it.quantity.to_string())
        .i64(it.at_ms)
        .str(district);
    w.finish()
}

fn decode_item(licence_no: &str, b: &[u8]) -> Option<(String, Item)> {
    let mut r = Reader::new(b);
    r.version(1).ok()?;
    let state = ItemState::from_tag(r.u8("state").ok()?)?;
    let quantity = Decimal::from_str(r.str("quantity", 40).ok()?).ok()?;
    let at_ms = r.i64("at_ms").ok()?;
    let district = r.str("district", 8).ok()?.to_owned();
    Some((
        district,
        Item {
            licence_no: licence_no.to_owned(),
            state,
            quantity,
            at_ms,
        },
    ))
}

/// The item (`declaration_no`, `item`) against licence `no`, with its district.
pub fn item(
    txn: &impl Txn,
    no: &str,
    declaration_no: &str,
    item: u32,
) -> Result<Option<(String, Item)>, StoreError> {
    Ok(txn
        .table(USAGE_ITEMS)?
        .get((no, declaration_no, item))?
        .and_then(|v| decode_item(no, v.value())))
}

/// Stores an item's new state.
pub fn put_item(
    w: &WriteBatch<'_>,
    declaration_no: &str,
    item: u32,
    district: &str,
    it: &Item,
) -> Result<(), StoreError> {
    w.txn().open_table(USAGE_ITEMS)?.insert(
        (it.licence_no.as_str(), declaration_no, item),
        encode_item(district, it).as_slice(),
    )?;
    Ok(())
}

/// Every item against licence `no`, in declaration order.
pub fn items_of(txn: &impl Txn, no: &str) -> Result<Vec<ItemRow>, StoreError> {
    let t = txn.table(USAGE_ITEMS)?;
    let mut out = Vec::new();
    for e in t.range((no, "", 0u32)..=(no, "~", u32::MAX))? {
        let (k, v) = e?;
        let (_, d, i) = k.value();
        if let Some((district, state)) = decode_item(no, v.value()) {
            out.push((d.to_owned(), i, district, state));
        }
    }
    Ok(out)
}

/// What counts against licence `no`: items reserved or confirmed.
pub fn counted(txn: &impl Txn, no: &str) -> Result<Counted, StoreError> {
    let mut c = Counted::default();
    for row in items_of(txn, no)? {
        if row.3.state.counts() {
            c.uses += 1;
            c.quantity += row.3.quantity;
        }
    }
    Ok(c)
}

/// The licence a declaration item was checked against (customs).
pub fn licence_of(
    txn: &impl Txn,
    declaration_no: &str,
    item: u32,
) -> Result<Option<String>, StoreError> {
    Ok(txn
        .table(DECL_ITEMS)?
        .get((declaration_no, item))?
        .map(|v| v.value().to_owned()))
}

/// Records which licence a declaration item uses (customs).
pub fn put_licence_of(
    w: &WriteBatch<'_>,
    declaration_no: &str,
    item: u32,
    no: &str,
) -> Result<(), StoreError> {
    w.txn()
        .open_table(DECL_ITEMS)?
        .insert((declaration_no, item), no)?;
    Ok(())
}

/// The last entry number of this node's usage ledger (0: none).
pub fn ledger_last(txn: &impl Txn) -> Result<u64, StoreError> {
    Ok(txn
        .table(USAGE_LOG)?
        .last()?
        .map(|(k, _)| k.value())
        .unwrap_or(0))
}

/// Appends a signed entry to this node's ledger at `seq`.
pub fn ledger_put(w: &WriteBatch<'_>, seq: u64, signed: &[u8]) -> Result<(), StoreError> {
    w.txn().open_table(USAGE_LOG)?.insert(seq, signed)?;
    Ok(())
}

/// Up to `max` ledger entries from `seq` on.
pub fn ledger_from(txn: &impl Txn, seq: u64, max: usize) -> Result<Vec<Vec<u8>>, StoreError> {
    let t = txn.table(USAGE_LOG)?;
    let mut out = Vec::new();
    for e in t.range(seq..)?.take(max) {
        out.push(e?.1.value().to_vec());
    }
    Ok(out)
}

/// The highest entry number the office holds from customs node `key` (0: none).
pub fn received_last(txn: &impl Txn, key: &[u8; 32]) -> Result<u64, StoreError> {
    Ok(txn
        .table(USAGE_IN)?
        .range((*key, 0)..=(*key, u64::MAX))?
        .next_back()
        .transpose()?
        .map(|(k, _)| k.value().1)
        .unwrap_or(0))
}

/// Keeps entry `seq` of customs node `key`.
pub fn put_received(
    w: &WriteBatch<'_>,
    key: &[u8; 32],
    seq: u64,
    signed: &[u8],
) -> Result<(), StoreError> {
    w.txn().open_table(USAGE_IN)?.insert((*key, seq), signed)?;
    Ok(())
}

/// Flags a usage the office did not expect (used after the licence was deleted or
/// written off).
pub fn put_flag(
    w: &WriteBatch<'_>,
    no: &str,
    declaration_no: &str,
    item: u32,
    why: &str,
) -> Result<(), StoreError> {
    w.txn()
        .open_table(USAGE_FLAGS)?
        .insert((no, declaration_no, item), why)?;
    Ok(())
}

/// Every flag: (许可证号, 报关单号, 项号, why).
pub fn flags(txn: &impl Txn) -> Result<Vec<(String, String, u32, String)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(USAGE_FLAGS)?.iter()? {
        let (k, v) = e?;
        let (n, d, i) = k.value();
        out.push((n.to_owned(), d.to_owned(), i, v.value().to_owned()));
    }
    Ok(out)
}

/// The flags of licence `no`: (报关单号, 项号, why).
pub fn flags_of(txn: &impl Txn, no: &str) -> Result<Vec<(String, u32, String)>, StoreError> {
    let mut out = Vec::new();
    for e in txn
        .table(USAGE_FLAGS)?
        .range((no, "", 0u32)..=(no, "~", u32::MAX))?
    {
        let (k, v) = e?;
        let (_, d, i) = k.value();
        out.push((d.to_owned(), i, v.value().to_owned()));
    }
    Ok(out)
}

/// Licence `no`'s usage as the office last told this enterprise (JSON `UsageView`).
pub fn view(txn: &impl Txn, no: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(txn.table(USAGE_VIEWS)?.get(no)?.map(|v| v.value().to_vec()))
}

/// Keeps licence `no`'s usage as told.
pub fn put_view(w: &WriteBatch<'_>, no: &str, json: &[u8]) -> Result<(), StoreError> {
    w.txn().open_table(USAGE_VIEWS)?.insert(no, json)?;
    Ok(())
}

/// Appends licence `no` to the standing feed (authority); returns its position.
pub fn feed_append(w: &WriteBatch<'_>, no: &str) -> Result<u64, StoreError> {
    let mut t = w.txn().open_table(STANDING_LOG)?;
    let next = t.last()?.map(|(k, _)| k.value() + 1).unwrap_or(0);
    t.insert(next, no)?;
    Ok(next)
}

/// The licences whose standing changed at feed positions `cursor..`, each once, until
/// `max` distinct ones; with the position after the last one read and whether more remain.
pub fn feed_from(
    txn: &impl Txn,
    cursor: u64,
    max: usize,
) -> Result<(Vec<String>, u64, bool), StoreError> {
    let t = txn.table(STANDING_LOG)?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut to = cursor;
    for e in t.range(cursor..)? {
        let (k, v) = e?;
        let no = v.value();
        if !seen.contains(no) {
            if out.len() == max {
                return Ok((out, to, true));
            }
            seen.insert(no.to_owned());
            out.push(no.to_owned());
        }
        to = k.value() + 1;
    }
    Ok((out, to, false))
}

/// The standing of licence `no` from the office's feed (customs): state, since, as of.
pub fn fed(txn: &impl Txn, no: &str) -> Result<Option<(State, i64, i64)>, StoreError> {
    Ok(txn.table(FEED_STANDING)?.get(no)?.and_then(|v| {
        let (t, since, as_of) = v.value();
        State::from_tag(t).map(|s| (s, since, as_of))
    }))
}

/// Keeps the standing of licence `no` from the feed (customs).
pub fn put_fed(
    w: &WriteBatch<'_>,
    no: &str,
    state: State,
    since_ms: i64,
    as_of_ms: i64,
) -> Result<(), StoreError> {
    w.txn()
        .open_table(FEED_STANDING)?
        .insert(no, (state.tag(), since_ms, as_of_ms))?;
    Ok(())
}

/// How many licences' standing this node holds from the feed.
pub fn fed_count(txn: &impl Txn) -> Result<u64, StoreError> {
    Ok(txn.table(FEED_STANDING)?.len()?)
}

/// The district of enrolled customs node `key` (authority).
pub fn customs_district(txn: &impl Txn, key: &[u8; 32]) -> Result<Option<String>, StoreError> {
    Ok(txn
        .table(CUSTOMS_NODES)?
        .get(*key)?
        .map(|v| v.value().to_owned()))
}

/// Every enrolled customs node: (key, district).
pub fn customs_nodes(txn: &impl Txn) -> Result<Vec<([u8; 32], String)>, StoreError> {
    let mut out = Vec::new();
    for e in txn.table(CUSTOMS_NODES)?.iter()? {
        let (k, v) = e?;
        out.push((k.value(), v.value().to_owned()));
    }
    Ok(out)
}

/// Enrols customs node `key` for `district`.
pub fn put_customs(w: &WriteBatch<'_>, key: &[u8; 32], district: &str) -> Result<(), StoreError> {
    w.txn().open_table(CUSTOMS_NODES)?.insert(*key, district)?;
    Ok(())
}

/// A customs invite: (district, name, expires ms, the node that spent it or zeros).
pub type CustomsInviteRow = (String, String, i64, [u8; 32]);

/// The customs invite whose secret hashes to `hash`.
pub fn customs_invite(
    txn: &impl Txn,
    hash: &[u8; 32],
) -> Result<Option<CustomsInviteRow>, StoreError> {
    Ok(txn.table(CUSTOMS_INVITES)?.get(*hash)?.map(|v| {
        let (d, n, e, k) = v.value();
        (d.to_owned(), n.to_owned(), e, k)
    }))
}

/// Stores a customs invite.
pub fn put_customs_invite(
    w: &WriteBatch<'_>,
    hash: &[u8; 32],
    row: &CustomsInviteRow,
) -> Result<(), StoreError> {
    w.txn()
        .open_table(CUSTOMS_INVITES)?
        .insert(*hash, (row.0.as_str(), row.1.as_str(), row.2, row.3))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_count_per_licence_and_the_feed_reads_each_licence_once() {
        let (_dir, store) = crate::store::Store::temp();
        let w = store.write().unwrap();
        let it = |no: &str, state, q: i64| Item {
            licence_no: no.into(),
            state,
            quantity: Decimal::from(q),
            at_ms: 5,
        };
        put_item(
            &w,
            "220020261000000001",
            1,
            "2200",
            &it("26AA000001", ItemState::Reserved, 10),
        )
        .unwrap();
        put_item(
            &w,
            "220020261000000002",
            1,
            "2200",
            &it("26AA000001", ItemState::Confirmed, 7),
        )
        .unwrap();
        put_item(
            &w,
            "220020261000000003",
            2,
            "2200",
            &it("26AA000001", ItemState::Cancelled, 9),
        )
        .unwrap();
        put_item(
            &w,
            "220020261000000004",
            1,
            "2200",
            &it("26AA000002", ItemState::Reserved, 1),
        )
        .unwrap();
        for no in [
            "26AA000001",
            "26AA000002",
            "26AA000001",
            "26AA000003",
            "26AA000001",
        ] {
            feed_append(&w, no).unwrap();
        }
        w.commit().unwrap();
        let r = store.read().unwrap();
        assert_eq!(
            counted(&r, "26AA000001").unwrap(),
            Counted {
                uses: 2,
                quantity: Decimal::from(17)
            }
        );
        assert_eq!(items_of(&r, "26AA000001").unwrap().len(), 3);
        let (nos, to, more) = feed_from(&r, 0, 2).unwrap();
        assert_eq!(
            (nos, to, more),
            (vec!["26AA000001".into(), "26AA000002".into()], 3, true)
        );
        let (nos, to, more) = feed_from(&r, 3, 10).unwrap();
        assert_eq!(
            (nos, to, more),
            (vec!["26AA000003".into(), "26AA000001".into()], 5, false)
        );
    }
}
