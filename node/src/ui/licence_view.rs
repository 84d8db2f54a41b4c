//! An e-licence on screen, on both nodes: its numbered boxes (§2.1), the offline
//! verification result and the QR code that carries what a verifier needs.

use exlic_client::certificate::Trust;
use exlic_client::licence::Licence;
use serde_json::{Value, json};

/// Boxes 1–21 of the printed licence (the goods rows 12–17 are a table of their own).
pub fn boxes(l: &Licence, en: bool) -> Vec<Value> {
    let opts = super::forms::options(super::forms::EMBEDDED.data());
    let n = |list: &str, code: &str| super::forms::name_of(&opts, list, code, en);
    let b =
        |no: &str, label: &str, value: String| json!({"no": no, "label": label, "value": value});
    vec![
        b(
            "1",
            "lic.box.exporter",
            format!("{} · {} · {}", l.exporter[0], l.exporter[1], l.exporter[2]),
        ),
        b(
            "2",
            "lic.box.consignor",
            format!(
                "{} · {} · {}",
                l.consignor[0], l.consignor[1], l.consignor[2]
            ),
        ),
        b("3", "field.licence_no", l.licence_no.clone()),
        b("4", "lic.expiry", l.expiry.clone()),
        b("5", "field.trade_mode", n("trade_modes", &l.trade_mode)),
        b("6", "field.contract_no", l.contract_no.clone()),
        b(
            "7",
            "field.customs_district",
            n("customs_districts", &l.customs_district),
        ),
        b("8", "field.country", n("countries", &l.country)),
        b(
            "9",
            "field.payment_mode",
            n("payment_modes", &l.payment_mode),
        ),
        b(
            "10",
            "field.transport_mode",
            n("transport_modes", &l.transport_mode),
        ),
        b(
            "11",
            "field.commodity",
            format!("{} {}", l.commodity[0], l.commodity[1]),
        ),
        b("18", "form.total", {
            let cur = n("currencies", &l.currency);
            if l.currency == "USD" {
                format!("{} {cur}", l.total[0])
            } else if en {
                format!("{} {cur} (USD {})", l.total[0], l.total[1])
            } else {
                format!("{} {cur}（折美元 {}）", l.total[0], l.total[1])
            }
        }),
        b("19", "field.remarks", l.remarks.clone()),
        b(
            "20",
            "lic.box.agency",
            format!("{} ({})", l.agency[1], l.agency[0]),
        ),
        b("21", "lic.issue_date", l.issue_date.clone()),
        b("", "field.application_no", l.application_no.clone()),
        b("", "field.quota_year", l.quota_year.to_string()),
        b("", "lic.max_uses", l.max_uses.to_string()),
    ]
}

/// The goods rows as table cells (units by name).
pub fn goods(l: &Licence, en: bool) -> Vec<Vec<String>> {
    let opts = super::forms::options(super::forms::EMBEDDED.data());
    l.lines
        .iter()
        .map(|g| {
            vec![
                g.spec.clone(),
                super::forms::name_of(&opts, "units", &g.unit, en),
                g.quantity.clone(),
                g.unit_price.clone(),
                g.amount.clone(),
                g.amount_usd.clone(),
            ]
        })
        .collect()
}

/// Verifies `file` offline against `trust`: the result for display and the licence, if
/// it could be read at all.
pub fn check(file: &[u8], trust: &Trust) -> (Value, Option<Licence>) {
    match Licence::verify(file, trust) {
        Ok(l) => (
            json!({"ok": true, "detail": format!("{} · {}", l.agency[1], hex::encode(l.key_id))}),
            Some(l),
        ),
        Err(e) => {
            let peek = exlic_client::signed::peek(file)
                .ok()
                .and_then(|p| Licence::decode(p).ok());
            (json!({"ok": false, "detail": e.to_string()}), peek)
        }
    }
}

/// The QR code: the whole signed licence when it fits (then a phone verifies it with the
/// authority's public key alone), else its number and SHA-256 to check a copy against.
pub fn qr_svg(l: &Licence, file: &[u8]) -> String {
    use exlic_client::licence_qr::{full_text, ref_text};
    let (full, short) = (full_text(file), ref_text(l, file));
    let code = qrcode::QrCode::with_error_correction_level(full.as_bytes(), qrcode::EcLevel::L)
        .or_else(|_| qrcode::QrCode::new(short.as_bytes()));
    match code {
        Ok(c) => c
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(160, 160)
            .build(),
        Err(_) => String::new(),
    }
}

