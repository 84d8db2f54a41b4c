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

mod session;

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

/// List rows: codes by name, and the licence's standing beside an issued application's
/// status once it is no longer valid (已删证, 已核销).
fn summaries(
    p: &Page,
    options: &Value,
    standings: &HashMap<String, crate::domain::licence_request::Standing>,
    items: Vec<exlic_client::application::ApplicationSummary>,
) -> Vec<Value> {
    let en = p.language() == Lang::En;
    items
        .into_iter()
        .map(|a| {
            let standing = a
                .licence_no
                .as_ref()
                .and_then(|n| standings.get(n))
                .filter(|s| **s != crate::domain::licence_request::Standing::Valid)
                .map(|s| s.code());
            json!({
                "id": a.id.to_string(), "status": a.status.code(), "application_no": a.application_no,
                "commodity_name": forms::commodity_name(&a.commodity_code, &a.commodity_name, en),
                "commodity_code": a.commodity_code,
                "quantity": a.quantity,
                "trade_mode": forms::name_of(options, "trade_modes", &a.trade_mode, en),
                "quota_year": a.quota_year,
                "created": when(a.created_at_ms), "licence_no": a.licence_no,
                "contract_no": a.contract_no,
                "standing": standing,
            })
        })
        .collect()
}

async fn listing(s: AppState, p: Page, uri: &Uri, full: bool) -> Response {
    let raw: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let kept: Vec<(String, String)> = raw
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && k != "msg" && k != "arg")
        .collect();
    let q: ApplicationQuery = match serde_urlencoded::to_string(&kept)
        .ok()
        .and_then(|s| serde_urlencoded::from_str(&s).ok())
    {
        Some(q) => q,
        None => {
            return p.error(StatusCode::BAD_REQUEST, p.t("list.bad_query"));
        }
    };
    let page_no = q.page.unwrap_or(1).max(1);
    let href = |n: u32| {
        let mut v: Vec<(String, String)> =
            kept.iter().filter(|(k, _)| k != "page").cloned().collect();
        v.push(("page".into(), n.to_string()));
        format!(
            "{}?{}",
            uri.path(),
            serde_urlencoded::to_string(&v).unwrap_or_default()
        )
    };
    let qv = serde_json::to_value(&q).unwrap_or(Value::Null);
    let result = run(&s, move |e| e.applications.query(&q)).await;
    let standings = run(&s, |e| e.licence_requests.standings())
        .await
        .unwrap_or_default();
    let options = forms::options(s.enterprise.reference().data());
    match result {
        Ok(pg) => p.render(
            "enterprise/applications.html",
            json!({
                "heading": if full { "nav.query" } else { "nav.applications" },
                "full_query": full,
                "q": qv,
                "statuses": ApplicationStatus::ALL.iter().map(|s| s.code()).collect::<Vec<_>>(),
                "page": {"items": summaries(&p, &options, &standings, pg.items), "page": pg.page, "per_page": pg.per_page, "has_more": pg.has_more,
                         "total": pg.total, "pages": pg.total.div_ceil(u64::from(pg.per_page.max(1))).max(1)},
                "options": options,
                "prev_href": href(page_no.saturating_sub(1).max(1)),
                "next_href": href(page_no + 1),
            }),
        ),
        Err(f) => failed(&p, f),
    }
}

async fn list(ctx: Ctx) -> Response {
    let uri = ctx.4.clone();
    let (s, p) = open(ctx).await;
    listing(s, p, &uri, false).await
}

async fn query(ctx: Ctx) -> Response {
    let uri = ctx.4.clone();
    let (s, p) = open(ctx).await;
    listing(s, p, &uri, true).await
}

/// Goods rows for the form: the existing ones plus blanks up to at least three, one spare.
fn goods_rows(form: &ApplicationForm, amounts: &[String]) -> Vec<Value> {
    let n = (form.goods.len() + 1).max(3);
    (0..n)
        .map(|i| {
            let g = form.goods.get(i).cloned().unwrap_or_default();
            json!({"i": i, "spec": g.spec, "unit": g.unit, "quantity": g.quantity,
                   "unit_price": g.unit_price, "amount": amounts.get(i).cloned().unwrap_or_default()})
        })
        .collect()
}

/// A field path's label in the page's language (`goods[1].quantity` → 数量 (2)).
pub(super) fn label_of(p: &Page, field: &str) -> String {
    // The label alone: field keys stay in `href="#f-…"` and the JSON API.
    super::field_label(p.language(), field)
}

/// A rule's finding as the page says it: in Chinese, the rule's own wording from the
/// catalogue (`rule.V23`, or `rule.V04.W` for its warning); in English, the finding's
/// message with its specifics. Rule ids stay in `title` attributes.
fn rule_text(p: &Page, e: &FieldError) -> String {
    if p.language() == Lang::En {
        return e.message.clone();
    }
    let sev = if e.severity == Severity::Error {
        "E"
    } else {
        "W"
    };
    super::lookup(Lang::Zh, &format!("rule.{}.{sev}", e.rule))
        .or_else(|| super::lookup(Lang::Zh, &format!("rule.{}", e.rule)))
        .unwrap_or_else(|| e.message.clone())
}

