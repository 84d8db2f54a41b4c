//! Customs usage of a licence: the signed ledger entry a customs node writes at each step
//! of a declaration (`exlic/usage/v1`), and the JSON shapes of the customs node's API.
//!
//! Each step of one declaration item against one licence is one entry: 预核扣 (reserve)
//! when the check passes, 实核注 (confirm) at release, cancel when the declaration is
//! withdrawn, adjust after a post-clearance amendment. The customs node numbers its entries
//! (`seq`, from 1, no gaps) and signs each with its node key; the office folds them into
//! the licence's usage and standing.

use serde::{Deserialize, Serialize};

use crate::encoding::{DecodeError, Reader, Writer};
use crate::licence::valid_licence_no;
use crate::signed::{self, SignedError};

/// Signature tag of usage entries.
pub const TAG: &[u8] = b"exlic/usage/v1";
/// Most entries in one upload.
pub const MAX_ENTRIES: usize = 1000;

/// The step of a declaration an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// 预核扣: the check passed and the quantity is reserved.
    Reserve,
    /// 实核注: released; the quantity is used.
    Confirm,
    /// The declaration was withdrawn; the reservation is released.
    Cancel,
    /// A post-clearance amendment: the item's quantity is now `quantity`.
    Adjust,
}

impl Step {
    /// Every step, in tag order.
    pub const ALL: [Step; 4] = [Step::Reserve, Step::Confirm, Step::Cancel, Step::Adjust];

    /// The one-byte tag in the encoding (1–4).
    pub fn tag(self) -> u8 {
        match self {
            Step::Reserve => 1,
            Step::Confirm => 2,
            Step::Cancel => 3,
            Step::Adjust => 4,
        }
    }

    /// From its tag.
    pub fn from_tag(t: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.tag() == t)
    }

    /// The API code: `reserve`, `confirm`, `cancel`, `adjust`.
    pub fn code(self) -> &'static str {
        match self {
            Step::Reserve => "reserve",
            Step::Confirm => "confirm",
            Step::Cancel => "cancel",
            Step::Adjust => "adjust",
        }
    }
}

/// One signed step of one declaration item against one licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEntry {
    /// The customs node's key (its libp2p identity), which signs.
    pub customs_key: [u8; 32],
    /// Its customs district (关区) code.
    pub district: String,
    /// Its entry number: 1, 2, … without gaps.
    pub seq: u64,
    /// 许可证号.
    pub licence_no: String,
    /// 报关单号 (18 digits).
    pub declaration_no: String,
    /// 项号 of the goods item on the declaration (1–999).
    pub item: u32,
    /// What happened.
    pub step: Step,
    /// The item's quantity after this step, in the licence's unit (a decimal; `0` for a
    /// cancel).
    pub quantity: String,
    /// When, by the customs node's clock, Unix ms.
    pub at_ms: i64,
}

/// Whether `no` is a 报关单号: 18 digits.
pub fn valid_declaration_no(no: &str) -> bool {
    no.len() == 18 && no.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `q` is a decimal quantity as entries carry it: digits, at most one `.`, at most
/// 6 decimals, at most 20 characters.
pub fn valid_quantity(q: &str) -> bool {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    !int.is_empty()
        && q.len() <= 20
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 6
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (frac.is_empty() != q.contains('.'))
}

impl UsageEntry {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .fixed(&self.customs_key)
            .str(&self.district)
            .u64(self.seq)
            .str(&self.licence_no)
            .str(&self.declaration_no)
            .u32(self.item)
            .u8(self.step.tag())
            .str(&self.quantity)
            .i64(self.at_ms);
        w.finish()
    }

    /// Decodes, refusing anything malformed.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let bad = |field, reason| DecodeError::Invalid { field, reason };
        let mut r = Reader::new(b);
        r.version(1)?;
        let customs_key = r.fixed("customs_key")?;
        let district = r.str("district", 8)?.to_owned();
        if district.len() != 4 || !district.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("district", "not a 4-digit district code"));
        }
        let seq = r.u64("seq")?;
        if seq == 0 {
            return Err(bad("seq", "starts at 1"));
        }
        let licence_no = r.str("licence_no", 16)?.to_owned();
        if !valid_licence_no(&licence_no) {
            return Err(bad("licence_no", "not a licence number"));
        }
        let declaration_no = r.str("declaration_no", 18)?.to_owned();
        if !valid_declaration_no(&declaration_no) {
            return Err(bad("declaration_no", "not 18 digits"));
        }
        let item = r.u32("item")?;
        if !(1..=999).contains(&item) {
            return Err(bad("item", "not 1–999"));
        }
        let step = Step::from_tag(r.u8("step")?).ok_or(bad("step", "unknown"))?;
        let quantity = r.str("quantity", 20)?.to_owned();
        if !valid_quantity(&quantity) {
            return Err(bad("quantity", "not a decimal quantity"));
        }
        let at_ms = r.i64("at_ms")?;
        r.end()?;
        Ok(Self {
            customs_key,
            district,
            seq,
            licence_no,
            declaration_no,
            item,
            step,
            quantity,
            at_ms,
        })
    }

    /// Signs with the customs node's key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        debug_assert_eq!(self.customs_key, key.verifying_key().to_bytes());
        signed::sign(TAG, &self.encode(), key)
    }

    /// Checks a signed entry: it must be signed by the key it names, and that key must be
    /// `expected` (the customs node the office enrolled).
    pub fn verify(carried: &[u8], expected: &[u8; 32]) -> Result<Self, SignedError> {
        let payload = signed::open(TAG, carried, expected)?;
        let e = Self::decode(payload)?;
        if &e.customs_key != expected {
            return Err(SignedError::BadSignature);
        }
        Ok(e)
    }
}

