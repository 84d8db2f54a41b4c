//! The enterprise node's screens, in the manual's structure: 许可证统一管理平台 home,
//! 出口许可证 (许可证申请, 查看电子许可证, 查询), 手机证书授权 and the verification page.
//! Every action calls the same [`Enterprise`](crate::enterprise::Enterprise) method as the
//! JSON API; nothing here decides business rules.

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Multipart, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use exlic_client::DocId;
use exlic_client::application::{ApplicationForm, ApplicationView};
use exlic_client::error::{FieldError, Severity};
use exlic_client::query::ApplicationQuery;
use exlic_client::status::ApplicationStatus;
use serde_json::{Value, json};

use super::{Csrf, Lang, NavItem, Page, flash_from, forms, licence_view, see_other, when};
use crate::api::AppState;
use crate::api::error::Failure;
use crate::api::v1::{node as apinode, run};
use crate::domain::field_paths;
use crate::enterprise::operators::Operator;

mod account;
mod applications;
mod licences;
mod session;

use account::*;
use applications::*;
pub(crate) use applications::{error_values, label_of};
use licences::*;
pub use licences::{claimed_licence, claimed_no, one_file, render_licence, verify_render};
pub use session::{refused_page, sign_in_page};

/// The enterprise UI's routes. Every one but `/login` needs a session: the
/// [gate](super::gate) in front of them refuses the rest.
pub fn router(attachment_limit: u64) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(session::login_page).post(session::login_post))
        .route("/logout", post(session::logout))
        .route("/audit", get(session::audit))
        .route(
            "/applications/{id}/seal",
            get(session::seal_confirm).post(session::seal_post),
        )
        .route("/applications", get(list).post(create))
        .route("/applications/new", get(new_form))
        .route("/applications/{id}", get(view).post(save))
        .route("/applications/{id}/edit", get(edit))
        .route(
            "/applications/{id}/attachments",
            post(upload).layer(DefaultBodyLimit::max(
                (attachment_limit as usize + (1 << 16)) * 8,
            )),
        )
        .route("/applications/{id}/attachments/{sha}", get(download))
        .route(
            "/applications/{id}/attachments/{sha}/delete",
            post(remove_attachment),
        )
        .route("/applications/{id}/report", post(report))
        .route("/applications/{id}/unseal", post(unseal))
        .route("/applications/{id}/copy", post(copy))
        .route("/applications/{id}/resolve", post(resolve))
        .route("/applications/{id}/delete", post(delete))
        .route("/applications/{id}/seal-file", get(seal_file))
        .route("/query", get(query))
        .route("/licences", get(licences))
        .route("/licences/{no}", get(licence))
        .route("/licences/{no}/file", get(licence_file))
        .route("/licences/{no}/pdf", get(licence_pdf))
        .route(
            "/licence-requests",
            get(licence_request_list).post(licence_request_save),
        )
        .route("/licence-requests/new", get(licence_request_form))
        .route("/directory", get(directory))
        .route("/profile", get(profile_page).post(profile_save))
        .route("/ekey/unlock-request", post(unlock_request))
        .route("/guides", get(guides))
        .route("/certificate", get(certificate))
        .route("/certificate/request", get(cert_form).post(cert_post))
        .route(
            "/certificate/requests/{seq}/submit",
            get(cert_submit_page).post(cert_submit),
        )
        .route(
            "/verify",
            get(verify_page)
                .post(verify_post)
                .layer(DefaultBodyLimit::max(1 << 20)),
        )
}

const NAV: [(&str, &str); 6] = [
    ("/applications", "nav.applications"),
    ("/licences", "nav.licences"),
    ("/licence-requests", "nav.licence_requests"),
    ("/query", "nav.query"),
    ("/certificate", "nav.certificate"),
    ("/verify", "nav.verify"),
];

/// Builds the page frame: navigation, the operator, status bar, certificate banner.
async fn page(s: &AppState, lang: Lang, csrf: &Csrf, op: &Operator, uri: &Uri) -> Page {
    let path = uri.path();
    let mut p = Page::new(lang, csrf, path, "brand.enterprise");
    p.staff = Some(json!({"login": op.login, "name": op.name, "role": op.role.code()}));
    p.nav = NAV
        .iter()
        .map(|(href, label)| NavItem {
            href,
            label,
            current: path.starts_with(href),
        })
        .collect();
    if let Ok(st) = apinode::sync_status(s).await {
        p.sync = Some(json!({
            "online": st.online,
            "last": st.last_sync_ms.map(when),
            "docs_waiting": st.docs_waiting,
            "submissions_waiting": st.submissions_waiting,
            "bytes_waiting": st.bytes_waiting,
            "home": s.enterprise.identity().agency_code,
            "offices": st.offices.iter().map(|o| json!({
                "code": o.agency_code,
                "online": o.online,
                "last": o.last_sync_ms.map(when),
            })).collect::<Vec<_>>(),
        }));
    }
    if let Ok(Some((c, revoked))) = run(s, |e| e.certificates.device_certificate()).await {
        let v = apinode::certificate_view(c, revoked, s.enterprise.now_ms());
        p.banner = Some(json!({
            "mobile": v.mobile,
            "expiry": when(v.not_after_ms),
            "warn": v.status != "valid",
        }));
    }
    if let Some(q) = uri.query() {
        let q: HashMap<String, String> = serde_urlencoded::from_str(q).unwrap_or_default();
        p.flash = flash_from(&q);
        p.flash_arg = q.get("arg").cloned();
    }
    p
}

