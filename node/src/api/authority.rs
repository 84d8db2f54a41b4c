//! The authority node's JSON API, served over TLS with the staff UI: node info (public),
//! a staff session (`POST /api/v1/session`), and — for signed-in staff only — invites
//! (administrator), review decisions (经办人 初审, 处长 复审) and read-outs of cases.
//!
//! A session is presented as `Authorization: Bearer <token>` or the UI's session cookie.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use exlic_client::authority::{
    AuthorityInfo, CaseView, DecisionInput, DecisionResult, DocHeads, InboxPage, InboxRow,
    InviteRequest, InviteResponse,
};
use exlic_client::status::ApplicationStatus;

use crate::authority::staff::{LoginError, Role, Sessions, Staff};
use crate::domain::review::Stage;

use super::error::Failure;
use super::extract::{JsonBody, PathId};
use crate::authority::{Authority, AuthorityError};
use exlic_client::error::ApiError;

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
        .route("/api/v1/directory", get(directory).put(put_directory))
        .route("/api/v1/reference", get(reference).post(publish_reference))
        .route("/api/v1/keys", get(keys))
        .route("/api/v1/keys/rollover", post(roll_key))
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
        Err(e @ LoginError::Wrong) => Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "wrong_credentials",
            e.to_string(),
            None,
        )),
        Err(e @ LoginError::Locked(_)) => Err(Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked",
            e.to_string(),
            None,
        )),
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

#[utoipa::path(post, path = "/api/v1/invites", tag = "enrolment", request_body = InviteRequest, responses((status = 201, body = InviteResponse), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn invite(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    JsonBody(r): JsonBody<InviteRequest>,
) -> Result<(StatusCode, Json<InviteResponse>), Failure> {
    let token = as_admin(&s, &headers, "enrolling an enterprise", move |a, actor| {
        a.registry
            .invite(
                &r.uscc,
                &r.name,
                r.numbers.unwrap_or(100_000),
                r.valid_days.unwrap_or(30),
            )
            .and_then(|t| {
                a.staff
                    .record(actor, exlic_client::DocId([0; 16]), "invite", &r.uscc)?;
                Ok(t)
            })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(InviteResponse { token })))
}

/// A customs node's invite request.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CustomsInviteRequest {
    /// The customs district (关区) code, 4 digits.
    district: String,
    /// Days the token stays valid (default 30).
    #[serde(default)]
    valid_days: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/customs-invites", tag = "enrolment", request_body = CustomsInviteRequest, responses((status = 201, body = InviteResponse), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
async fn invite_customs(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    JsonBody(r): JsonBody<CustomsInviteRequest>,
) -> Result<(StatusCode, Json<InviteResponse>), Failure> {
    let token = as_admin(&s, &headers, "enrolling a customs node", move |a, actor| {
        let t = a.customs.invite(&r.district, r.valid_days.unwrap_or(30))?;
        a.staff.record(
            actor,
            exlic_client::DocId([0; 16]),
            "invite.customs",
            &r.district,
        )?;
        Ok(t)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(InviteResponse { token })))
}

