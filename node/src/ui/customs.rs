//! The customs officer's screens (海关): sign-in, the check of a declaration against a
//! licence (paste or upload the e-licence, or name one this node holds) with every reason,
//! 预核扣 / 实核注 / cancel / amendment, and each licence's usage ledger. A status line says
//! how old the standing is that the checks use, and whether the office is reachable.
//!
//! Rules stay in [`Customs`](crate::customs::Customs); the handlers parse forms and render.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::customs::log_head::LogView;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use exlic_client::usage::{CheckOutcome, DeclarationInput, UsageView};
use serde_json::{Value, json};

use super::{Csrf, Guard, Lang, NavItem, Page, flash_from, licence_view, qr_scan, see_other, when};
use crate::api::customs::{
    CustomsState, SESSION_COOKIE, audit, parse_step, run, session_of, step_action,
};

/// The officer UI's routes.
pub fn router(state: CustomsState) -> Router {
    Router::new()
        .route("/", get(check_page).post(check_post))
        .route("/login", get(login_page).post(login_post))
        .route("/logout", post(logout))
        .route("/declarations/{no}/{item}/{step}", post(step_post))
        .route("/licences", get(licences))
        .route("/audit", get(audit_page))
        .with_state(state)
}

const NAV: [(&str, &str); 3] = [
    ("/", "customs.nav.check"),
    ("/licences", "customs.nav.licences"),
    ("/audit", "nav.audit"),
];

type Ctx = (
    State<CustomsState>,
    Extension<Lang>,
    Extension<Csrf>,
    HeaderMap,
    Uri,
);

fn frame(lang: Lang, csrf: &Csrf, uri: &Uri, officer: Option<&(String, String)>) -> Page {
    let path = uri.path();
    let mut p = Page::new(lang, csrf, path, "brand.customs");
    if let Some((login, name)) = officer {
        p.nav = NAV
            .iter()
            .map(|(href, label)| NavItem {
                href,
                label,
                current: if *href == "/" {
                    path == "/"
                } else {
                    path.starts_with(href)
                },
            })
            .collect();
        p.staff = Some(json!({"login": login, "name": name, "role": "officer"}));
    }
    if let Some(q) = uri.query() {
        let q: HashMap<String, String> = serde_urlencoded::from_str(q).unwrap_or_default();
        p.flash = flash_from(&q);
        p.flash_arg = q.get("arg").cloned();
    }
    p
}

#[allow(clippy::result_large_err)] // the error is the response to send, once per request
fn signed_in(ctx: &Ctx) -> Result<(Page, String), Response> {
    let (State(s), Extension(lang), Extension(csrf), headers, uri) = ctx;
    match session_of(s, headers) {
        Some(o) => Ok((frame(*lang, csrf, uri, Some(&o)), o.0)),
        None => Err(see_other("/login")),
    }
}

fn failed(p: &Page, f: crate::api::error::Failure) -> Response {
    let (status, body) = f.parts();
    let field = body
        .field
        .as_deref()
        .map(|f| format!("{}: ", p.t(&format!("customs.field.{f}"))))
        .unwrap_or_default();
    p.error(status, format!("{field}{}", body.message))
}

/// The status line: the district, each office link, and the standing's age.
async fn status(p: &Page, s: &CustomsState) -> Value {
    let online: Vec<bool> = s
        .sync
        .iter()
        .map(|st| st.lock().unwrap_or_else(|e| e.into_inner()).online)
        .collect();
    let c = s.customs.clone();
    let facts = tokio::task::spawn_blocking(move || {
        Some((c.links().ok()?, c.standing_count().ok()?, c.now_ms()))
    })
    .await
    .ok()
    .flatten();
    let c = &s.customs;
    let en = p.language() == Lang::En;
    let district = c.district();
    let name = match super::forms::code_name(&c.reference().data().customs_districts, district, en)
    {
        n if n == district => c.district_name().to_owned(),
        n => n,
    };
    let behind = c.clock_behind_ms().map(|b| licence_view::age(p, b));
    let home_online = online.first().copied().unwrap_or(false);
    let Some((links, count, now)) = facts else {
        return json!({"online": home_online});
    };
    let as_of = links.standing_as_of();
    let stale = |at: Option<i64>| at.is_none_or(|a| now - a > 3_600_000);
    let alarm = |log: &LogView| {
        log.alarm
            .map(|(held, shown, at)| json!({"held": held, "shown": shown, "at": when(at)}))
    };
    let mut views: Vec<Value> = links
        .offices
        .iter()
        .enumerate()
        .map(|(i, o)| {
            json!({
                "code": o.agency_code,
                "online": online.get(i).copied().unwrap_or(false),
                "as_of": o.standing_as_of.map(when),
                "age": o.standing_as_of.map(|a| licence_view::age(p, now - a)),
                "stale": stale(o.standing_as_of),
                "unreported": links.ledger - o.acked,
                "log_size": o.log.head.map(|(h, _)| h.size),
                "log_alarm": alarm(&o.log),
            })
        })
        .collect();
    let home = views.remove(0);
    json!({
        "online": home_online,
        "home": home["code"],
        "district": district,
        "district_name": name,
        "clock_behind": behind,
        "as_of": as_of.map(when),
        "age": as_of.map(|a| licence_view::age(p, now - a)),
        "stale": stale(as_of),
        "standings": count,
        "unreported": links.ledger - links.reported(),
        "log_size": home["log_size"],
        "log_alarm": home["log_alarm"],
        "offices": views,
    })
}

