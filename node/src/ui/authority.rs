//! The issuing office's staff screens: sign-in, dashboard (counts and a per-day chart),
//! inboxes, the case view with the seal check and decisions, issued licences, enrolment
//! invites, certificates, the audit trail and the verification page.
//!
//! Every screen but sign-in needs a session; decisions need the stage's role (经办人 for
//! 初审, 处长 for 复审), invites the administrator's. Business rules stay in
//! [`Authority`](crate::authority::Authority).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use exlic_client::DocId;
use exlic_client::certificate::Trust;
use exlic_client::status::ApplicationStatus;
use serde_json::{Value, json};

use super::enterprise::{claimed_no, one_file, render_licence, verify_render};
use super::licence_view;
use super::{Csrf, Guard, Lang, NavItem, Page, flash_from, forms, see_other, when};
use crate::api::authority::{AuthorityState, SESSION_COOKIE, run, session_of, stage_role};
use crate::authority::staff::{LoginError, Role, Staff};
use crate::domain::review::Stage;

mod reference;

/// The staff UI's routes.
pub fn router(state: AuthorityState) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login_post))
        .route("/logout", post(logout))
        .route("/cases", get(inbox))
        .route("/cases/{id}", get(case))
        .route("/cases/{id}/decide", post(decide))
        .route("/cases/{id}/attachments/{sha}", get(attachment))
        .route("/licences", get(licences))
        .route("/licences/{no}", get(licence))
        .route("/licences/{no}/file", get(licence_file))
        .route("/licences/{no}/pdf", get(licence_pdf))
        .route("/licences/{no}/standing", get(licence_standing))
        .route("/invites", get(invites).post(invite_post))
        .route("/licence-requests", get(licence_request_list))
        .route(
            "/licence-requests/{id}/decide",
            post(licence_request_decide),
        )
        .route("/directory", get(directory_page).post(directory_post))
        .route("/profiles", get(profiles_page))
        .route("/unlocks", get(unlocks_page))
        .route("/unlocks/{uscc}/approve", post(unlock_approve))
        .route("/profiles/{uscc}/accept", post(profile_accept))
        .route("/reference", get(reference::page).post(reference::publish))
        .route("/keys", get(keys_page))
        .route("/keys/rollover", post(keys_rollover))
        .route("/keys/records/{n}", get(key_record))
        .route("/audit", get(audit))
        .route("/cert-requests", get(certificates))
        .route("/verify", get(verify_page).post(verify_post))
        .with_state(state)
}

const NAV: [(&str, &str); 13] = [
    ("/cases", "nav.inbox"),
    ("/licence-requests", "nav.licence_requests"),
    ("/licences", "nav.issued"),
    ("/cert-requests", "nav.cert_requests"),
    ("/invites", "nav.invite"),
    ("/directory", "nav.directory"),
    ("/profiles", "nav.profiles"),
    ("/unlocks", "nav.unlocks"),
    ("/reference", "nav.reference"),
    ("/keys", "nav.keys"),
    ("/audit", "nav.audit"),
    ("/verify", "nav.verify"),
    ("/", "nav.dashboard"),
];

/// Inbox statuses in review order.
const INBOXES: [ApplicationStatus; 5] = [
    ApplicationStatus::PendingInitial,
    ApplicationStatus::PendingSecond,
    ApplicationStatus::Returned,
    ApplicationStatus::Issued,
    ApplicationStatus::Rejected,
];

type Ctx = (
    State<AuthorityState>,
    Extension<Lang>,
    Extension<Csrf>,
    HeaderMap,
    Uri,
);

fn frame(lang: Lang, csrf: &Csrf, uri: &Uri, staff: Option<&Staff>) -> Page {
    let path = uri.path();
    let mut p = Page::new(lang, csrf, path, "brand.authority");
    if let Some(s) = staff {
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
        p.staff = Some(json!({"login": s.login, "name": s.name, "role": s.role.code()}));
    }
    if let Some(q) = uri.query() {
        let q: HashMap<String, String> = serde_urlencoded::from_str(q).unwrap_or_default();
        p.flash = flash_from(&q);
        p.flash_arg = q.get("arg").cloned();
    }
    p
}

/// The page frame of a signed-in staff member, or a redirect to the sign-in page.
#[allow(clippy::result_large_err)] // the error is the response to send, once per request
fn signed_in(ctx: &Ctx) -> Result<(Page, Staff), Response> {
    let (State(s), Extension(lang), Extension(csrf), headers, uri) = ctx;
    match session_of(s, headers) {
        Some(staff) => Ok((frame(*lang, csrf, uri, Some(&staff)), staff)),
        None => Err(see_other("/login")),
    }
}

