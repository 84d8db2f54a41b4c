//! Customs' decisions on a declaration (domain.md §3.3, §9.2): whether a licence may be
//! used for a declaration item (一证一关, exporter, commodity, validity, standing, uses,
//! quantity with the overfill tolerance), and how an item's steps — 预核扣 (reserve),
//! 实核注 (confirm), cancel, adjust — move the licence's usage.
//!
//! Uses and quantity count every item reserved or confirmed; a cancelled item counts for
//! neither. Each step is keyed by declaration number and item, so a repeated step is
//! answered with the state it already made and counts nothing twice.

use std::str::FromStr;

use exlic_client::licence::Licence;
use exlic_client::standing::State;
use exlic_client::usage::Reason;
use rust_decimal::Decimal;

/// What a declaration item says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The exporter's USCC or customs code.
    pub exporter: String,
    /// 商品编码.
    pub commodity_code: String,
    /// The quantity declared.
    pub quantity: Decimal,
}

/// A licence's usage at this district: what counts against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counted {
    /// Items reserved or confirmed.
    pub uses: u32,
    /// Their quantity.
    pub quantity: Decimal,
}

/// An item's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemState {
    /// 预核扣: reserved at the check.
    Reserved,
    /// 实核注: released.
    Confirmed,
    /// Withdrawn before release.
    Cancelled,
}

impl ItemState {
    /// The API code.
    pub fn code(self) -> &'static str {
        match self {
            ItemState::Reserved => "reserved",
            ItemState::Confirmed => "confirmed",
            ItemState::Cancelled => "cancelled",
        }
    }

    /// The storage tag.
    pub fn tag(self) -> u8 {
        match self {
            ItemState::Reserved => 1,
            ItemState::Confirmed => 2,
            ItemState::Cancelled => 3,
        }
    }

    /// From its storage tag.
    pub fn from_tag(t: u8) -> Option<Self> {
        match t {
            1 => Some(ItemState::Reserved),
            2 => Some(ItemState::Confirmed),
            3 => Some(ItemState::Cancelled),
            _ => None,
        }
    }

    /// Whether an item in this state counts against the licence.
    pub fn counts(self) -> bool {
        !matches!(self, ItemState::Cancelled)
    }
}

/// One declaration item against a licence, as customs holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// 许可证号.
    pub licence_no: String,
    /// Where it stands.
    pub state: ItemState,
    /// Its quantity now.
    pub quantity: Decimal,
    /// Its last step, Unix ms.
    pub at_ms: i64,
}

/// The licence's quantity: the sum of its goods rows.
pub fn licence_quantity(licence: &Licence) -> Decimal {
    licence
        .lines
        .iter()
        .filter_map(|l| Decimal::from_str(&l.quantity).ok())
        .sum()
}

/// The most that may be counted against `licence` with `overfill_percent` of tolerance.
pub fn ceiling(licence: &Licence, overfill_percent: u8) -> Decimal {
    let q = licence_quantity(licence);
    q + q * Decimal::from(overfill_percent) / Decimal::from(100)
}

/// Uses allowed: 1 for 一批一证, the licence's own count (at most 12) for 非一批一证.
pub fn max_uses(licence: &Licence) -> u32 {
    u32::from(licence.max_uses.clamp(1, 12))
}

fn reason(code: &str, field: &str, message: String) -> Reason {
    Reason {
        code: code.into(),
        field: field.into(),
        message,
    }
}

/// Everything the check knows besides the declaration.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The licence, its signature already verified.
    pub licence: &'a Licence,
    /// Its standing as judged from the office's last word and customs' own date.
    pub standing: State,
    /// This customs node's district.
    pub district: &'a str,
    /// Today by customs' clock, `YYYYMMDD`.
    pub today: &'a str,
    /// What already counts against the licence.
    pub counted: Counted,
    /// The catalogue's overfill tolerance for its commodity, percent.
    pub overfill_percent: u8,
}