pub(super) fn error_values(p: &Page, errors: &[FieldError]) -> (Value, Vec<Value>, Vec<Value>) {
    let mut by_field: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let (mut errs, mut warns) = (Vec::new(), Vec::new());
    for e in errors {
        let message = rule_text(p, e);
        let v = json!({"field": e.field, "label": label_of(p, &e.field), "rule": e.rule, "message": message});
        if e.severity == Severity::Error {
            by_field
                .entry(e.field.clone())
                .or_default()
                .push(json!({"rule": e.rule, "message": message}));
            errs.push(v);
        } else {
            warns.push(v);
        }
    }
    (json!(by_field), errs, warns)
}

fn app_json(v: &ApplicationView) -> Value {
    json!({
        "id": v.id.to_string(), "status": v.status.code(), "application_no": v.application_no,
        "revision": v.revision, "frozen": v.frozen, "attachments": v.attachments,
        "currency": v.form.currency,
        "commodity_name": v.commodity_name, "totals": v.totals, "licence_no": v.licence_no,
        "commodity_name_en": v.commodity_name.as_deref().map(|n| forms::commodity_name(&v.form.commodity_code, n, true)),
        "heads": v.heads,
    })
}

/// The fields two devices set while apart, by label, each value with who wrote it.
fn conflicts_json(p: &Page, v: &ApplicationView) -> Value {
    json!(
        v.conflicts
            .iter()
            .map(|c| json!({
                "field": c.field, "label": label_of(p, &c.field),
                "values": c.values.iter().enumerate().map(|(i, x)| json!({
                    "value": x.value, "shown": i == 0,
                    "who": if x.mine { p.t("conflict.mine") } else {
                        format!("{} {}", p.t("conflict.other"), &x.device[..8.min(x.device.len())])
                    },
                })).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )
}

/// 保留此值: keeps one value of a field in conflict.
async fn resolve(ctx: Ctx, Path(id): Path<String>, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let field = f.get("field").cloned().unwrap_or_default();
    let value = f.get("value").cloned().unwrap_or_default();
    match run(&s, move |e| e.applications.resolve(id, &field, &value)).await {
        Ok(_) => see_other(&format!("/applications/{id}?msg=flash.resolved")),
        Err(f) => failed(&p, f),
    }
}

fn render_form(
    s: &AppState,
    p: &Page,
    status: StatusCode,
    app: Option<&ApplicationView>,
    form: &ApplicationForm,
    errors: &[FieldError],
) -> Response {
    // Until the form is saved or sealed again, the office's refusal at receipt is what
    // needs fixing, field by field.
    let refused = app
        .and_then(|a| a.refused_at_receipt.as_ref())
        .filter(|_| errors.is_empty());
    let errors = refused.map(|r| r.findings.as_slice()).unwrap_or(errors);
    let (by_field, errs, warns) = error_values(p, errors);
    let amounts = app
        .map(|a| a.totals.line_amounts.clone())
        .unwrap_or_default();
    p.render_status(
        status,
        "enterprise/form.html",
        json!({
            "app": app.map(app_json),
            "conflicts": app.map(|a| conflicts_json(p, a)),
            "action": app.map(|a| format!("/applications/{}", a.id)).unwrap_or_else(|| "/applications".into()),
            "groups": forms::groups(),
            "values": field_paths::flatten(form),
            "goods": goods_rows(form, &amounts),
            "totals": app.map(|a| json!(a.totals)).unwrap_or(json!({})),
            "options": forms::options(s.enterprise.reference().data()),
            "errors": by_field, "error_list": errs, "warning_list": warns,
            "office_refused": refused.map(|r| r.revision),
            "limit_mib": s.enterprise.settings().attachment_max_bytes >> 20,
        }),
    )
}

async fn new_form(ctx: Ctx) -> Response {
    let (s, p) = open(ctx).await;
    let info = run(&s, |e| e.node_info()).await.ok();
    // The name the issuing office accepted last (企业信息维护), else the enrolled one.
    let accepted = run(&s, |e| e.profile.get())
        .await
        .ok()
        .and_then(|p| p.accepted)
        .map(|p| p.enterprise_name)
        .filter(|n| !n.trim().is_empty());
    let mut form = ApplicationForm::default();
    if let Some(i) = info {
        // The enterprise's own name and code, as the platform pre-fills them.
        let name = accepted.unwrap_or(i.enterprise_name);
        form.exporter_name = name.clone();
        form.exporter_uscc = i.enterprise_uscc.clone();
        form.consignor_name = name;
        form.consignor_uscc = i.enterprise_uscc;
    }
    // The year in force and the online application's one price term (FOB).
    form.quota_year = crate::clock::china_date(s.enterprise.now_ms())
        .year()
        .to_string();
    form.price_term = "FOB".into();
    render_form(&s, &p, StatusCode::OK, None, &form, &[])
}

fn posted(body: &Bytes) -> Result<Vec<(String, String)>, String> {
    serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())
}

async fn create(ctx: Ctx, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let form = match posted(&body).and_then(|v| field_paths::unflatten(&v)) {
        Ok(f) => f,
        Err(m) => return p.error(StatusCode::BAD_REQUEST, m),
    };
    let f2 = form.clone();
    match run(&s, move |e| e.applications.create(&f2)).await {
        Ok(v) => see_other(&format!("/applications/{}/edit?msg=flash.saved", v.id)),
        Err(f) => form_failure(&s, &p, None, &form, f),
    }
}

fn form_failure(
    s: &AppState,
    p: &Page,
    app: Option<&ApplicationView>,
    form: &ApplicationForm,
    f: Failure,
) -> Response {
    let (status, body) = f.parts();
    let mut errors = body.errors.clone();
    if errors.is_empty() {
        errors.push(FieldError {
            field: body.field.clone().unwrap_or_else(|| "form".into()),
            rule: body.rule.clone().unwrap_or_else(|| body.code.clone()),
            message: body.message.clone(),
            severity: Severity::Error,
        });
    }
    render_form(s, p, status, app, form, &errors)
}

#[allow(clippy::result_large_err)] // the error is the response to send, once per request
fn parse_id(p: &Page, id: &str) -> Result<DocId, Response> {
    id.parse()
        .map_err(|_| p.error(StatusCode::NOT_FOUND, p.t("error.no_such_application")))
}

async fn edit(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.applications.get(id)).await {
        Ok(v) if v.frozen => see_other(&format!("/applications/{id}")),
        Ok(v) => render_form(&s, &p, StatusCode::OK, Some(&v), &v.form, &[]),
        Err(f) => failed(&p, f),
    }
}

/// 暂存 (`action=save`) or 保存并盖章 (`action=seal`: saves, then seals).
async fn save(ctx: Ctx, Path(id): Path<String>, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let pairs = match posted(&body) {
        Ok(v) => v,
        Err(m) => return p.error(StatusCode::BAD_REQUEST, m),
    };
    let seal = pairs.iter().any(|(k, v)| k == "action" && v == "seal");
    let form = match field_paths::unflatten(&pairs) {
        Ok(f) => f,
        Err(m) => return p.error(StatusCode::BAD_REQUEST, m),
    };
    let f2 = form.clone();
    let saved = match run(&s, move |e| e.applications.save(id, &f2)).await {
        Ok(v) => v,
        Err(f) => {
            let current = run(&s, move |e| e.applications.get(id)).await.ok();
            return form_failure(&s, &p, current.as_ref(), &form, f);
        }
    };
    if !seal {
        return see_other(&format!("/applications/{id}/edit?msg=flash.saved"));
    }
    // The rules first, so a form that cannot be sealed is corrected before the PIN is
    // asked for; then the confirmation page asks for it.
    match run(&s, move |e| e.sealing.check(id)).await {
        Ok(()) => see_other(&format!("/applications/{id}/seal")),
        Err(f) => form_failure(&s, &p, Some(&saved), &form, f),
    }
}

fn render_view(
    s: &AppState,
    p: &Page,
    v: &ApplicationView,
    sealed_no: Option<&str>,
    warnings: Vec<Value>,
) -> Response {
    let history: Vec<Value> = v
        .history
        .iter()
        .map(|h| {
            let (event, detail) = super::history_parts(p.language(), &h.event, &h.detail);
            json!({"at": when(h.at_ms), "event": event, "detail": detail})
        })
        .collect();
    let return_reason = (v.status == ApplicationStatus::Returned
        || v.status == ApplicationStatus::Rejected)
        .then(|| {
            v.history
                .iter()
                .rev()
                .find(|h| !h.detail.is_empty())
                .map(|h| h.detail.clone())
        })
        .flatten();
    // The office's refusal at receipt of the latest revision, each finding linking to its
    // field on the edit page.
    let refusal = v.refused_at_receipt.as_ref().map(|r| {
        let (_, errs, _) = error_values(p, &r.findings);
        json!({"revision": r.revision, "at": when(r.refused_at_ms), "list": errs})
    });
    let opts = forms::options(s.enterprise.reference().data());
    let mut goods_shown = goods_rows(&v.form, &v.totals.line_amounts);
    for r in &mut goods_shown {
        let unit = r["unit"].as_str().unwrap_or_default().to_owned();
        r["unit"] = json!(forms::name_of(
            &opts,
            "units",
            &unit,
            p.language() == Lang::En
        ));
    }
    p.render(
        "enterprise/application.html",
        json!({
            "app": app_json(v),
            "conflicts": conflicts_json(p, v),
            "groups": forms::groups(),
            "values": forms::display(&v.form, s.enterprise.reference().data(), p.language() == Lang::En),
            "goods": goods_shown,
            "history": history,
            "sealed_no": sealed_no,
            "warning_list": warnings,
            "return_reason": return_reason,
            "refusal": refusal,
            "limit_mib": s.enterprise.settings().attachment_max_bytes >> 20,
        }),
    )
}

async fn view(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.applications.get(id)).await {
        Ok(v) => render_view(&s, &p, &v, None, Vec::new()),
        Err(f) => failed(&p, f),
    }
}