fn failed(p: &Page, f: crate::api::error::Failure) -> Response {
    let (status, body) = f.parts();
    p.error(status, body.message.clone())
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
    let from = peer.ip().to_string();
    let l2 = login.clone();
    let r = run(s, move |a| a.staff.login(&l2, &password, &from)).await;
    let error = match r {
        Ok(Ok(staff)) => {
            let token = match crate::api::authority::start_session(s, staff).await {
                Ok(t) => t,
                Err(f) => return failed(&p, f),
            };
            let mut resp = see_other("/");
            resp.headers_mut().append(
                header::SET_COOKIE,
                super::guard::set_cookie(SESSION_COOKIE, &token, None, g.secure()),
            );
            return resp;
        }
        Ok(Err(LoginError::Wrong)) => p.t("auth.failed"),
        Ok(Err(LoginError::Locked(_))) => p.t("auth.locked"),
        Err(f) => f.parts().1.message.clone(),
    };
    p.render_status(
        StatusCode::UNAUTHORIZED,
        "login.html",
        json!({"error": error, "login": login}),
    )
}

async fn logout(Extension(g): Extension<std::sync::Arc<Guard>>, ctx: Ctx) -> Response {
    let (State(s), _, _, headers, _) = &ctx;
    if let Some(t) = crate::api::extract::cookie(headers, SESSION_COOKIE) {
        crate::api::authority::end_session(s, t.to_owned()).await;
    }
    let mut r = see_other("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        super::guard::set_cookie(SESSION_COOKIE, "", Some(0), g.secure()),
    );
    r
}

async fn counts(s: &AuthorityState) -> Vec<Value> {
    let c = run(s, |a| a.cases.case_counts()).await.unwrap_or_default();
    INBOXES
        .iter()
        .map(|st| json!({"status": st.code(), "count": c.get(st).copied().unwrap_or(0)}))
        .collect()
}

async fn dashboard(ctx: Ctx) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let figures = run(s, |a| a.cases.daily_figures())
        .await
        .unwrap_or_default();
    let today = crate::clock::china_date(s.authority.now_ms());
    let days: Vec<(String, u64, u64)> = (0..14)
        .rev()
        .filter_map(|back| today.checked_sub(jiff::Span::new().days(back)).ok())
        .map(|d| {
            let k = d.strftime("%Y-%m-%d").to_string();
            let (r, i) = figures.get(&k).copied().unwrap_or((0, 0));
            (k, r, i)
        })
        .collect();
    let certs = run(s, |a| a.certificates.count()).await.unwrap_or(0);
    // The chart is a table: a row per day (newest first), each figure printed beside a
    // bar on one scale (the fortnight's largest figure fills a bar), legible on a phone.
    let max = days.iter().map(|d| d.1.max(d.2)).max().unwrap_or(0).max(1);
    let pct = |v: u64| (v * 100).div_ceil(max);
    p.render(
        "authority/dashboard.html",
        json!({
            "counts": counts(s).await,
            "cert_requests": certs,
            "scale": max,
            "days": days.iter().rev().map(|(d, r, i)| json!({
                "day": d, "received": r, "issued": i,
                "received_pct": pct(*r), "issued_pct": pct(*i),
            })).collect::<Vec<_>>(),
        }),
    )
}

async fn inbox(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let code = q
        .get("status")
        .cloned()
        .unwrap_or_else(|| "pending_initial".into());
    let Some(status) = ApplicationStatus::from_code(&code) else {
        return p.error(
            StatusCode::BAD_REQUEST,
            "status: an application status code",
        );
    };
    let page: u32 = match q.get("page").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => 1,
        Some(v) => match v.parse() {
            Ok(n) if n >= 1 => n,
            _ => return p.error(StatusCode::BAD_REQUEST, p.t("list.bad_page")),
        },
    };
    let per = crate::api::authority::INBOX_PER_PAGE as usize;
    let offset = (page as usize - 1) * per;
    let en = p.language() == Lang::En;
    let now = s.authority.now_ms();
    let found = run(s, move |a| {
        let (total, rows) = a.review.inbox(status, offset, per)?;
        let r = a.reference.current();
        let units = &r.data().units;
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|(id, c, sum)| {
                let sum = sum.unwrap_or_default();
                let commodity = r
                    .commodity_any_year(&sum.commodity_code)
                    .map(|e| {
                        if en {
                            e.name_en.clone()
                        } else {
                            e.name.clone()
                        }
                    })
                    .unwrap_or_default();
                json!({
                    "id": id.to_string(), "application_no": c.application_no,
                    "revision": c.revision, "received": when(c.received_ms),
                    "age": crate::clock::working_days(c.received_ms, now),
                    "owner": c.owner, "exporter": sum.exporter,
                    "commodity_code": sum.commodity_code, "commodity": commodity,
                    "quantity": sum.quantity,
                    "unit": super::forms::code_name(units, &sum.unit, en),
                    "amount": sum.amount, "currency": sum.currency,
                })
            })
            .collect();
        Ok((total, rows))
    })
    .await;
    let (total, rows) = match found {
        Ok(r) => r,
        Err(f) => return failed(&p, f),
    };
    let pages = total.div_ceil(per as u64).max(1);
    p.render(
        "authority/inbox.html",
        json!({"status": code, "counts": counts(s).await, "rows": rows,
               "page": page, "pages": pages, "total": total}),
    )
}

