//! This device's 申请表号: the block it takes numbers from at 保存并盖章 and the block that
//! follows it, asked of the office over sync once half the current one is used, so sealing
//! never waits for a link (DESIGN.md "Numbers without a round trip").

use std::sync::Arc;

use exlic_client::protocol::Request;

use super::device::Device;
use super::{EnterpriseError, Result};
use crate::domain::numbering::NumberBlock;
use crate::store::{StoreError, Txn, WriteBatch, meta_get, meta_put, meta_remove};

/// The block numbers are taken from.
pub(super) const META_NUMBER_BLOCK: &str = "number_block";
/// The block granted to follow it, if one was.
const META_NEXT_BLOCK: &str = "number_block_next";

/// The device's number blocks.
#[derive(Debug, Clone)]
pub struct Numbers {
    pub(super) device: Arc<Device>,
}

impl Numbers {
    /// Takes the next 申请表号 in `w`, moving on to the following block when the current
    /// one is used up.
    pub(super) fn take(w: &WriteBatch<'_>) -> Result<String> {
        let mut block = read(w, META_NUMBER_BLOCK)?
            .ok_or(EnterpriseError::NotInitialised("no number block"))?;
        if block.remaining() == 0
            && let Some(next) = read(w, META_NEXT_BLOCK)?
        {
            block = next;
            meta_remove(w, META_NEXT_BLOCK)?;
        }
        let n = block.allocate()?;
        meta_put(w, META_NUMBER_BLOCK, &encode_block(&block))?;
        Ok(n)
    }

    /// Numbers left: the rest of the current block and the whole following one.
    pub fn left(&self) -> Result<u64> {
        let txn = self.device.store.read()?;
        let now = read(&txn, META_NUMBER_BLOCK)?.map(|b| b.remaining());
        let next = read(&txn, META_NEXT_BLOCK)?.map(|b| b.remaining());
        Ok(now.unwrap_or(0) + next.unwrap_or(0))
    }

    /// The request for the following block, when half the current one is used and none
    /// has been granted yet.
    pub(super) fn top_up_request(&self) -> Result<Option<Request>> {
        let txn = self.device.store.read()?;
        if read(&txn, META_NEXT_BLOCK)?.is_some() {
            return Ok(None);
        }
        let Some(b) = read(&txn, META_NUMBER_BLOCK)? else {
            return Ok(None);
        };
        Ok(
            (b.remaining().saturating_mul(2) <= b.len).then_some(Request::MoreNumbers {
                current: b.first,
                want: b.len,
            }),
        )
    }

    /// Keeps the block the office granted to follow the current one.
    pub(super) fn granted(&self, first: u128, len: u64) -> Result<()> {
        let block = NumberBlock::parse(&format!("{first:021}:{len}")).map_err(|e| {
            EnterpriseError::Invalid(vec![exlic_client::error::FieldError {
                field: "number_block".into(),
                rule: "numbers".into(),
                message: e.to_string(),
                severity: exlic_client::error::Severity::Error,
            }])
        })?;
        let w = self.device.store.write()?;
        if read(&w, META_NEXT_BLOCK)?.is_none() {
            meta_put(&w, META_NEXT_BLOCK, &encode_block(&block))?;
            w.commit()?;
            tracing::info!(first = %format!("{first:021}"), len, "number block topped up");
        }
        Ok(())
    }
}

/// Writes a new node's first block (kept if one is there).
pub(super) fn initialise(w: &WriteBatch<'_>, block: &NumberBlock) -> Result<()> {
    if meta_get(w, META_NUMBER_BLOCK)?.is_none() {
        meta_put(w, META_NUMBER_BLOCK, &encode_block(block))?;
    }
    Ok(())
}

fn read(txn: &impl Txn, key: &str) -> Result<Option<NumberBlock>> {
    meta_get(txn, key)?
        .map(|v| decode_block(&v).ok_or(StoreError::Record("number_block").into()))
        .transpose()
}

fn encode_block(b: &NumberBlock) -> Vec<u8> {
    let mut v = b.first.to_be_bytes().to_vec();
    v.extend_from_slice(&b.len.to_be_bytes());
    v.extend_from_slice(&b.used.to_be_bytes());
    v
}

fn decode_block(v: &[u8]) -> Option<NumberBlock> {
    if v.len() != 32 {
        return None;
    }
    Some(NumberBlock {
        first: u128::from_be_bytes(v[..16].try_into().ok()?),
        len: u64::from_be_bytes(v[16..24].try_into().ok()?),
        used: u64::from_be_bytes(v[24..].try_into().ok()?),
    })
}
