//! The node's HTTP API: `/api/v1/…` JSON endpoints and `/api/openapi.json`.
//!
//! Handlers are thin: they parse input (see [`extract`]), run the enterprise action on a
//! blocking thread (redb commits wait for fsync) and map failures through [`error`].
//! `serve` takes an already-bound listener and a shutdown future, so tests bind
//! `127.0.0.1:0` and the CLI binds the configured address.

pub mod authority;
pub mod error;
pub mod extract;
pub mod openapi;
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

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