async fn case(ctx: Ctx, Path(id): Path<String>) -> Response {
    case_view(ctx, id, None, None).await
}

/// The case page; `decision_error` is why a decision just made was refused, shown at the
/// decision form with the case still there.
/// The case page; `decision_error` names what was wrong with a decision just posted, and
/// `confirm` (the reason typed) asks the 处长 to confirm issuing before the licence is signed.
async fn case_view(
    ctx: Ctx,
    id: String,
    decision_error: Option<String>,
    confirm: Option<String>,
) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let Ok(id) = id.parse::<DocId>() else {
        return p.error(StatusCode::NOT_FOUND, "no such case");
    };
    let (file, history, reference) = match run(s, move |a| {
        Ok((
            a.cases.case_file(id)?,
            a.staff.audit_trail(Some(id), 500)?,
            a.reference.current(),
        ))
    })
    .await
    {
        Ok((Some(f), h, r)) => (f, h, r),
        Ok((None, _, _)) => return p.error(StatusCode::NOT_FOUND, format!("no case for {id}")),
        Err(f) => return failed(&p, f),
    };
    let (_, finding_errors, finding_warnings) = super::enterprise::error_values(&p, &file.findings);
    let stage = match file.status {
        ApplicationStatus::PendingInitial => Some(Stage::Initial),
        ApplicationStatus::PendingSecond => Some(Stage::Second),
        _ => None,
    };
    let decide = stage.filter(|st| stage_role(*st) == staff.role).map(|st| {
        if st == Stage::Initial {
            "initial"
        } else {
            "second"
        }
    });
    let form = file.form();
    let diff = if file.revisions.len() >= 2 {
        let prev = &file.revisions[file.revisions.len() - 2];
        Some((prev.0, crate::authority::casefile::diff(&prev.1, &form)))
    } else {
        None
    };
    let en = p.language() == Lang::En;
    let units = &reference.data().units;
    let goods: Vec<Value> = form
        .goods
        .iter()
        .map(|g| {
            json!({"spec": g.spec, "unit": forms::code_name(units, &g.unit, en),
                        "quantity": g.quantity, "unit_price": g.unit_price})
        })
        .collect();
    p.render(
        "authority/case.html",
        json!({
            "case": {
                "id": file.id.to_string(), "application_no": file.application_no,
                "status": file.status.code(), "owner": file.owner, "revision": file.revision,
                "received": when(file.received_ms), "licence_no": file.licence_no,
            },
            "seal": {"ok": file.seal.ok, "detail": match file.seal.verified {
                Some((rev, n)) => p
                    .t("case.seal.verified")
                    .replace("{revision}", &rev.to_string())
                    .replace("{n}", &n.to_string()),
                None => file.seal.detail,
            }, "device": file.seal.device,
                     "certificate": file.seal.certificate},
            "decide": decide,
            "decision_error": decision_error,
            "confirm": confirm.map(|reason| json!({"reason": reason})),
            "pending": stage.is_some(),
            "diff_from": diff.as_ref().map(|d| d.0),
            "diff": diff.map(|d| d.1.into_iter().map(|(f, b, a)| json!({
                "field": f, "label": super::enterprise::label_of(&p, &f), "before": b, "after": a,
            })).collect::<Vec<_>>()),
            "groups": forms::groups(),
            "values": forms::display(&form, reference.data(), p.language() == Lang::En),
            "finding_errors": finding_errors,
            "finding_warnings": finding_warnings,
            "goods": goods,
            "attachments": file.attachments,
            "history": history.iter().rev().map(|h| super::audit_row(
                p.language(), h.seq, h.at_ms, &h.actor, &h.action, &h.detail, None,
            )).collect::<Vec<_>>(),
        }),
    )
}