/// The state and the page frame of a request.
async fn open(ctx: Ctx) -> (AppState, Page) {
    let (State(s), Extension(lang), Extension(csrf), Extension(op), uri) = ctx;
    let p = page(&s, lang, &csrf, &op, &uri).await;
    (s, p)
}

/// A failure's message as a page shows it.
fn failure_text(_p: &Page, body: &exlic_client::error::ApiError) -> String {
    match &body.field {
        Some(field) => format!("{field}: {}", body.message),
        None => body.message.clone(),
    }
}

/// Shows a failure as a page with its status.
fn failed(p: &Page, f: Failure) -> Response {
    let (status, body) = f.parts();
    let msg = failure_text(p, body);
    p.error(status, msg)
}

/// What every signed-in screen gets: state, language, CSRF token, operator, URI.
type Ctx = (
    State<AppState>,
    Extension<Lang>,
    Extension<Csrf>,
    Extension<Operator>,
    Uri,
);

async fn home((State(s), Extension(lang), Extension(csrf), Extension(op), uri): Ctx) -> Response {
    let p = page(&s, lang, &csrf, &op, &uri).await;
    let info = match run(&s, |e| e.node_info()).await {
        Ok(i) => i,
        Err(f) => return failed(&p, f),
    };
    let counts = run(&s, |e| e.applications.counts())
        .await
        .unwrap_or_default();
    let expiring = expiring_licences(&s, p.language() == Lang::En).await;
    let r = s.enterprise.reference();
    let years: Vec<String> = r
        .data()
        .catalogues
        .iter()
        .map(|c| c.year.to_string())
        .collect();
    p.render(
        "enterprise/home.html",
        json!({
        "counts": counts.iter().map(|(st, n)| json!({"status": st.code(), "n": n})).collect::<Vec<_>>(),
        "expiring": expiring,
        "expiring_days": EXPIRING_DAYS,
        "node": {
            "enterprise_name": info.enterprise_name,
            "enterprise_uscc": info.enterprise_uscc,
            "device_key": info.device_public_key,
            "numbers_left": info.numbers_left,
        }, "reference": {
            "release": r.release().map(|(n, at)| json!({"number": n, "published": when(at)})),
            "codes": r.version(),
            "years": years.join(", "),
        }}),
    )
}

/// How near its expiry a valid licence shows on the dashboard.
const EXPIRING_DAYS: i64 = 30;

/// The valid licences that expire within [`EXPIRING_DAYS`], soonest first, with the days
/// left and their use at customs as this node knows it; names in English when `en`.
async fn expiring_licences(s: &AppState, en: bool) -> Vec<Value> {
    let Ok(all) = apinode::licence_summaries(s).await else {
        return Vec::new();
    };
    let standings = run(s, |e| e.licence_requests.standings())
        .await
        .unwrap_or_default();
    let today = crate::clock::china_date(s.enterprise.now_ms());
    let mut soon: Vec<(i64, exlic_client::authority::LicenceSummary)> = all
        .into_iter()
        .filter(|l| {
            standings
                .get(&l.licence_no)
                .is_none_or(|st| *st == crate::domain::licence_request::Standing::Valid)
        })
        .filter_map(|l| {
            let digits: String = l.expiry.chars().filter(char::is_ascii_digit).collect();
            let end = jiff::civil::Date::strptime("%Y%m%d", &digits).ok()?;
            let days = (end - today).get_days().into();
            (0..=EXPIRING_DAYS).contains(&days).then_some((days, l))
        })
        .collect();
    soon.sort_by_key(|(d, _)| *d);
    let mut out = Vec::new();
    for (days, l) in soon {
        let no = l.licence_no.clone();
        let usage = run(s, move |e| e.licence_requests.usage(&no))
            .await
            .ok()
            .flatten();
        out.push(json!({
            "licence_no": l.licence_no,
            "commodity_name": forms::commodity_name(&l.commodity_code, &l.commodity_name, en),
            "expiry": super::licence_form::date(&l.expiry), "days": days,
            "uses": usage.as_ref().map(|u| format!("{} / {}", u.uses, u.max_uses)),
            "remaining": usage.map(|u| u.remaining_quantity),
        }));
    }
    out
}
