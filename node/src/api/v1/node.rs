//! `GET /node` and `GET /reference`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use exlic_client::cert_request::RequestKind;
use exlic_client::error::ApiError;
use exlic_client::node::{
    CertRequestInput, CertRequestView, CertificateView, NodeInfo, SyncStatus,
};

use crate::api::extract::JsonBody;
use crate::store::cert_requests::{RequestRow, RequestStatus};
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
    sync_status(&s).await.map(Json)
}

/// Online/offline, last sync and the backlog, as the API and the UI's status bar show it.
pub async fn sync_status(s: &AppState) -> Result<SyncStatus, Failure> {
    let state = s
        .sync
        .as_ref()
        .map(|st| st.lock().unwrap_or_else(|p| p.into_inner()).clone());
    // Enrolment is recorded in the store: an enrolled node says so while offline too.
    let agencies: Vec<String> = s.offices.iter().map(|o| o.agency_code.clone()).collect();
    let (backlog, enrolled, others_enrolled) = super::run(s, move |e| {
        use crate::upstream::Link;
        let mut others = Vec::new();
        for a in agencies {
            others.push(e.replica.enrolled(&Link::Other(a))?);
        }
        Ok((
            e.replica.backlog()?,
            e.replica.enrolled(&Link::Home)?,
            others,
        ))
    })
    .await?;
    let offices = s
        .offices
        .iter()
        .zip(others_enrolled)
        .map(|(o, enrolled)| {
            let st = o.sync.lock().unwrap_or_else(|p| p.into_inner()).clone();
            exlic_client::node::OfficeSync {
                agency_code: o.agency_code.clone(),
                online: st.online,
                enrolled: enrolled || st.enrolled,
                last_sync_ms: st.last_sync_ms,
                last_error: st.last_error,
            }
        })
        .collect();
    Ok(SyncStatus {
        configured: state.is_some(),
        online: state.as_ref().is_some_and(|x| x.online),
        enrolled: enrolled || state.as_ref().is_some_and(|x| x.enrolled),
        last_sync_ms: state.as_ref().and_then(|x| x.last_sync_ms),
        last_error: state.as_ref().and_then(|x| x.last_error.clone()),
        docs_waiting: backlog.docs_waiting,
        submissions_waiting: backlog.submissions_waiting,
        bytes_waiting: backlog.bytes_waiting,
        rounds: state.map(|x| x.rounds).unwrap_or(0),
        offices,
    })
}

/// 查看本机证书: this device's certificate.
#[utoipa::path(get, path = "/api/v1/certificate", tag = "node",
    responses((status = 200, body = CertificateView), (status = 404, body = ApiError)))]
pub async fn certificate(State(s): State<AppState>) -> Result<Json<CertificateView>, Failure> {
    let now = s.enterprise.now_ms();
    match super::run(&s, |e| e.certificates.device_certificate()).await? {
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "no_certificate",
            "this device has no certificate yet (请求待提交 or waiting for the issuing agency)",
            None,
        )),
        Some((c, revoked)) => Ok(Json(certificate_view(c, revoked, now))),
    }
}

/// This device's certificate as shown: status `valid`, `expiring` (under 30 days left),
/// `expired` or `revoked`.
pub fn certificate_view(
    c: exlic_client::certificate::DeviceCertificate,
    revoked: bool,
    now: i64,
) -> CertificateView {
    CertificateView {
        key_fingerprint: hex::encode(exlic_client::seal::sha256(&c.device_key)),
        status: if revoked {
            "revoked"
        } else if now >= c.not_after_ms {
            "expired"
        } else if c.not_after_ms - now < 30 * 86_400_000 {
            "expiring"
        } else {
            "valid"
        }
        .into(),
        serial: c.serial,
        enterprise_uscc: c.enterprise_uscc,
        mobile: c.mobile,
        not_before_ms: c.not_before_ms,
        not_after_ms: c.not_after_ms,
    }
}

