//! `GET /node` and `GET /reference`.

use axum::Json;
use axum::extract::State;
use exlic_client::node::{NodeInfo, SyncStatus};
use exlic_client::reference::ReferenceData;

use crate::api::AppState;
use crate::api::error::Failure;

/// What this node is.
#[utoipa::path(get, path = "/api/v1/node", tag = "node",
    responses((status = 200, body = NodeInfo)))]
pub async fn info(State(s): State<AppState>) -> Result<Json<NodeInfo>, Failure> {
    super::run(&s, |e| e.node_info()).await.map(Json)
}

/// The reference data loaded: code lists and catalogues.
#[utoipa::path(get, path = "/api/v1/reference", tag = "node",
    responses((status = 200, body = ReferenceData)))]
pub async fn reference(State(s): State<AppState>) -> Json<ReferenceData> {
    Json(s.enterprise.reference().data().clone())
}

/// The link to the authority: online or not, last sync, what waits to be sent.
#[utoipa::path(get, path = "/api/v1/sync", tag = "node",
    responses((status = 200, body = SyncStatus)))]
pub async fn sync(State(s): State<AppState>) -> Result<Json<SyncStatus>, Failure> {
    let state = s
        .sync
        .as_ref()
        .map(|st| st.lock().unwrap_or_else(|p| p.into_inner()).clone());
    let backlog = super::run(&s, |e| e.backlog()).await?;
    Ok(Json(SyncStatus {
        configured: state.is_some(),
        online: state.as_ref().is_some_and(|x| x.online),
        enrolled: state.as_ref().is_some_and(|x| x.enrolled),
        last_sync_ms: state.as_ref().and_then(|x| x.last_sync_ms),
        last_error: state.as_ref().and_then(|x| x.last_error.clone()),
        docs_waiting: backlog.docs_waiting,
        submissions_waiting: backlog.submissions_waiting,
        bytes_waiting: backlog.bytes_waiting,
        rounds: state.map(|x| x.rounds).unwrap_or(0),
    }))
}
