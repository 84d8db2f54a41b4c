//! Operator sessions at the enterprise node: sign-in, the current session and sign-out for
//! API clients, who a request's session names, and the audit trail as JSON. The gate that
//! asks for a session in front of every route is `ui::gate`.
//!
//! A session is presented as `Authorization: Bearer <token>` or the UI's
//! [`OPERATOR_COOKIE`].

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use exlic_client::error::ApiError;

use super::AppState;
use super::error::Failure;
use super::extract::JsonBody;
use crate::enterprise::operators::{Operator, OperatorRole};

/// The session cookie of the enterprise UI (not the office's `exlic_session`: cookies do
/// not tell ports apart, and both nodes may run on one computer).
pub const OPERATOR_COOKIE: &str = "exlic_operator";

/// The operator of the session `headers` carry (bearer token or cookie).
pub fn session_of(s: &AppState, headers: &HeaderMap) -> Option<Operator> {
    let token = token_of(headers)?;
    let (login, a) = s.sessions.get(token.trim(), s.enterprise.now_ms())?;
    Some(Operator {
        login,
        name: a.name,
        role: OperatorRole::parse(&a.role)?,
    })
}

fn token_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| super::extract::cookie(headers, OPERATOR_COOKIE))
}

/// Operator sign-in for API clients.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    login: String,
    password: String,
}

/// A session: its token and who it is for.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The bearer token (absent when reading the current session).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    login: String,
    name: String,
    /// `drafter` (制单员) or `sealer` (盖章员).
    role: String,
}

/// Signs an operator in; later requests send `Authorization: Bearer <token>`.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginInput,
    responses((status = 200, body = SessionView), (status = 401, body = ApiError), (status = 429, body = ApiError)))]
pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    JsonBody(l): JsonBody<LoginInput>,
) -> Result<Json<SessionView>, Failure> {
    let op = sign_in(&s, l.login, l.password, peer.ip().to_string()).await?;
    let token = start_session(&s, &op).await?;
    Ok(Json(SessionView {
        token: Some(token),
        login: op.login,
        name: op.name,
        role: op.role.code().into(),
    }))
}

/// Checks a sign-in; the failure is the API's answer (401 wrong, 429 waiting).
pub async fn sign_in(
    s: &AppState,
    login: String,
    password: String,
    from: String,
) -> Result<Operator, Failure> {
    match super::v1::run(s, move |e| e.operators.login(&login, &password, &from)).await? {
        Ok(op) => Ok(op),
        Err(e) => Err(e.into()),
    }
}

/// Starts a session for `op` (a durable write, off the async threads); its token.
pub async fn start_session(s: &AppState, op: &Operator) -> Result<String, Failure> {
    let (sessions, now, login) = (s.sessions.clone(), s.enterprise.now_ms(), op.login.clone());
    tokio::task::spawn_blocking(move || sessions.start(&login, now))
        .await
        .map_err(Failure::internal)?
        .map_err(|e| Failure::from(crate::enterprise::EnterpriseError::from(e)))
}

/// Ends the session the request carries.
pub async fn end_session(s: &AppState, headers: &HeaderMap) {
    let Some(token) = token_of(headers).map(|t| t.trim().to_owned()) else {
        return;
    };
    let sessions = s.sessions.clone();
    let ended = tokio::task::spawn_blocking(move || sessions.end(&token)).await;
    if !matches!(ended, Ok(Ok(()))) {
        tracing::warn!("a session could not be ended");
    }
}

/// The current session's operator.
#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses((status = 200, body = SessionView), (status = 401, body = ApiError)))]
pub async fn current(axum::Extension(op): axum::Extension<Operator>) -> Json<SessionView> {
    Json(SessionView {
        token: None,
        login: op.login,
        name: op.name,
        role: op.role.code().into(),
    })
}

/// Signs out.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204)))]
pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> StatusCode {
    end_session(&s, &headers).await;
    StatusCode::NO_CONTENT
}
