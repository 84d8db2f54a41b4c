//! An e-licence for its reader, on both nodes: the paper form on the page and as a PDF,
//! the offline verification result, its standing and usage, and the QR code that carries
//! what a verifier needs.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use exlic_client::certificate::Trust;
use exlic_client::licence::Licence;
use serde_json::{Value, json};

/// Verifies `file` offline against `trust`: the result for display (the signing office
/// and key id, or why it failed as a code `lic.fail.…` names) and the licence, if it could
/// be read at all.
pub fn check(file: &[u8], trust: &Trust) -> (Value, Option<Licence>) {
    use exlic_client::licence::LicenceError;
    match Licence::verify(file, trust) {
        Ok(l) => (
            json!({"ok": true, "office": l.agency[1], "key_id": hex::encode(l.key_id)}),
            Some(l),
        ),
        Err(e) => {
            let peek = exlic_client::signed::peek(file)
                .ok()
                .and_then(|p| Licence::decode(p).ok());
            let code = match e {
                LicenceError::Malformed(_) => "malformed",
                LicenceError::UnknownKey => "unknown_key",
                LicenceError::Tampered => "tampered",
                LicenceError::RetiredKey => "retired_key",
                _ => "malformed",
            };
            (
                json!({"ok": false, "code": code, "detail": e.to_string()}),
                peek,
            )
        }
    }
}

/// The QR code: the whole signed licence when it fits (then a phone verifies it with the
/// authority's public key alone), else its number and SHA-256 to check a copy against.
pub fn qr_code(l: &Licence, file: &[u8]) -> Option<qrcode::QrCode> {
    use exlic_client::licence_qr::{full_text, ref_text};
    let (full, short) = (full_text(file), ref_text(l, file));
    qrcode::QrCode::with_error_correction_level(full.as_bytes(), qrcode::EcLevel::L)
        .or_else(|_| qrcode::QrCode::new(short.as_bytes()))
        .ok()
}

/// [`qr_code`] as SVG for the page.
pub fn qr_svg(l: &Licence, file: &[u8]) -> String {
    qr_code(l, file).map_or_else(String::new, |c| {
        c.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(160, 160)
            .build()
    })
}

/// The paper form of `l` for a page in `p`'s language.
pub fn form(p: &super::Page, l: &Licence) -> super::licence_form::Form {
    super::licence_form::form(l, p.language() == super::Lang::En, &|k| p.t(k))
}

/// [`pdf`] off the async threads (the first one reads the font).
pub async fn pdf_response(p: super::Page, file: Vec<u8>, standing: Value) -> Response {
    tokio::task::spawn_blocking(move || pdf(&p, &file, &standing))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "licence PDF task");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
}

/// The licence `file` as a one-page A4 PDF drawn by this node: the paper form, its
/// standing as this node knows it (`standing`, from [`standing`]) and the QR code.
pub fn pdf(p: &super::Page, file: &[u8], standing: &Value) -> Response {
    let Some(l) = exlic_client::signed::peek(file)
        .ok()
        .and_then(|b| Licence::decode(b).ok())
    else {
        return p.error(StatusCode::UNPROCESSABLE_ENTITY, p.t("verify.unreadable"));
    };
    let code = standing["code"].as_str().unwrap_or("valid");
    let key = format!("lic.standing.{code}");
    let detail = match standing["as_of"].as_str() {
        Some(a) => format!("{} {a}", p.t("standing.as_of")),
        None => p.t("standing.unknown"),
    };
    let qr = qr_code(&l, file).map(|c| super::licence_pdf::QrModules::from(&c));
    let extras = super::licence_pdf::Extras {
        qr: qr.as_ref(),
        standing: super::licence_pdf::StandingLine {
            ok: standing["ok"].as_bool().unwrap_or(false),
            words: (
                super::text(super::Lang::Zh, &key),
                super::text(super::Lang::En, &key),
            ),
            detail,
        },
        footer: p.t("lic.qr_hint"),
    };
    match super::licence_pdf::render(&form(p, &l), &extras, &l.licence_no) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.pdf\"", l.licence_no),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "licence PDF");
            p.error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{}: {e}", p.t("lic.pdf_unavailable")),
            )
        }
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