/// What a node knows of a licence's standing besides the licence itself.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The office's newest signed standing statement this node holds.
    pub statement: Option<Vec<u8>>,
    /// The standing this node recorded from the office's case (when no statement says).
    pub recorded: Option<exlic_client::standing::State>,
    /// Until when this node has heard everything the office said: its last sync (the
    /// office itself: now).
    pub heard_ms: Option<i64>,
    /// The node's clock.
    pub now_ms: i64,
    /// The licence's usage at customs, as this node knows it.
    pub usage: Option<exlic_client::usage::UsageView>,
    /// Uses the office flagged (报关单号, 项号, why: `deleted|since|district|at` or
    /// `written_off|…`); the office's own pages only.
    pub flags: Vec<(String, u32, String)>,
}

/// A licence's usage for its page: each declaration item with its state and date, what
/// is left, and the office's flags in words.
pub fn usage(p: &super::Page, ev: &Evidence) -> Option<Value> {
    let u = ev.usage.as_ref()?;
    let flags: Vec<Value> = ev
        .flags
        .iter()
        .map(|(d, i, why)| {
            let mut parts = why.split('|');
            let kind = parts.next().unwrap_or_default();
            let since = parts.next().and_then(|v| v.parse().ok()).map(super::when);
            let district = parts.next().unwrap_or_default();
            let at = parts.next().and_then(|v| v.parse().ok()).map(super::when);
            json!({
                "declaration_no": d, "item": i, "kind": p.t(&format!("usage.flag.{kind}")),
                "since": since, "district": district, "at": at,
            })
        })
        .collect();
    Some(json!({
        "uses": u.uses, "max_uses": u.max_uses, "quantity": u.quantity,
        "used_quantity": u.used_quantity, "remaining_quantity": u.remaining_quantity,
        "lines": u.lines.iter().map(|x| json!({
            "declaration_no": x.declaration_no, "item": x.item, "district": x.district,
            "state": x.state, "quantity": x.quantity, "at": super::when(x.at_ms),
        })).collect::<Vec<_>>(),
        "flags": flags,
    }))
}

/// "12 minutes" in the page's language.
pub fn age(p: &super::Page, ms: i64) -> String {
    let m = (ms / 60_000).max(0);
    let (n, unit) = if m < 60 {
        (m, "age.minutes")
    } else if m < 48 * 60 {
        (m / 60, "age.hours")
    } else {
        (m / 1440, "age.days")
    };
    format!("{n} {}", p.t(unit))
}

/// The standing a licence page shows: the verdict (`standing::judge` over the office's
/// statement, the recorded standing and the node's date), since when, and as of when with
/// its age. A statement that does not verify under `trust` counts as none, and says so.
pub fn standing(p: &super::Page, l: &Licence, ev: &Evidence, trust: Option<&Trust>) -> Value {
    use exlic_client::standing::{self, Standing, State};
    let (stmt, unverified) = match (&ev.statement, trust) {
        (Some(b), Some(t)) => match Standing::verify_trusted(b, t) {
            Ok(s) if s.licence_no == l.licence_no => (Some(s), false),
            _ => (None, true),
        },
        (Some(_), None) => (None, true),
        (None, _) => (None, false),
    };
    let today = crate::clock::china_date(ev.now_ms)
        .strftime("%Y%m%d")
        .to_string();
    let mut state = standing::judge(l, stmt.as_ref(), &today).unwrap_or(State::Valid);
    if state == State::Valid
        && let Some(r) = ev.recorded.filter(|r| *r != State::Valid)
    {
        state = r;
    }
    let as_of = match (stmt.as_ref().map(|s| s.as_of_ms), ev.heard_ms) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let since = stmt
        .as_ref()
        .filter(|s| s.state == state && state != State::Valid)
        .map(|s| super::when(s.since_ms));
    json!({
        "ok": state == State::Valid,
        "code": state.code(),
        "since": since,
        "as_of": as_of.map(super::when),
        "age": as_of.map(|a| age(p, ev.now_ms - a)),
        "signed": stmt.is_some(),
        "unverified": unverified,
    })
}

/// A licence's standing in a list: the recorded standing when it is not valid, else
/// expired past `expiry` (`YYYYMMDD` or `YYYY-MM-DD`) on `today` (`YYYYMMDD`), else valid.
pub fn listed_standing(
    recorded: Option<crate::domain::licence_request::Standing>,
    expiry: &str,
    today: &str,
) -> &'static str {
    use crate::domain::licence_request::Standing;
    match recorded {
        Some(s) if s != Standing::Valid => s.code(),
        _ if expiry.replace('-', "").as_str() < today => "expired",
        _ => "valid",
    }
}
