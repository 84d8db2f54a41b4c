//! The issuing office's staff screens: the routes, the frame and navigation, sign-in and
//! sign-out; the screens themselves by group in `review` (dashboard, inboxes, cases),
//! `licences` (issued licences, verification, 删证/核销), `enrolment` (invites,
//! certificates, profiles, unlocks), `office` (audit trail, directory, keys) and
//! `reference` (参考数据).
//!
//! Every screen but sign-in needs a session; decisions need the stage's role (经办人 for
//! 初审, 处长 for 复审), invites the administrator's. Business rules stay in
//! [`Authority`](crate::authority::Authority).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
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
use crate::authority::staff::{Role, Staff};
use crate::domain::review::Stage;

mod enrolment;
mod licences;
mod office;
mod reference;
mod review;

use enrolment::*;
use licences::*;
use office::*;
use review::*;

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
        .route("/cluster/replicas", post(replica_add))
        .route("/cluster/replicas/{id}/remove", post(replica_remove))
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
    let outcome = match run(s, move |a| a.staff.login(&l2, &password, &from)).await {
        Ok(Ok(staff)) => crate::api::authority::start_session(s, staff).await.map(Ok),
        Ok(Err(e)) => Ok(Err(e)),
        Err(f) => Err(f),
    };
    super::sign_in_answer(&p, outcome, SESSION_COOKIE, g.secure(), login)
}

async fn logout(Extension(g): Extension<std::sync::Arc<Guard>>, ctx: Ctx) -> Response {
    let (State(s), _, _, headers, _) = &ctx;
    if let Some(t) = crate::api::extract::cookie(headers, SESSION_COOKIE) {
        crate::api::authority::end_session(s, t.to_owned()).await;
    }
    super::signed_out(SESSION_COOKIE, g.secure())
}
