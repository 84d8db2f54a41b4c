//! The enterprise node's operator gate, in front of every UI and API route: a session or
//! 401, the sealing role for the routes that act in the enterprise's name or 403, and the
//! audit line written after each change.
//!
//! It is a layer over the whole router, so a route added later is closed by default; only
//! [`is_public`] paths pass without a session.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use exlic_client::DocId;

use crate::api::AppState;
use crate::api::error::Failure;
use crate::api::operators::session_of;
use crate::enterprise::operators::{Operator, OperatorRole};

/// What may be reached without a session: sign-in, static assets, the language switch
/// and the published API description.
pub fn is_public(method: &Method, path: &str) -> bool {
    match *method {
        Method::GET | Method::HEAD => {
            path.starts_with("/static/") || path == "/login" || path == "/api/openapi.json"
        }
        Method::POST => path == "/login" || path == "/lang" || path == "/api/v1/session",
        _ => false,
    }
}

/// Routes only the 盖章员 (sealer) may call, by method and route template, with the audit
/// trail's code for each (`store::audit::codes`): they seal, report, or send requests to
/// the office in the enterprise's name.
pub const SEALER_ONLY: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/applications/{id}/seal", "seal"),
    ("POST", "/api/v1/applications/{id}/report", "report"),
    ("POST", "/api/v1/applications/{id}/unseal", "unseal"),
    ("POST", "/api/v1/licence-requests", "licence_request"),
    ("POST", "/api/v1/certificate/requests", "cert_request"),
    ("PUT", "/api/v1/profile", "profile"),
    ("POST", "/api/v1/ekey/unlock-request", "unlock_request"),
    ("POST", "/applications/{id}/seal", "seal"),
    ("POST", "/applications/{id}/report", "report"),
    ("POST", "/applications/{id}/unseal", "unseal"),
    ("POST", "/licence-requests", "licence_request"),
    ("POST", "/certificate/request", "cert_request"),
    ("POST", "/certificate/requests/{seq}/submit", "cert_request"),
    ("POST", "/profile", "profile"),
    ("POST", "/ekey/unlock-request", "unlock_request"),
];

/// The audit trail's code for every other change, by method and route template.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/applications", "create"),
    ("POST", "/applications", "create"),
    ("PUT", "/api/v1/applications/{id}", "save"),
    ("PATCH", "/api/v1/applications/{id}", "save"),
    ("POST", "/applications/{id}", "save"),
    ("DELETE", "/api/v1/applications/{id}", "delete_draft"),
    ("POST", "/applications/{id}/delete", "delete_draft"),
    ("POST", "/api/v1/applications/{id}/copy", "copy"),
    ("POST", "/applications/{id}/copy", "copy"),
    ("POST", "/api/v1/applications/{id}/attachments", "attach"),
    ("POST", "/applications/{id}/attachments", "attach"),
    (
        "DELETE",
        "/api/v1/applications/{id}/attachments/{sha256}",
        "detach",
    ),
    (
        "POST",
        "/applications/{id}/attachments/{sha}/delete",
        "detach",
    ),
    ("DELETE", "/api/v1/session", "logout"),
    ("POST", "/logout", "logout"),
];

/// The 401 of a request without a session: the JSON error under `/api/`, the sign-in
/// page for a browser (it returns to `path` afterwards).
fn unauthenticated(api: bool, req: &Request) -> Response {
    if api {
        return Failure::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first: POST /api/v1/session {\"login\":…,\"password\":…}, then send Authorization: Bearer <token>",
            None,
        )
        .into_response();
    }
    super::enterprise::sign_in_page(req, StatusCode::UNAUTHORIZED, None)
}

