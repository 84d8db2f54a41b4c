//! The office's own records through its API: the directory, the reference data and the
//! signing keys with their rollover.

use super::*;
use crate::cluster::membership::Change;

/// 发证机构联系方式 and 办事指南 (any signed-in staff member).
#[utoipa::path(get, path = "/api/v1/directory", tag = "office", responses((status = 200, body = exlic_client::directory::Directory), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn directory(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
) -> Result<Json<exlic_client::directory::Directory>, Failure> {
    require(&s, &headers)?;
    run(&s, |a| a.directory.get()).await.map(Json)
}

/// Replaces them (administrator); every enterprise receives them on its next sync.
#[utoipa::path(put, path = "/api/v1/directory", tag = "office", request_body = exlic_client::directory::Directory, responses((status = 204), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn put_directory(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    JsonBody(d): JsonBody<exlic_client::directory::Directory>,
) -> Result<StatusCode, Failure> {
    as_admin(
        &s,
        &headers,
        "editing the directory and guides",
        move |a, actor| a.directory.put(d, actor),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The reference release in force (any signed-in staff member).
#[utoipa::path(get, path = "/api/v1/reference", tag = "office", responses((status = 200, description = "the release in force", body = Object), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn reference(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
) -> Result<Json<Option<crate::authority::reference::ReleaseInfo>>, Failure> {
    require(&s, &headers)?;
    run(&s, |a| a.reference.release()).await.map(Json)
}

/// A file of reference data to publish.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishFile {
    /// `codes.json` or `catalogue-YYYY.json`.
    pub name: String,
    /// Its JSON text.
    pub text: String,
}

/// Reference data to publish.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    /// What changed and where it comes from.
    #[serde(default)]
    pub note: String,
    /// The files replacing or adding those of the same name.
    pub files: Vec<PublishFile>,
}

/// Publishes the next reference release (administrator); answers its number.
#[utoipa::path(post, path = "/api/v1/reference", tag = "office", request_body = Object, responses((status = 201, body = Object), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn publish_reference(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<PublishInput>,
) -> Result<(StatusCode, Json<serde_json::Value>), Failure> {
    let n = as_admin(
        &s,
        &headers,
        "publishing reference data",
        move |a, actor| {
            let files = input.files.into_iter().map(|f| (f.name, f.text)).collect();
            a.reference.publish(files, &input.note, actor)
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "number": n })),
    ))
}

/// The signing-key chain, oldest first, and the rollover records (hex) that link it.
#[utoipa::path(get, path = "/api/v1/keys", tag = "office", responses((status = 200, body = exlic_client::authority::KeyChain), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn keys(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
) -> Result<Json<exlic_client::authority::KeyChain>, Failure> {
    require(&s, &headers)?;
    let (keys, records, root) = run(&s, |a| {
        Ok((a.keys.chain(), a.keys.records()?, a.root_key()))
    })
    .await?;
    Ok(Json(exlic_client::authority::KeyChain {
        root: hex::encode(root),
        keys,
        records: records.iter().map(hex::encode).collect(),
    }))
}

/// Rolls the signing key over (administrator); returns the new public key.
#[utoipa::path(post, path = "/api/v1/keys/rollover", tag = "office", responses((status = 200, body = Object), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn roll_key(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, Failure> {
    let key = as_admin(&s, &headers, "rolling the signing key over", |a, actor| {
        a.keys.roll(actor)
    })
    .await?;
    Ok(Json(serde_json::json!({ "key": hex::encode(key) })))
}

/// A staff account to create or replace.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffInput {
    /// Login: 1–64 characters of a–z, 0–9, `.`, `_`, `-`.
    pub login: String,
    /// Display name (the login when empty).
    #[serde(default)]
    pub name: String,
    /// `officer` (经办人), `chief` (处长) or `admin`.
    pub role: String,
    /// At least 10 characters.
    pub password: String,
}

/// Staff accounts: login, name, role (administrator).
#[utoipa::path(get, path = "/api/v1/staff", tag = "office", responses((status = 200, body = Object), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn staff(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, Failure> {
    let list = as_admin(&s, &headers, "listing staff accounts", |a, _| {
        a.staff.list()
    })
    .await?;
    Ok(Json(serde_json::Value::Array(
        list.into_iter()
            .map(|(login, name, role)| {
                serde_json::json!({ "login": login, "name": name, "role": role.code() })
            })
            .collect(),
    )))
}

/// Creates or replaces a staff account (administrator); on a replicated office every
/// replica holds it once answered.
#[utoipa::path(post, path = "/api/v1/staff", tag = "office", request_body = StaffInput, responses((status = 204), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
pub(super) async fn put_staff(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    JsonBody(i): JsonBody<StaffInput>,
) -> Result<StatusCode, Failure> {
    as_admin(&s, &headers, "changing staff accounts", move |a, _| {
        let role = crate::authority::staff::Role::parse(i.role.trim())
            .ok_or_else(|| AuthorityError::bad_input("role", "must be officer, chief or admin"))?;
        a.staff.put(&i.login, &i.name, role, &i.password)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A replica to add to a replicated office.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicaInput {
    /// Its id: 1 or more, not a voter already.
    pub id: u64,
    /// Where the other replicas reach it, a multiaddress such as `/ip4/10.0.0.4/tcp/7400`.
    pub addr: String,
}

/// Adds a replica (administrator): it is brought up to date as a learner, then made a
/// voter; answers the voters after. The new replica must be running (made with `exlic
/// init authority --replica-of` from a stopped replica).
#[utoipa::path(post, path = "/api/v1/cluster/replicas", tag = "office", request_body = ReplicaInput, responses((status = 200, body = Object), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 503, body = ApiError)))]
pub(super) async fn add_replica(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    JsonBody(i): JsonBody<ReplicaInput>,
) -> Result<Json<serde_json::Value>, Failure> {
    let change = Change::Add {
        id: i.id,
        addr: i.addr.trim().to_owned(),
    };
    let voters = as_admin(&s, &headers, "adding a replica", move |a, _| {
        Ok(a.change_replicas(change)?)
    })
    .await?;
    Ok(Json(serde_json::json!({ "voters": voters })))
}

/// Removes a voter (administrator); answers the voters after. An office keeps at least
/// three.
#[utoipa::path(delete, path = "/api/v1/cluster/replicas/{id}", tag = "office", params(("id" = String, Path, description = "The replica's id")), responses((status = 200, body = Object), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError), (status = 503, body = ApiError)))]
pub(super) async fn remove_replica(
    State(s): State<AuthorityState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, Failure> {
    let id: u64 = id
        .trim()
        .parse()
        .map_err(|_| Failure::bad_input("id", format!("{id:?} is not a replica id (a number)")))?;
    let voters = as_admin(&s, &headers, "removing a replica", move |a, _| {
        Ok(a.change_replicas(Change::Remove { id })?)
    })
    .await?;
    Ok(Json(serde_json::json!({ "voters": voters })))
}
