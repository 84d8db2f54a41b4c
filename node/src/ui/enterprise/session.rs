//! The enterprise screens about who acts: 登录 and 退出, the seal confirmation (保存并盖章
//! asks for the e-key's PIN) and 操作记录, the operators' audit trail.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Path, Request};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::{Ctx, error_values, failed, form_failure, open, parse_id, posted, render_view};
use crate::api::operators::{self, OPERATOR_COOKIE};
use crate::api::v1::run;
use crate::enterprise::operators::{Operator, OperatorRole};
use crate::ui::{Csrf, Guard, Lang, Page, see_other};

/// Where to go after signing in: a local path only.
fn local_path(next: Option<&str>) -> String {
    next.filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .filter(|b| !b.starts_with("/login"))
        .unwrap_or("/")
        .to_owned()
}

fn sign_in_frame(lang: Lang, csrf: &Csrf) -> Page {
    Page::new(lang, csrf, "/login", "brand.enterprise")
}

/// The frame of a page answered by the gate, before any handler: the language and CSRF
/// token the guard put on the request.
fn frame_of(req: &Request) -> Page {
    let lang = req.extensions().get::<Lang>().copied().unwrap_or(Lang::Zh);
    let csrf = req
        .extensions()
        .get::<Csrf>()
        .cloned()
        .unwrap_or(Csrf(String::new()));
    sign_in_frame(lang, &csrf)
}

/// The sign-in page with `status`; after signing in the browser returns to the page it
/// asked for (a GET) or to the home page.
pub fn sign_in_page(req: &Request, status: StatusCode, error: Option<String>) -> Response {
    let next = if req.method() == axum::http::Method::GET {
        req.uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default()
    } else {
        String::new()
    };
    frame_of(req).render_status(
        status,
        "login.html",
        json!({"error": error, "next": local_path(Some(&next))}),
    )
}

/// The 403 page of an action the operator's role may not take.
pub fn refused_page(req: &Request, action: &str, role: &str) -> Response {
    let p = frame_of(req);
    let why = p
        .t("auth.sealer_only")
        .replace("{action}", &p.t(&format!("audit.{action}")))
        .replace("{role}", &p.t(&format!("role.{role}")));
    p.error(
        StatusCode::FORBIDDEN,
        format!("{}: {why}", p.t("auth.forbidden")),
    )
}

/// `GET /login`.
pub async fn login_page(
    Extension(lang): Extension<Lang>,
    Extension(csrf): Extension<Csrf>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    sign_in_frame(lang, &csrf).render(
        "login.html",
        json!({"next": local_path(q.get("next").map(String::as_str))}),
    )
}

/// `POST /login`: signs in and sets the session cookie.
pub async fn login_post(
    axum::extract::State(s): axum::extract::State<crate::api::AppState>,
    Extension(g): Extension<std::sync::Arc<Guard>>,
    Extension(lang): Extension<Lang>,
    Extension(csrf): Extension<Csrf>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let p = sign_in_frame(lang, &csrf);
    let f: std::collections::HashMap<String, String> =
        serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let login = f.get("login").cloned().unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let next = local_path(f.get("next").map(String::as_str));
    let error = match operators::sign_in(&s, login.clone(), password, peer.ip().to_string()).await {
        Ok(op) => {
            let token = match operators::start_session(&s, &op).await {
                Ok(t) => t,
                Err(f) => return failed(&p, f),
            };
            let mut resp = see_other(&next);
            resp.headers_mut().append(
                header::SET_COOKIE,
                crate::ui::guard::set_cookie(OPERATOR_COOKIE, &token, None, g.secure()),
            );
            return resp;
        }
        Err(f) if f.parts().0 == StatusCode::TOO_MANY_REQUESTS => p.t("auth.locked"),
        Err(f) if f.parts().0 == StatusCode::UNAUTHORIZED => p.t("auth.failed"),
        Err(f) => return failed(&p, f),
    };
    p.render_status(
        StatusCode::UNAUTHORIZED,
        "login.html",
        json!({"error": error, "login": login, "next": next}),
    )
}

/// `POST /logout`.
pub async fn logout(
    axum::extract::State(s): axum::extract::State<crate::api::AppState>,
    Extension(g): Extension<std::sync::Arc<Guard>>,
    headers: axum::http::HeaderMap,
) -> Response {
    operators::end_session(&s, &headers).await;
    let mut r = see_other("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        crate::ui::guard::set_cookie(OPERATOR_COOKIE, "", Some(0), g.secure()),
    );
    r
}

