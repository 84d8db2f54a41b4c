//! The bureau's JSON API over TLS: who it is (public), a supervisor's session
//! (`POST /api/v1/session`), and — signed in — the offices it follows (how far each log is
//! read and co-signed, halted or not), the monitors' alarms, licences found by number,
//! enterprise or commodity across every office, and licences per office and day.
//!
//! A session is presented as `Authorization: Bearer <token>` or the screens' cookie.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::error::Failure;
use super::extract::{JsonInput, QueryParams};
use crate::accounts::{LoginError, Sessions};
use crate::bureau::{Bureau, BureauError};

/// What the bureau's handlers share.
#[derive(Debug, Clone)]
pub struct BureauState {
    /// The bureau.
    pub bureau: Arc<Bureau>,
    /// Supervisors' sessions.
    pub sessions: Arc<Sessions>,
}

/// The one role of the bureau's accounts (监管员).
pub const SUPERVISOR: &str = "supervisor";

/// The session cookie of the supervisors' screens.
pub const SESSION_COOKIE: &str = "exlic_bureau";

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The supervisor whose session the request carries (bearer token or the screens'
/// cookie): (login, name).
pub fn session_of(s: &BureauState, headers: &HeaderMap) -> Option<(String, String)> {
    let token = bearer(headers).or_else(|| super::extract::cookie(headers, SESSION_COOKIE))?;
    s.sessions
        .get(token.trim(), s.bureau.now_ms())
        .map(|(login, a)| (login, a.name))
}

/// Signs a supervisor in from address `from`: the session token, or why not.
pub async fn sign_in(
    s: &BureauState,
    login: String,
    password: String,
    from: String,
) -> Result<Result<String, LoginError>, Failure> {
    let (b, sessions) = (s.bureau.clone(), s.sessions.clone());
    Ok(tokio::task::spawn_blocking(move || {
        b.staff
            .check(&login, &password, &from, "login")
            .and_then(|r| match r {
                Ok(_) => sessions.start(&login, b.now_ms()).map(Ok),
                Err(e) => Ok(Err(e)),
            })
    })
    .await
    .map_err(Failure::internal)??)
}

/// Ends the session of `token`.
pub async fn end_session(s: &BureauState, token: String) {
    let sessions = s.sessions.clone();
    let ended = tokio::task::spawn_blocking(move || sessions.end(token.trim())).await;
    if !matches!(ended, Ok(Ok(()))) {
        tracing::warn!("a session could not be ended");
    }
}

/// Lets a request through only with a supervisor's live session.
async fn signed_in(State(s): State<BureauState>, req: Request, next: Next) -> Response {
    let live = session_of(&s, req.headers()).is_some();
    if !live {
        return Failure::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first: POST /api/v1/session",
            None,
        )
        .into_response();
    }
    next.run(req).await
}

impl From<BureauError> for Failure {
    fn from(e: BureauError) -> Self {
        match e {
            BureauError::BadInput { field, message } => Failure::bad_input(&field, message),
            other => Failure::internal(other),
        }
    }
}

/// Runs a bureau action on the blocking pool.
pub async fn run<T: Send + 'static>(
    s: &BureauState,
    f: impl FnOnce(&Bureau) -> Result<T, BureauError> + Send + 'static,
) -> Result<T, Failure> {
    let b = s.bureau.clone();
    tokio::task::spawn_blocking(move || f(&b))
        .await
        .map_err(Failure::internal)?
        .map_err(Failure::from)
}

/// The bureau's routes: `node` and `session` open, the rest for signed-in supervisors.
pub fn router(state: BureauState) -> Router {
    let private = Router::new()
        .route("/api/v1/offices", get(offices))
        .route("/api/v1/alarms", get(alarms))
        .route("/api/v1/licences", get(search))
        .route("/api/v1/licences/{no}", get(licence))
        .route("/api/v1/daily", get(daily))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            signed_in,
        ));
    Router::new()
        .route("/api/v1/node", get(node))
        .route("/api/v1/session", post(login).delete(logout))
        .merge(private)
        .with_state(state)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginInput {
    login: String,
    password: String,
}

async fn login(
    State(s): State<BureauState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    JsonInput(l): JsonInput<LoginInput>,
) -> Result<Json<serde_json::Value>, Failure> {
    let who = l.login.clone();
    match sign_in(&s, l.login, l.password, peer.ip().to_string()).await? {
        Ok(token) => Ok(Json(
            serde_json::json!({"token": token, "role": SUPERVISOR, "login": who}),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn logout(State(s): State<BureauState>, headers: HeaderMap) -> StatusCode {
    if let Some(t) = bearer(&headers).map(str::to_owned) {
        end_session(&s, t).await;
    }
    StatusCode::NO_CONTENT
}

async fn node(State(s): State<BureauState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "role": "bureau",
        "name": s.bureau.name(),
        "public_key": hex::encode(s.bureau.public_key()),
        "witness_name": exlic_client::translog::witness_name(s.bureau.name()),
    }))
}

/// One office as the bureau follows it.
#[derive(Debug, Serialize)]
pub struct OfficeLine {
    /// Its number (its log id at the bureau).
    pub id: u32,
    /// Its agency code.
    pub agency: String,
    /// Its name.
    pub name: String,
    /// Entries of its log held here.
    pub held: u64,
    /// Size of the newest of its checkpoints co-signed here.
    pub cosigned: u64,
    /// When its log was last read (bureau clock, ms; 0 never).
    pub last_read_ms: i64,
    /// Why a monitor halted it (empty: following).
    pub halted: String,
}

async fn offices(State(s): State<BureauState>) -> Result<Json<Vec<OfficeLine>>, Failure> {
    let rows = run(&s, |b| b.offices()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, o, held)| OfficeLine {
                id,
                agency: o.agency,
                name: o.name,
                held,
                cosigned: o.cosigned,
                last_read_ms: o.last_read_ms,
                halted: o.halted,
            })
            .collect(),
    ))
}

async fn alarms(
    State(s): State<BureauState>,
) -> Result<Json<Vec<crate::store::bureau::Alarm>>, Failure> {
    Ok(Json(run(&s, |b| b.alarms()).await?))
}

async fn licence(
    State(s): State<BureauState>,
    Path(no): Path<String>,
) -> Result<Json<serde_json::Value>, Failure> {
    let n = no.clone();
    let at = run(&s, move |b| b.find_licence(&n)).await?;
    if at.is_empty() {
        return Err(Failure::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("no office logged licence {no}"),
            Some("licence_no"),
        ));
    }
    Ok(Json(serde_json::json!({
        "licence_no": no,
        "logged": at.iter().map(|(office, index)| serde_json::json!({"office": office, "index": index})).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DailyQuery {
    #[serde(default)]
    from: Option<u32>,
}

async fn daily(
    State(s): State<BureauState>,
    QueryParams(q): QueryParams<DailyQuery>,
) -> Result<Json<serde_json::Value>, Failure> {
    let from = q.from.unwrap_or(0);
    let rows = run(&s, move |b| b.daily(from)).await?;
    Ok(Json(serde_json::json!(
        rows.iter()
            .map(|((day, office), n)| serde_json::json!({"day": day, "office": office, "licences": n}))
            .collect::<Vec<_>>()
    )))
}

async fn search(
    State(s): State<BureauState>,
    QueryParams(q): QueryParams<crate::bureau::Search>,
) -> Result<Json<serde_json::Value>, Failure> {
    let (licences, more) = run(&s, move |b| b.search(&q)).await?;
    Ok(Json(
        serde_json::json!({"licences": licences, "more": more}),
    ))
}
