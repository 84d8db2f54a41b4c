//! The OpenAPI document, generated from the handlers' annotations and the wire types.

use axum::Json;
use utoipa::OpenApi;

use super::operators;
use super::v1::{applications, licence_request, node};

/// The API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "exlic node API", description = "Offline-first export-licence node: applications, attachments, seals, queries. Every path but POST /api/v1/session needs `Authorization: Bearer <token>` from that sign-in; sealing, reporting and the requests sent to the office need the sealer role."),
    paths(
        node::info, node::reference, node::sync, node::certificate, node::cert_requests, node::cert_request, node::licences, node::licence_file, node::licence_standing, node::licence_proof, node::licence_usage, node::keys, node::certificate_file, node::revocations, node::directory, node::profile, node::propose_profile, node::ekey, node::request_unlock,
        applications::create, applications::list, applications::get_one, applications::save,
        applications::patch, applications::delete, applications::upload, applications::download,
        applications::remove_attachment, applications::seal, applications::seal_file, applications::report, applications::unseal, applications::copy, applications::resolve,
        licence_request::list, licence_request::create, licence_request::status,
        operators::login, operators::current, operators::logout, super::audit::enterprise,
    ),
    tags((name = "session"), (name = "node"), (name = "applications"), (name = "licences"))
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
