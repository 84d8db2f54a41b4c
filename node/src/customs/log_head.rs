//! Each office's transparency log as customs follows it over sync: the newest checkpoint
//! this node has proved to extend every one it held before (from the office's hash
//! tiles, each checked against the checkpoint's root), and the alarm it keeps when the
//! office shows it a history that does not, so an office cannot show customs one log and
//! the bureau another without customs saying so.

use exlic_client::protocol::TileRef;
use exlic_client::translog::{self, LogError, TreeHead};
use std::collections::HashMap;

use super::*;

/// `META`: the newest checkpoint note proved consistent.
const META_LOG_HEAD: &str = "customs_log_head";
/// `META`: the first inconsistency seen, `@held=<size>;shown=<size>;at=<ms>`.
const META_LOG_ALARM: &str = "customs_log_alarm";

/// What to do after an answer of the office's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogStep {
    /// Nothing more this round.
    Done,
    /// Ask for these tiles of the tree of `size`.
    Fetch {
        /// The tree the tiles are of.
        size: u64,
        /// The tiles.
        tiles: Vec<TileRef>,
    },
}

/// The office's log as this node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogView {
    /// The newest tree head proved consistent, and when the office signed it.
    pub head: Option<(TreeHead, i64)>,
    /// The first inconsistency: the size held and the size shown, and when (node clock).
    pub alarm: Option<(u64, u64, i64)>,
}

fn parse_alarm(v: &[u8]) -> Option<(u64, u64, i64)> {
    let s = std::str::from_utf8(v).ok()?.strip_prefix('@')?;
    let mut f = s.split(';').filter_map(|kv| kv.split_once('='));
    let mut next = || f.next().map(|(_, v)| v.to_owned());
    Some((
        next()?.parse().ok()?,
        next()?.parse().ok()?,
        next()?.parse().ok()?,
    ))
}

/// The log of the office of `link` as `txn` holds it.
pub(super) fn log_view_in(
    txn: &impl crate::store::Txn,
    link: &Link,
) -> Result<LogView, CustomsError> {
    let head = meta_get(txn, &link.key(META_LOG_HEAD))?
        .and_then(|n| translog::peek_checkpoint(&n).ok())
        .map(|(_, h, at)| (h, at));
    let alarm = meta_get(txn, &link.key(META_LOG_ALARM))?.and_then(|v| parse_alarm(&v));
    Ok(LogView { head, alarm })
}

impl Customs {
    /// The log of the office of `link` as this node holds it.
    pub fn log_view(&self, link: &Link) -> Result<LogView, CustomsError> {
        log_view_in(&self.store.read()?, link)
    }

    /// Takes the office's answer to a log request: `checkpoint` with the `tiles` asked for
    /// (`asked`, in order). The checkpoint must verify under the office's key chain (with
    /// `keys`, the office's records); the first becomes the head held, a later one only
    /// once the tiles prove the held head a prefix of it. A history that is not one
    /// raises the alarm and keeps the held head. Returns the tiles still needed, if any.
    pub fn follow_log(
        &self,
        link: &Link,
        checkpoint: &[u8],
        asked: &[TileRef],
        tiles: &[Option<Vec<u8>>],
        keys: &[Vec<u8>],
    ) -> Result<LogStep, CustomsError> {
        if checkpoint.is_empty() {
            return Ok(LogStep::Done);
        }
        let office = self.office(link);
        let mut trust = Trust::new(office.invite.authority_key);
        trust.follow(keys);
        let (origin, _, _) =
            translog::peek_checkpoint(checkpoint).map_err(|e| bad("checkpoint", e.to_string()))?;
        let code = &office.invite.agency_code;
        let expected = translog::origin(code);
        if !origin.starts_with("exlic.office/") || (!code.is_empty() && origin != expected) {
            return Err(bad(
                "checkpoint",
                format!("not the log of office {code}: {origin}"),
            ));
        }
        let new = translog::open_checkpoint(checkpoint, &origin, &trust, None)
            .map_err(|e| bad("checkpoint", e.to_string()))?
            .head;
        let held = self.log_view(link)?.head.map(|(h, _)| h);
        let have: HashMap<TileRef, Vec<u8>> = asked
            .iter()
            .zip(tiles)
            .filter_map(|(t, b)| Some((*t, b.clone()?)))
            .collect();
        let head_key = link.key(META_LOG_HEAD);
        let alarm_key = link.key(META_LOG_ALARM);
        let proved = match held {
            None => Ok(Vec::new()),
            Some(old) => translog::consistency_from_tiles(old, new, &have),
        };
        match proved {
            Ok(wanted) if wanted.is_empty() => {
                // The same note as held (most rounds): nothing to write.
                if meta_get(&self.store.read()?, &head_key)?.as_deref() == Some(checkpoint) {
                    return Ok(LogStep::Done);
                }
                let w = self.store.write()?;
                meta_put(&w, &head_key, checkpoint)?;
                w.commit()?;
                Ok(LogStep::Done)
            }
            // Asked once and still short: the office did not serve its own tiles.
            Ok(_) if !asked.is_empty() => Err(bad(
                "tiles",
                format!(
                    "the office did not serve the tiles of its tree of {}",
                    new.size
                ),
            )),
            Ok(wanted) => Ok(LogStep::Fetch {
                size: new.size,
                tiles: wanted,
            }),
            Err(LogError::Inconsistent { old, new }) => {
                let w = self.store.write()?;
                if meta_get(&w, &alarm_key)?.is_none() {
                    let at = self.now_ms();
                    meta_put(
                        &w,
                        &alarm_key,
                        format!("@held={old};shown={new};at={at}").as_bytes(),
                    )?;
                    tracing::error!(
                        office = %code,
                        held = old,
                        shown = new,
                        "the office's log is not one history: its checkpoint does not extend the one this node holds"
                    );
                }
                w.commit()?;
                Ok(LogStep::Done)
            }
            Err(e) => Err(bad("checkpoint", e.to_string())),
        }
    }
}