async fn login_page(ctx: Ctx) -> Response {
    let (_, Extension(lang), Extension(csrf), _, uri) = &ctx;
    frame(*lang, csrf, uri, None).render("login.html", json!({}))
}

async fn login_post(
    Extension(g): Extension<std::sync::Arc<Guard>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    body: Bytes,
) -> Response {
    let (State(s), Extension(lang), Extension(csrf), _, uri) = &ctx;
    let p = frame(*lang, csrf, uri, None);
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let login = f.get("login").cloned().unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let outcome =
        crate::api::customs::sign_in(s, login.clone(), password, peer.ip().to_string()).await;
    super::sign_in_answer(&p, outcome, SESSION_COOKIE, g.secure(), login)
}

async fn logout(Extension(g): Extension<std::sync::Arc<Guard>>, ctx: Ctx) -> Response {
    let (State(s), _, _, headers, _) = &ctx;
    if let Some(t) = crate::api::extract::cookie(headers, SESSION_COOKIE) {
        crate::api::customs::end_session(s, t.to_owned()).await;
    }
    super::signed_out(SESSION_COOKIE, g.secure())
}

/// An outcome for the page: reasons in the page's language (the catalogue's words by
/// code; the specifics in English), states and standing by name.
fn outcome_view(
    p: &Page,
    s: &CustomsState,
    o: &CheckOutcome,
    declaration_no: &str,
    item: u32,
) -> Value {
    let zh = p.language() == Lang::Zh;
    let unit = super::forms::code_name(&s.customs.reference().data().units, &o.unit, !zh);
    let reasons: Vec<Value> = o
        .reasons
        .iter()
        .map(|r| {
            json!({
                "code": r.code,
                "text": if zh { p.t(&format!("customs.reason.{}", r.code)) } else { r.message.clone() },
                "detail": r.message,
            })
        })
        .collect();
    json!({
        "passed": o.passed,
        "reasons": reasons,
        "licence_no": o.licence_no,
        "standing": o.standing,
        "standing_as_of": (o.standing_as_of_ms > 0).then(|| when(o.standing_as_of_ms)),
        "state": o.state,
        "uses": o.uses,
        "max_uses": o.max_uses,
        "used_quantity": o.used_quantity,
        "remaining_quantity": o.remaining_quantity,
        "unit": unit,
        "declaration_no": declaration_no,
        "item": item,
    })
}

async fn check_page(ctx: Ctx) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let st = status(&p, &ctx.0.0).await;
    p.render(
        "customs/check.html",
        json!({"status": st, "form": {"item": "1"}}),
    )
}

/// The declaration form: text fields, and the uploads (`file`, the e-licence; `qr`, a photo
/// or screenshot of its QR code).
type Uploads = HashMap<String, Vec<u8>>;

async fn read_form(mut mp: Multipart) -> Result<(HashMap<String, String>, Uploads), String> {
    let mut fields = HashMap::new();
    let mut files = HashMap::new();
    while let Some(f) = mp.next_field().await.map_err(|e| e.to_string())? {
        let name = f.name().unwrap_or_default().to_owned();
        if name == "file" || name == "qr" {
            files.insert(name, f.bytes().await.map_err(|e| e.to_string())?.to_vec());
        } else {
            fields.insert(name, f.text().await.map_err(|e| e.to_string())?);
        }
    }
    Ok((fields, files))
}