/// 上传附件: several files in one multipart post.
async fn upload(ctx: Ctx, Path(id): Path<String>, mut mp: Multipart) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let limit = s.enterprise.settings().attachment_max_bytes;
    let mut added = 0;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return p.error(StatusCode::BAD_REQUEST, format!("files: {e}")),
        };
        if field.name() != Some("files") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_owned();
        let media = field.content_type().unwrap_or("").to_owned();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => return p.error(StatusCode::BAD_REQUEST, format!("files: {e}")),
        };
        if name.is_empty() && bytes.is_empty() {
            continue;
        }
        if bytes.len() as u64 > limit {
            return p.error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("{name}: {} {limit} B", p.t("att.too_large")),
            );
        }
        if let Err(f) = run(&s, move |e| e.attachments.add(id, &name, &media, &bytes)).await {
            return failed(&p, f);
        }
        added += 1;
    }
    see_other(&format!(
        "/applications/{id}/edit?msg=flash.uploaded&arg={added}"
    ))
}

async fn download(ctx: Ctx, Path((id, sha)): Path<(String, String)>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.attachments.get(id, &sha)).await {
        Ok((a, bytes)) => crate::api::v1::applications::attachment_response(&a.name, bytes),
        Err(f) => failed(&p, f),
    }
}

