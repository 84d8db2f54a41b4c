//! Applications: 新增, 暂存, edit, delete, 上传附件, 保存并盖章, 上报, list and 查询.

use crate::enterprise::operators::Operator;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Extension};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use exlic_client::application::{
    ApplicationForm, ApplicationSummary, ApplicationView, ResolveInput, SealConfirmation,
    SealResult,
};
use exlic_client::attachment::AttachmentRef;
use exlic_client::error::ApiError;
use exlic_client::query::{ApplicationQuery, Page};
use serde::Deserialize;

use crate::api::AppState;
use crate::api::error::Failure;
use crate::api::extract::{JsonBody, PathId, QueryParams};

use super::run;

/// 新增: creates a draft.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = ApplicationForm,
    responses((status = 201, body = ApplicationView), (status = 400, body = ApiError)))]
pub async fn create(
    State(s): State<AppState>,
    JsonBody(form): JsonBody<ApplicationForm>,
) -> Result<(StatusCode, Json<ApplicationView>), Failure> {
    let v = run(&s, move |e| e.applications.create(&form)).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// The list (许可证申请) and 查询: every filter optional, newest first, paginated.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(ApplicationQuery),
    responses((status = 200, body = Page<ApplicationSummary>), (status = 400, body = ApiError)))]
pub async fn list(
    State(s): State<AppState>,
    QueryParams(q): QueryParams<ApplicationQuery>,
) -> Result<Json<Page<ApplicationSummary>>, Failure> {
    run(&s, move |e| e.applications.query(&q)).await.map(Json)
}