async fn decide(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let Ok(id) = id.parse::<DocId>() else {
        return p.error(StatusCode::NOT_FOUND, "no such case");
    };
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let stage = match f.get("stage").map(String::as_str) {
        Some("initial") => Stage::Initial,
        Some("second") => Stage::Second,
        _ => {
            return p.error(
                StatusCode::BAD_REQUEST,
                "stage: `initial` (初审) or `second` (复审)",
            );
        }
    };
    if stage_role(stage) != staff.role {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let approve = f.get("approve").map(String::as_str) == Some("true");
    let reason = f.get("reason").cloned().unwrap_or_default();
    // Issuing signs a licence that cannot be taken back (only deleted): the 处长 confirms
    // it on a second step, which works without JavaScript.
    if stage == Stage::Second && approve && f.get("confirm").map(String::as_str) != Some("yes") {
        return case_view(ctx, id.to_string(), None, Some(reason)).await;
    }
    let actor = format!("{} @{}", staff.actor(), peer.ip());
    match run(s, move |a| {
        a.review.decide(id, stage, approve, &reason, &actor)
    })
    .await
    {
        Ok(_) => see_other(&format!("/cases/{id}?msg=flash.decided")),
        Err(f) => {
            let (code, body) = f.parts();
            let message = match body.field.as_deref() {
                Some("reason") => p.t("case.reason_required"),
                _ => body.message.clone(),
            };
            let mut page = case_view(ctx, id.to_string(), Some(message), None).await;
            if page.status() == StatusCode::OK {
                *page.status_mut() = code;
            }
            page
        }
    }
}

async fn attachment(ctx: Ctx, Path((id, sha)): Path<(String, String)>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<DocId>() else {
        return p.error(StatusCode::NOT_FOUND, "no such case");
    };
    match run(&ctx.0.0, move |a| a.cases.case_attachment(id, &sha)).await {
        Ok(Some((a, bytes))) => crate::api::v1::applications::attachment_response(&a.name, bytes),
        Ok(None) => p.error(StatusCode::NOT_FOUND, "no such attachment"),
        Err(f) => failed(&p, f),
    }
}

async fn licences(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let no = q.get("no").map(|s| s.trim().to_owned()).unwrap_or_default();
    let page = match super::page_number(&p, &q) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let part = no.clone();
    let offset = (page - 1) * super::PER_PAGE;
    let (files, total) = match run(&ctx.0.0, move |a| {
        a.review.licence_page(&part, offset, super::PER_PAGE)
    })
    .await
    {
        Ok(f) => f,
        Err(f) => return failed(&p, f),
    };
    let today = crate::clock::china_date(ctx.0.0.authority.now_ms())
        .strftime("%Y%m%d")
        .to_string();
    let rows: Vec<Value> = files
        .iter()
        .filter_map(|(n, f, standing)| {
            let l =
                exlic_client::licence::Licence::decode(exlic_client::signed::peek(f).ok()?).ok()?;
            let status = licence_view::listed_standing(Some(*standing), &l.expiry, &today);
            let name = super::licence_form::commodity_name(&l, p.language() == Lang::En);
            Some(
                json!({"licence_no": n, "commodity": format!("{} {name}", l.commodity[0]),
                        "exporter": l.exporter[0], "issue_date": l.issue_date, "expiry": l.expiry,
                        "status": status}),
            )
        })
        .collect();
    let pager = super::pager("/licences", &q, page, total);
    p.render(
        "authority/licences.html",
        json!({"licences": rows, "no": no, "pager": pager}),
    )
}

fn own_trust(s: &AuthorityState) -> Trust {
    s.authority.trust()
}

/// What the office holds of licence `no`'s standing: it is the source, so as of now.
async fn office_evidence(s: &AuthorityState, no: String) -> licence_view::Evidence {
    let n = no.clone();
    let (statement, recorded) = run(s, move |a| a.licence_requests.standing_evidence(&n))
        .await
        .unwrap_or((None, exlic_client::standing::State::Valid));
    let (usage, flags) = run(s, move |a| a.customs.usage_of(&no))
        .await
        .ok()
        .flatten()
        .map(|(u, f)| (Some(u).filter(|u| !u.lines.is_empty()), f))
        .unwrap_or_default();
    let now = s.authority.now_ms();
    licence_view::Evidence {
        statement,
        recorded: Some(recorded),
        heard_ms: Some(now),
        now_ms: now,
        usage,
        flags,
    }
}

async fn licence(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (p, f) = match held_licence(&ctx, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let ev = office_evidence(s, no.clone()).await;
    render_licence(
        &p,
        &f,
        Some(&own_trust(s)),
        &format!("/licences/{no}/file"),
        &ev,
        &format!("/licences/{no}/standing"),
    )
}

/// The signed-in page and the signed file of licence `no`; the sign-in page, a 404 naming
/// the number, or the failure otherwise.
async fn held_licence(ctx: &Ctx, no: &str) -> Result<(Page, Vec<u8>), Response> {
    let (p, _) = signed_in(ctx)?;
    let n = no.to_owned();
    match run(&ctx.0.0, move |a| a.review.licence(&n)).await {
        Ok(Some(f)) => Ok((p, f)),
        Ok(None) => Err(p.error(StatusCode::NOT_FOUND, format!("{}: {no}", p.t("lic.none")))),
        Err(f) => Err(failed(&p, f)),
    }
}

async fn licence_file(ctx: Ctx, Path(no): Path<String>) -> Response {
    match held_licence(&ctx, &no).await {
        Ok((_, f)) => {
            crate::api::v1::applications::attachment_response(&format!("{no}.licence"), f)
        }
        Err(r) => r,
    }
}

/// The licence as the office's PDF of the paper form, with its standing now.
async fn licence_pdf(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (p, f) = match held_licence(&ctx, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let ev = office_evidence(s, no).await;
    let trust = own_trust(s);
    let standing = super::enterprise::claimed_licence(&f)
        .map(|l| licence_view::standing(&p, &l, &ev, Some(&trust)))
        .unwrap_or_default();
    licence_view::pdf_response(p, f, standing).await
}

/// The office's newest signed standing statement of a licence, as a file.
async fn licence_standing(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let n = no.clone();
    match run(&ctx.0.0, move |a| a.licence_requests.standing_evidence(&n)).await {
        Ok((Some(f), _)) => {
            crate::api::v1::applications::attachment_response(&format!("{no}.standing"), f)
        }
        Ok((None, _)) => p.error(StatusCode::NOT_FOUND, format!("{}: {no}", p.t("lic.none"))),
        Err(f) => failed(&p, f),
    }
}

async fn invite_page(p: &Page, s: &AuthorityState, status: StatusCode, extra: Value) -> Response {
    let ents = run(s, |a| a.registry.enterprises())
        .await
        .unwrap_or_default();
    let mut v = json!({"enterprises": ents.into_iter().map(|(u, n)| json!({"uscc": u, "name": n})).collect::<Vec<_>>()});
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    p.render_status(status, "authority/invite.html", v)
}

async fn invites(ctx: Ctx) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    invite_page(&p, &ctx.0.0, StatusCode::OK, json!({})).await
}

async fn invite_post(ctx: Ctx, body: Bytes) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    if staff.role != Role::Admin {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let uscc = f.get("uscc").cloned().unwrap_or_default().trim().to_owned();
    let name = f.get("name").cloned().unwrap_or_default().trim().to_owned();
    let numbers: u64 = match f.get("numbers").map(|n| n.trim().parse()) {
        None => 10_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            return invite_page(
                &p,
                s,
                StatusCode::BAD_REQUEST,
                json!({"error": "numbers: a whole number above 0", "uscc": uscc, "name": name}),
            )
            .await;
        }
    };
    let actor = staff.actor();
    let (u, n) = (uscc.clone(), name.clone());
    match run(s, move |a| {
        let t = a.registry.invite(&u, &n, numbers, 30)?;
        a.staff.record(&actor, DocId([0; 16]), "invite", &u)?;
        Ok(t)
    })
    .await
    {
        Ok(token) => invite_page(&p, s, StatusCode::CREATED, json!({"token": token})).await,
        Err(f) => {
            let msg = f.parts().1.message.clone();
            invite_page(
                &p,
                s,
                StatusCode::BAD_REQUEST,
                json!({"error": msg, "uscc": uscc, "name": name}),
            )
            .await
        }
    }
}

async fn audit(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    use crate::store::audit::OFFICE;
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (page, filter) = match super::audit_request(&p, &q, OFFICE) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let offset = (page - 1) * super::PER_PAGE;
    match run(&ctx.0.0, move |a| {
        a.staff.audit_page(&filter, offset, super::PER_PAGE)
    })
    .await
    {
        Ok((entries, total)) => super::audit_view(
            &p,
            &q,
            OFFICE,
            (&entries, total),
            |e| (e.subject.0 != [0; 16]).then(|| format!("/cases/{}", e.subject)),
            None,
        ),
        Err(f) => failed(&p, f),
    }
}

/// 手机证书授权 records: the certificates issued, newest first, by enterprise and standing.
async fn certificates(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    use crate::authority::certificates::CertFilter;
    use crate::store::certs::CertStanding;
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let page = match super::page_number(&p, &q) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let asked = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (uscc, status) = (asked("uscc"), asked("status"));
    let standing = match status.as_str() {
        "" => None,
        code => match CertStanding::parse(code) {
            Some(s) => Some(s),
            None => return p.error(StatusCode::BAD_REQUEST, p.t("cert.filter.bad_status")),
        },
    };
    let filter = CertFilter {
        uscc: Some(uscc.clone()).filter(|u| !u.is_empty()),
        standing,
    };
    let offset = (page - 1) * super::PER_PAGE;
    let now = ctx.0.0.authority.now_ms();
    match run(&ctx.0.0, move |a| {
        a.certificates.page(&filter, offset, super::PER_PAGE)
    })
    .await
    {
        Ok((rows, total)) => p.render(
            "authority/cert_requests.html",
            json!({
                "rows": rows.into_iter().map(|c| json!({
                    "seq": c.serial, "time": when(c.not_before_ms), "kind": p.t("cert.req.issued"),
                    "uscc": c.uscc, "mobile": c.mobile,
                    "status": p.t(&format!("cert.status.{}", c.standing_at(now).code())),
                    "detail": format!("{} — {}", when(c.not_before_ms), when(c.not_after_ms)),
                })).collect::<Vec<_>>(),
                "pager": super::pager("/cert-requests", &q, page, total),
                "filter": {"uscc": uscc, "status": status},
                "filtered": !uscc.is_empty() || !status.is_empty(),
                "statuses": CertStanding::ALL.iter().map(|s| s.code()).collect::<Vec<_>>(),
            }),
        ),
        Err(f) => failed(&p, f),
    }
}

async fn verify_page(ctx: Ctx) -> Response {
    let (State(s), Extension(lang), Extension(csrf), headers, uri) = &ctx;
    let staff = session_of(s, headers);
    let p = frame(*lang, csrf, uri, staff.as_ref());
    verify_render(&p, Some(&own_trust(s)), None, None).await
}

async fn verify_post(ctx: Ctx, mut mp: Multipart) -> Response {
    let (State(s), Extension(lang), Extension(csrf), headers, uri) = &ctx;
    let staff = session_of(s, headers);
    let p = frame(*lang, csrf, uri, staff.as_ref());
    match one_file(&mut mp).await {
        Ok(bytes) => {
            let ev = match claimed_no(&bytes) {
                Some(no) => Some(office_evidence(s, no).await),
                None => None,
            };
            verify_render(&p, Some(&own_trust(s)), Some(&bytes), ev.as_ref()).await
        }
        Err(m) => p.error(StatusCode::BAD_REQUEST, m),
    }
}

/// 删证/核销 requests by status (待审核 first), with the decision form for reviewers.
async fn licence_request_list(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    use crate::store::licence_request::Status;
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let s = &ctx.0.0;
    let code = q.get("status").cloned().unwrap_or_else(|| "pending".into());
    let Some(status) = Status::parse(&code) else {
        return p.error(
            StatusCode::BAD_REQUEST,
            "status: `pending`, `approved` or `rejected`",
        );
    };
    let all = match run(s, |a| a.licence_requests.list(None)).await {
        Ok(a) => a,
        Err(f) => return failed(&p, f),
    };
    let counts: Vec<Value> = [Status::Pending, Status::Approved, Status::Rejected]
        .iter()
        .map(|st| json!({"status": st.code(), "count": all.iter().filter(|(_, r)| r.status == *st).count()}))
        .collect();
    let rows: Vec<Value> = all
        .into_iter()
        .filter(|(_, r)| r.status == status)
        .map(|(id, r)| {
            json!({"id": id.to_string(), "kind": r.kind.code(), "licence_no": r.licence_no,
                   "status": r.status.code(), "owner": r.owner, "created": when(r.created_ms),
                   "reason": r.reason})
        })
        .collect();
    let page = match super::page_number(&p, &q) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let (rows, pager) = super::page_of(rows, "/licence-requests", &q, page);
    p.render(
        "authority/licence_requests.html",
        json!({"status": code, "counts": counts, "rows": rows, "pager": pager,
               "may_decide": crate::api::authority::may_decide_licence_requests(&staff).is_ok()}),
    )
}

async fn licence_request_decide(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if crate::api::authority::may_decide_licence_requests(&staff).is_err() {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let Ok(id) = id.parse::<DocId>() else {
        return p.error(StatusCode::NOT_FOUND, "no such request");
    };
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let approve = f.get("approve").map(String::as_str) == Some("true");
    let reason = f.get("reason").cloned().unwrap_or_default();
    let actor = format!("{} @{}", staff.actor(), peer.ip());
    match run(&ctx.0.0, move |a| {
        a.licence_requests.decide(id, approve, &reason, &actor)
    })
    .await
    {
        Ok(_) => see_other("/licence-requests?status=pending&msg=flash.decided"),
        Err(f) => failed(&p, f),
    }
}

/// The directory as the edit form shows it: contacts one per line, guides as `## title`
/// blocks.
fn directory_text(d: &exlic_client::directory::Directory) -> (String, String) {
    let contacts = d
        .contacts
        .iter()
        .map(|c| format!("{} | {} | {} | {}", c.name, c.address, c.phone, c.note))
        .collect::<Vec<_>>()
        .join("\n");
    let guides = d
        .guides
        .iter()
        .map(|g| format!("## {}\n{}", g.title, g.body))
        .collect::<Vec<_>>()
        .join("\n\n");
    (contacts, guides)
}

/// Parses the edit form back into a directory.
fn parse_directory(contacts: &str, guides: &str) -> exlic_client::directory::Directory {
    use exlic_client::directory::{Contact, Directory, Guide};
    let contacts = contacts
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('|').map(|x| x.trim().to_owned());
            Contact {
                name: f.next().unwrap_or_default(),
                address: f.next().unwrap_or_default(),
                phone: f.next().unwrap_or_default(),
                note: f.collect::<Vec<_>>().join(" | "),
            }
        })
        .collect();
    let mut out: Vec<Guide> = Vec::new();
    for line in guides.replace("\r\n", "\n").lines() {
        if let Some(title) = line.strip_prefix("## ") {
            out.push(Guide {
                title: title.trim().to_owned(),
                body: String::new(),
            });
        } else if let Some(g) = out.last_mut() {
            if !g.body.is_empty() || !line.trim().is_empty() {
                g.body.push_str(line);
                g.body.push('\n');
            }
        } else if !line.trim().is_empty() {
            out.push(Guide {
                title: String::new(),
                body: format!("{line}\n"),
            });
        }
    }
    for g in &mut out {
        g.body = g.body.trim_end().to_owned();
    }
    Directory {
        contacts,
        guides: out,
        updated_ms: 0,
    }
}