/// Every reason `declared` may not use the licence; empty when it may.
pub fn check(f: &Facts<'_>, declared: &Declared) -> Vec<Reason> {
    let l = f.licence;
    let mut out = Vec::new();
    match f.standing {
        State::Valid => {}
        State::Expired => out.push(reason(
            "expired",
            "licence",
            format!(
                "the licence expired on {} (customs date {})",
                l.expiry, f.today
            ),
        )),
        s => out.push(reason(
            "standing",
            "licence",
            format!("the licence is {} ({})", s.code(), s.zh()),
        )),
    }
    if l.issue_date.as_str() > f.today {
        out.push(reason(
            "not_yet_valid",
            "licence",
            format!("the licence is valid from {}", l.issue_date),
        ));
    }
    if l.customs_district != f.district {
        out.push(reason(
            "district",
            "licence",
            format!(
                "一证一关: the licence is for customs district {}, this is {}",
                l.customs_district, f.district
            ),
        ));
    }
    let who = declared.exporter.trim();
    if who.is_empty()
        || ![&l.exporter[1], &l.exporter[2]]
            .iter()
            .any(|c| c.as_str() == who)
    {
        out.push(reason(
            "exporter",
            "exporter",
            format!("{who:?} is not the licence's exporter ({})", l.exporter[2]),
        ));
    }
    if declared.commodity_code.trim() != l.commodity[0] {
        out.push(reason(
            "commodity",
            "commodity_code",
            format!(
                "{:?} is not the licence's commodity code ({})",
                declared.commodity_code, l.commodity[0]
            ),
        ));
    }
    let max = max_uses(l);
    if f.counted.uses >= max {
        out.push(reason(
            "uses",
            "licence",
            format!(
                "the licence allows {max} declaration(s) and all are used{}",
                if max > 1 {
                    " (非一批一证)"
                } else {
                    " (一批一证)"
                }
            ),
        ));
    }
    if declared.quantity <= Decimal::ZERO {
        out.push(reason("input", "quantity", "must be more than 0".into()));
    } else {
        let room = ceiling(l, f.overfill_percent) - f.counted.quantity;
        if declared.quantity > room {
            out.push(reason(
                "quantity",
                "quantity",
                format!(
                    "{} is more than the {} left (licence {} with {}% overfill, {} counted)",
                    declared.quantity.normalize(),
                    room.max(Decimal::ZERO).normalize(),
                    licence_quantity(l).normalize(),
                    f.overfill_percent,
                    f.counted.quantity.normalize()
                ),
            ));
        }
    }
    out
}

/// Why a later step of an item is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The step does not apply in the item's state.
    #[error("the item is {}: it cannot be {what}", .state.code())]
    WrongState {
        /// Where the item stands.
        state: ItemState,
        /// The step tried.
        what: &'static str,
    },
    /// The new quantity does not fit.
    #[error("{quantity} is more than the {room} the licence allows for this item")]
    Quantity {
        /// What was asked.
        quantity: Decimal,
        /// What fits.
        room: Decimal,
    },
    /// A quantity of zero or less.
    #[error("must be more than 0")]
    NotPositive,
}

/// 实核注 with `quantity` (the released quantity): `Ok(true)` when it changes the item,
/// `Ok(false)` when the item is already confirmed with it (a retry).
pub fn confirm(item: &Item, quantity: Decimal, room_besides: Decimal) -> Result<bool, StepError> {
    match item.state {
        ItemState::Confirmed if item.quantity == quantity => Ok(false),
        ItemState::Reserved => fits(quantity, room_besides).map(|()| true),
        state => Err(StepError::WrongState {
            state,
            what: "confirmed",
        }),
    }
}

/// Cancel: `Ok(true)` when it releases the item, `Ok(false)` when already cancelled.
pub fn cancel(item: &Item) -> Result<bool, StepError> {
    match item.state {
        ItemState::Reserved => Ok(true),
        ItemState::Cancelled => Ok(false),
        state => Err(StepError::WrongState {
            state,
            what: "cancelled (amend it instead)",
        }),
    }
}

/// A post-clearance amendment to `quantity`: `Ok(true)` when it changes the item.
pub fn adjust(item: &Item, quantity: Decimal, room_besides: Decimal) -> Result<bool, StepError> {
    match item.state {
        ItemState::Confirmed if item.quantity == quantity => Ok(false),
        ItemState::Confirmed => fits(quantity, room_besides).map(|()| true),
        state => Err(StepError::WrongState {
            state,
            what: "amended (only a released item is)",
        }),
    }
}

fn fits(quantity: Decimal, room: Decimal) -> Result<(), StepError> {
    if quantity <= Decimal::ZERO {
        return Err(StepError::NotPositive);
    }
    if quantity > room {
        return Err(StepError::Quantity { quantity, room });
    }
    Ok(())
}

/// What is left for an item besides what it counts itself: the ceiling less what every
/// other counted item holds.
pub fn room_besides(ceiling: Decimal, counted: Counted, item: &Item) -> Decimal {
    let own = if item.state.counts() {
        item.quantity
    } else {
        Decimal::ZERO
    };
    ceiling - (counted.quantity - own)
}

/// A licence's usage for people and programs: every item (declaration number, item,
/// district, the item) and what is left.
pub fn view(
    l: &Licence,
    items: &[(String, u32, String, Item)],
    overfill_percent: u8,
) -> exlic_client::usage::UsageView {
    let mut counted = Counted::default();
    for (_, _, _, it) in items {
        if it.state.counts() {
            counted.uses += 1;
            counted.quantity += it.quantity;
        }
    }
    let left = (ceiling(l, overfill_percent) - counted.quantity).max(Decimal::ZERO);
    exlic_client::usage::UsageView {
        licence_no: l.licence_no.clone(),
        uses: counted.uses,
        max_uses: max_uses(l),
        quantity: licence_quantity(l).normalize().to_string(),
        used_quantity: counted.quantity.normalize().to_string(),
        remaining_quantity: left.normalize().to_string(),
        lines: items
            .iter()
            .map(|(d, i, district, it)| exlic_client::usage::UsageLine {
                declaration_no: d.clone(),
                item: *i,
                district: district.clone(),
                state: it.state.code().into(),
                quantity: it.quantity.normalize().to_string(),
                at_ms: it.at_ms,
            })
            .collect(),
    }
}