/// `GET /audit`: 操作记录.
pub async fn audit(
    ctx: Ctx,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    use crate::store::audit::ENTERPRISE;
    let (s, p) = open(ctx).await;
    let (page, filter) = match crate::ui::audit_request(&p, &q, ENTERPRISE) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let offset = (page - 1) * crate::ui::PER_PAGE;
    match run(&s, move |e| {
        e.operators.audit_page(&filter, offset, crate::ui::PER_PAGE)
    })
    .await
    {
        Ok((lines, total)) => crate::ui::audit_view(
            &p,
            &q,
            ENTERPRISE,
            (&lines, total),
            |l| (l.subject.0 != [0; 16]).then(|| format!("/applications/{}", l.subject)),
            None,
        ),
        Err(f) => failed(&p, f),
    }
}

/// What the confirmation page shows and asks.
async fn confirm_page(
    s: &crate::api::AppState,
    p: &Page,
    op: &Operator,
    id: exlic_client::DocId,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let v = match run(s, move |e| e.applications.get(id)).await {
        Ok(v) => v,
        Err(f) => return failed(p, f),
    };
    let needs_pin = run(s, |e| e.operators.seal_needs_pin())
        .await
        .unwrap_or(true);
    let ekey = run(s, |e| e.ekey.state()).await.ok();
    let shown = crate::ui::forms::display(
        &v.form,
        s.enterprise.reference().data(),
        p.language() == Lang::En,
    );
    let value = |k: &str| shown.get(k).cloned().unwrap_or_default();
    p.render_status(
        status,
        "enterprise/seal_confirm.html",
        json!({
            "id": id.to_string(),
            "application_no": v.application_no,
            "commodity": v.commodity_name.as_deref().map(|n| crate::ui::forms::commodity_name(&v.form.commodity_code, n, p.language() == Lang::En)),
            "commodity_code": v.form.commodity_code,
            "country": value("country"),
            "exporter": value("exporter_name"),
            "total": v.totals.total,
            "currency": value("currency"),
            "frozen": v.frozen,
            "may_seal": op.role == OperatorRole::Sealer,
            "needs_pin": needs_pin,
            "failures": ekey.as_ref().map(|k| k.failures).unwrap_or(0),
            "locked": ekey.as_ref().is_some_and(|k| k.locked),
            "error": error,
        }),
    )
}

/// `GET /applications/{id}/seal`: the confirmation 保存并盖章 asks for.
pub async fn seal_confirm(
    ctx: Ctx,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    confirm_page(&s, &p, &op, id, StatusCode::OK, None).await
}

/// `POST /applications/{id}/seal`: checks the PIN, then seals.
pub async fn seal_post(
    ctx: Ctx,
    Extension(op): Extension<Operator>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (s, p) = open(ctx).await;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let pin = posted(&body)
        .ok()
        .and_then(|v| v.into_iter().find(|(k, _)| k == "pin").map(|(_, v)| v))
        .unwrap_or_default();
    let from = peer.ip().to_string();
    let op2 = op.clone();
    if let Err(f) = run(&s, move |e| e.operators.confirm_seal(&op2, &pin, &from)).await {
        let (status, body) = f.parts();
        let needs_pin = run(&s, |e| e.operators.seal_needs_pin())
            .await
            .unwrap_or(true);
        // The e-key's own counts and lock show on the page; the message says what happened.
        let msg = match body.field.as_deref() {
            Some("pin") if needs_pin => p.t("seal.confirm.wrong_pin"),
            Some("pin") => p.t("seal.confirm.wrong_password"),
            _ => super::failure_text(&p, body),
        };
        let status = if status == StatusCode::BAD_REQUEST {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            status
        };
        return confirm_page(&s, &p, &op, id, status, Some(msg)).await;
    }
    match run(&s, move |e| e.sealing.seal(id)).await {
        Ok(r) => {
            let v = match run(&s, move |e| e.applications.get(id)).await {
                Ok(v) => v,
                Err(f) => return failed(&p, f),
            };
            let (_, _, warns) = error_values(&p, &r.warnings);
            render_view(&s, &p, &v, Some(&r.application_no), warns)
        }
        Err(f) => {
            let current = run(&s, move |e| e.applications.get(id)).await.ok();
            match &current {
                Some(v) => form_failure(&s, &p, current.as_ref(), &v.form.clone(), f),
                None => failed(&p, f),
            }
        }
    }
}
