//! The review API: the inbox a page at a time, a case with its seal check, the 初审/复审
//! decision, and a document's heads.

use super::*;

#[utoipa::path(get, path = "/api/v1/docs/{id}/heads", tag = "office", params(("id" = String, Path)), responses((status = 200, body = DocHeads), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn heads(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Json<DocHeads>, Failure> {
    require(&s, &headers)?;
    let h = run(&s, move |a| a.replica.heads(id)).await?;
    let Some(h) = h else {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no document {id}"),
            None,
        ));
    };
    let mut heads: Vec<String> = h.iter().map(hex::encode).collect();
    heads.sort();
    Ok(Json(DocHeads { id, heads }))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "review", params(("id" = String, Path)), responses((status = 200, body = CaseView), (status = 404, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn case(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Json<CaseView>, Failure> {
    require(&s, &headers)?;
    match run(&s, move |a| a.review.case_status(id)).await? {
        Some((status, revision)) => Ok(Json(CaseView {
            id,
            status,
            revision,
        })),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no case for {id}"),
            None,
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/decisions", tag = "review", params(("id" = String, Path)), request_body = DecisionInput, responses((status = 200, body = DecisionResult), (status = 400, body = ApiError), (status = 409, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn decide(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    PathId(id): PathId,
    JsonBody(d): JsonBody<DecisionInput>,
) -> Result<Json<DecisionResult>, Failure> {
    let staff = require(&s, &headers)?;
    let stage = match d.stage.as_str() {
        "initial" => Stage::Initial,
        "second" => Stage::Second,
        _ => {
            return Err(Failure::bad_input(
                "stage",
                "`initial` (初审) or `second` (复审)",
            ));
        }
    };
    require_role(&staff, stage_role(stage), "this review stage")?;
    let actor = format!("{} @{}", staff.actor(), peer.ip());
    let (status, licence_no) = run(&s, move |a| {
        a.review.decide(id, stage, d.approve, &d.reason, &actor)
    })
    .await?;
    Ok(Json(DecisionResult { status, licence_no }))
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct InboxQuery {
    status: String,
    #[serde(default)]
    enterprise: Option<String>,
    #[serde(default)]
    commodity: Option<String>,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    per_page: Option<u32>,
}

/// Rows an inbox page holds unless asked otherwise, and at most.
pub const INBOX_PER_PAGE: u32 = 50;

pub(super) const INBOX_MAX_PER_PAGE: u32 = 500;

#[utoipa::path(get, path = "/api/v1/cases", tag = "review", params(("status" = String, Query, description = "pending_initial, pending_second, …"), ("enterprise" = Option<String>, Query, description = "the start of the USCC, or part of the exporter's name"), ("commodity" = Option<String>, Query, description = "the start of the commodity code"), ("page" = Option<u32>, Query, description = "from 1 (default 1)"), ("per_page" = Option<u32>, Query, description = "1–500 (default 50)")), responses((status = 200, body = InboxPage), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn inbox(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    crate::api::extract::QueryParams(q): crate::api::extract::QueryParams<InboxQuery>,
) -> Result<Json<InboxPage>, Failure> {
    require(&s, &headers)?;
    let status = ApplicationStatus::from_code(&q.status)
        .ok_or_else(|| Failure::bad_input("status", "an application status code"))?;
    let page = q.page.unwrap_or(1);
    if page == 0 {
        return Err(Failure::bad_input("page", "pages count from 1"));
    }
    let per_page = q.per_page.unwrap_or(INBOX_PER_PAGE);
    if !(1..=INBOX_MAX_PER_PAGE).contains(&per_page) {
        return Err(Failure::bad_input(
            "per_page",
            format!("from 1 to {INBOX_MAX_PER_PAGE}"),
        ));
    }
    let offset = (page as usize - 1) * per_page as usize;
    let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let filter = crate::store::cases::CaseFilter {
        enterprise: given(q.enterprise),
        commodity: given(q.commodity),
    };
    let (total, rows) = run(&s, move |a| {
        a.review.inbox(status, &filter, offset, per_page as usize)
    })
    .await?;
    Ok(Json(InboxPage {
        total,
        page,
        per_page,
        rows: rows
            .into_iter()
            .map(|(id, c, sum)| inbox_row(id, c, sum))
            .collect(),
    }))
}

/// An inbox row from a case and its summary.
pub fn inbox_row(
    id: exlic_client::DocId,
    c: crate::store::cases::CaseRow,
    sum: Option<crate::store::cases::CaseSummary>,
) -> InboxRow {
    let sum = sum.unwrap_or_default();
    InboxRow {
        id,
        application_no: c.application_no,
        revision: c.revision,
        received_ms: c.received_ms,
        owner: c.owner,
        exporter: sum.exporter,
        commodity_code: sum.commodity_code,
        quantity: sum.quantity,
        unit: sum.unit,
        amount: sum.amount,
        currency: sum.currency,
    }
}