/// Whether the office should call the licence used up: every use released, or its whole
/// quantity released (reserved items do not count: they may still be cancelled).
pub fn used_up(l: &Licence, items: &[(String, u32, String, Item)]) -> bool {
    let released: Vec<&Item> = items
        .iter()
        .map(|(_, _, _, it)| it)
        .filter(|it| it.state == ItemState::Confirmed)
        .collect();
    let q: Decimal = released.iter().map(|it| it.quantity).sum();
    released.len() as u32 >= max_uses(l) || q >= licence_quantity(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn licence(max_uses: u8, quantity: &str) -> Licence {
        let mut l = exlic_client::sample::licence();
        l.max_uses = max_uses;
        l.lines.truncate(1);
        l.lines[0].quantity = quantity.into();
        l
    }

    fn facts<'a>(l: &'a Licence, counted: Counted) -> Facts<'a> {
        Facts {
            licence: l,
            standing: State::Valid,
            district: Box::leak(l.customs_district.clone().into_boxed_str()),
            today: "20261201",
            counted,
            overfill_percent: 5,
        }
    }

    fn declared(l: &Licence, q: &str) -> Declared {
        Declared {
            exporter: l.exporter[2].clone(),
            commodity_code: l.commodity[0].clone(),
            quantity: Decimal::from_str(q).unwrap(),
        }
    }

    fn codes(r: &[Reason]) -> Vec<&str> {
        r.iter().map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn a_matching_declaration_within_quantity_and_uses_passes() {
        let l = licence(12, "100");
        assert!(check(&facts(&l, Counted::default()), &declared(&l, "100")).is_empty());
        // 5% overfill: 105 fits, 105.001 does not.
        assert!(check(&facts(&l, Counted::default()), &declared(&l, "105")).is_empty());
        assert_eq!(
            codes(&check(
                &facts(&l, Counted::default()),
                &declared(&l, "105.001")
            )),
            ["quantity"]
        );
    }

    #[test]
    fn uses_are_capped_even_with_quantity_left() {
        let one = licence(1, "100");
        let used = Counted {
            uses: 1,
            quantity: Decimal::from(10),
        };
        assert_eq!(
            codes(&check(&facts(&one, used), &declared(&one, "1"))),
            ["uses"]
        );
        let twelve = licence(12, "100");
        let eleven = Counted {
            uses: 11,
            quantity: Decimal::from(11),
        };
        assert!(check(&facts(&twelve, eleven), &declared(&twelve, "1")).is_empty());
        let all = Counted {
            uses: 12,
            quantity: Decimal::from(12),
        };
        assert_eq!(
            codes(&check(&facts(&twelve, all), &declared(&twelve, "1"))),
            ["uses"]
        );
    }

    #[test]
    fn every_mismatch_is_its_own_reason() {
        let l = licence(1, "100");
        let mut f = facts(&l, Counted::default());
        f.district = "0100";
        f.standing = State::Deleted;
        let d = Declared {
            exporter: "91110000600037341L".into(),
            commodity_code: "0000000000".into(),
            quantity: Decimal::ZERO,
        };
        assert_eq!(
            codes(&check(&f, &d)),
            ["standing", "district", "exporter", "commodity", "input"]
        );
        f.district = Box::leak(l.customs_district.clone().into_boxed_str());
        f.standing = State::Expired;
        assert_eq!(codes(&check(&f, &declared(&l, "1"))), ["expired"]);
        f.standing = State::Valid;
        f.today = "20261101";
        assert_eq!(codes(&check(&f, &declared(&l, "1"))), ["not_yet_valid"]);
    }

    #[test]
    fn steps_move_items_once_and_retries_change_nothing() {
        let item = |state, q: i64| Item {
            licence_no: "26AA000001".into(),
            state,
            quantity: Decimal::from(q),
            at_ms: 0,
        };
        let ten = Decimal::from(10);
        assert_eq!(confirm(&item(ItemState::Reserved, 10), ten, ten), Ok(true));
        assert_eq!(
            confirm(&item(ItemState::Confirmed, 10), ten, ten),
            Ok(false)
        );
        assert!(matches!(
            confirm(&item(ItemState::Reserved, 10), Decimal::from(11), ten),
            Err(StepError::Quantity { .. })
        ));
        assert!(confirm(&item(ItemState::Cancelled, 10), ten, ten).is_err());
        assert_eq!(cancel(&item(ItemState::Reserved, 10)), Ok(true));
        assert_eq!(cancel(&item(ItemState::Cancelled, 10)), Ok(false));
        assert!(cancel(&item(ItemState::Confirmed, 10)).is_err());
        assert_eq!(
            adjust(&item(ItemState::Confirmed, 10), Decimal::from(8), ten),
            Ok(true)
        );
        assert!(adjust(&item(ItemState::Reserved, 10), Decimal::from(8), ten).is_err());
        // The room of an item counts everything but itself.
        let counted = Counted {
            uses: 2,
            quantity: Decimal::from(30),
        };
        assert_eq!(
            room_besides(Decimal::from(100), counted, &item(ItemState::Confirmed, 10)),
            Decimal::from(80)
        );
    }
}
