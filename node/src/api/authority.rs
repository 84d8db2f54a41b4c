//! The authority node's HTTP API (loopback only until staff login and TLS arrive):
//! node info, enrolment invites, and read-outs of the replica and cases.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use exlic_client::authority::{
    AuthorityInfo, CaseView, DecisionInput, DecisionResult, DocHeads, InboxRow, InviteRequest,
    InviteResponse,
};
use exlic_client::status::ApplicationStatus;

use crate::authority::review::Stage;

use super::error::Failure;
use super::extract::{JsonBody, PathId};
use crate::authority::{Authority, AuthorityError};

/// What authority handlers get.
#[derive(Debug, Clone)]
pub struct AuthorityState {
    /// The role.
    pub authority: Arc<Authority>,
    /// Where it listens for enterprises.
    pub p2p_addrs: Vec<String>,
}

impl From<AuthorityError> for Failure {
    fn from(e: AuthorityError) -> Self {
        match e {
            AuthorityError::Invalid(m) => {
                let field = m.split(':').next().unwrap_or("body").to_owned();
                Failure::bad_input(&field, m)
            }
            other => Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage_error",
                other.to_string(),
                None,
            ),
        }
    }
}

async fn run<T: Send + 'static>(
    s: &AuthorityState,
    f: impl FnOnce(&Authority) -> Result<T, AuthorityError> + Send + 'static,
) -> Result<T, Failure> {
    let a = s.authority.clone();
    tokio::task::spawn_blocking(move || f(&a))
        .await
        .map_err(|e| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                e.to_string(),
                None,
            )
        })?
        .map_err(Failure::from)
}

/// The authority's routes.
pub fn router(state: AuthorityState) -> Router {
    Router::new()
        .route("/api/v1/node", get(info))
        .route("/api/v1/invites", post(invite))
        .route("/api/v1/docs/{id}/heads", get(heads))
        .route("/api/v1/cases/{id}", get(case))
        .route("/api/v1/cases/{id}/decisions", post(decide))
        .route("/api/v1/cases", get(inbox))
        .route("/api/v1/licences/{no}/file", get(licence_file))
        .with_state(state)
}

async fn info(State(s): State<AuthorityState>) -> Result<Json<AuthorityInfo>, Failure> {
    let addrs = s.p2p_addrs.clone();
    run(&s, move |a| {
        Ok(AuthorityInfo {
            role: "authority".into(),
            name: a.info().name.clone(),
            agency_code: a.info().agency_code.clone(),
            public_key: hex::encode(a.public_key()),
            p2p_addrs: addrs,
            docs_held: a.doc_count()?,
            submissions: a.submission_count()?,
        })
    })
    .await
    .map(Json)
}

async fn invite(
    State(s): State<AuthorityState>,
    JsonBody(r): JsonBody<InviteRequest>,
) -> Result<(StatusCode, Json<InviteResponse>), Failure> {
    let token = run(&s, move |a| {
        a.invite(
            &r.uscc,
            &r.name,
            r.numbers.unwrap_or(100_000),
            r.valid_days.unwrap_or(30),
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(InviteResponse { token })))
}

async fn heads(
    State(s): State<AuthorityState>,
    PathId(id): PathId,
) -> Result<Json<DocHeads>, Failure> {
    let h = run(&s, move |a| a.heads(id)).await?;
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

async fn case(
    State(s): State<AuthorityState>,
    PathId(id): PathId,
) -> Result<Json<CaseView>, Failure> {
    match run(&s, move |a| a.case_status(id)).await? {
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

async fn decide(
    State(s): State<AuthorityState>,
    PathId(id): PathId,
    JsonBody(d): JsonBody<DecisionInput>,
) -> Result<Json<DecisionResult>, Failure> {
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
    if d.actor.trim().is_empty() {
        return Err(Failure::bad_input("actor", "who decides is required"));
    }
    let (status, licence_no) = run(&s, move |a| {
        a.decide(id, stage, d.approve, &d.reason, &d.actor)
    })
    .await?;
    Ok(Json(DecisionResult { status, licence_no }))
}

#[derive(Debug, serde::Deserialize)]
struct InboxQuery {
    status: String,
}

async fn inbox(
    State(s): State<AuthorityState>,
    super::extract::QueryParams(q): super::extract::QueryParams<InboxQuery>,
) -> Result<Json<Vec<InboxRow>>, Failure> {
    let status = ApplicationStatus::from_code(&q.status)
        .ok_or_else(|| Failure::bad_input("status", "an application status code"))?;
    let rows = run(&s, move |a| a.inbox(status)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, application_no, revision, received_ms)| InboxRow {
                id,
                application_no,
                revision,
                received_ms,
            })
            .collect(),
    ))
}

async fn licence_file(
    State(s): State<AuthorityState>,
    axum::extract::Path(no): axum::extract::Path<String>,
) -> Result<axum::response::Response, Failure> {
    let n = no.clone();
    match run(&s, move |a| a.licence(&n)).await? {
        Some(f) => Ok(super::v1::applications::attachment_response(
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