async fn remove_attachment(ctx: Ctx, Path((id, sha)): Path<(String, String)>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.attachments.remove(id, &sha)).await {
        Ok(()) => see_other(&format!("/applications/{id}/edit?msg=flash.removed")),
        Err(f) => failed(&p, f),
    }
}

async fn report(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.sealing.report(id)).await {
        Ok(_) => see_other(&format!("/applications/{id}?msg=flash.reported")),
        Err(f) => failed(&p, f),
    }
}

async fn unseal(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.sealing.unseal(id)).await {
        Ok(_) => see_other(&format!("/applications/{id}/edit")),
        Err(f) => failed(&p, f),
    }
}

async fn copy(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.applications.copy(id)).await {
        Ok(v) => see_other(&format!("/applications/{}/edit?msg=flash.copied", v.id)),
        Err(f) => failed(&p, f),
    }
}

async fn delete(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.applications.delete(id)).await {
        Ok(()) => see_other("/applications?status=draft&msg=flash.deleted"),
        Err(f) => failed(&p, f),
    }
}

async fn seal_file(ctx: Ctx, Path(id): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match run(&s, move |e| e.sealing.sealed_submission(id)).await {
        Ok(sub) => {
            crate::api::v1::applications::attachment_response(&format!("{id}.seal"), sub.encode())
        }
        Err(f) => failed(&p, f),
    }
}

fn trust(s: &AppState) -> Option<exlic_client::certificate::Trust> {
    let root = s.authority_key?;
    s.enterprise.authority_trust(&root).ok()
}

async fn licences(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (s, p) = open(ctx).await;
    let no = q.get("no").map(|s| s.trim().to_owned()).unwrap_or_default();
    let all = match apinode::licence_summaries(&s).await {
        Ok(a) => a,
        Err(f) => return failed(&p, f),
    };
    let standings = match run(&s, |e| e.licence_requests.standings()).await {
        Ok(m) => m,
        Err(f) => return failed(&p, f),
    };
    let today = crate::clock::china_date(s.enterprise.now_ms())
        .strftime("%Y%m%d")
        .to_string();
    let rows: Vec<Value> = all
        .into_iter()
        .filter(|l| no.is_empty() || l.licence_no.contains(&no))
        .map(|l| {
            let status = licence_view::listed_standing(
                standings.get(&l.licence_no).copied(),
                &l.expiry,
                &today,
            );
            json!({"licence_no": l.licence_no, "commodity_code": l.commodity_code,
                   "commodity_name": forms::commodity_name(&l.commodity_code, &l.commodity_name, p.language() == Lang::En),
                   "issue_date": super::licence_form::date(&l.issue_date),
                   "expiry": super::licence_form::date(&l.expiry), "status": status})
        })
        .collect();
    p.render(
        "enterprise/licences.html",
        json!({"licences": rows, "no": no}),
    )
}

async fn licence_bytes(s: &AppState, no: String) -> Result<Option<Vec<u8>>, Failure> {
    let all = run(s, |e| e.replica.licences()).await?;
    Ok(all.into_iter().find(|(n, _)| *n == no).map(|(_, f)| f))
}

/// Renders a licence view (shared with the authority through `licence.html`).
pub fn render_licence(
    p: &Page,
    file: &[u8],
    trust: Option<&exlic_client::certificate::Trust>,
    file_href: &str,
    evidence: &licence_view::Evidence,
    standing_href: &str,
) -> Response {
    let (check, lic) = match trust {
        Some(t) => licence_view::check(file, t),
        None => (
            json!({"ok": false, "detail": p.t("verify.no_trust")}),
            exlic_client::signed::peek(file)
                .ok()
                .and_then(|b| exlic_client::licence::Licence::decode(b).ok()),
        ),
    };
    let Some(l) = lic else {
        return p.error(StatusCode::UNPROCESSABLE_ENTITY, p.t("verify.unreadable"));
    };
    p.render(
        "licence.html",
        json!({
            "lic": {"licence_no": l.licence_no},
            "form": licence_view::form(p, &l),
            "check": check,
            "standing": licence_view::standing(p, &l, evidence, trust),
            "standing_href": standing_href,
            "usage": licence_view::usage(p, evidence),
            "qr_svg": licence_view::qr_svg(&l, file),
            "file_href": file_href,
            "pdf_href": format!("{}/pdf", file_href.trim_end_matches("/file")),
        }),
    )
}

/// What this node knows of licence `no`'s standing.
async fn evidence(s: &AppState, no: String) -> licence_view::Evidence {
    let n = no.clone();
    let (statement, recorded) = run(s, move |e| e.licence_requests.standing_evidence(&n))
        .await
        .unwrap_or((None, exlic_client::standing::State::Valid));
    let usage = run(s, move |e| e.licence_requests.usage(&no))
        .await
        .ok()
        .flatten();
    let heard_ms = apinode::sync_status(s)
        .await
        .ok()
        .and_then(|st| st.last_sync_ms);
    licence_view::Evidence {
        statement,
        recorded: Some(recorded),
        heard_ms,
        now_ms: s.enterprise.now_ms(),
        usage,
        flags: Vec::new(),
    }
}

/// The licence a file claims to be, unchecked (to look up what the node knows of it).
pub fn claimed_licence(file: &[u8]) -> Option<exlic_client::licence::Licence> {
    exlic_client::signed::peek(file)
        .ok()
        .and_then(|b| exlic_client::licence::Licence::decode(b).ok())
}

