//! The bureau's JSON API over TLS: who it is (public), a supervisor's session
//! (`POST /api/v1/session`), and — signed in — the offices it follows (how far each log is
//! read and co-signed, halted or not), the monitors' alarms, licences found by number,
//! enterprise or commodity across every office, and licences per office and day.
//!
//! A session is presented as `Authorization: Bearer <token>` or the screens' cookie.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::error::Failure;
use super::extract::QueryParams;
use crate::accounts::Sessions;
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

pub use super::staff::{end_session, session_of, sign_in};

impl super::staff::StaffNode for BureauState {
    const ROLE: &'static str = SUPERVISOR;
    const COOKIE: &'static str = SESSION_COOKIE;
    fn staff(&self) -> &crate::accounts::Accounts {
        &self.bureau.staff
    }
    fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }
    fn now_ms(&self) -> i64 {
        self.bureau.now_ms()
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
        .route(
            "/api/v1/session",
            post(super::staff::login::<BureauState>).delete(super::staff::logout::<BureauState>),
        )
        .merge(private)
        .with_state(state)
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
