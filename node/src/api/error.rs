//! The one HTTP error type: maps every failure to a status and the JSON [`ApiError`] body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use exlic_client::error::ApiError;

use crate::enterprise::EnterpriseError;
use crate::store::StoreError;

/// A failed request.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    body: Box<ApiError>,
}

impl Failure {
    /// A 500 for work that did not finish (a panicked or cancelled blocking task).
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the action failed unexpectedly: {e}"),
            None,
        )
    }

    /// A failure with a status, code, message and optional field.
    pub fn new(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        field: Option<&str>,
    ) -> Self {
        Self {
            status,
            body: Box::new(ApiError {
                code: code.into(),
                message: message.into(),
                field: field.map(Into::into),
                rule: None,
                errors: Vec::new(),
            }),
        }
    }

    /// 400 for input that cannot be used, naming the field.
    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_input", message, Some(field))
    }

    /// The status and the body, for callers that render them another way (the web UI).
    pub fn parts(&self) -> (StatusCode, &ApiError) {
        (self.status, &self.body)
    }

    /// Adds the rule id.
    pub fn with_rule(mut self, rule: &str) -> Self {
        self.body.rule = Some(rule.into());
        self
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, Json(*self.body)).into_response()
    }
}

/// A refused sign-in, the same on every node: 401 for a wrong name or password (never
/// which), 429 while the address waits.
impl From<crate::accounts::LoginError> for Failure {
    fn from(e: crate::accounts::LoginError) -> Self {
        let (status, code) = match e {
            crate::accounts::LoginError::Wrong => (StatusCode::UNAUTHORIZED, "wrong_credentials"),
            crate::accounts::LoginError::Locked(_) => (StatusCode::TOO_MANY_REQUESTS, "locked"),
        };
        Self::new(status, code, e.to_string(), Some("password"))
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        if e.is_disk_full() {
            return Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "disk_full",
                format!("the disk is full; nothing was saved: {e}"),
                None,
            );
        }
        tracing::error!(error = %e, "storage failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage_error",
            format!("nothing was saved: {e}"),
            None,
        )
    }
}

impl From<EnterpriseError> for Failure {
    fn from(e: EnterpriseError) -> Self {
        use EnterpriseError as E;
        let msg = e.to_string();
        match e {
            E::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", msg, None),
            E::AttachmentNotFound(_) => {
                Self::new(StatusCode::NOT_FOUND, "attachment_not_found", msg, None)
            }
            E::Invalid(errors) => {
                let first = errors
                    .iter()
                    .find(|e| e.severity == exlic_client::error::Severity::Error)
                    .cloned();
                let message = match &first {
                    Some(f) => format!("{msg}; first: {} {}: {}", f.rule, f.field, f.message),
                    None => msg,
                };
                Self {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    body: Box::new(ApiError {
                        code: "validation_failed".into(),
                        message,
                        field: first.as_ref().map(|f| f.field.clone()),
                        rule: first.map(|f| f.rule),
                        errors,
                    }),
                }
            }
            E::BadInput { field, message } => Self::bad_input(&field, message),
            E::Refused(_) => {
                Self::new(StatusCode::CONFLICT, "not_allowed_in_this_state", msg, None)
            }
            E::Numbers(_) => Self::new(StatusCode::CONFLICT, "no_numbers_left", msg, None),
            E::TooLarge { .. } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                msg,
                Some("body"),
            ),
            E::NotInitialised(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_initialised",
                msg,
                None,
            ),
            E::Store(s) => Self::from(s),
            E::Document(_) => {
                tracing::error!(error = %msg, "storage failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage_error",
                    format!("nothing was saved: {msg}"),
                    None,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_507_by_its_error_kind_not_its_text() {
        let full = StoreError::Db(redb::Error::Io(std::io::Error::from(
            std::io::ErrorKind::StorageFull,
        )));
        assert_eq!(
            Failure::from(full).parts().0,
            StatusCode::INSUFFICIENT_STORAGE
        );
        let full = StoreError::Db(redb::Error::Io(std::io::Error::from(
            std::io::ErrorKind::StorageFull,
        )));
        let in_batch = StoreError::batch(&full);
        assert_eq!(
            Failure::from(in_batch).parts().0,
            StatusCode::INSUFFICIENT_STORAGE
        );
        let other = StoreError::Db(redb::Error::Io(std::io::Error::other("no space left")));
        assert_eq!(
            Failure::from(other).parts().0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