async fn directory_page(ctx: Ctx) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match run(&ctx.0.0, |a| a.directory.get()).await {
        Ok(d) => {
            let (contacts, guides) = directory_text(&d);
            p.render(
                "authority/directory.html",
                json!({"contacts": contacts, "guides": guides, "may_edit": staff.role == Role::Admin}),
            )
        }
        Err(f) => failed(&p, f),
    }
}

async fn directory_post(ctx: Ctx, body: Bytes) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if staff.role != Role::Admin {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let contacts = f.get("contacts").cloned().unwrap_or_default();
    let guides = f.get("guides").cloned().unwrap_or_default();
    let d = parse_directory(&contacts, &guides);
    let actor = staff.actor();
    match run(&ctx.0.0, move |a| a.directory.put(d, &actor)).await {
        Ok(()) => see_other("/directory?msg=flash.published"),
        Err(fl) => p.render_status(
            StatusCode::BAD_REQUEST,
            "authority/directory.html",
            json!({"contacts": contacts, "guides": guides, "may_edit": true,
                   "error": fl.parts().1.message.clone()}),
        ),
    }
}

/// 企业信息维护: each enterprise's proposal beside the accepted version.
async fn profiles_page(ctx: Ctx) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let rows = match run(&ctx.0.0, |a| a.profiles.list()).await {
        Ok(r) => r,
        Err(f) => return failed(&p, f),
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .map(crate::api::authority::profile_row)
        .map(|r| {
            let fields = r.profile.proposed.as_ref().map(|pr| {
                exlic_client::profile::FIELDS
                    .iter()
                    .map(|f| {
                        let acc = r.profile.accepted.as_ref().map(|a| a.get(f)).unwrap_or("");
                        json!({"name": f, "proposed": pr.get(f), "accepted": acc, "changed": acc != pr.get(f)})
                    })
                    .collect::<Vec<_>>()
            });
            json!({"uscc": r.uscc, "name": r.name, "status": r.profile.status, "fields": fields})
        })
        .collect();
    p.render(
        "authority/profiles.html",
        json!({"rows": rows, "may_accept": staff.role == Role::Admin}),
    )
}

