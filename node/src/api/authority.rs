//! The authority node's JSON API, served over TLS with the staff UI: node info (public),
//! a staff session (`POST /api/v1/session`), and — for signed-in staff only — invites
//! (administrator), review decisions (经办人 初审, 处长 复审) and read-outs of cases.
//!
//! A session is presented as `Authorization: Bearer <token>` or the UI's session cookie.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use exlic_client::authority::{
    AuthorityInfo, CaseView, DecisionInput, DecisionResult, DocHeads, InboxPage, InboxRow,
    InviteRequest, InviteResponse,
};
use exlic_client::status::ApplicationStatus;

use crate::authority::staff::{Role, Sessions, Staff};
use crate::domain::review::Stage;

use super::error::Failure;
use super::extract::{JsonBody, PathId, QueryParams};
use crate::authority::{Authority, AuthorityError};
use exlic_client::error::ApiError;

mod enrolment;
mod licences;
mod log;
mod office;
mod review;

use enrolment::*;
pub use enrolment::{CertificateLine, CertificateQuery, profile_row};
pub use licences::may_decide_licence_requests;
use licences::*;
use log::*;
use office::*;
pub use office::{PublishFile, PublishInput};
use review::*;
pub use review::{INBOX_PER_PAGE, inbox_row};

/// What authority handlers get.
#[derive(Debug, Clone)]
pub struct AuthorityState {
    /// The role.
    pub authority: Arc<Authority>,
    /// Where it listens for enterprises.
    pub p2p_addrs: Vec<String>,
    /// Staff sessions.
    pub sessions: Arc<Sessions>,
}

/// The session cookie of the staff UI.
pub const SESSION_COOKIE: &str = "exlic_session";

/// The staff member whose session the request carries (bearer token or cookie).
pub fn session_of(s: &AuthorityState, headers: &HeaderMap) -> Option<Staff> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let token = bearer.or_else(|| super::extract::cookie(headers, SESSION_COOKIE))?;
    s.sessions.get(token.trim(), s.authority.now_ms())
}

/// Starts a session for `staff` (a durable write, off the async threads); its token.
pub async fn start_session(s: &AuthorityState, staff: Staff) -> Result<String, Failure> {
    let (sessions, now) = (s.sessions.clone(), s.authority.now_ms());
    tokio::task::spawn_blocking(move || sessions.start(&staff, now))
        .await
        .map_err(Failure::internal)?
        .map_err(Failure::from)
}

/// Ends the session of `token` (a missing one is already ended).
pub async fn end_session(s: &AuthorityState, token: String) {
    let sessions = s.sessions.clone();
    let ended = tokio::task::spawn_blocking(move || sessions.end(token.trim())).await;
    if !matches!(ended, Ok(Ok(()))) {
        tracing::warn!("a session could not be ended");
    }
}

/// The signed-in staff member, or 401.
pub fn require(s: &AuthorityState, headers: &HeaderMap) -> Result<Staff, Failure> {
    session_of(s, headers).ok_or_else(|| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first: POST /api/v1/session",
            None,
        )
    })
}

/// 403 unless `staff` has `role`.
pub fn require_role(staff: &Staff, role: Role, what: &str) -> Result<(), Failure> {
    if staff.role == role {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{what} is for the {} ({}) role; you are {}",
                role.zh(),
                role.code(),
                staff.role.code()
            ),
            None,
        ))
    }
}

/// The review stage a staff role decides.
pub fn stage_role(stage: Stage) -> Role {
    match stage {
        Stage::Initial => Role::Officer,
        Stage::Second => Role::Chief,
    }
}

impl From<AuthorityError> for Failure {
    fn from(e: AuthorityError) -> Self {
        let msg = e.to_string();
        match e {
            AuthorityError::BadInput { field, .. } => Failure::bad_input(&field, msg),
            AuthorityError::NotFound { field, .. } => {
                Failure::new(StatusCode::NOT_FOUND, "not_found", msg, Some(&field))
            }
            AuthorityError::WrongState { field, .. } => Failure::new(
                StatusCode::CONFLICT,
                "not_allowed_in_this_state",
                msg,
                Some(&field),
            ),
            AuthorityError::Store(s) => Failure::from(s),
            AuthorityError::Unavailable(_) => Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "office_unavailable",
                msg,
                None,
            ),
            other => Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage_error",
                other.to_string(),
                None,
            ),
        }
    }
}

/// Runs an administrator's action `f` (given the acting staff member's audit name) after
/// checking the session and the role; `what` names the action in a refusal.
async fn as_admin<T: Send + 'static>(
    s: &AuthorityState,
    headers: &HeaderMap,
    what: &str,
    f: impl FnOnce(&Authority, &str) -> Result<T, AuthorityError> + Send + 'static,
) -> Result<T, Failure> {
    let staff = require(s, headers)?;
    require_role(&staff, Role::Admin, what)?;
    let actor = staff.actor();
    run(s, move |a| f(a, &actor)).await
}

/// Runs an authority action on the blocking pool.
pub async fn run<T: Send + 'static>(
    s: &AuthorityState,
    f: impl FnOnce(&Authority) -> Result<T, AuthorityError> + Send + 'static,
) -> Result<T, Failure> {
    let a = s.authority.clone();
    tokio::task::spawn_blocking(move || f(&a))
        .await
        .map_err(Failure::internal)?
        .map_err(Failure::from)
}