#[utoipa::path(get, path = "/api/v1/licences/{no}/usage", tag = "licences", params(("no" = String, Path)), responses((status = 200, body = exlic_client::usage::UsageView), (status = 404, body = ApiError)))]
async fn licence_usage(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Result<Json<serde_json::Value>, Failure> {
    require(&s, &headers)?;
    let n = no.clone();
    match run(&s, move |a| a.customs.usage_of(&n)).await? {
        Some((view, flags)) => Ok(Json(serde_json::json!({
            "usage": view,
            "flags": flags.iter().map(|(d, i, why)| serde_json::json!({
                "declaration_no": d, "item": i, "why": why,
            })).collect::<Vec<_>>(),
        }))),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no licence {no}"),
            Some("licence_no"),
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/docs/{id}/heads", tag = "office", params(("id" = String, Path)), responses((status = 200, body = DocHeads), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn heads(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Json<DocHeads>, Failure> {
    require(&s, &headers)?;
    let h = run(&s, move |a| a.replica.heads(id)).await?;
    let Some(h) = h else {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no document {id}"),
            None,
        ));
    };
    let mut heads: Vec<String> = h.iter().map(hex::encode).collect();
    heads.sort();
    Ok(Json(DocHeads { id, heads }))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "review", params(("id" = String, Path)), responses((status = 200, body = CaseView), (status = 404, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn case(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Json<CaseView>, Failure> {
    require(&s, &headers)?;
    match run(&s, move |a| a.review.case_status(id)).await? {
        Some((status, revision)) => Ok(Json(CaseView {
            id,
            status,
            revision,
        })),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no case for {id}"),
            None,
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/decisions", tag = "review", params(("id" = String, Path)), request_body = DecisionInput, responses((status = 200, body = DecisionResult), (status = 400, body = ApiError), (status = 409, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn decide(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    PathId(id): PathId,
    JsonBody(d): JsonBody<DecisionInput>,
) -> Result<Json<DecisionResult>, Failure> {
    let staff = require(&s, &headers)?;
    let stage = match d.stage.as_str() {
        "initial" => Stage::Initial,
        "second" => Stage::Second,
        _ => {
            return Err(Failure::bad_input(
                "stage",
                "`initial` (初审) or `second` (复审)",
            ));
        }
    };
    require_role(&staff, stage_role(stage), "this review stage")?;
    let actor = format!("{} @{}", staff.actor(), peer.ip());
    let (status, licence_no) = run(&s, move |a| {
        a.review.decide(id, stage, d.approve, &d.reason, &actor)
    })
    .await?;
    Ok(Json(DecisionResult { status, licence_no }))
}

#[derive(Debug, serde::Deserialize)]
struct InboxQuery {
    status: String,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    per_page: Option<u32>,
}

/// Rows an inbox page holds unless asked otherwise, and at most.
pub const INBOX_PER_PAGE: u32 = 50;
const INBOX_MAX_PER_PAGE: u32 = 500;

#[utoipa::path(get, path = "/api/v1/cases", tag = "review", params(("status" = String, Query, description = "pending_initial, pending_second, …"), ("page" = Option<u32>, Query, description = "from 1 (default 1)"), ("per_page" = Option<u32>, Query, description = "1–500 (default 50)")), responses((status = 200, body = InboxPage), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn inbox(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    super::extract::QueryParams(q): super::extract::QueryParams<InboxQuery>,
) -> Result<Json<InboxPage>, Failure> {
    require(&s, &headers)?;
    let status = ApplicationStatus::from_code(&q.status)
        .ok_or_else(|| Failure::bad_input("status", "an application status code"))?;
    let page = q.page.unwrap_or(1);
    if page == 0 {
        return Err(Failure::bad_input("page", "pages count from 1"));
    }
    let per_page = q.per_page.unwrap_or(INBOX_PER_PAGE);
    if !(1..=INBOX_MAX_PER_PAGE).contains(&per_page) {
        return Err(Failure::bad_input(
            "per_page",
            format!("from 1 to {INBOX_MAX_PER_PAGE}"),
        ));
    }
    let offset = (page as usize - 1) * per_page as usize;
    let (total, rows) = run(&s, move |a| {
        a.review.inbox(status, offset, per_page as usize)
    })
    .await?;
    Ok(Json(InboxPage {
        total,
        page,
        per_page,
        rows: rows
            .into_iter()
            .map(|(id, c, sum)| inbox_row(id, c, sum))
            .collect(),
    }))
}

/// An inbox row from a case and its summary.
pub fn inbox_row(
    id: exlic_client::DocId,
    c: crate::store::cases::CaseRow,
    sum: Option<crate::store::cases::CaseSummary>,
) -> InboxRow {
    let sum = sum.unwrap_or_default();
    InboxRow {
        id,
        application_no: c.application_no,
        revision: c.revision,
        received_ms: c.received_ms,
        owner: c.owner,
        exporter: sum.exporter,
        commodity_code: sum.commodity_code,
        quantity: sum.quantity,
        unit: sum.unit,
        amount: sum.amount,
        currency: sum.currency,
    }
}

#[utoipa::path(get, path = "/api/v1/licences/{no}/file", tag = "licences", params(("no" = String, Path)), responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn licence_file(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> Result<axum::response::Response, Failure> {
    require(&s, &headers)?;
    let n = no.clone();
    match run(&s, move |a| a.review.licence(&n)).await? {
        Some(f) => Ok(super::v1::applications::attachment_response(
            &format!("{no}.licence"),
            f,
        )),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no licence {no}"),
            None,
        )),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestsQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    per_page: Option<u32>,
}

/// 删证/核销 requests by status (`pending` is the 待审核 inbox), oldest first, a page at
/// a time (the count of all in `X-Total-Count`).
#[utoipa::path(get, path = "/api/v1/licence-requests", tag = "licences", params(("status" = Option<String>, Query), super::paging::PageParams), responses((status = 200, body = [exlic_client::licence_request::LicenceRequestView], headers(("x-total-count" = u64))), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn licence_requests(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    super::extract::QueryParams(q): super::extract::QueryParams<RequestsQuery>,
) -> Result<axum::response::Response, Failure> {
    require(&s, &headers)?;
    let paging = super::paging::PageParams {
        page: q.page,
        per_page: q.per_page,
    };
    paging.window()?;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            crate::store::licence_request::Status::parse(c).ok_or_else(|| {
                Failure::bad_input("status", "`pending`, `approved` or `rejected`")
            })?,
        ),
    };
    let rows = run(&s, move |a| a.licence_requests.list(status)).await?;
    paging.answer(
        rows.into_iter()
            .map(|(id, r)| super::v1::licence_request::view(id, r))
            .collect(),
    )
}