/// The licence number a file claims, unchecked.
pub fn claimed_no(file: &[u8]) -> Option<String> {
    claimed_licence(file).map(|l| l.licence_no)
}

async fn licence(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    match licence_bytes(&s, no.clone()).await {
        Ok(Some(f)) => {
            let ev = evidence(&s, no.clone()).await;
            render_licence(
                &p,
                &f,
                trust(&s).as_ref(),
                &format!("/licences/{no}/file"),
                &ev,
                &format!("/api/v1/licences/{no}/standing"),
            )
        }
        Ok(None) => p.error(StatusCode::NOT_FOUND, format!("{}: {no}", p.t("lic.none"))),
        Err(f) => failed(&p, f),
    }
}

async fn licence_file(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    match licence_bytes(&s, no.clone()).await {
        Ok(Some(f)) => {
            crate::api::v1::applications::attachment_response(&format!("{no}.licence"), f)
        }
        Ok(None) => p.error(StatusCode::NOT_FOUND, format!("{}: {no}", p.t("lic.none"))),
        Err(f) => failed(&p, f),
    }
}

/// The licence as the node's PDF of the paper form, with its standing as this node knows it.
async fn licence_pdf(ctx: Ctx, Path(no): Path<String>) -> Response {
    let (s, p) = open(ctx).await;
    match licence_bytes(&s, no.clone()).await {
        Ok(Some(f)) => {
            let ev = evidence(&s, no).await;
            let trust = trust(&s);
            let l = claimed_licence(&f);
            let standing = l.map(|l| licence_view::standing(&p, &l, &ev, trust.as_ref()));
            let standing = standing.unwrap_or_default();
            licence_view::pdf_response(p, f, standing).await
        }
        Ok(None) => p.error(StatusCode::NOT_FOUND, format!("{}: {no}", p.t("lic.none"))),
        Err(f) => failed(&p, f),
    }
}

/// The verification page (every node): upload a licence file, see the offline result.
pub async fn verify_render(
    p: &Page,
    trust: Option<&exlic_client::certificate::Trust>,
    file: Option<&[u8]>,
    evidence: Option<&licence_view::Evidence>,
) -> Response {
    let result = file.map(|f| match trust {
        Some(t) => {
            let (check, lic) = licence_view::check(f, t);
            let mut v = check;
            if let (Some(l), Some(ev)) = (&lic, evidence) {
                v["standing"] = licence_view::standing(p, l, ev, Some(t));
            }
            if let Some(l) = &lic {
                v["form"] = json!(licence_view::form(p, l));
                v["qr_svg"] = json!(licence_view::qr_svg(l, f));
            }
            v
        }
        None => json!({"ok": false, "detail": p.t("verify.no_trust")}),
    });
    p.render(
        "verify.html",
        json!({
            "result": result,
            "trusted_key": trust.map(|t| t.keys().iter().map(|k| hex::encode(k.key)).collect::<Vec<_>>().join(", ")).unwrap_or_default(),
        }),
    )
}

async fn verify_page(ctx: Ctx) -> Response {
    let (s, p) = open(ctx).await;
    verify_render(&p, trust(&s).as_ref(), None, None).await
}

/// Reads the one `file` field of a multipart post.
pub async fn one_file(mp: &mut Multipart) -> Result<Vec<u8>, String> {
    while let Some(f) = mp.next_field().await.map_err(|e| format!("file: {e}"))? {
        if f.name() == Some("file") {
            return f
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| format!("file: {e}"));
        }
    }
    Err("file: no file was sent".into())
}

async fn verify_post(ctx: Ctx, mut mp: Multipart) -> Response {
    let (s, p) = open(ctx).await;
    match one_file(&mut mp).await {
        Ok(bytes) => {
            let ev = match claimed_no(&bytes) {
                Some(no) => Some(evidence(&s, no).await),
                None => None,
            };
            verify_render(&p, trust(&s).as_ref(), Some(&bytes), ev.as_ref()).await
        }
        Err(m) => p.error(StatusCode::BAD_REQUEST, m),
    }
}

async fn certificate(ctx: Ctx) -> Response {
    let (s, p) = open(ctx).await;
    let info = match run(&s, |e| e.node_info()).await {
        Ok(i) => i,
        Err(f) => return failed(&p, f),
    };
    let now = s.enterprise.now_ms();
    let cert = run(&s, |e| e.certificates.device_certificate())
        .await
        .ok()
        .flatten()
        .map(|(c, r)| apinode::certificate_view(c, r, now));
    let rows = run(&s, |e| e.certificates.requests())
        .await
        .unwrap_or_default();
    let ekey = run(&s, |e| e.ekey.state()).await.ok().map(|k| {
        json!({"locked": k.locked, "failures": k.failures, "unlock_requested": k.unlock_requested})
    });
    let installed = cert.is_some();
    // Newest first, as the manual's 历史信息 list shows them.
    let requests: Vec<Value> = rows
        .into_iter()
        .rev()
        .map(apinode::view)
        .map(|r| {
            let device = match r.status.as_str() {
                "issued" if installed => "done",
                "issued" => "make",
                "refused" => "refused",
                _ => "submitted",
            };
            json!({"seq": r.seq, "time": when(r.created_ms), "kind": r.kind, "mobile": r.mobile,
                   "old_mobile": r.old_mobile, "status": r.status, "outcome": r.outcome,
                   "device": device})
        })
        .collect();
    p.render(
        "enterprise/certificate.html",
        json!({
            "node": {"enterprise_name": info.enterprise_name, "enterprise_uscc": info.enterprise_uscc},
            "cert": cert.map(|c| json!({
                "enterprise_uscc": c.enterprise_uscc, "mobile": c.mobile, "serial": c.serial,
                "key_fingerprint": c.key_fingerprint, "from": when(c.not_before_ms),
                "to": when(c.not_after_ms), "status": c.status,
            })),
            "requests": requests,
            "ekey": ekey,
        }),
    )
}