async fn check_post(ctx: Ctx, mp: Multipart) -> Response {
    let (p, who) = match signed_in(&ctx) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let (f, files) = match read_form(mp).await {
        Ok(v) => v,
        Err(e) => return p.error(StatusCode::BAD_REQUEST, e),
    };
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let pasted = get("licence");
    let form = json!({
        "declaration_no": get("declaration_no"), "item": get("item"), "licence": pasted,
        "licence_no": get("licence_no"), "exporter": get("exporter"),
        "commodity_code": get("commodity_code"), "quantity": get("quantity"),
    });
    let upload = |k: &str| files.get(k).filter(|b| !b.is_empty()).cloned();
    let scanned = match upload("qr") {
        Some(img) => match tokio::task::spawn_blocking(move || qr_scan::read(&img)).await {
            Ok(Ok(text)) => Some(text),
            Ok(Err(e)) => {
                let st = status(&p, s).await;
                let error = json!({"field": "qr", "message": p.t(e.message_key())});
                return p.render_status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "customs/check.html",
                    json!({"status": st, "form": form, "error": error}),
                );
            }
            Err(e) => return p.error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        None => None,
    };
    let licence = match (upload("file"), scanned) {
        (Some(file), _) => hex::encode(file),
        (None, Some(text)) => text,
        (None, None) => pasted,
    };
    let item: u32 = get("item").parse().unwrap_or(0);
    let input = DeclarationInput {
        declaration_no: get("declaration_no"),
        item,
        licence,
        licence_no: get("licence_no"),
        exporter: get("exporter"),
        commodity_code: get("commodity_code"),
        quantity: get("quantity"),
        check_only: get("action") == "check",
    };
    let decl = input.declaration_no.clone();
    let detail = format!("{}/{} {}", input.declaration_no, item, input.quantity);
    let r = run(s, move |c| c.declare(&input)).await;
    let st = status(&p, s).await;
    match r {
        Ok(o) => {
            if o.passed && !o.state.is_empty() {
                audit(
                    s,
                    who,
                    "declaration.reserve",
                    format!("{detail} {}", o.licence_no),
                )
                .await;
            }
            let code = if o.passed {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            p.render_status(
                code,
                "customs/check.html",
                json!({"status": st, "form": form, "outcome": outcome_view(&p, s, &o, &decl, item)}),
            )
        }
        Err(f) => {
            let (code, body) = f.parts();
            let field = body.field.clone().unwrap_or_default();
            p.render_status(
                code,
                "customs/check.html",
                json!({"status": st, "form": form, "error": {"field": field, "message": body.message}}),
            )
        }
    }
}

async fn step_post(
    ctx: Ctx,
    Path((no, item, step)): Path<(String, u32, String)>,
    body: Bytes,
) -> Response {
    let (p, who) = match signed_in(&ctx) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let st = match parse_step(&step) {
        Ok(v) => v,
        Err(f) => return failed(&p, f),
    };
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let quantity = f.get("quantity").cloned().unwrap_or_default();
    let (n, q) = (no.clone(), quantity.clone());
    match run(s, move |c| c.step(&n, item, st, &q)).await {
        Ok(o) => {
            audit(
                s,
                who,
                step_action(st),
                format!("{no}/{item} {quantity} {}", o.licence_no),
            )
            .await;
            see_other(&format!(
                "/licences?no={}&msg=customs.done.{step}",
                o.licence_no
            ))
        }
        Err(f) => failed(&p, f),
    }
}

async fn licences(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let no = q.get("no").map(|v| v.trim().to_owned()).unwrap_or_default();
    let n = no.clone();
    let found = run(s, move |c| {
        let all = c.licences()?;
        let usage = if n.is_empty() { None } else { c.usage_of(&n)? };
        Ok((all, usage))
    })
    .await;
    let (all, usage) = match found {
        Ok(v) => v,
        Err(f) => return failed(&p, f),
    };
    let en = p.language() == Lang::En;
    use super::licence_form::{commodity_name, date};
    let rows: Vec<Value> = all
        .iter()
        .filter(|l| no.is_empty() || l.licence_no.contains(no.as_str()))
        .map(|l| {
            json!({
                "licence_no": l.licence_no,
                "commodity": commodity_name(l, en),
                "exporter": l.exporter[0],
                "expiry": date(&l.expiry),
                "max_uses": l.max_uses,
            })
        })
        .collect();
    let ledger = usage.map(|(l, v): (exlic_client::licence::Licence, UsageView)| {
        let unit = l.lines.first().map(|x| x.unit.clone()).unwrap_or_default();
        json!({
            "licence_no": v.licence_no,
            "commodity": commodity_name(&l, en),
            "unit": super::forms::code_name(&s.customs.reference().data().units, &unit, en),
            "uses": v.uses, "max_uses": v.max_uses, "quantity": v.quantity,
            "used_quantity": v.used_quantity, "remaining_quantity": v.remaining_quantity,
            "lines": v.lines.iter().map(|x| json!({
                "declaration_no": x.declaration_no, "item": x.item, "district": x.district,
                "state": x.state, "quantity": x.quantity, "at": when(x.at_ms),
            })).collect::<Vec<_>>(),
        })
    });
    let st = status(&p, s).await;
    p.render(
        "customs/licences.html",
        json!({"status": st, "no": no, "licences": rows, "ledger": ledger}),
    )
}

async fn audit_page(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    use crate::store::audit::CUSTOMS;
    let (p, _) = match signed_in(&ctx) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (page, filter) = match super::audit_request(&p, &q, CUSTOMS) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let offset = (page - 1) * super::PER_PAGE;
    match run(&ctx.0.0, move |c| {
        Ok(c.staff.audit_page(&filter, offset, super::PER_PAGE)?)
    })
    .await
    {
        Ok((entries, total)) => {
            super::audit_view(&p, &q, CUSTOMS, (&entries, total), |_| None, None)
        }
        Err(f) => failed(&p, f),
    }
}