/// The staff roles that decide 删证/核销 requests (审核): 经办人 and 处长.
pub fn may_decide_licence_requests(staff: &Staff) -> Result<(), Failure> {
    if matches!(staff.role, Role::Officer | Role::Chief) {
        Ok(())
    } else {
        require_role(staff, Role::Officer, "审核 of 删证/核销 requests")
    }
}

#[utoipa::path(post, path = "/api/v1/licence-requests/{id}/decision", tag = "licences", params(("id" = String, Path)), request_body = exlic_client::licence_request::LicenceDecisionInput, responses((status = 200, body = exlic_client::licence_request::LicenceRequestView), (status = 400, body = ApiError), (status = 409, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn decide_licence_request(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    PathId(id): PathId,
    JsonBody(d): JsonBody<exlic_client::licence_request::LicenceDecisionInput>,
) -> Result<Json<exlic_client::licence_request::LicenceRequestView>, Failure> {
    let staff = require(&s, &headers)?;
    may_decide_licence_requests(&staff)?;
    let actor = format!("{} @{}", staff.actor(), peer.ip());
    let r = run(&s, move |a| {
        a.licence_requests.decide(id, d.approve, &d.reason, &actor)
    })
    .await?;
    Ok(Json(super::v1::licence_request::view(id, r)))
}

#[utoipa::path(get, path = "/api/v1/licences/{no}/status", tag = "licences", params(("no" = String, Path)), responses((status = 200, body = exlic_client::licence_request::LicenceStatus), (status = 404, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn licence_status(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> Result<Json<exlic_client::licence_request::LicenceStatus>, Failure> {
    require(&s, &headers)?;
    let n = no.clone();
    let known = run(&s, move |a| a.review.licence(&n)).await?.is_some();
    if !known {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no licence {no}"),
            None,
        ));
    }
    let n = no.clone();
    let st = run(&s, move |a| a.licence_requests.standing(&n)).await?;
    Ok(Json(exlic_client::licence_request::LicenceStatus {
        licence_no: no,
        status: st.code().into(),
    }))
}

/// 发证机构联系方式 and 办事指南 (any signed-in staff member).
#[utoipa::path(get, path = "/api/v1/directory", tag = "office", responses((status = 200, body = exlic_client::directory::Directory), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn directory(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
) -> Result<Json<exlic_client::directory::Directory>, Failure> {
    require(&s, &headers)?;
    run(&s, |a| a.directory.get()).await.map(Json)
}

/// Replaces them (administrator); every enterprise receives them on its next sync.
#[utoipa::path(put, path = "/api/v1/directory", tag = "office", request_body = exlic_client::directory::Directory, responses((status = 204), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn put_directory(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    JsonBody(d): JsonBody<exlic_client::directory::Directory>,
) -> Result<StatusCode, Failure> {
    as_admin(
        &s,
        &headers,
        "editing the directory and guides",
        move |a, actor| a.directory.put(d, actor),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The reference release in force (any signed-in staff member).
#[utoipa::path(get, path = "/api/v1/reference", tag = "office", responses((status = 200, description = "the release in force", body = Object), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn reference(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
) -> Result<Json<Option<crate::authority::reference::ReleaseInfo>>, Failure> {
    require(&s, &headers)?;
    run(&s, |a| a.reference.release()).await.map(Json)
}

/// A file of reference data to publish.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishFile {
    /// `codes.json` or `catalogue-YYYY.json`.
    pub name: String,
    /// Its JSON text.
    pub text: String,
}

