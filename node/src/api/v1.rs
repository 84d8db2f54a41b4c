//! Version 1 of the JSON API.

pub mod applications;
pub mod licence_request;
pub mod node;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::AppState;
use super::error::Failure;
use super::operators;
use crate::enterprise::{Enterprise, EnterpriseError};

/// Routes under `/api/v1`.
pub fn router(attachment_limit: u64) -> Router<AppState> {
    Router::new()
        .route("/node", get(node::info))
        .route(
            "/session",
            post(operators::login)
                .get(operators::current)
                .delete(operators::logout),
        )
        .route("/audit", get(super::audit::enterprise))
        .route("/reference", get(node::reference))
        .route("/sync", get(node::sync))
        .route("/certificate", get(node::certificate))
        .route("/certificate/file", get(node::certificate_file))
        .route("/revocations", get(node::revocations))
        .route("/keys", get(node::keys))
        .route("/licences", get(node::licences))
        .route("/licences/{no}/file", get(node::licence_file))
        .route("/licences/{no}/standing", get(node::licence_standing))
        .route("/licences/{no}/proof", get(node::licence_proof))
        .route("/licences/{no}/usage", get(node::licence_usage))
        .route("/licences/{no}/status", get(licence_request::status))
        .route("/directory", get(node::directory))
        .route("/profile", get(node::profile).put(node::propose_profile))
        .route("/ekey", get(node::ekey))
        .route("/ekey/unlock-request", post(node::request_unlock))
        .route(
            "/licence-requests",
            get(licence_request::list).post(licence_request::create),
        )
        .route(
            "/certificate/requests",
            get(node::cert_requests).post(node::cert_request),
        )
        .route(
            "/applications",
            get(applications::list).post(applications::create),
        )
        .route(
            "/applications/{id}",
            get(applications::get_one)
                .put(applications::save)
                .patch(applications::patch)
                .delete(applications::delete),
        )
        .route(
            "/applications/{id}/attachments",
            post(applications::upload).layer(DefaultBodyLimit::max(attachment_limit as usize + 1)),
        )
        .route(
            "/applications/{id}/attachments/{sha256}",
            get(applications::download).delete(applications::remove_attachment),
        )
        .route(
            "/applications/{id}/seal",
            post(applications::seal).get(applications::seal_file),
        )
        .route("/applications/{id}/report", post(applications::report))
        .route("/applications/{id}/unseal", post(applications::unseal))
        .route("/applications/{id}/copy", post(applications::copy))
        .route("/applications/{id}/resolve", post(applications::resolve))
}

/// Runs an enterprise action on the blocking pool.
pub async fn run<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Enterprise) -> Result<T, EnterpriseError> + Send + 'static,
) -> Result<T, Failure> {
    let ent = state.enterprise.clone();
    match tokio::task::spawn_blocking(move || f(&ent)).await {
        Ok(r) => r.map_err(Failure::from),
        Err(e) => Err(Failure::internal(e)),
    }
}
