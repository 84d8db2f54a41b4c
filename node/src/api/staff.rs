//! Staff sessions of the nodes whose staff sign in with accounts of their own (customs'
//! officers, the bureau's supervisors): who a request's session belongs to, signing in
//! and out (durable writes, off the async threads), and the JSON
//! `POST`/`DELETE /api/v1/session` handlers each of those nodes mounts.

use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};

use super::error::Failure;
use super::extract::JsonInput;
use crate::accounts::{Accounts, LoginError, Sessions};

/// A node's HTTP state, as its staff sessions need it.
pub trait StaffNode: Clone + Send + Sync + 'static {
    /// The one role of its accounts, as a session answer names it.
    const ROLE: &'static str;
    /// The session cookie of its screens.
    const COOKIE: &'static str;
    /// Its accounts.
    fn staff(&self) -> &Accounts;
    /// Its sessions.
    fn sessions(&self) -> &Arc<Sessions>;
    /// Now, by the node's clock, Unix ms.
    fn now_ms(&self) -> i64;
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Whose session the request carries (a bearer token or the screens' cookie): (login,
/// name).
pub fn session_of<S: StaffNode>(s: &S, headers: &HeaderMap) -> Option<(String, String)> {
    let token = bearer(headers).or_else(|| super::extract::cookie(headers, S::COOKIE))?;
    s.sessions()
        .get(token.trim(), s.now_ms())
        .map(|(login, a)| (login, a.name))
}

/// Signs `login` in from address `from`: the session token, or why not.
pub async fn sign_in<S: StaffNode>(
    s: &S,
    login: String,
    password: String,
    from: String,
) -> Result<Result<String, LoginError>, Failure> {
    let (staff, sessions, now) = (s.staff().clone(), s.sessions().clone(), s.now_ms());
    Ok(tokio::task::spawn_blocking(move || {
        staff
            .check(&login, &password, &from, "login")
            .and_then(|r| match r {
                Ok(_) => sessions.start(&login, now).map(Ok),
                Err(e) => Ok(Err(e)),
            })
    })
    .await
    .map_err(Failure::internal)??)
}

/// Ends the session of `token` (a missing one is already ended).
pub async fn end_session<S: StaffNode>(s: &S, token: String) {
    let sessions = s.sessions().clone();
    let ended = tokio::task::spawn_blocking(move || sessions.end(token.trim())).await;
    if !matches!(ended, Ok(Ok(()))) {
        tracing::warn!("a session could not be ended");
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginInput {
    login: String,
    password: String,
}

/// `POST /api/v1/session`: `{token, role, login}`, or 401/429 naming the password.
pub(super) async fn login<S: StaffNode>(
    State(s): State<S>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    JsonInput(l): JsonInput<LoginInput>,
) -> Result<Json<serde_json::Value>, Failure> {
    let who = l.login.clone();
    let token = sign_in(&s, l.login, l.password, peer.ip().to_string()).await??;
    Ok(Json(
        serde_json::json!({"token": token, "role": S::ROLE, "login": who}),
    ))
}

/// `DELETE /api/v1/session`: ends the bearer's session.
pub(super) async fn logout<S: StaffNode>(State(s): State<S>, headers: HeaderMap) -> StatusCode {
    if let Some(t) = bearer(&headers).map(str::to_owned) {
        end_session(&s, t).await;
    }
    StatusCode::NO_CONTENT
}