/// The API code of a request kind.
pub fn kind_code(k: RequestKind) -> &'static str {
    match k {
        RequestKind::New => "new",
        RequestKind::NumberChange => "number_change",
        RequestKind::DeviceChange => "device_change",
        RequestKind::Renew => "renew",
        RequestKind::Revoke => "revoke",
    }
}

/// Parses a request kind code.
pub fn parse_kind(code: &str) -> Result<RequestKind, Failure> {
    Ok(match code {
        "new" => RequestKind::New,
        "number_change" => RequestKind::NumberChange,
        "device_change" => RequestKind::DeviceChange,
        "renew" => RequestKind::Renew,
        "revoke" => RequestKind::Revoke,
        _ => {
            return Err(Failure::bad_input(
                "kind",
                "one of new, number_change, device_change, renew, revoke",
            ));
        }
    })
}

/// A request row as the API and UI show it.
pub fn view(r: RequestRow) -> CertRequestView {
    CertRequestView {
        seq: r.seq,
        kind: kind_code(r.kind).into(),
        kind_zh: r.kind.zh().into(),
        mobile: r.mobile,
        old_mobile: r.old_mobile,
        created_ms: r.created_ms,
        status: match r.status {
            RequestStatus::Submitted => "submitted",
            RequestStatus::Issued => "issued",
            RequestStatus::Refused => "refused",
            RequestStatus::PendingSubmit => "pending_submit",
        }
        .into(),
        outcome: r.outcome,
    }
}

/// The certificate request history (历史信息).
#[utoipa::path(get, path = "/api/v1/certificate/requests", tag = "node",
    responses((status = 200, body = Vec<CertRequestView>)))]
pub async fn cert_requests(
    State(s): State<AppState>,
) -> Result<Json<Vec<CertRequestView>>, Failure> {
    let rows = super::run(&s, |e| e.certificates.requests()).await?;
    Ok(Json(rows.into_iter().map(view).collect()))
}

/// 手机证书授权: signs a request with the e-key (PIN) and queues it for the authority.
#[utoipa::path(post, path = "/api/v1/certificate/requests", tag = "node", request_body = CertRequestInput,
    responses((status = 201, body = CertRequestView), (status = 400, body = ApiError)))]
pub async fn cert_request(
    State(s): State<AppState>,
    JsonBody(input): JsonBody<CertRequestInput>,
) -> Result<(StatusCode, Json<CertRequestView>), Failure> {
    let kind = parse_kind(&input.kind)?;
    let device = match input.device_key.as_deref() {
        None | Some("") => None,
        Some(h) => {
            let mut k = [0u8; 32];
            hex::decode_to_slice(h, &mut k)
                .map_err(|_| Failure::bad_input("device_key", "64 hex characters"))?;
            Some(k)
        }
    };
    let row = super::run(&s, move |e| {
        e.certificates
            .request(kind, &input.mobile, &input.old_mobile, &input.pin, device)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view(row))))
}

/// 查看电子许可证: the licences this node holds, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/licences", tag = "node", params(crate::api::paging::PageParams),
    responses((status = 200, body = Vec<exlic_client::authority::LicenceSummary>, headers(("x-total-count" = u64))), (status = 400, body = ApiError)))]
pub async fn licences(
    State(s): State<AppState>,
    crate::api::extract::QueryParams(paging): crate::api::extract::QueryParams<
        crate::api::paging::PageParams,
    >,
) -> Result<axum::response::Response, Failure> {
    paging.window()?;
    paging.answer(licence_summaries(&s).await?)
}