/// A declaration item presented to customs (`POST /api/v1/declarations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeclarationInput {
    /// 报关单号, 18 digits.
    pub declaration_no: String,
    /// 项号 of the goods item, 1–999.
    pub item: u32,
    /// The e-licence file as lowercase hex, or the text of its QR code (`EXLIC-LIC1:…`,
    /// or `EXLIC-LICREF1:…` naming one the node holds: see [`crate::licence_qr`]); or
    /// empty when the node already holds the licence named by `licence_no`.
    #[serde(default)]
    pub licence: String,
    /// 许可证号 (needed when `licence` is empty; must match it otherwise).
    #[serde(default)]
    pub licence_no: String,
    /// The exporter on the declaration: its USCC or customs code.
    pub exporter: String,
    /// 商品编码 on the declaration (10 digits).
    pub commodity_code: String,
    /// Quantity declared, in the licence's unit.
    pub quantity: String,
    /// Only check; reserve nothing.
    #[serde(default)]
    pub check_only: bool,
}

/// A later step of a reserved item (`POST /api/v1/declarations/{no}/{item}/{step}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// The quantity released (confirm, optional: the reserved one) or amended (adjust).
    #[serde(default)]
    pub quantity: String,
}

/// Why a declaration was refused: one reason per failed check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    /// A stable code: `signature`, `standing`, `district`, `exporter`, `commodity`,
    /// `not_yet_valid`, `expired`, `uses`, `quantity`, `unknown_licence`, `input`.
    pub code: String,
    /// The field of the declaration it concerns.
    pub field: String,
    /// What is wrong, in English.
    pub message: String,
}

/// The outcome of a check, and of the reservation it made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckOutcome {
    /// Every check passed.
    pub passed: bool,
    /// Why not.
    pub reasons: Vec<Reason>,
    /// 许可证号.
    pub licence_no: String,
    /// The standing used: `valid`, `deleted`, `written_off`, `used_up`, `expired`.
    pub standing: String,
    /// When the office said so (the standing's as-of time, Unix ms; 0: no word yet).
    pub standing_as_of_ms: i64,
    /// The item's state: `reserved`, `confirmed`, `cancelled`, or empty when nothing was
    /// reserved.
    pub state: String,
    /// Uses counted after this step, and allowed.
    pub uses: u32,
    /// Uses allowed: 1 (一批一证) or up to 12 (非一批一证).
    pub max_uses: u32,
    /// Quantity counted (reserved and confirmed) after this step.
    pub used_quantity: String,
    /// Quantity left within the licence's quantity and overfill tolerance.
    pub remaining_quantity: String,
    /// Unit of the quantities: the licence's, a code of the units list (`t`, `kg`, …).
    #[serde(default)]
    pub unit: String,
}

/// One declaration item in a licence's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageLine {
    /// 报关单号.
    pub declaration_no: String,
    /// 项号.
    pub item: u32,
    /// 关区.
    pub district: String,
    /// `reserved`, `confirmed` or `cancelled`.
    pub state: String,
    /// Its quantity now.
    pub quantity: String,
    /// Its last step, Unix ms.
    pub at_ms: i64,
}

/// A licence's usage at customs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageView {
    /// 许可证号.
    pub licence_no: String,
    /// Uses counted (reserved or confirmed items).
    pub uses: u32,
    /// Uses allowed.
    pub max_uses: u32,
    /// The licence's quantity.
    pub quantity: String,
    /// Quantity counted.
    pub used_quantity: String,
    /// Quantity left within the overfill tolerance.
    pub remaining_quantity: String,
    /// Each item.
    pub lines: Vec<UsageLine>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &ed25519_dalek::SigningKey) -> UsageEntry {
        UsageEntry {
            customs_key: key.verifying_key().to_bytes(),
            district: "2200".into(),
            seq: 1,
            licence_no: "26AA000001".into(),
            declaration_no: "220020261000000001".into(),
            item: 1,
            step: Step::Reserve,
            quantity: "120.5".into(),
            at_ms: 1_764_000_000_000,
        }
    }

    #[test]
    fn entries_round_trip_and_verify_only_under_their_customs_key() {
        let k = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let other = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let e = entry(&k);
        let signed = e.sign(&k);
        assert_eq!(
            UsageEntry::verify(&signed, &k.verifying_key().to_bytes()).unwrap(),
            e
        );
        assert!(UsageEntry::verify(&signed, &other.verifying_key().to_bytes()).is_err());
        for bad in [
            UsageEntry {
                declaration_no: "1234".into(),
                ..e.clone()
            },
            UsageEntry {
                quantity: "1e5".into(),
                ..e.clone()
            },
            UsageEntry {
                item: 0,
                ..e.clone()
            },
            UsageEntry { seq: 0, ..e },
        ] {
            assert!(UsageEntry::decode(&bad.encode()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quantities_are_plain_decimals() {
        for ok in ["0", "12", "12.5", "0.000001"] {
            assert!(valid_quantity(ok), "{ok}");
        }
        for bad in ["", ".5", "5.", "-1", "1,000", "1.0000001", "1e3"] {
            assert!(!valid_quantity(bad), "{bad}");
        }
    }
}