/// An administrator's action on one enterprise, then back to `back` with a flash.
async fn admin_action(
    ctx: Ctx,
    back: &'static str,
    act: impl FnOnce(&crate::authority::Authority, &str) -> Result<(), crate::authority::AuthorityError>
    + Send
    + 'static,
) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if staff.role != Role::Admin {
        return p.error(StatusCode::FORBIDDEN, p.t("auth.forbidden"));
    }
    let actor = staff.actor();
    match run(&ctx.0.0, move |a| act(a, &actor)).await {
        Ok(()) => see_other(&format!("{back}?msg=flash.decided")),
        Err(f) => failed(&p, f),
    }
}

async fn profile_accept(ctx: Ctx, Path(uscc): Path<String>) -> Response {
    admin_action(ctx, "/profiles", move |a, actor| {
        a.profiles.accept(&uscc, actor)
    })
    .await
}

/// E-key unlock requests.
async fn unlocks_page(ctx: Ctx) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match run(&ctx.0.0, |a| a.unlocks.pending()).await {
        Ok(rows) => p.render(
            "authority/unlocks.html",
            json!({"rows": rows.into_iter().map(|(u, n)| json!({"uscc": u, "name": n})).collect::<Vec<_>>(),
                   "may_approve": staff.role == Role::Admin}),
        ),
        Err(f) => failed(&p, f),
    }
}

