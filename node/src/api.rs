//! The node's HTTP API: `/api/v1/…` JSON endpoints and `/api/openapi.json`.
//!
//! Handlers are thin: they parse input (see [`extract`]), run the enterprise action on a
//! blocking thread (redb commits wait for fsync) and map failures through [`error`].
//! `serve` takes an already-bound listener and a shutdown future, so tests bind
//! `127.0.0.1:0` and the CLI binds the configured address.

pub mod audit;
pub mod authority;
pub mod bureau;
pub mod customs;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod operators;
pub mod paging;
pub mod staff;
pub mod v1;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;

use crate::enterprise::Enterprise;

/// What every handler gets.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The enterprise role.
    pub enterprise: Arc<Enterprise>,
    /// The sync loop's state, when the node syncs with an authority.
    pub sync: Option<crate::sync::client::SyncStatus>,
    /// The authority's public key, when enrolled: licences are verified against it.
    pub authority_key: Option<[u8; 32]>,
    /// The other offices the enterprise is enrolled with.
    pub offices: Vec<OtherOffice>,
    /// Operator sessions.
    pub sessions: Arc<crate::accounts::Sessions>,
}

/// Another office an enterprise node syncs with (see `enterprise::offices`).
#[derive(Debug, Clone)]
pub struct OtherOffice {
    /// Its agency code.
    pub agency_code: String,
    /// Its root key: the licences it issued are verified against its key chain.
    pub root: [u8; 32],
    /// Its sync loop's state.
    pub sync: crate::sync::client::SyncStatus,
}

impl AppState {
    /// The state of an enterprise node's UI and API.
    pub fn new(
        enterprise: Arc<Enterprise>,
        sync: Option<crate::sync::client::SyncStatus>,
        authority_key: Option<[u8; 32]>,
    ) -> Self {
        let sessions = Arc::new(crate::accounts::Sessions::new(enterprise.store().clone()));
        Self {
            enterprise,
            sync,
            authority_key,
            offices: Vec::new(),
            sessions,
        }
    }
}

/// Most bytes of a JSON request body.
pub const JSON_LIMIT: usize = 1 << 20;

/// The whole router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest(
            "/api/v1",
            v1::router(state.enterprise.settings().attachment_max_bytes),
        )
        .route("/api/openapi.json", axum::routing::get(openapi::serve))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .with_state(state)
}

/// Largest body of any request to the office (axum's default limit, made explicit).
pub const AUTHORITY_BODY_LIMIT: usize = 2 << 20;
/// How much of an over-limit body is read and discarded before the 413 is sent.
const DRAIN_LIMIT: u64 = 64 << 20;

/// Answers a request whose declared length is over [`AUTHORITY_BODY_LIMIT`] with the
/// JSON `413 too_large` after reading and discarding its body (up to [`DRAIN_LIMIT`], for
/// at most 10 s): answering while the client still sends makes the server close the
/// connection under it, and the client sees a broken pipe instead of the 413.
pub async fn refuse_oversized(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use futures::StreamExt;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(len) = declared.filter(|l| *l > AUTHORITY_BODY_LIMIT as u64) else {
        return next.run(req).await;
    };
    if len <= DRAIN_LIMIT {
        let mut body = req.into_body().into_data_stream();
        let drain = async {
            let mut read = 0u64;
            while let Some(Ok(chunk)) = body.next().await {
                read += chunk.len() as u64;
                if read >= DRAIN_LIMIT {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), drain).await;
    }
    error::Failure::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the body is {len} bytes; at most {AUTHORITY_BODY_LIMIT} are accepted"),
        Some("body"),
    )
    .into_response()
}

/// Serves `router` on `listener` until `shutdown` completes; handlers may read the
/// peer's address (`ConnectInfo<SocketAddr>`: sign-in throttling is per address).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
