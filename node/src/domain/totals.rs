//! Boxes 16–18: amounts per goods row, in the form's currency and in US dollars, and totals.

use std::str::FromStr;

use exlic_client::application::{ApplicationForm, Totals};
use rust_decimal::{Decimal, RoundingStrategy};

use super::reference::Reference;

/// Parses a decimal as entered: digits with at most one point, no sign, no exponent.
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if s.is_empty()
        || s.len() > 24
        || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || s.bytes().filter(|b| *b == b'.').count() > 1
        || s.starts_with('.')
        || s.ends_with('.')
    {
        return None;
    }
    Decimal::from_str(s).ok()
}

fn money(d: Decimal) -> String {
    let r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    format!("{r:.2}")
}

/// Computes every amount that can be computed; rows with bad numbers give empty strings.
pub fn compute(form: &ApplicationForm, reference: &Reference) -> Totals {
    let rate = reference.usd_rate(&form.currency);
    let mut t = Totals::default();
    let mut total = Some(Decimal::ZERO);
    let mut total_usd = Some(Decimal::ZERO);
    let mut qty_sum = Some(Decimal::ZERO);
    for line in &form.goods {
        let q = parse_decimal(&line.quantity);
        let p = parse_decimal(&line.unit_price);
        qty_sum = qty_sum.zip(q).and_then(|(a, b)| a.checked_add(b));
        let amount = q
            .zip(p)
            .and_then(|(q, p)| q.checked_mul(p))
            .map(|a| a.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero));
        let usd = amount
            .zip(rate)
            .and_then(|(a, r)| a.checked_mul(r))
            .map(|a| a.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero));
        total = total.zip(amount).and_then(|(a, b)| a.checked_add(b));
        total_usd = total_usd.zip(usd).and_then(|(a, b)| a.checked_add(b));
        t.line_amounts.push(amount.map(money).unwrap_or_default());
        t.line_amounts_usd.push(usd.map(money).unwrap_or_default());
    }
    if !form.goods.is_empty() {
        t.total = total.map(money).unwrap_or_default();
        t.total_usd = total_usd.map(money).unwrap_or_default();
        t.total_quantity = qty_sum
            .map(|q| q.normalize().to_string())
            .unwrap_or_default();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use exlic_client::application::GoodsLine;

    #[test]
    fn rows_and_totals_are_rounded_half_away_from_zero() {
        let r = Reference::embedded();
        let form = ApplicationForm {
            currency: "EUR".into(),
            goods: vec![
                GoodsLine {
                    quantity: "3".into(),
                    unit_price: "0.335".into(),
                    ..Default::default()
                },
                GoodsLine {
                    quantity: "1.5".into(),
                    unit_price: "100".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let t = compute(&form, &r);
        assert_eq!(t.line_amounts, ["1.01", "150.00"]);
        // 1.01 * 1.085 = 1.09585 -> 1.10; 150 * 1.085 = 162.75
        assert_eq!(t.line_amounts_usd, ["1.10", "162.75"]);
        assert_eq!(t.total, "151.01");
        assert_eq!(t.total_usd, "163.85");
        assert_eq!(t.total_quantity, "4.5");
    }

    #[test]
    fn bad_numbers_leave_blanks() {
        let r = Reference::embedded();
        let form = ApplicationForm {
            currency: "XXX".into(),
            goods: vec![GoodsLine {
                quantity: "abc".into(),
                unit_price: "1".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let t = compute(&form, &r);
        assert_eq!(t.line_amounts, [""]);
        assert_eq!(t.total, "");
    }

    #[test]
    fn decimal_syntax_is_strict() {
        for bad in ["", "-1", "1e3", "1.2.3", ".5", "5.", " ", "+1", "1,000"] {
            assert!(parse_decimal(bad).is_none(), "{bad:?}");
        }
        assert_eq!(parse_decimal("0023.50"), Some(Decimal::new(2350, 2)));
    }
}