async fn cert_page(
    s: &AppState,
    p: &Page,
    status: StatusCode,
    fields: &HashMap<String, String>,
    step: &str,
    error: Option<Value>,
) -> Response {
    let info = match run(s, |e| e.node_info()).await {
        Ok(i) => i,
        Err(f) => return failed(p, f),
    };
    let kind = fields.get("kind").cloned().unwrap_or_else(|| "new".into());
    if apinode::parse_kind(&kind).is_err() {
        return p.error(
            StatusCode::BAD_REQUEST,
            "kind: one of new, number_change, device_change, renew, revoke",
        );
    }
    // The §6.1 profile shown for confirmation: the accepted version, else the proposal.
    let view = run(s, |e| e.profile.get()).await.unwrap_or_default();
    let shown = view.accepted.or(view.proposed).map(|pr| {
        exlic_client::profile::FIELDS
            .iter()
            .map(|f| match profile_choice(p.language(), f, pr.get(f)) {
                Some(name) => json!({"name": f, "value": name}),
                None => json!({"name": f, "value": pr.get(f), "data": true}),
            })
            .collect::<Vec<_>>()
    });
    p.render_status(
        status,
        "enterprise/cert_request.html",
        json!({
            "profile": shown,
            "node": {"enterprise_name": info.enterprise_name, "enterprise_uscc": info.enterprise_uscc},
            "kind": kind, "step": step, "error": error,
            "mobile": fields.get("mobile").cloned().unwrap_or_default(),
            "old_mobile": fields.get("old_mobile").cloned().unwrap_or_default(),
            "device_key": fields.get("device_key").map(|k| k.trim().to_owned()).unwrap_or_default(),
            "own_key": info.device_public_key,
        }),
    )
}

async fn cert_form(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (s, p) = open(ctx).await;
    cert_page(&s, &p, StatusCode::OK, &q, "enter", None).await
}