/// The gate (see the module docs).
pub async fn gate(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    if is_public(&method, &path) {
        return next.run(req).await;
    }
    let api = path.starts_with("/api/");
    let Some(op) = session_of(&s, req.headers()) else {
        return unauthenticated(api, &req);
    };
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| path.clone());
    let sealer_only = SEALER_ONLY
        .iter()
        .find(|(m, t, _)| *m == method.as_str() && *t == template);
    if let Some((_, _, what)) = sealer_only
        && op.role != OperatorRole::Sealer
    {
        let detail = format!("@role={};action={what};path={path}", op.role.code());
        record(&s, &op, &path, "refused", &detail).await;
        if api {
            let why = format!(
                "{what} is for the sealer (盖章员) role; {} is a {}",
                op.login,
                op.role.code()
            );
            return Failure::new(StatusCode::FORBIDDEN, "forbidden", why, Some("role"))
                .into_response();
        }
        return super::enterprise::refused_page(&req, what, op.role.code());
    }
    req.extensions_mut().insert(op.clone());
    let resp = next.run(req).await;
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let action = sealer_only
            .map(|(_, _, what)| *what)
            .or_else(|| {
                ACTIONS
                    .iter()
                    .find(|(m, t, _)| *m == method.as_str() && *t == template)
                    .map(|(_, _, what)| *what)
            })
            .unwrap_or("other");
        let status = resp.status();
        let outcome = if status.is_success() || status.is_redirection() {
            "done"
        } else {
            "refused"
        };
        record(
            &s,
            &op,
            &path,
            action,
            &format!(
                "@outcome={outcome};status={};method={method};path={path}",
                status.as_u16()
            ),
        )
        .await;
    }
    resp
}