/// One application with totals, attachments and history.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 404, body = ApiError)))]
pub async fn get_one(
    State(s): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<ApplicationView>, Failure> {
    run(&s, move |e| e.applications.get(id)).await.map(Json)
}

/// 暂存: replaces the whole form.
#[utoipa::path(put, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path)), request_body = ApplicationForm,
    responses((status = 200, body = ApplicationView), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
pub async fn save(
    State(s): State<AppState>,
    PathId(id): PathId,
    JsonBody(form): JsonBody<ApplicationForm>,
) -> Result<Json<ApplicationView>, Failure> {
    run(&s, move |e| e.applications.save(id, &form))
        .await
        .map(Json)
}

/// Edits some fields with a JSON merge patch over the form.
#[utoipa::path(patch, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path)), request_body = Object,
    responses((status = 200, body = ApplicationView), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
pub async fn patch(
    State(s): State<AppState>,
    PathId(id): PathId,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> Result<Json<ApplicationView>, Failure> {
    run(&s, move |e| e.applications.patch(id, &patch))
        .await
        .map(Json)
}

/// Keeps one value of a field two devices set while apart.
#[utoipa::path(post, path = "/api/v1/applications/{id}/resolve", tag = "applications", params(("id" = String, Path)), request_body = ResolveInput,
    responses((status = 200, body = ApplicationView), (status = 400, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn resolve(
    State(s): State<AppState>,
    PathId(id): PathId,
    JsonBody(input): JsonBody<ResolveInput>,
) -> Result<Json<ApplicationView>, Failure> {
    run(&s, move |e| {
        e.applications.resolve(id, &input.field, &input.value)
    })
    .await
    .map(Json)
}

/// Deletes a draft.
#[utoipa::path(delete, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn delete(State(s): State<AppState>, PathId(id): PathId) -> Result<StatusCode, Failure> {
    run(&s, move |e| e.applications.delete(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Upload parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// The file name.
    pub name: String,
}

/// 上传附件: the raw bytes as the body, the file name as `?name=`.
#[utoipa::path(post, path = "/api/v1/applications/{id}/attachments", tag = "applications",
    params(("id" = String, Path), UploadParams), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentRef), (status = 400, body = ApiError), (status = 413, body = ApiError)))]
pub async fn upload(
    State(s): State<AppState>,
    PathId(id): PathId,
    params: Result<Query<UploadParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<AttachmentRef>), Failure> {
    let Query(p) = params.map_err(|e| Failure::bad_input("name", e.body_text()))?;
    let limit = s.enterprise.settings().attachment_max_bytes;
    let bytes: Bytes = axum::body::to_bytes(body, limit as usize + 1)
        .await
        .map_err(|_| {
            Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the attachment is over the limit of {limit} bytes"),
                Some("body"),
            )
        })?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let a = run(&s, move |e| e.attachments.add(id, &p.name, &media, &bytes)).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// Downloads an attachment (always as a download, never rendered inline).
#[utoipa::path(get, path = "/api/v1/applications/{id}/attachments/{sha256}", tag = "applications",
    params(("id" = String, Path), ("sha256" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ApiError)))]
pub async fn download(
    State(s): State<AppState>,
    PathId(id): PathId,
    Path((_, sha)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let (a, bytes) = run(&s, move |e| e.attachments.get(id, &sha)).await?;
    Ok(attachment_response(&a.name, bytes))
}

/// A body served as a download with nosniff.
pub fn attachment_response(name: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// Removes an attachment from a draft.
#[utoipa::path(delete, path = "/api/v1/applications/{id}/attachments/{sha256}", tag = "applications",
    params(("id" = String, Path), ("sha256" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn remove_attachment(
    State(s): State<AppState>,
    PathId(id): PathId,
    Path((_, sha)): Path<(String, String)>,
) -> Result<StatusCode, Failure> {
    run(&s, move |e| e.attachments.remove(id, &sha)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 保存并盖章: validates every rule; on success seals and returns the 申请表号.
#[utoipa::path(post, path = "/api/v1/applications/{id}/seal", tag = "applications", params(("id" = String, Path)),
    request_body = SealConfirmation,
    responses((status = 200, body = SealResult), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 422, body = ApiError)))]
pub async fn seal(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    PathId(id): PathId,
    JsonBody(c): JsonBody<SealConfirmation>,
) -> Result<Json<SealResult>, Failure> {
    let from = peer.ip().to_string();
    run(&s, move |e| {
        e.operators.confirm_seal(&op, &c.pin, &from)?;
        e.sealing.seal(id)
    })
    .await
    .map(Json)
}

/// The latest sealed submission as a file (`FORMATS.md`, "sealed submission").
#[utoipa::path(get, path = "/api/v1/applications/{id}/seal", tag = "applications", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn seal_file(State(s): State<AppState>, PathId(id): PathId) -> Result<Response, Failure> {
    let sub = run(&s, move |e| e.sealing.sealed_submission(id)).await?;
    Ok(attachment_response(&format!("{id}.seal"), sub.encode()))
}

/// 退回暂存: takes a sealed application that has not been reported back to draft.
#[utoipa::path(post, path = "/api/v1/applications/{id}/unseal", tag = "applications", params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 409, body = ApiError)))]
pub async fn unseal(
    State(s): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<ApplicationView>, Failure> {
    run(&s, move |e| e.sealing.unseal(id)).await.map(Json)
}

/// 复制为新申请: a new draft with this application's form and attachments (this year's
/// quota year when its own has passed).
#[utoipa::path(post, path = "/api/v1/applications/{id}/copy", tag = "applications", params(("id" = String, Path)),
    responses((status = 201, body = ApplicationView), (status = 404, body = ApiError)))]
pub async fn copy(
    State(s): State<AppState>,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<ApplicationView>), Failure> {
    let v = run(&s, move |e| e.applications.copy(id)).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// 上报: queues the sealed application for delivery to the issuing agency.
#[utoipa::path(post, path = "/api/v1/applications/{id}/report", tag = "applications", params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 409, body = ApiError)))]
pub async fn report(
    State(s): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<ApplicationView>, Failure> {
    run(&s, move |e| e.sealing.report(id)).await.map(Json)
}
