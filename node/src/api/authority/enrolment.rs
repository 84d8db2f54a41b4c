//! Enterprises and their devices through the office API: invites (enterprise and customs),
//! profiles, e-key unlocks and the device certificates issued.

use super::*;

#[utoipa::path(post, path = "/api/v1/invites", tag = "enrolment", request_body = InviteRequest, responses((status = 201, body = InviteResponse), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn invite(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    JsonBody(r): JsonBody<InviteRequest>,
) -> Result<(StatusCode, Json<InviteResponse>), Failure> {
    let token = as_admin(&s, &headers, "enrolling an enterprise", move |a, actor| {
        a.registry
            .invite(
                &r.uscc,
                &r.name,
                r.numbers.unwrap_or(100_000),
                r.valid_days.unwrap_or(30),
            )
            .and_then(|t| {
                a.staff
                    .record(actor, exlic_client::DocId([0; 16]), "invite", &r.uscc)?;
                Ok(t)
            })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(InviteResponse { token })))
}

/// A customs node's invite request.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CustomsInviteRequest {
    /// The customs district (关区) code, 4 digits.
    district: String,
    /// Days the token stays valid (default 30).
    #[serde(default)]
    valid_days: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/customs-invites", tag = "enrolment", request_body = CustomsInviteRequest, responses((status = 201, body = InviteResponse), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn invite_customs(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    JsonBody(r): JsonBody<CustomsInviteRequest>,
) -> Result<(StatusCode, Json<InviteResponse>), Failure> {
    let token = as_admin(&s, &headers, "enrolling a customs node", move |a, actor| {
        let t = a.customs.invite(&r.district, r.valid_days.unwrap_or(30))?;
        a.staff.record(
            actor,
            exlic_client::DocId([0; 16]),
            "invite.customs",
            &r.district,
        )?;
        Ok(t)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(InviteResponse { token })))
}

/// A profile state as the API shows it.
pub fn profile_row(
    p: crate::authority::profiles::ProfileState,
) -> exlic_client::profile::ProfileRow {
    let status = if p.pending() {
        "pending"
    } else if p.accepted.is_some() {
        "accepted"
    } else {
        "none"
    };
    exlic_client::profile::ProfileRow {
        uscc: p.uscc,
        name: p.name,
        profile: exlic_client::profile::ProfileView {
            proposed_ms: p.proposed.as_ref().map(|x| x.1).unwrap_or(0),
            proposed: p.proposed.map(|x| x.0),
            accepted_ms: p.accepted.as_ref().map(|x| x.1).unwrap_or(0),
            accepted: p.accepted.map(|x| x.0),
            status: status.into(),
        },
    }
}

/// 企业信息维护: every enterprise's proposed and accepted profile, a page at a time.
#[utoipa::path(get, path = "/api/v1/profiles", tag = "enrolment", params(crate::api::paging::PageParams), responses((status = 200, body = [exlic_client::profile::ProfileRow], headers(("x-total-count" = u64))), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn profiles(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    crate::api::extract::QueryParams(paging): crate::api::extract::QueryParams<
        crate::api::paging::PageParams,
    >,
) -> Result<axum::response::Response, Failure> {
    require(&s, &headers)?;
    paging.window()?;
    let rows = run(&s, |a| a.profiles.list()).await?;
    paging.answer(rows.into_iter().map(profile_row).collect())
}

/// Accepts an enterprise's proposal (administrator).
#[utoipa::path(post, path = "/api/v1/profiles/{uscc}/accept", tag = "enrolment", params(("uscc" = String, Path)), responses((status = 204), (status = 404, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn accept_profile(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    axum::extract::Path(uscc): axum::extract::Path<String>,
) -> Result<StatusCode, Failure> {
    as_admin(
        &s,
        &headers,
        "accepting a profile change",
        move |a, actor| a.profiles.accept(&uscc, actor),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enterprises waiting for an e-key unlock (USCCs), a page at a time.
#[utoipa::path(get, path = "/api/v1/unlock-requests", tag = "enrolment", params(crate::api::paging::PageParams), responses((status = 200, body = [String], headers(("x-total-count" = u64))), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn unlock_requests(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    crate::api::extract::QueryParams(paging): crate::api::extract::QueryParams<
        crate::api::paging::PageParams,
    >,
) -> Result<axum::response::Response, Failure> {
    require(&s, &headers)?;
    paging.window()?;
    let rows = run(&s, |a| a.unlocks.pending()).await?;
    paging.answer(rows.into_iter().map(|(u, _)| u).collect::<Vec<String>>())
}

/// Approves an e-key unlock (administrator).
#[utoipa::path(post, path = "/api/v1/unlock-requests/{uscc}/approve", tag = "enrolment", params(("uscc" = String, Path)), responses((status = 204), (status = 404, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn approve_unlock(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    axum::extract::Path(uscc): axum::extract::Path<String>,
) -> Result<StatusCode, Failure> {
    as_admin(&s, &headers, "unlocking an e-key", move |a, actor| {
        a.unlocks.approve(&uscc, actor)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One issued device certificate (手机证书授权) as the office lists it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CertificateLine {
    /// Its serial.
    pub serial: u64,
    /// The enterprise (USCC).
    pub uscc: String,
    /// The mobile number it authorises.
    pub mobile: String,
    /// Valid from, Unix ms.
    pub not_before_ms: i64,
    /// Valid until, Unix ms.
    pub not_after_ms: i64,
    /// When it was revoked, Unix ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<i64>,
    /// `valid`, `expired` or `revoked`, now.
    pub status: &'static str,
}

/// Which certificates to list; an empty value asks for all.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateQuery {
    /// The enterprise's USCC, or its start.
    #[serde(default)]
    pub uscc: Option<String>,
    /// `valid`, `expired` or `revoked`.
    #[serde(default)]
    pub status: Option<String>,
}

/// The device certificates this office issued, newest first, by enterprise and standing, a
/// page at a time.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "enrolment", params(crate::api::paging::PageParams, CertificateQuery), responses((status = 200, body = [CertificateLine], headers(("x-total-count" = u64))), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
pub(super) async fn certificates(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    crate::api::extract::QueryParams(paging): crate::api::extract::QueryParams<
        crate::api::paging::PageParams,
    >,
    crate::api::extract::QueryParams(query): crate::api::extract::QueryParams<CertificateQuery>,
) -> Result<axum::response::Response, Failure> {
    use crate::store::certs::CertStanding;
    require(&s, &headers)?;
    let (offset, limit) = paging.window()?;
    let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let standing = match given(query.status) {
        None => None,
        Some(code) => Some(
            CertStanding::parse(&code)
                .ok_or_else(|| Failure::bad_input("status", "`valid`, `expired` or `revoked`"))?,
        ),
    };
    let filter = crate::authority::certificates::CertFilter {
        uscc: given(query.uscc),
        standing,
    };
    let now = s.authority.now_ms();
    let (rows, total) = run(&s, move |a| a.certificates.page(&filter, offset, limit)).await?;
    Ok(crate::api::paging::counted(
        rows.into_iter()
            .map(|c| CertificateLine {
                status: c.standing_at(now).code(),
                serial: c.serial,
                uscc: c.uscc,
                mobile: c.mobile,
                not_before_ms: c.not_before_ms,
                not_after_ms: c.not_after_ms,
                revoked_ms: c.revoked_ms,
            })
            .collect::<Vec<_>>(),
        total,
    ))
}