/// Appends an audit line about the application in `path`, if it names one.
async fn record(s: &AppState, op: &Operator, path: &str, action: &str, detail: &str) {
    let subject = path
        .split('/')
        .find_map(|seg| seg.parse::<DocId>().ok())
        .unwrap_or(DocId([0; 16]));
    let (e, actor, action, detail) = (
        s.enterprise.clone(),
        op.actor(),
        action.to_owned(),
        detail.to_owned(),
    );
    let done =
        tokio::task::spawn_blocking(move || e.operators.record(&actor, subject, &action, &detail))
            .await;
    if !matches!(done, Ok(Ok(()))) {
        tracing::error!("an operator action could not be written to the audit trail");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, header};
    use exlic_client::error::ApiError;
    use tower::ServiceExt;

    use super::*;

    /// Every route the sources declare, as (method-agnostic) paths with their parameters
    /// filled in: the UI's (`ui/enterprise.rs` and its submodules, `ui.rs`) and the API's
    /// (`api/v1.rs`, under `/api/v1`). Read from the source text, so a route added later
    /// is walked without anyone listing it here.
    fn declared_routes() -> Vec<String> {
        let sources = [
            ("", include_str!("enterprise.rs")),
            ("", include_str!("../ui.rs")),
            ("/api/v1", include_str!("../api/v1.rs")),
            ("", include_str!("../api.rs")),
        ];
        let mut out = Vec::new();
        for (prefix, src) in sources {
            for (at, _) in src.match_indices(".route(") {
                let rest = src[at + 7..].trim_start();
                let Some(rest) = rest.strip_prefix('"') else {
                    continue;
                };
                let path = rest.split('"').next().unwrap_or_default();
                let filled = path
                    .replace("{id}", "00112233445566778899aabbccddeeff")
                    .replace("{sha}", &"ab".repeat(32))
                    .replace("{sha256}", &"ab".repeat(32))
                    .replace("{no}", "26AA000001")
                    .replace("{seq}", "1")
                    .replace("{name}", "app.css");
                out.push(format!("{prefix}{filled}"));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn app() -> (tempfile::TempDir, axum::Router) {
        let f = crate::enterprise::tests::fx();
        let state = AppState::new(Arc::new(f.ent), None, None);
        let app = super::super::enterprise_app(state, super::super::Guard::new(8080, &[], false));
        (f.dir, app)
    }

    async fn send(app: &axum::Router, method: &str, path: &str, token: Option<&str>) -> Response {
        let mut rb = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:8080");
        if let Some(t) = token {
            rb = rb.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        app.clone()
            .oneshot(rb.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn without_a_session_every_route_but_sign_in_and_assets_answers_401() {
        let (_dir, app) = app();
        let routes = declared_routes();
        assert!(routes.len() > 50, "the route table was found: {routes:?}");
        assert!(routes.contains(&"/api/v1/applications".to_owned()));
        assert!(routes.contains(&"/applications/new".to_owned()));
        let mut public = Vec::new();
        for path in &routes {
            // Writes without a token are refused by the CSRF guard before the gate (403),
            // so the walk reads: a GET, and a PUT/DELETE/POST to the API, which needs no
            // CSRF token from a bearer-less non-browser client.
            for method in ["GET", "POST", "PUT", "DELETE"] {
                if !path.starts_with("/api/") && method != "GET" {
                    continue;
                }
                let m = Method::from_bytes(method.as_bytes()).unwrap();
                let status = send(&app, method, path, None).await.status();
                if is_public(&m, path) {
                    public.push(format!("{method} {path}"));
                    continue;
                }
                // `/lang` is outside the gate (POST only, public): other methods get 405.
                if status == StatusCode::METHOD_NOT_ALLOWED && is_public(&Method::POST, path) {
                    continue;
                }
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} answered without a session"
                );
            }
        }
        // What stays open is exactly sign-in, the assets and the API description.
        public.sort();
        assert_eq!(
            public,
            [
                "GET /api/openapi.json",
                "GET /login",
                "GET /static/app.css",
                "POST /api/v1/session",
            ]
        );
        // A browser without a session gets the sign-in page, with the 401.
        let r = send(&app, "GET", "/applications", None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains(r#"action="/login""#), "{html}");
        assert!(
            html.contains(r#"name="next" value="&#x2f;applications""#),
            "{html}"
        );
        // A forged token is no session.
        let r = send(&app, "GET", "/api/v1/node", Some(&"0".repeat(64))).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_drafter_drafts_but_may_not_seal_or_report_and_both_are_audited() {
        let f = crate::enterprise::tests::fx();
        let _dir = f.dir;
        let state = AppState::new(Arc::new(f.ent), None, None);
        let app2 =
            super::super::enterprise_app(state.clone(), super::super::Guard::new(8080, &[], false));
        // Accounts and sessions straight in the store the app serves.
        let ops = &state.enterprise.operators;
        ops.put(
            "zhao",
            "赵制单",
            OperatorRole::Drafter,
            "drafter-password-1",
        )
        .unwrap();
        ops.put("zhang", "张盖章", OperatorRole::Sealer, "sealer-password-1")
            .unwrap();
        let drafter = state
            .sessions
            .start("zhao", state.enterprise.now_ms())
            .unwrap();
        let sealer = state
            .sessions
            .start("zhang", state.enterprise.now_ms())
            .unwrap();
        let id = state
            .enterprise
            .applications
            .create(&exlic_client::application::ApplicationForm::default())
            .unwrap()
            .id;
        for action in ["seal", "report", "unseal"] {
            let path = format!("/api/v1/applications/{id}/{action}");
            let r = send(&app2, "POST", &path, Some(&drafter)).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
            let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            let e: ApiError = serde_json::from_slice(&body).unwrap();
            assert_eq!(e.field.as_deref(), Some("role"));
        }
        // A drafter reads and drafts.
        let r = send(
            &app2,
            "GET",
            &format!("/api/v1/applications/{id}"),
            Some(&drafter),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        // The sealer passes the gate (and is then asked for the PIN: 400, no body here).
        let r = send(
            &app2,
            "POST",
            &format!("/api/v1/applications/{id}/seal"),
            Some(&sealer),
        )
        .await;
        assert_ne!(r.status(), StatusCode::FORBIDDEN);
        assert_ne!(r.status(), StatusCode::UNAUTHORIZED);
        let trail = ops.audit_trail(None, 100).unwrap();
        assert!(
            trail.iter().any(|e| e.actor == "制单员 赵制单 (zhao)"
                && e.action == "refused"
                && e.detail.contains("action=seal")
                && e.subject == id),
            "{trail:?}"
        );
        assert!(
            trail
                .iter()
                .any(|e| e.actor == "盖章员 张盖章 (zhang)" && e.action == "seal"),
            "{trail:?}"
        );
    }
}