/// Every licence this node holds, newest first.
pub async fn licence_summaries(
    s: &AppState,
) -> Result<Vec<exlic_client::authority::LicenceSummary>, Failure> {
    let all = super::run(s, |e| e.replica.licences()).await?;
    let mut out = Vec::new();
    for (no, file) in all {
        let Ok(p) = exlic_client::signed::peek(&file) else {
            continue;
        };
        let Ok(l) = exlic_client::licence::Licence::decode(p) else {
            continue;
        };
        out.push(exlic_client::authority::LicenceSummary {
            licence_no: no,
            commodity_code: l.commodity[0].clone(),
            commodity_name: l.commodity[1].clone(),
            issue_date: l.issue_date,
            expiry: l.expiry,
        });
    }
    out.sort_by(|a, b| {
        b.issue_date
            .cmp(&a.issue_date)
            .then(b.licence_no.cmp(&a.licence_no))
    });
    Ok(out)
}

/// 下载电子许可证: the signed licence file.
#[utoipa::path(get, path = "/api/v1/licences/{no}/file", tag = "node", params(("no" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ApiError)))]
pub async fn licence_file(
    State(s): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> Result<axum::response::Response, Failure> {
    let all = super::run(&s, |e| e.replica.licences()).await?;
    match all.into_iter().find(|(n, _)| *n == no) {
        Some((_, f)) => Ok(super::applications::attachment_response(
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

/// The licence's inclusion proof in its office's transparency log, as the office sent it
/// with the licence (`InclusionProof`, see FORMATS.md), for `exlic verify --proof`.
#[utoipa::path(get, path = "/api/v1/licences/{no}/proof", tag = "node", params(("no" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ApiError)))]
pub async fn licence_proof(
    State(s): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> Result<axum::response::Response, Failure> {
    let n = no.clone();
    match super::run(&s, move |e| e.replica.licence_proof(&n)).await? {
        Some(p) => Ok(super::applications::attachment_response(
            &format!("{no}.proof"),
            p,
        )),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no proof of licence {no} held here"),
            None,
        )),
    }
}

/// The office's newest signed standing statement of a licence (`exlic/standing/v1`, see
/// FORMATS.md), for `exlic verify --standing` or any verifier.
#[utoipa::path(get, path = "/api/v1/licences/{no}/standing", tag = "node", params(("no" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ApiError)))]
pub async fn licence_standing(
    State(s): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> Result<axum::response::Response, Failure> {
    let n = no.clone();
    let (statement, _) = super::run(&s, move |e| e.licence_requests.standing_evidence(&n)).await?;
    match statement {
        Some(f) => Ok(super::applications::attachment_response(
            &format!("{no}.standing"),
            f,
        )),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("this node holds no standing statement of licence {no}"),
            Some("no"),
        )),
    }
}

/// The office's key chain as this node trusts it: the root key from the enrolment token
/// and every rollover record, oldest first (hex of each signed record, FORMATS.md).
#[utoipa::path(get, path = "/api/v1/keys", tag = "node",
    responses((status = 200, description = "`{root_key, records: [hex]}`", body = Object)))]
pub async fn keys(State(s): State<AppState>) -> Result<Json<serde_json::Value>, Failure> {
    let Some(key) = s.authority_key else {
        return Ok(Json(serde_json::json!({"root_key": "", "records": []})));
    };
    let root = hex::encode(key);
    let records = super::run(&s, move |e| e.key_records(&key)).await?;
    Ok(Json(serde_json::json!({
        "root_key": root,
        "records": records.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}

/// This device's signed certificate (`exlic/device-cert/v1`), as issued by the office.
#[utoipa::path(get, path = "/api/v1/certificate/file", tag = "node",
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ApiError)))]
pub async fn certificate_file(
    State(s): State<AppState>,
) -> Result<axum::response::Response, Failure> {
    match super::run(&s, |e| e.certificates.signed_files()).await?.0 {
        Some(f) => Ok(super::applications::attachment_response("device.cert", f)),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "no_certificate",
            "this device has no certificate yet",
            None,
        )),
    }
}

