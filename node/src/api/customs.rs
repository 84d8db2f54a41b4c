//! The customs node's JSON API, for customs systems and the officer UI: node info
//! (public), an officer session (`POST /api/v1/session`), and — signed in — declarations
//! (check and 预核扣, then 实核注, cancel or amendment) and licences' usage.
//!
//! A session is presented as `Authorization: Bearer <token>` or the UI's session cookie.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use exlic_client::usage::{CheckOutcome, DeclarationInput, Step, StepInput, UsageView};

use super::error::Failure;
use super::extract::JsonInput;
use crate::accounts::Sessions;
use crate::customs::{Customs, CustomsError};
use crate::sync::client::SyncStatus;

/// What customs handlers get.
#[derive(Debug, Clone)]
pub struct CustomsState {
    /// The role.
    pub customs: Arc<Customs>,
    /// Officer sessions.
    pub sessions: Arc<Sessions>,
    /// Each sync loop's state, in the order of `Customs::offices` (home first); empty
    /// when the node does not sync.
    pub sync: Vec<SyncStatus>,
}

/// The session cookie of the officer UI.
pub const SESSION_COOKIE: &str = "exlic_customs";
/// The one officer role (关员).
pub const OFFICER: &str = "officer";

pub use super::staff::{end_session, session_of, sign_in};

impl super::staff::StaffNode for CustomsState {
    const ROLE: &'static str = OFFICER;
    const COOKIE: &'static str = SESSION_COOKIE;
    fn staff(&self) -> &crate::accounts::Accounts {
        &self.customs.staff
    }
    fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }
    fn now_ms(&self) -> i64 {
        self.customs.now_ms()
    }
}

/// The signed-in officer's login, or 401.
pub fn require(s: &CustomsState, headers: &HeaderMap) -> Result<String, Failure> {
    session_of(s, headers).map(|(l, _)| l).ok_or_else(|| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first: POST /api/v1/session",
            None,
        )
    })
}

impl From<CustomsError> for Failure {
    fn from(e: CustomsError) -> Self {
        let msg = e.to_string();
        match e {
            CustomsError::BadInput { field, .. } => Failure::bad_input(&field, msg),
            CustomsError::NotFound { field, .. } => {
                Failure::new(StatusCode::NOT_FOUND, "not_found", msg, Some(&field))
            }
            CustomsError::WrongState { field, .. } => Failure::new(
                StatusCode::CONFLICT,
                "not_allowed_in_this_state",
                msg,
                Some(&field),
            ),
            CustomsError::Store(s) => Failure::from(s),
            other => Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage_error",
                other.to_string(),
                None,
            ),
        }
    }
}

/// Runs a customs action on the blocking pool.
pub async fn run<T: Send + 'static>(
    s: &CustomsState,
    f: impl FnOnce(&Customs) -> Result<T, CustomsError> + Send + 'static,
) -> Result<T, Failure> {
    let c = s.customs.clone();
    tokio::task::spawn_blocking(move || f(&c))
        .await
        .map_err(Failure::internal)?
        .map_err(Failure::from)
}

/// Records an officer's action in the audit trail.
pub async fn audit(s: &CustomsState, login: String, action: &'static str, detail: String) {
    let c = s.customs.clone();
    let r = tokio::task::spawn_blocking(move || {
        c.staff
            .record(&login, exlic_client::DocId([0; 16]), action, &detail)
    })
    .await;
    if !matches!(r, Ok(Ok(()))) {
        tracing::warn!("an audit line could not be written");
    }
}

/// The customs node's routes.
pub fn router(state: CustomsState) -> Router {
    Router::new()
        .route("/api/v1/node", get(info))
        .route(
            "/api/v1/session",
            post(super::staff::login::<CustomsState>).delete(super::staff::logout::<CustomsState>),
        )
        .route("/api/v1/declarations", post(declare))
        .route("/api/v1/declarations/{no}/{item}/{step}", post(step))
        .route("/api/v1/licences/{no}/usage", get(usage))
        .with_state(state)
}

/// What the node says about itself.
#[derive(Debug, serde::Serialize)]
struct NodeInfo {
    role: &'static str,
    district: String,
    district_name: String,
    public_key: String,
    authority_key: String,
    /// How old the standing held is: the oldest of the offices' last word, Unix ms (0:
    /// an office has said nothing yet).
    standing_as_of_ms: i64,
    /// Licences whose standing the node holds.
    standings: u64,
    /// Entries of the usage ledger, and how many every office holds.
    ledger: u64,
    reported: u64,
    /// Whether the home office is reachable.
    online: bool,
    /// The home office's log: entries of the newest checkpoint proved consistent (0:
    /// none yet).
    log_size: u64,
    /// The first inconsistency the home office showed: the size held, the size shown,
    /// when.
    log_alarm: Option<LogAlarm>,
    /// Every office this node follows, home first.
    offices: Vec<OfficeInfo>,
}