/// Reference data to publish.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    /// What changed and where it comes from.
    #[serde(default)]
    pub note: String,
    /// The files replacing or adding those of the same name.
    pub files: Vec<PublishFile>,
}

/// Publishes the next reference release (administrator); answers its number.
#[utoipa::path(post, path = "/api/v1/reference", tag = "office", request_body = Object, responses((status = 201, body = Object), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn publish_reference(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<PublishInput>,
) -> Result<(StatusCode, Json<serde_json::Value>), Failure> {
    let n = as_admin(
        &s,
        &headers,
        "publishing reference data",
        move |a, actor| {
            let files = input.files.into_iter().map(|f| (f.name, f.text)).collect();
            a.reference.publish(files, &input.note, actor)
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "number": n })),
    ))
}

/// A profile state as the API shows it.
pub fn profile_row(
    p: crate::authority::profiles::ProfileState,
) -> exlic_client::profile::ProfileRow {
    let status = if p.pending() {
        "pending"
    } else if p.accepted.is_some() {
        "accepted"
    } else {
        "none"
    };
    exlic_client::profile::ProfileRow {
        uscc: p.uscc,
        name: p.name,
        profile: exlic_client::profile::ProfileView {
            proposed_ms: p.proposed.as_ref().map(|x| x.1).unwrap_or(0),
            proposed: p.proposed.map(|x| x.0),
            accepted_ms: p.accepted.as_ref().map(|x| x.1).unwrap_or(0),
            accepted: p.accepted.map(|x| x.0),
            status: status.into(),
        },
    }
}

/// 企业信息维护: every enterprise's proposed and accepted profile, a page at a time.
#[utoipa::path(get, path = "/api/v1/profiles", tag = "enrolment", params(super::paging::PageParams), responses((status = 200, body = [exlic_client::profile::ProfileRow], headers(("x-total-count" = u64))), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn profiles(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    super::extract::QueryParams(paging): super::extract::QueryParams<super::paging::PageParams>,
) -> Result<axum::response::Response, Failure> {
    require(&s, &headers)?;
    paging.window()?;
    let rows = run(&s, |a| a.profiles.list()).await?;
    paging.answer(rows.into_iter().map(profile_row).collect())
}

/// Accepts an enterprise's proposal (administrator).
#[utoipa::path(post, path = "/api/v1/profiles/{uscc}/accept", tag = "enrolment", params(("uscc" = String, Path)), responses((status = 204), (status = 404, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn accept_profile(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    axum::extract::Path(uscc): axum::extract::Path<String>,
) -> Result<StatusCode, Failure> {
    as_admin(
        &s,
        &headers,
        "accepting a profile change",
        move |a, actor| a.profiles.accept(&uscc, actor),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enterprises waiting for an e-key unlock (USCCs), a page at a time.
#[utoipa::path(get, path = "/api/v1/unlock-requests", tag = "enrolment", params(super::paging::PageParams), responses((status = 200, body = [String], headers(("x-total-count" = u64))), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn unlock_requests(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    super::extract::QueryParams(paging): super::extract::QueryParams<super::paging::PageParams>,
) -> Result<axum::response::Response, Failure> {
    require(&s, &headers)?;
    paging.window()?;
    let rows = run(&s, |a| a.unlocks.pending()).await?;
    paging.answer(rows.into_iter().map(|(u, _)| u).collect::<Vec<String>>())
}

/// The signing-key chain, oldest first, and the rollover records (hex) that link it.
#[utoipa::path(get, path = "/api/v1/keys", tag = "office", responses((status = 200, body = exlic_client::authority::KeyChain), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn keys(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
) -> Result<Json<exlic_client::authority::KeyChain>, Failure> {
    require(&s, &headers)?;
    let (keys, records, root) = run(&s, |a| {
        Ok((a.keys.chain(), a.keys.records()?, a.root_key()))
    })
    .await?;
    Ok(Json(exlic_client::authority::KeyChain {
        root: hex::encode(root),
        keys,
        records: records.iter().map(hex::encode).collect(),
    }))
}