/// The authority's routes.
pub fn router(state: AuthorityState) -> Router {
    Router::new()
        .route("/api/v1/node", get(info))
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/session", post(login).delete(logout))
        .route("/api/v1/invites", post(invite))
        .route("/api/v1/customs-invites", post(invite_customs))
        .route("/api/v1/licences/{no}/usage", get(licence_usage))
        .route("/api/v1/docs/{id}/heads", get(heads))
        .route("/api/v1/cases/{id}", get(case))
        .route("/api/v1/cases/{id}/decisions", post(decide))
        .route("/api/v1/cases", get(inbox))
        .route("/api/v1/licences/{no}/file", get(licence_file))
        .route("/api/v1/licences/{no}/status", get(licence_status))
        .route("/api/v1/licence-requests", get(licence_requests))
        .route("/log/checkpoint", get(log_checkpoint))
        .route("/log/tile/{*path}", get(log_tile))
        .route("/api/v1/log/proof", get(log_proof))
        .route("/api/v1/log/consistency", get(log_consistency))
        .route("/api/v1/directory", get(directory).put(put_directory))
        .route("/api/v1/reference", get(reference).post(publish_reference))
        .route("/api/v1/keys", get(keys))
        .route("/api/v1/keys/rollover", post(roll_key))
        .route("/api/v1/staff", get(staff).post(put_staff))
        .route("/api/v1/cluster/replicas", post(add_replica))
        .route("/api/v1/cluster/replicas/{id}", delete(remove_replica))
        .route("/api/v1/profiles", get(profiles))
        .route("/api/v1/audit", get(super::audit::office))
        .route("/api/v1/certificates", get(certificates))
        .route("/api/v1/unlock-requests", get(unlock_requests))
        .route(
            "/api/v1/unlock-requests/{uscc}/approve",
            post(approve_unlock),
        )
        .route("/api/v1/profiles/{uscc}/accept", post(accept_profile))
        .route(
            "/api/v1/licence-requests/{id}/decision",
            post(decide_licence_request),
        )
        .with_state(state)
}

#[utoipa::path(get, path = "/api/v1/node", tag = "office", responses((status = 200, body = AuthorityInfo)))]
async fn info(State(s): State<AuthorityState>) -> Result<Json<AuthorityInfo>, Failure> {
    let addrs = s.p2p_addrs.clone();
    run(&s, move |a| {
        Ok(AuthorityInfo {
            role: "authority".into(),
            name: a.info().name.clone(),
            agency_code: a.info().agency_code.clone(),
            public_key: hex::encode(a.public_key()),
            root_key: hex::encode(a.root_key()),
            p2p_addrs: addrs,
            docs_held: a.replica.doc_count()?,
            submissions: a.ingest.submission_count()?,
            cluster: a.cluster_status(),
        })
    })
    .await
    .map(Json)
}

/// Staff sign-in for API clients.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginInput {
    login: String,
    password: String,
}

#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = Object, responses((status = 200, description = "`{token, role, login}`: send `Authorization: Bearer <token>`", body = Object), (status = 401, body = ApiError), (status = 429, body = ApiError)))]
async fn login(
    State(s): State<AuthorityState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    JsonBody(l): JsonBody<LoginInput>,
) -> Result<Json<serde_json::Value>, Failure> {
    let from = peer.ip().to_string();
    let who = l.login.clone();
    let r = run(&s, move |a| a.staff.login(&l.login, &l.password, &from)).await?;
    match r {
        Ok(staff) => {
            let role = staff.role.code();
            let token = start_session(&s, staff).await?;
            Ok(Json(
                serde_json::json!({"token": token, "role": role, "login": who}),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204)))]
async fn logout(State(s): State<AuthorityState>, headers: HeaderMap) -> StatusCode {
    if let Some(t) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        end_session(&s, t.to_owned()).await;
    }
    StatusCode::NO_CONTENT
}

/// The office API's description, generated from the handlers' annotations.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    info(title = "exlic office API", description = "The issuing office's API, over TLS. Every path but GET /api/v1/node, POST /api/v1/session and the log's public paths (/log/checkpoint, hash tiles under /log/tile/, /api/v1/log/proof and /api/v1/log/consistency) needs `Authorization: Bearer <token>` from that sign-in; each action needs its role (经办人 初审, 处长 复审, administrator enrolment)."),
    paths(
        info, login, logout, invite, heads, case, decide, inbox, licence_file, licence_requests,
        decide_licence_request, licence_status, directory, put_directory, reference,
        publish_reference, profiles, accept_profile, unlock_requests, keys, roll_key, staff, put_staff, approve_unlock,
        add_replica, remove_replica,
        invite_customs, licence_usage, certificates, super::audit::office, log_checkpoint,
        log_tile, log_proof, log_consistency,
    ),
    tags((name = "session"), (name = "review"), (name = "licences"), (name = "enrolment"), (name = "office"), (name = "log"))
)]
pub struct OfficeApiDoc;

/// `GET /api/openapi.json` at the office.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(<OfficeApiDoc as utoipa::OpenApi>::openapi())
}