/// One office this node follows.
#[derive(Debug, serde::Serialize)]
struct OfficeInfo {
    /// Its agency code (empty: a home office enrolled with a version-1 invite).
    agency_code: String,
    authority_key: String,
    online: bool,
    /// When it last told this node the standing of its licences, Unix ms (0: never).
    standing_as_of_ms: i64,
    /// How much of the usage ledger it holds.
    reported: u64,
    /// Its log as this node holds it.
    log_size: u64,
    log_alarm: Option<LogAlarm>,
}

/// An office's log that was not one history.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct LogAlarm {
    held: u64,
    shown: u64,
    at_ms: i64,
}

async fn info(State(s): State<CustomsState>) -> Result<Json<serde_json::Value>, Failure> {
    let online: Vec<bool> = s
        .sync
        .iter()
        .map(|st| st.lock().unwrap_or_else(|p| p.into_inner()).online)
        .collect();
    let v = run(&s, move |c| {
        let links = c.links()?;
        let offices: Vec<OfficeInfo> = links
            .offices
            .iter()
            .enumerate()
            .map(|(i, o)| OfficeInfo {
                agency_code: o.agency_code.clone(),
                authority_key: hex::encode(o.authority_key),
                online: online.get(i).copied().unwrap_or(false),
                standing_as_of_ms: o.standing_as_of.unwrap_or(0),
                reported: o.acked,
                log_size: o.log.head.map_or(0, |(h, _)| h.size),
                log_alarm: o
                    .log
                    .alarm
                    .map(|(held, shown, at_ms)| LogAlarm { held, shown, at_ms }),
            })
            .collect();
        let home = &offices[0];
        Ok(NodeInfo {
            role: "customs",
            district: c.district().to_owned(),
            district_name: c.district_name().to_owned(),
            public_key: hex::encode(c.public_key()),
            authority_key: hex::encode(c.authority_key()),
            standing_as_of_ms: links.standing_as_of().unwrap_or(0),
            standings: c.standing_count()?,
            ledger: links.ledger,
            reported: links.reported(),
            online: home.online,
            log_size: home.log_size,
            log_alarm: home.log_alarm,
            offices,
        })
    })
    .await?;
    Ok(Json(serde_json::to_value(v).map_err(Failure::internal)?))
}

/// Checks a declaration item and, unless `check_only`, reserves it (预核扣). A refused
/// check is `200` with `passed: false` and every reason.
async fn declare(
    State(s): State<CustomsState>,
    headers: HeaderMap,
    JsonInput(d): JsonInput<DeclarationInput>,
) -> Result<Json<CheckOutcome>, Failure> {
    let who = require(&s, &headers)?;
    let detail = format!("{}/{} {}", d.declaration_no, d.item, d.quantity);
    let o = run(&s, move |c| c.declare(&d)).await?;
    if o.passed && !o.state.is_empty() {
        audit(
            &s,
            who,
            "declaration.reserve",
            format!("{detail} {}", o.licence_no),
        )
        .await;
    }
    Ok(Json(o))
}

/// A later step: `confirm` (实核注), `cancel` or `adjust`.
async fn step(
    State(s): State<CustomsState>,
    headers: HeaderMap,
    Path((no, item, step)): Path<(String, u32, String)>,
    JsonInput(b): JsonInput<StepInput>,
) -> Result<Json<CheckOutcome>, Failure> {
    let who = require(&s, &headers)?;
    let st = parse_step(&step)?;
    let detail = format!("{no}/{item} {}", b.quantity);
    let o = run(&s, move |c| c.step(&no, item, st, &b.quantity)).await?;
    audit(
        &s,
        who,
        step_action(st),
        format!("{detail} {}", o.licence_no),
    )
    .await;
    Ok(Json(o))
}

/// A later step's name in the URL.
pub fn parse_step(step: &str) -> Result<Step, Failure> {
    match step {
        "confirm" => Ok(Step::Confirm),
        "cancel" => Ok(Step::Cancel),
        "adjust" => Ok(Step::Adjust),
        other => Err(Failure::bad_input(
            "step",
            format!("{other:?}: expected confirm, cancel or adjust"),
        )),
    }
}

/// The audit action of a step.
pub fn step_action(step: Step) -> &'static str {
    match step {
        Step::Reserve => "declaration.reserve",
        Step::Confirm => "declaration.confirm",
        Step::Cancel => "declaration.cancel",
        Step::Adjust => "declaration.adjust",
    }
}

async fn usage(
    State(s): State<CustomsState>,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Result<Json<UsageView>, Failure> {
    require(&s, &headers)?;
    let n = no.clone();
    match run(&s, move |c| c.usage_of(&n)).await? {
        Some((_, v)) => Ok(Json(v)),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("this node holds no licence {no}"),
            Some("licence_no"),
        )),
    }
}
