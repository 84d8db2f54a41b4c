//! Issued licences through the office API: the signed file, the standing, customs' usage,
//! and 删证/核销 requests with their decisions.

use super::*;

#[utoipa::path(get, path = "/api/v1/licences/{no}/usage", tag = "licences", params(("no" = String, Path)), responses((status = 200, body = exlic_client::usage::UsageView), (status = 404, body = ApiError)))]
pub(super) async fn licence_usage(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Result<Json<serde_json::Value>, Failure> {
    require(&s, &headers)?;
    let n = no.clone();
    match run(&s, move |a| a.customs.usage_of(&n)).await? {
        Some((view, flags)) => Ok(Json(serde_json::json!({
            "usage": view,
            "flags": flags.iter().map(|(d, i, why)| serde_json::json!({
                "declaration_no": d, "item": i, "why": why,
            })).collect::<Vec<_>>(),
        }))),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no licence {no}"),
            Some("licence_no"),
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/licences/{no}/file", tag = "licences", params(("no" = String, Path)), responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn licence_file(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> Result<axum::response::Response, Failure> {
    require(&s, &headers)?;
    let n = no.clone();
    match run(&s, move |a| a.review.licence(&n)).await? {
        Some(f) => Ok(crate::api::v1::applications::attachment_response(
            &format!("{no}.licence"),
            f,
        )),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no licence {no}"),
            None,
        )),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestsQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    per_page: Option<u32>,
}

/// 删证/核销 requests by status (`pending` is the 待审核 inbox), oldest first, a page at
/// a time (the count of all in `X-Total-Count`).
#[utoipa::path(get, path = "/api/v1/licence-requests", tag = "licences", params(("status" = Option<String>, Query), crate::api::paging::PageParams), responses((status = 200, body = [exlic_client::licence_request::LicenceRequestView], headers(("x-total-count" = u64))), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn licence_requests(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    crate::api::extract::QueryParams(q): crate::api::extract::QueryParams<RequestsQuery>,
) -> Result<axum::response::Response, Failure> {
    require(&s, &headers)?;
    let paging = crate::api::paging::PageParams {
        page: q.page,
        per_page: q.per_page,
    };
    paging.window()?;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            crate::store::licence_request::Status::parse(c).ok_or_else(|| {
                Failure::bad_input("status", "`pending`, `approved` or `rejected`")
            })?,
        ),
    };
    let rows = run(&s, move |a| a.licence_requests.list(status)).await?;
    paging.answer(
        rows.into_iter()
            .map(|(id, r)| crate::api::v1::licence_request::view(id, r))
            .collect(),
    )
}

/// The staff roles that decide 删证/核销 requests (审核): 经办人 and 处长.
pub fn may_decide_licence_requests(staff: &Staff) -> Result<(), Failure> {
    if matches!(staff.role, Role::Officer | Role::Chief) {
        Ok(())
    } else {
        require_role(staff, Role::Officer, "审核 of 删证/核销 requests")
    }
}

#[utoipa::path(post, path = "/api/v1/licence-requests/{id}/decision", tag = "licences", params(("id" = String, Path)), request_body = exlic_client::licence_request::LicenceDecisionInput, responses((status = 200, body = exlic_client::licence_request::LicenceRequestView), (status = 400, body = ApiError), (status = 409, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn decide_licence_request(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    PathId(id): PathId,
    JsonBody(d): JsonBody<exlic_client::licence_request::LicenceDecisionInput>,
) -> Result<Json<exlic_client::licence_request::LicenceRequestView>, Failure> {
    let staff = require(&s, &headers)?;
    may_decide_licence_requests(&staff)?;
    let actor = format!("{} @{}", staff.actor(), peer.ip());
    let r = run(&s, move |a| {
        a.licence_requests.decide(id, d.approve, &d.reason, &actor)
    })
    .await?;
    Ok(Json(crate::api::v1::licence_request::view(id, r)))
}

#[utoipa::path(get, path = "/api/v1/licences/{no}/status", tag = "licences", params(("no" = String, Path)), responses((status = 200, body = exlic_client::licence_request::LicenceStatus), (status = 404, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn licence_status(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> Result<Json<exlic_client::licence_request::LicenceStatus>, Failure> {
    require(&s, &headers)?;
    let n = no.clone();
    let known = run(&s, move |a| a.review.licence(&n)).await?.is_some();
    if !known {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no licence {no}"),
            None,
        ));
    }
    let n = no.clone();
    let st = run(&s, move |a| a.licence_requests.standing(&n)).await?;
    Ok(Json(exlic_client::licence_request::LicenceStatus {
        licence_no: no,
        status: st.code().into(),
    }))
}