/// Step `confirm` checks the numbers and shows "提交后信息将不能做更改"; step `submit`
/// signs the request with the e-key (PIN) and queues it for the issuing agency.
async fn cert_post(ctx: Ctx, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let f: HashMap<String, String> = match serde_urlencoded::from_bytes(&body) {
        Ok(v) => v,
        Err(e) => return p.error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let kind = match apinode::parse_kind(f.get("kind").map(String::as_str).unwrap_or("")) {
        Ok(k) => k,
        Err(fl) => return failed(&p, fl),
    };
    let mobile = f.get("mobile").cloned().unwrap_or_default();
    let old = f.get("old_mobile").cloned().unwrap_or_default();
    let mobile_ok =
        |m: &str| m.len() == 11 && m.starts_with('1') && m.bytes().all(|b| b.is_ascii_digit());
    let bad = |field: &str, message: String| Some(json!({"field": field, "message": message}));
    // 注销 retires this device's certificate: it authorises no number.
    // 授权/注销其他设备: the other device's key (empty: this device).
    let device_hex = f
        .get("device_key")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let mut device_key = [0u8; 32];
    let device = (!device_hex.is_empty())
        .then(|| hex::decode_to_slice(&device_hex, &mut device_key).map(|()| device_key));
    let err = if matches!(device, Some(Err(_))) {
        bad("device_key", p.t("cert.bad_device_key"))
    } else if kind != exlic_client::cert_request::RequestKind::Revoke && !mobile_ok(&mobile) {
        bad("mobile", p.t("cert.bad_mobile"))
    } else if f.get("kind").map(String::as_str) == Some("number_change") && !mobile_ok(&old) {
        bad("old_mobile", p.t("cert.bad_mobile"))
    } else {
        None
    };
    if err.is_some() {
        return cert_page(&s, &p, StatusCode::UNPROCESSABLE_ENTITY, &f, "enter", err).await;
    }
    if f.get("step").map(String::as_str) != Some("submit") {
        return cert_page(&s, &p, StatusCode::OK, &f, "confirm", None).await;
    }
    let pin = f.get("pin").cloned().unwrap_or_default();
    match run(&s, move |e| {
        e.certificates
            .prepare_request(kind, &mobile, &old, &pin, device.and_then(Result::ok))
    })
    .await
    {
        Ok(_) => see_other("/certificate?msg=flash.cert_prepared"),
        Err(fl) => {
            let (status, body) = fl.parts();
            let e = bad(body.field.as_deref().unwrap_or("pin"), body.message.clone());
            cert_page(&s, &p, status, &f, "confirm", e).await
        }
    }
}

fn licence_request_kind(q: &HashMap<String, String>) -> crate::domain::licence_request::Kind {
    q.get("kind")
        .and_then(|k| crate::domain::licence_request::Kind::parse(k))
        .unwrap_or(crate::domain::licence_request::Kind::Delete)
}

/// 删证申请 / 核销申请: the list, with search by licence number.
async fn licence_request_list(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (s, p) = open(ctx).await;
    let kind = licence_request_kind(&q);
    let no = q.get("no").map(|n| n.trim().to_owned()).unwrap_or_default();
    let (rows, held) = match run(&s, |e| {
        Ok((e.licence_requests.list()?, e.replica.licences()?))
    })
    .await
    {
        Ok(x) => x,
        Err(f) => return failed(&p, f),
    };
    let commodity = |n: &str| {
        held.iter()
            .find(|(h, _)| h == n)
            .and_then(|(_, f)| exlic_client::signed::peek(f).ok())
            .and_then(|b| exlic_client::licence::Licence::decode(b).ok())
            .map(|l| {
                let name = super::licence_form::commodity_name(&l, p.language() == Lang::En);
                format!("{} {name}", l.commodity[0])
            })
            .unwrap_or_default()
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .filter(|(_, r)| r.kind == kind && (no.is_empty() || r.licence_no.contains(&no)))
        .map(|(id, r)| {
            json!({"id": id.to_string(), "licence_no": r.licence_no, "commodity": commodity(&r.licence_no),
                   "status": r.status.code(), "reason": r.reason, "created": when(r.created_ms)})
        })
        .collect();
    p.render(
        "enterprise/licence_requests.html",
        json!({"kind": kind.code(), "no": no, "rows": rows}),
    )
}

fn filled_fields(f: &crate::domain::licence_request::Filled) -> Value {
    json!([
        {"name": "quota_year", "label": "field.quota_year", "value": f.quota_year},
        {"name": "exporter_code", "label": "field.exporter_code", "value": f.exporter_code},
        {"name": "exporter_uscc", "label": "field.exporter_uscc", "value": f.exporter_uscc},
        {"name": "consignor_code", "label": "field.consignor_code", "value": f.consignor_code},
        {"name": "consignor_uscc", "label": "field.consignor_uscc", "value": f.consignor_uscc},
        {"name": "expiry", "label": "field.expiry", "value": f.expiry},
        {"name": "commodity", "label": "field.commodity", "value": f.commodity},
    ])
}

async fn licence_request_render(
    s: &AppState,
    p: &Page,
    kind: crate::domain::licence_request::Kind,
    licence_no: String,
    error: Option<String>,
) -> Response {
    let (filled, error) = if licence_no.trim().is_empty() || error.is_some() {
        (None, error)
    } else {
        let n = licence_no.clone();
        match run(s, move |e| e.licence_requests.prefill(kind, &n)).await {
            Ok(f) => (Some(filled_fields(&f)), None),
            Err(f) => (None, Some(f.parts().1.message.clone())),
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    p.render_status(
        status,
        "enterprise/licence_request_form.html",
        json!({"kind": kind.code(), "licence_no": licence_no, "filled": filled, "error": error}),
    )
}

/// 新增: enter the licence number; the read-only fields fill from the held licence.
async fn licence_request_form(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let (s, p) = open(ctx).await;
    let no = q.get("licence_no").cloned().unwrap_or_default();
    licence_request_render(&s, &p, licence_request_kind(&q), no, None).await
}

/// 保存.
async fn licence_request_save(ctx: Ctx, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let kind = licence_request_kind(&f);
    let no = f.get("licence_no").cloned().unwrap_or_default();
    let n = no.clone();
    match run(&s, move |e| e.licence_requests.request(kind, &n)).await {
        Ok(_) => see_other(&format!(
            "/licence-requests?kind={}&msg=flash.licence_request_saved",
            kind.code()
        )),
        Err(fl) => {
            let m = fl.parts().1.message.clone();
            licence_request_render(&s, &p, kind, no, Some(m)).await
        }
    }
}

async fn directory_page(ctx: Ctx, section: &str) -> Response {
    let (s, p) = open(ctx).await;
    match run(&s, |e| e.replica.directory()).await {
        Ok(d) => p.render(
            "enterprise/directory.html",
            json!({"section": section, "dir": &d,
                   "guides": d.guides.iter().map(|g| json!({"title": g.title,
                       "paragraphs": g.body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>()}))
                       .collect::<Vec<_>>(),
                   "updated": (d.updated_ms > 0).then(|| when(d.updated_ms))}),
        ),
        Err(f) => failed(&p, f),
    }
}

/// 发证机构联系方式 (offline, as last synced).
async fn directory(ctx: Ctx) -> Response {
    directory_page(ctx, "contacts").await
}

/// 办事指南 (offline, as last synced).
async fn guides(ctx: Ctx) -> Response {
    directory_page(ctx, "guides").await
}

/// 提交: the confirmation "确定要提交申请吗？".
async fn cert_submit_page(ctx: Ctx, Path(seq): Path<u64>) -> Response {
    let (s, p) = open(ctx).await;
    let rows = run(&s, |e| e.certificates.requests())
        .await
        .unwrap_or_default();
    match rows.into_iter().find(|r| r.seq == seq).map(apinode::view) {
        Some(r) if r.status == "pending_submit" => p.render(
            "enterprise/cert_submit.html",
            json!({"row": {"seq": r.seq, "kind": r.kind, "mobile": r.mobile, "time": when(r.created_ms)}}),
        ),
        _ => p.error(StatusCode::NOT_FOUND, format!("seq: no request {seq} waits to be submitted")),
    }
}

/// 确认提交: the request goes out on the next sync.
async fn cert_submit(ctx: Ctx, Path(seq): Path<u64>) -> Response {
    let (s, p) = open(ctx).await;
    match run(&s, move |e| e.certificates.submit_request(seq)).await {
        Ok(()) => see_other("/certificate?msg=flash.cert_submitted"),
        Err(f) => failed(&p, f),
    }
}

/// The profile form's two groups, as on the manual's 用户基本信息 / 用户联系方式 screen.
/// The fixed choices of the §6.1 profile, as stored (the platform's own values) and by
/// catalogue key: 性别 and 证件类型.
const PROFILE_CHOICES: &[(&str, &[(&str, &str)])] = &[
    (
        "applicant_sex",
        &[("男", "profile.sex.male"), ("女", "profile.sex.female")],
    ),
    (
        "id_type",
        &[
            ("身份证", "profile.id.resident"),
            ("护照", "profile.id.passport"),
            ("港澳居民来往内地通行证", "profile.id.hk_macao"),
            ("台湾居民来往大陆通行证", "profile.id.taiwan"),
        ],
    ),
];

/// A profile value that is one of the fixed choices, by its name in `lang`.
fn profile_choice(lang: Lang, field: &str, value: &str) -> Option<String> {
    PROFILE_CHOICES
        .iter()
        .find(|(f, _)| *f == field)?
        .1
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, key)| crate::ui::text(lang, key))
}

fn profile_groups() -> Value {
    let f = &exlic_client::profile::FIELDS;
    json!([
        {"legend": "profile.group.basic", "fields": f[..10]},
        {"legend": "profile.group.contact", "fields": f[10..]},
    ])
}

fn render_profile(
    p: &Page,
    status: StatusCode,
    view: &exlic_client::profile::ProfileView,
    values: &exlic_client::profile::EnterpriseProfile,
    errors: &[exlic_client::error::FieldError],
) -> Response {
    let values: BTreeMap<&str, &str> = exlic_client::profile::FIELDS
        .iter()
        .map(|f| (*f, values.get(f)))
        .collect();
    // In Chinese a problem reads as its rule's words; in English, as found.
    let message = |e: &exlic_client::error::FieldError| match p.language() {
        Lang::Zh => crate::ui::lookup(Lang::Zh, &format!("rule.{}", e.rule))
            .unwrap_or_else(|| e.message.clone()),
        Lang::En => e.message.clone(),
    };
    let by_field: BTreeMap<&str, String> = errors
        .iter()
        .map(|e| (e.field.as_str(), message(e)))
        .collect();
    p.render_status(
        status,
        "enterprise/profile.html",
        json!({
            "view": view, "groups": profile_groups(), "values": values,
            "choices": PROFILE_CHOICES.iter().map(|(f, options)| (*f, options.iter().map(|(v, k)| json!({"value": v, "name": p.t(k)})).collect::<Vec<_>>())).collect::<BTreeMap<_, _>>(),
            "errors": by_field,
            "error_list": errors.iter().map(|e| json!({"field": e.field, "message": message(e), "rule": e.rule})).collect::<Vec<_>>(),
            "accepted_at": (view.accepted_ms > 0).then(|| when(view.accepted_ms)),
        }),
    )
}

/// 企业信息维护.
async fn profile_page(ctx: Ctx) -> Response {
    let (s, p) = open(ctx).await;
    let (view, info) = match run(&s, |e| Ok((e.profile.get()?, e.node_info()?))).await {
        Ok(x) => x,
        Err(f) => return failed(&p, f),
    };
    let values = view
        .proposed
        .clone()
        .unwrap_or(exlic_client::profile::EnterpriseProfile {
            enterprise_name: info.enterprise_name,
            uscc: info.enterprise_uscc,
            ..Default::default()
        });
    render_profile(&p, StatusCode::OK, &view, &values, &[])
}

async fn profile_save(ctx: Ctx, body: Bytes) -> Response {
    let (s, p) = open(ctx).await;
    let f: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let g = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let pr = exlic_client::profile::EnterpriseProfile {
        enterprise_name: g("enterprise_name"),
        enterprise_code: g("enterprise_code"),
        uscc: g("uscc"),
        registered_address: g("registered_address"),
        applicant_name: g("applicant_name"),
        applicant_sex: g("applicant_sex"),
        id_type: g("id_type"),
        id_number: g("id_number"),
        login_name: g("login_name"),
        email: g("email"),
        contact_address: g("contact_address"),
        mobile: g("mobile"),
        landline: g("landline"),
        department: g("department"),
        title: g("title"),
        work_address: g("work_address"),
        postcode: g("postcode"),
    };
    let pr2 = pr.clone();
    match run(&s, move |e| e.profile.propose(&pr2)).await {
        Ok(_) => see_other("/profile?msg=flash.profile_saved"),
        Err(fl) => {
            let view = run(&s, |e| e.profile.get()).await.unwrap_or_default();
            let (status, body) = fl.parts();
            let mut errors = body.errors.clone();
            if errors.is_empty() {
                errors.push(exlic_client::error::FieldError {
                    field: body
                        .field
                        .clone()
                        .unwrap_or_else(|| "enterprise_name".into()),
                    rule: body.code.clone(),
                    message: body.message.clone(),
                    severity: Severity::Error,
                });
            }
            render_profile(&p, status, &view, &pr, &errors)
        }
    }
}

/// 申请解锁: asks the issuing office to unlock the locked e-key.
async fn unlock_request(ctx: Ctx) -> Response {
    let (s, p) = open(ctx).await;
    match run(&s, |e| e.ekey.request_unlock()).await {
        Ok(_) => see_other("/certificate?msg=flash.unlock_requested"),
        Err(f) => failed(&p, f),
    }
}
