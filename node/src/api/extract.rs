//! Request extractors that answer bad input with the JSON error body, naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::error::Failure;
use exlic_client::DocId;

/// Fields only the system sets (V19); a client that sends one is told so by name.
pub const SYSTEM_FIELDS: &[&str] = &[
    "licence_no",
    "expiry_date",
    "issue_date",
    "issuing_agency",
    "application_no",
    "commodity_name",
    "status",
    "totals",
];

/// A JSON body, parsed strictly: unknown fields, wrong types and malformed JSON are 400s
/// naming the field (`goods[0].quantity`); a system field (V19) is refused by name.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Like [`JsonBody`], for bodies that legitimately name system values (a 删证 request
/// names the licence number it is about): strict, without the V19 check.
#[derive(Debug)]
pub struct JsonInput<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        strict(req, state, true).await.map(JsonBody)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonInput<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        strict(req, state, false).await.map(JsonInput)
    }
}

async fn strict<S: Send + Sync, T: DeserializeOwned>(
    req: Request,
    state: &S,
    system_fields: bool,
) -> Result<T, Failure> {
    {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.starts_with("application/json") || v.starts_with("application/merge-patch+json")
            });
        if !is_json {
            return Err(Failure::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json (or application/merge-patch+json)",
                Some("content-type"),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let code = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "bad_body"
            };
            Failure::new(
                e.status(),
                code,
                format!("cannot read the body: {e}"),
                Some("body"),
            )
        })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Failure::bad_input("body", format!("malformed JSON: {e}")))?;
        if let Some(obj) = value.as_object().filter(|_| system_fields)
            && let Some(f) = SYSTEM_FIELDS.iter().find(|f| obj.contains_key(**f))
        {
            return Err(Failure::bad_input(
                f,
                format!("`{f}` is set by the system and cannot be entered"),
            )
            .with_rule("V19"));
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            Failure::bad_input(&field, e.inner().to_string())
        })
    }
}

/// A document id from the path, 404 when malformed (same answer as a missing one).
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub DocId);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                Failure::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "not_found",
                    "no such application",
                    None,
                )
            })?;
        let raw = params
            .iter()
            .find(|(k, _)| *k == "id")
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default();
        raw.parse().map(PathId).map_err(|_| {
            Failure::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                format!("no application {raw}"),
                None,
            )
        })
    }
}

/// Query parameters, parsed strictly; failures name the parameter where serde can.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|e| Failure::bad_input("query", e.body_text()))
    }
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}
