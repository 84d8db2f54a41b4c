//! `GET /node` and `GET /reference`.

use axum::Json;
use axum::extract::State;
use exlic_client::node::NodeInfo;
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