async fn unlock_approve(ctx: Ctx, Path(uscc): Path<String>) -> Response {
    admin_action(ctx, "/unlocks", move |a, actor| {
        a.unlocks.approve(&uscc, actor)
    })
    .await
}

/// The signing keys, oldest first, with each rollover record to download.
async fn keys_page(ctx: Ctx) -> Response {
    let (p, staff) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let fmt = |ms: Option<i64>| ms.map(when).unwrap_or_default();
    match run(&ctx.0.0, |a| Ok((a.keys.chain(), a.root_key()))).await {
        Ok((chain, root)) => p.render(
            "authority/keys.html",
            json!({
                "root": hex::encode(root),
                "keys": chain.iter().enumerate().map(|(i, k)| json!({
                    "n": i, "key": k.key, "key_id": k.key_id,
                    "from": fmt(k.from_ms), "until": fmt(k.until_ms),
                    "current": k.until_ms.is_none(),
                })).collect::<Vec<_>>(),
                "may_roll": staff.role == Role::Admin,
            }),
        ),
        Err(f) => failed(&p, f),
    }
}

async fn keys_rollover(ctx: Ctx) -> Response {
    admin_action(ctx, "/keys", |a, actor| a.keys.roll(actor).map(|_| ())).await
}

/// Rollover record `n` (1-based: the record that certified key `n`), for `exlic verify
/// --rollover`.
async fn key_record(ctx: Ctx, Path(n): Path<usize>) -> Response {
    let (p, _) = match signed_in(&ctx) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match run(&ctx.0.0, |a| a.keys.records()).await {
        Ok(records) => match n.checked_sub(1).and_then(|i| records.get(i)) {
            Some(r) => crate::api::v1::applications::attachment_response(
                &format!("rollover-{n}.key"),
                r.clone(),
            ),
            None => p.error(StatusCode::NOT_FOUND, format!("{}: {n}", p.t("keys.none"))),
        },
        Err(f) => failed(&p, f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_form_round_trips() {
        let d = parse_directory(
            "事务局 | 北京 | 010-1 | 工作日\n\n厦门特派办 | 厦门 | 0592-2 | ",
            "## 流程\n第一段\n\n第二段\n## 附件\n合同扫描件",
        );
        assert_eq!(d.contacts.len(), 2);
        assert_eq!(d.contacts[1].phone, "0592-2");
        assert_eq!(d.guides.len(), 2);
        assert_eq!(d.guides[0].body, "第一段\n\n第二段");
        let (c, g) = directory_text(&d);
        assert_eq!(parse_directory(&c, &g).guides, d.guides);
        assert_eq!(parse_directory(&c, &g).contacts.len(), 2);
    }
}
