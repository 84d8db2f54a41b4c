//! The audit trail as JSON on every node: its line, the query that filters it (actor,
//! action, dates) and the paged list, for the enterprise's operators and the office's staff.

use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::Failure;
use super::extract::QueryParams;
use super::paging::{PageParams, counted};
use crate::store::audit::{AuditEntry, Filter, codes};

/// One line of the audit trail.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditLine {
    /// Its place in the trail.
    pub seq: u64,
    /// Unix ms.
    pub at_ms: i64,
    /// Who (role, name and login).
    pub actor: String,
    /// What.
    pub action: String,
    /// The application, if the action was on one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// Details: the request and its outcome.
    pub detail: String,
}

impl From<AuditEntry> for AuditLine {
    fn from(a: AuditEntry) -> Self {
        Self {
            seq: a.seq,
            at_ms: a.at_ms,
            actor: a.actor,
            action: a.action,
            application: (a.subject.0 != [0; 16]).then(|| a.subject.to_string()),
            detail: a.detail,
        }
    }
}

/// Which lines to list; an empty value asks for all.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Part of the actor's name, any case.
    #[serde(default)]
    pub actor: Option<String>,
    /// An action code (`login`, `report`, `review.second.approve`, …).
    #[serde(default)]
    pub action: Option<String>,
    /// From this date, China time (`YYYY-MM-DD`, inclusive).
    #[serde(default)]
    pub from: Option<String>,
    /// To this date, China time (`YYYY-MM-DD`, inclusive).
    #[serde(default)]
    pub to: Option<String>,
}

/// A query value the trail cannot be filtered by: the field, and the rule it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct BadFilter {
    /// `action`, `from` or `to`.
    pub field: &'static str,
    /// What the field takes, in English (the UI says it in the reader's language by
    /// `audit.filter.bad.<field>`).
    pub rule: &'static str,
}

impl AuditQuery {
    /// The query from a page's query string (the web UI's filter form).
    pub fn from_map(q: &std::collections::HashMap<String, String>) -> Self {
        let get = |k: &str| q.get(k).cloned();
        Self {
            actor: get("actor"),
            action: get("action"),
            from: get("from"),
            to: get("to"),
        }
    }

    /// The store's filter, or the first field it cannot take.
    pub fn filter(&self) -> Result<Filter, BadFilter> {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let day = |field: &'static str,
                   v: &Option<String>|
         -> Result<Option<jiff::civil::Date>, BadFilter> {
            given(v)
                .map(|v| {
                    v.parse::<jiff::civil::Date>().map_err(|_| BadFilter {
                        field,
                        rule: "a date, YYYY-MM-DD",
                    })
                })
                .transpose()
        };
        let action = given(&self.action);
        if action.as_deref().is_some_and(|a| !codes().any(|c| c == a)) {
            return Err(BadFilter {
                field: "action",
                rule: "one of the action codes",
            });
        }
        let (from, to) = (day("from", &self.from)?, day("to", &self.to)?);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(BadFilter {
                field: "to",
                rule: "a date on or after `from`",
            });
        }
        Ok(Filter {
            actor: given(&self.actor),
            action,
            from_ms: from.map(crate::clock::china_day_start),
            until_ms: to
                .and_then(|t| t.tomorrow().ok())
                .map(crate::clock::china_day_start),
        })
    }
}

impl From<BadFilter> for Failure {
    fn from(b: BadFilter) -> Self {
        Failure::bad_input(b.field, b.rule)
    }
}

/// The audit trail of this node's operators, newest first, filtered by actor, action and
/// dates, a page at a time (the count of all matching lines in `X-Total-Count`).
#[utoipa::path(get, path = "/api/v1/audit", tag = "session", params(PageParams, AuditQuery),
    responses((status = 200, body = [AuditLine], headers(("x-total-count" = u64))), (status = 400, body = exlic_client::error::ApiError), (status = 401, body = exlic_client::error::ApiError)))]
pub async fn enterprise(
    State(s): State<AppState>,
    QueryParams(paging): QueryParams<PageParams>,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<axum::response::Response, Failure> {
    let (offset, limit) = paging.window()?;
    let filter = query.filter()?;
    let (rows, total) =
        super::v1::run(&s, move |e| e.operators.audit_page(&filter, offset, limit)).await?;
    Ok(lines(rows, total))
}

/// The office's audit trail: what its staff did, newest first, filtered and paged the same
/// way (any signed-in staff member).
#[utoipa::path(get, path = "/api/v1/audit", tag = "office", params(PageParams, AuditQuery),
    responses((status = 200, body = [AuditLine], headers(("x-total-count" = u64))), (status = 400, body = exlic_client::error::ApiError), (status = 401, body = exlic_client::error::ApiError)))]
pub async fn office(
    State(s): State<super::authority::AuthorityState>,
    headers: axum::http::HeaderMap,
    QueryParams(paging): QueryParams<PageParams>,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<axum::response::Response, Failure> {
    super::authority::require(&s, &headers)?;
    let (offset, limit) = paging.window()?;
    let filter = query.filter()?;
    let (rows, total) =
        super::authority::run(&s, move |a| a.staff.audit_page(&filter, offset, limit)).await?;
    Ok(lines(rows, total))
}

/// A page of entries as the JSON list answers it.
pub fn lines(rows: Vec<AuditEntry>, total: u64) -> axum::response::Response {
    counted(
        rows.into_iter().map(AuditLine::from).collect::<Vec<_>>(),
        total,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_becomes_a_filter_or_names_its_bad_field() {
        let q = |actor: &str, action: &str, from: &str, to: &str| AuditQuery {
            actor: Some(actor.into()),
            action: Some(action.into()),
            from: Some(from.into()),
            to: Some(to.into()),
        };
        // An untouched form asks for everything.
        assert!(q("", "", "", " ").filter().unwrap().is_all());
        let f = q(" li ", "report", "2026-03-02", "2026-03-02")
            .filter()
            .unwrap();
        assert_eq!(f.actor.as_deref(), Some("li"));
        assert_eq!(f.action.as_deref(), Some("report"));
        // One day in China: 2026-03-01T16:00Z up to the next day's start.
        assert_eq!(f.from_ms, Some(1_772_380_800_000));
        assert_eq!(f.until_ms, Some(1_772_380_800_000 + 86_400_000));
        for (query, field) in [
            (q("", "reported", "", ""), "action"),
            (q("", "", "2026-13-01", ""), "from"),
            (q("", "", "", "02/03/2026"), "to"),
            (q("", "", "2026-03-02", "2026-03-01"), "to"),
        ] {
            assert_eq!(query.filter().unwrap_err().field, field);
        }
    }
}