/// The newest signed revocation list (`exlic/revocations/v1`) this node holds.
#[utoipa::path(get, path = "/api/v1/revocations", tag = "node",
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ApiError)))]
pub async fn revocations(State(s): State<AppState>) -> Result<axum::response::Response, Failure> {
    match super::run(&s, |e| e.certificates.signed_files()).await?.1 {
        Some(f) => Ok(super::applications::attachment_response(
            "revocations.crl",
            f,
        )),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this node holds no revocation list yet",
            None,
        )),
    }
}

/// A licence's usage at customs (declarations, quantities, what is left), as the office
/// last told this node.
#[utoipa::path(get, path = "/api/v1/licences/{no}/usage", tag = "node", params(("no" = String, Path)),
    responses((status = 200, body = exlic_client::usage::UsageView), (status = 404, body = ApiError)))]
pub async fn licence_usage(
    State(s): State<AppState>,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> Result<Json<exlic_client::usage::UsageView>, Failure> {
    let n = no.clone();
    match super::run(&s, move |e| e.licence_requests.usage(&n)).await? {
        Some(v) => Ok(Json(v)),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no usage of licence {no} has been reported"),
            Some("no"),
        )),
    }
}

/// 发证机构联系方式 and 办事指南, as last synced (readable offline).
#[utoipa::path(get, path = "/api/v1/directory", tag = "node",
    responses((status = 200, body = exlic_client::directory::Directory)))]
pub async fn directory(
    State(s): State<AppState>,
) -> Result<Json<exlic_client::directory::Directory>, Failure> {
    let root = s.authority_key.unwrap_or_default();
    super::run(&s, move |e| e.replica.directory(&root))
        .await
        .map(Json)
}

/// 企业信息维护: the proposed and the accepted profile.
#[utoipa::path(get, path = "/api/v1/profile", tag = "node",
    responses((status = 200, body = exlic_client::profile::ProfileView)))]
pub async fn profile(
    State(s): State<AppState>,
) -> Result<Json<exlic_client::profile::ProfileView>, Failure> {
    super::run(&s, |e| e.profile.get()).await.map(Json)
}

/// Proposes the profile (every field validated; each error names its field).
#[utoipa::path(put, path = "/api/v1/profile", tag = "node", request_body = exlic_client::profile::EnterpriseProfile,
    responses((status = 200, body = exlic_client::profile::ProfileView), (status = 422, body = ApiError)))]
pub async fn propose_profile(
    State(s): State<AppState>,
    JsonBody(p): JsonBody<exlic_client::profile::EnterpriseProfile>,
) -> Result<Json<exlic_client::profile::ProfileView>, Failure> {
    super::run(&s, move |e| e.profile.propose(&p))
        .await
        .map(Json)
}

fn ekey_view(s: crate::enterprise::unlock::EkeyState) -> exlic_client::node::EkeyView {
    exlic_client::node::EkeyView {
        failures: s.failures,
        locked: s.locked,
        unlock_requested: s.unlock_requested,
    }
}

/// The e-key: wrong PINs so far, locked, unlock asked for.
#[utoipa::path(get, path = "/api/v1/ekey", tag = "node",
    responses((status = 200, body = exlic_client::node::EkeyView)))]
pub async fn ekey(
    State(s): State<AppState>,
) -> Result<Json<exlic_client::node::EkeyView>, Failure> {
    super::run(&s, |e| e.ekey.state())
        .await
        .map(ekey_view)
        .map(Json)
}

/// Asks the issuing office to unlock the locked e-key.
#[utoipa::path(post, path = "/api/v1/ekey/unlock-request", tag = "node",
    responses((status = 200, body = exlic_client::node::EkeyView), (status = 400, body = ApiError)))]
pub async fn request_unlock(
    State(s): State<AppState>,
) -> Result<Json<exlic_client::node::EkeyView>, Failure> {
    super::run(&s, |e| e.ekey.request_unlock())
        .await
        .map(ekey_view)
        .map(Json)
}