/// Rolls the signing key over (administrator); returns the new public key.
#[utoipa::path(post, path = "/api/v1/keys/rollover", tag = "office", responses((status = 200, body = Object), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn roll_key(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, Failure> {
    let key = as_admin(&s, &headers, "rolling the signing key over", |a, actor| {
        a.keys.roll(actor)
    })
    .await?;
    Ok(Json(serde_json::json!({ "key": hex::encode(key) })))
}

/// Approves an e-key unlock (administrator).
#[utoipa::path(post, path = "/api/v1/unlock-requests/{uscc}/approve", tag = "enrolment", params(("uscc" = String, Path)), responses((status = 204), (status = 404, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn approve_unlock(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    axum::extract::Path(uscc): axum::extract::Path<String>,
) -> Result<StatusCode, Failure> {
    as_admin(&s, &headers, "unlocking an e-key", move |a, actor| {
        a.unlocks.approve(&uscc, actor)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One issued device certificate (手机证书授权) as the office lists it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CertificateLine {
    /// Its serial.
    pub serial: u64,
    /// The enterprise (USCC).
    pub uscc: String,
    /// The mobile number it authorises.
    pub mobile: String,
    /// Valid from, Unix ms.
    pub not_before_ms: i64,
    /// Valid until, Unix ms.
    pub not_after_ms: i64,
    /// When it was revoked, Unix ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<i64>,
    /// `valid`, `expired` or `revoked`, now.
    pub status: &'static str,
}

/// Which certificates to list; an empty value asks for all.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateQuery {
    /// The enterprise's USCC, or its start.
    #[serde(default)]
    pub uscc: Option<String>,
    /// `valid`, `expired` or `revoked`.
    #[serde(default)]
    pub status: Option<String>,
}

/// The device certificates this office issued, newest first, by enterprise and standing, a
/// page at a time.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "enrolment", params(super::paging::PageParams, CertificateQuery), responses((status = 200, body = [CertificateLine], headers(("x-total-count" = u64))), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
async fn certificates(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    super::extract::QueryParams(paging): super::extract::QueryParams<super::paging::PageParams>,
    super::extract::QueryParams(query): super::extract::QueryParams<CertificateQuery>,
) -> Result<axum::response::Response, Failure> {
    use crate::store::certs::CertStanding;
    require(&s, &headers)?;
    let (offset, limit) = paging.window()?;
    let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let standing = match given(query.status) {
        None => None,
        Some(code) => Some(
            CertStanding::parse(&code)
                .ok_or_else(|| Failure::bad_input("status", "`valid`, `expired` or `revoked`"))?,
        ),
    };
    let filter = crate::authority::certificates::CertFilter {
        uscc: given(query.uscc),
        standing,
    };
    let now = s.authority.now_ms();
    let (rows, total) = run(&s, move |a| a.certificates.page(&filter, offset, limit)).await?;
    Ok(super::paging::counted(
        rows.into_iter()
            .map(|c| CertificateLine {
                status: c.standing_at(now).code(),
                serial: c.serial,
                uscc: c.uscc,
                mobile: c.mobile,
                not_before_ms: c.not_before_ms,
                not_after_ms: c.not_after_ms,
                revoked_ms: c.revoked_ms,
            })
            .collect::<Vec<_>>(),
        total,
    ))
}

/// The office API's description, generated from the handlers' annotations.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    info(title = "exlic office API", description = "The issuing office's API, over TLS. Every path but GET /api/v1/node and POST /api/v1/session needs `Authorization: Bearer <token>` from that sign-in; each action needs its role (经办人 初审, 处长 复审, administrator enrolment)."),
    paths(
        info, login, logout, invite, heads, case, decide, inbox, licence_file, licence_requests,
        decide_licence_request, licence_status, directory, put_directory, reference,
        publish_reference, profiles, accept_profile, unlock_requests, keys, roll_key, approve_unlock,
        invite_customs, licence_usage, certificates, super::audit::office,
    ),
    tags((name = "session"), (name = "review"), (name = "licences"), (name = "enrolment"), (name = "office"))
)]
pub struct OfficeApiDoc;

/// `GET /api/openapi.json` at the office.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(<OfficeApiDoc as utoipa::OpenApi>::openapi())
}
