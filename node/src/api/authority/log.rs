//! The office's transparency log over HTTPS: the checkpoint and the hash tiles at
//! c2sp.org/tlog-tiles paths under `/log/` (public, cacheable), the entries tiles to
//! signed-in staff only (entries are licences: commercial data), and inclusion and
//! consistency proofs as JSON-described files.

use super::*;
use exlic_client::translog::EntryKind;

/// Tiles never change once served (a partial tile of a given width is itself fixed).
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn not_found(what: &str) -> Failure {
    Failure::new(StatusCode::NOT_FOUND, "not_found", what.to_owned(), None)
}

fn bytes(
    content_type: &'static str,
    cache: &'static str,
    body: Vec<u8>,
) -> axum::response::Response {
    axum::response::Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, cache)
        .body(axum::body::Body::from(body))
        .expect("static headers")
}

/// `GET /log/checkpoint`: the newest signed checkpoint (c2sp.org/tlog-checkpoint in a
/// signed note).
#[utoipa::path(get, path = "/log/checkpoint", tag = "log", responses((status = 200, content_type = "text/plain"), (status = 404, body = ApiError)))]
pub(super) async fn log_checkpoint(
    State(s): State<AuthorityState>,
) -> Result<axum::response::Response, Failure> {
    match run(&s, |a| a.log.checkpoint()).await? {
        Some(note) => Ok(bytes("text/plain; charset=utf-8", "no-cache", note)),
        None => Err(not_found("the log is empty: no checkpoint yet")),
    }
}

/// `GET /log/tile/{path}`: a tile of the newest checkpoint's tree. Hash tiles are public;
/// entries tiles (`tile/entries/…`) need a staff session.
#[utoipa::path(get, path = "/log/tile/{path}", tag = "log", params(("path" = String, Path, description = "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`")), responses((status = 200, content_type = "application/octet-stream"), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn log_tile(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    Path(rest): Path<String>,
) -> Result<axum::response::Response, Failure> {
    let path = format!("tile/{rest}");
    if !crate::authority::translog::is_tile_path(&path) {
        return Err(not_found(&format!("{path} is not a tile path")));
    }
    if rest.starts_with("entries/") {
        require(&s, &headers)?;
    }
    let p = path.clone();
    match run(&s, move |a| a.log.tile(&p)).await? {
        Some(t) => Ok(bytes("application/octet-stream", IMMUTABLE, t)),
        None => Err(not_found(&format!("{path} is not in the log's tree yet"))),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProofQuery {
    /// `licence` or `certificate`.
    kind: String,
    /// The licence number or the certificate serial.
    subject: String,
    /// Into the newest checkpoint the bureau co-signed instead of the newest.
    #[serde(default)]
    witnessed: Option<bool>,
}

/// `GET /api/v1/log/proof?kind=licence&subject=…`: the inclusion proof of the newest entry
/// about a licence or certificate, into the newest checkpoint (`InclusionProof`, see
/// FORMATS.md).
#[utoipa::path(get, path = "/api/v1/log/proof", tag = "log", params(("kind" = String, Query, description = "`licence`, `standing`, `certificate` or `revocation`"), ("subject" = String, Query, description = "licence number or certificate serial"), ("witnessed" = Option<bool>, Query, description = "into the newest checkpoint the bureau co-signed")), responses((status = 200, content_type = "application/octet-stream"), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn log_proof(
    State(s): State<AuthorityState>,
    QueryParams(q): QueryParams<ProofQuery>,
) -> Result<axum::response::Response, Failure> {
    let kind = match q.kind.as_str() {
        "licence" => EntryKind::Licence,
        "standing" => EntryKind::Standing,
        "certificate" => EntryKind::Certificate,
        "revocation" => EntryKind::Revocation,
        other => {
            return Err(Failure::bad_input(
                "kind",
                format!("`{other}`: must be licence, standing, certificate or revocation"),
            ));
        }
    };
    let subject = q.subject.trim().to_owned();
    let sub = subject.clone();
    let witnessed = q.witnessed.unwrap_or(false);
    let proof = run(&s, move |a| {
        if witnessed {
            a.log.witnessed_proof(kind, &sub)
        } else {
            a.log.proof(kind, &sub)
        }
    })
    .await?;
    match proof {
        Some(p) => Ok(bytes("application/octet-stream", "no-cache", p.encode())),
        None => Err(not_found(&format!(
            "no {} entry about {subject} in the log{}",
            kind.code(),
            if witnessed {
                " under a checkpoint the bureau co-signed"
            } else {
                ""
            }
        ))),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsistencyQuery {
    old: u64,
    new: u64,
}

/// `GET /api/v1/log/consistency?old=&new=`: `{old, new, proof: [hex]}`, the proof that
/// the tree of `old` entries is a prefix of the tree of `new`.
#[utoipa::path(get, path = "/api/v1/log/consistency", tag = "log", params(("old" = u64, Query), ("new" = u64, Query)), responses((status = 200, body = Object), (status = 400, body = ApiError)))]
pub(super) async fn log_consistency(
    State(s): State<AuthorityState>,
    QueryParams(q): QueryParams<ConsistencyQuery>,
) -> Result<Json<serde_json::Value>, Failure> {
    let (old, new) = (q.old, q.new);
    let proof = run(&s, move |a| a.log.consistency(old, new)).await?;
    Ok(Json(serde_json::json!({
        "old": old,
        "new": new,
        "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}
