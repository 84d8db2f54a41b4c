//! 删证申请 and 核销申请 on the enterprise node, and a licence's standing.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use exlic_client::DocId;
use exlic_client::error::ApiError;
use exlic_client::licence_request::{LicenceRequestInput, LicenceRequestView, LicenceStatus};

use crate::api::AppState;
use crate::api::error::Failure;
use crate::api::extract::JsonInput;
use crate::domain::licence_request::Kind;
use crate::store::licence_request::Record;

use super::run;

/// A record as the API shows it.
pub fn view(id: DocId, r: Record) -> LicenceRequestView {
    LicenceRequestView {
        id,
        kind: r.kind.code().into(),
        licence_no: r.licence_no,
        status: r.status.code().into(),
        reason: r.reason,
        created_ms: r.created_ms,
        decided_ms: r.decided_ms,
        enterprise_uscc: r.owner,
    }
}

/// Parses `delete` or `write_off`.
pub fn parse_kind(s: &str) -> Result<Kind, Failure> {
    Kind::parse(s)
        .ok_or_else(|| Failure::bad_input("kind", "`delete` (删证) or `write_off` (核销)"))
}

/// Every request, newest first.
#[utoipa::path(get, path = "/api/v1/licence-requests", tag = "licences",
    responses((status = 200, body = Vec<LicenceRequestView>)))]
pub async fn list(State(s): State<AppState>) -> Result<Json<Vec<LicenceRequestView>>, Failure> {
    let rows = run(&s, |e| e.licence_requests.list()).await?;
    Ok(Json(rows.into_iter().map(|(id, r)| view(id, r)).collect()))
}

/// 保存: a 删证 or 核销 request for a licence this node holds; refused with the reason
/// when the licence is not this enterprise's, is no longer valid, or already has an open
/// request.
#[utoipa::path(post, path = "/api/v1/licence-requests", tag = "licences", request_body = LicenceRequestInput,
    responses((status = 201, body = LicenceRequestView), (status = 400, body = ApiError)))]
pub async fn create(
    State(s): State<AppState>,
    JsonInput(input): JsonInput<LicenceRequestInput>,
) -> Result<(StatusCode, Json<LicenceRequestView>), Failure> {
    let kind = parse_kind(&input.kind)?;
    let (id, r) = run(&s, move |e| {
        e.licence_requests.request(kind, &input.licence_no)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view(id, r))))
}

/// A held licence's standing.
#[utoipa::path(get, path = "/api/v1/licences/{no}/status", tag = "licences", params(("no" = String, Path)),
    responses((status = 200, body = LicenceStatus), (status = 400, body = ApiError)))]
pub async fn status(
    State(s): State<AppState>,
    Path(no): Path<String>,
) -> Result<Json<LicenceStatus>, Failure> {
    let n = no.clone();
    let (_, standing) = run(&s, move |e| e.licence_requests.held_licence(&n)).await?;
    Ok(Json(LicenceStatus {
        licence_no: no,
        status: standing.code().into(),
    }))
}
