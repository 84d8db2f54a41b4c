//! A typed async client for a node's JSON API (`/api/v1/`).

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::application::{
    ApplicationForm, ApplicationSummary, ApplicationView, SealConfirmation, SealResult,
};
use crate::attachment::AttachmentRef;
use crate::authority::{
    AuthorityInfo, CaseView, DecisionInput, DecisionResult, DocHeads, InboxPage, InviteRequest,
    InviteResponse, LicenceSummary,
};
use crate::error::ApiError;
use crate::ids::DocId;
use crate::node::{CertRequestInput, CertRequestView, CertificateView, NodeInfo, SyncStatus};
use crate::query::{ApplicationQuery, Page};
use crate::reference::ReferenceData;
use crate::seal::{SealError, SealedSubmission};

/// What can go wrong calling the API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request did not complete (connection refused, reset, timeout…).
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The node answered with an error.
    #[error("{status}: {body}")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// The node's error body.
        body: ApiError,
    },
    /// The node answered with something that is not the expected shape.
    #[error("unexpected answer ({status}): {detail}")]
    Unexpected {
        /// HTTP status.
        status: StatusCode,
        /// What was wrong.
        detail: String,
    },
    /// A downloaded seal is malformed.
    #[error("seal: {0}")]
    Seal(#[from] SealError),
    /// The TLS trust roots are not usable.
    #[error("TLS: {0}")]
    Tls(String),
}

impl ClientError {
    /// The API error body, if the node answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// A client for one node.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

/// TLS with the `ring` provider, trusting only `roots` (PEM certificates).
fn tls_config(roots: &[u8]) -> Result<rustls::ClientConfig, ClientError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut store = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(roots) {
        let c = c.map_err(|e| ClientError::Tls(e.to_string()))?;
        store.add(c).map_err(|e| ClientError::Tls(e.to_string()))?;
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth(),
    )
}

/// The HTTP crate of [`http_client`]'s answer, for callers that name its types.
pub use reqwest;

/// A bare `reqwest` client set up as [`Client`]'s (the `ring` TLS provider, trusting only
/// `roots`), for callers that craft their own requests.
pub fn http_client(roots: &[u8]) -> Result<reqwest::Client, ClientError> {
    Ok(http_builder(roots)?.build()?)
}

/// The builder of [`http_client`], for callers that add to it (default headers, …).
pub fn http_builder(roots: &[u8]) -> Result<reqwest::ClientBuilder, ClientError> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls_config(roots)?))
}

impl Client {
    /// A client for the node at `base_url`, e.g. `http://127.0.0.1:8080`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_roots(base_url, b"").expect("an empty root store is valid")
    }

    /// A client for a node served over HTTPS whose certificate chains to one of `roots`
    /// (PEM), e.g. the authority's self-signed `tls/cert.pem`.
    pub fn with_roots(base_url: impl Into<String>, roots: &[u8]) -> Result<Self, ClientError> {
        let base = base_url.into().trim_end_matches('/').to_owned();
        let http = http_client(roots)?;
        Ok(Self {
            base,
            http,
            token: None,
        })
    }

    /// Signs a staff member in at an authority node; later requests carry the session.
    pub async fn login(&mut self, login: &str, password: &str) -> Result<(), ClientError> {
        #[derive(serde::Deserialize)]
        struct Session {
            token: String,
        }
        let s: Session = self
            .send_json(
                Method::POST,
                "/session",
                &serde_json::json!({"login": login, "password": password}),
            )
            .await?;
        self.token = Some(s.token);
        Ok(())
    }

    /// Uses a session token obtained elsewhere (see [`Client::login`]).
    pub fn set_session(&mut self, token: impl Into<String>) {
        self.token = Some(token.into());
    }

    /// The current session token, if signed in.
    pub fn session(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        let rb = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    async fn check(resp: Response) -> Result<Response, ClientError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await?;
        match serde_json::from_str::<ApiError>(&text) {
            Ok(body) => Err(ClientError::Api { status, body }),
            Err(_) => Err(ClientError::Unexpected {
                status,
                detail: text,
            }),
        }
    }

    async fn json<T: DeserializeOwned>(rb: RequestBuilder) -> Result<T, ClientError> {
        let resp = Self::check(rb.send().await?).await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Unexpected {
            status,
            detail: e.to_string(),
        })
    }

    async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        Self::json(self.req(method, path).json(body)).await
    }

    /// `GET /node`.
    pub async fn node_info(&self) -> Result<NodeInfo, ClientError> {
        Self::json(self.req(Method::GET, "/node")).await
    }

    /// `GET /sync` (enterprise node).
    pub async fn sync_status(&self) -> Result<SyncStatus, ClientError> {
        Self::json(self.req(Method::GET, "/sync")).await
    }

    /// 查看本机证书: `GET /certificate`.
    pub async fn certificate(&self) -> Result<CertificateView, ClientError> {
        Self::json(self.req(Method::GET, "/certificate")).await
    }

    /// 手机证书授权: `POST /certificate/requests`.
    pub async fn request_certificate(
        &self,
        input: &CertRequestInput,
    ) -> Result<CertRequestView, ClientError> {
        self.send_json(Method::POST, "/certificate/requests", input)
            .await
    }

    /// 历史信息: `GET /certificate/requests`.
    pub async fn certificate_requests(&self) -> Result<Vec<CertRequestView>, ClientError> {
        Self::json(self.req(Method::GET, "/certificate/requests")).await
    }

    /// `GET /node` on an authority node.
    pub async fn authority_info(&self) -> Result<AuthorityInfo, ClientError> {
        Self::json(self.req(Method::GET, "/node")).await
    }

    /// `POST /invites` on an authority node.
    pub async fn invite(&self, req: &InviteRequest) -> Result<InviteResponse, ClientError> {
        self.send_json(Method::POST, "/invites", req).await
    }

    /// `GET /docs/{id}/heads` on an authority node.
    pub async fn doc_heads(&self, id: DocId) -> Result<DocHeads, ClientError> {
        Self::json(self.req(Method::GET, &format!("/docs/{id}/heads"))).await
    }

    /// `GET /cases/{id}` on an authority node.
    pub async fn case(&self, id: DocId) -> Result<CaseView, ClientError> {
        Self::json(self.req(Method::GET, &format!("/cases/{id}"))).await
    }

    /// A review decision on an authority node: `POST /cases/{id}/decisions`.
    pub async fn decide(
        &self,
        id: DocId,
        input: &DecisionInput,
    ) -> Result<DecisionResult, ClientError> {
        self.send_json(Method::POST, &format!("/cases/{id}/decisions"), input)
            .await
    }

    /// Page `page` (from 1) of an inbox on an authority node: `GET /cases?status=…&page=…`.
    pub async fn inbox(&self, status: &str, page: u32) -> Result<InboxPage, ClientError> {
        Self::json(
            self.req(Method::GET, "/cases")
                .query(&[("status", status), ("page", &page.to_string())]),
        )
        .await
    }

    /// 查看电子许可证: `GET /licences`.
    pub async fn licences(&self) -> Result<Vec<LicenceSummary>, ClientError> {
        Self::json(self.req(Method::GET, "/licences")).await
    }

    /// 删证申请 / 核销申请 (enterprise): `POST /licence-requests`.
    pub async fn request_licence_change(
        &self,
        input: &crate::licence_request::LicenceRequestInput,
    ) -> Result<crate::licence_request::LicenceRequestView, ClientError> {
        self.send_json(Method::POST, "/licence-requests", input)
            .await
    }

    /// The 删证/核销 requests: every one (enterprise) or by `status` (authority:
    /// `pending`, `approved`, `rejected`).
    pub async fn licence_requests(
        &self,
        status: Option<&str>,
    ) -> Result<Vec<crate::licence_request::LicenceRequestView>, ClientError> {
        let rb = self.req(Method::GET, "/licence-requests");
        let rb = match status {
            Some(s) => rb.query(&[("status", s)]),
            None => rb,
        };
        Self::json(rb).await
    }

    /// 审核 of a 删证/核销 request (authority): `POST /licence-requests/{id}/decision`.
    pub async fn decide_licence_request(
        &self,
        id: DocId,
        input: &crate::licence_request::LicenceDecisionInput,
    ) -> Result<crate::licence_request::LicenceRequestView, ClientError> {
        self.send_json(
            Method::POST,
            &format!("/licence-requests/{id}/decision"),
            input,
        )
        .await
    }

    /// A customs node's invite (authority administrator): `POST /customs-invites`; the
    /// token.
    pub async fn invite_customs(&self, district: &str) -> Result<String, ClientError> {
        let r: InviteResponse = self
            .send_json(
                Method::POST,
                "/customs-invites",
                &serde_json::json!({ "district": district }),
            )
            .await?;
        Ok(r.token)
    }

    /// A licence's usage at customs: `GET /licences/{no}/usage` (customs and enterprise
    /// nodes: the usage itself; the office adds its flags around it).
    pub async fn licence_usage(&self, no: &str) -> Result<crate::usage::UsageView, ClientError> {
        Self::json(self.req(Method::GET, &format!("/licences/{no}/usage"))).await
    }

    /// Checks a declaration item and reserves it unless `check_only` (customs):
    /// `POST /declarations`.
    pub async fn declare(
        &self,
        input: &crate::usage::DeclarationInput,
    ) -> Result<crate::usage::CheckOutcome, ClientError> {
        self.send_json(Method::POST, "/declarations", input).await
    }

    /// A later step of a reserved item (customs): `confirm`, `cancel` or `adjust`,
    /// `POST /declarations/{no}/{item}/{step}`.
    pub async fn declaration_step(
        &self,
        declaration_no: &str,
        item: u32,
        step: &str,
        quantity: &str,
    ) -> Result<crate::usage::CheckOutcome, ClientError> {
        self.send_json(
            Method::POST,
            &format!("/declarations/{declaration_no}/{item}/{step}"),
            &crate::usage::StepInput {
                quantity: quantity.into(),
            },
        )
        .await
    }

    /// A licence's standing: `GET /licences/{no}/status`.
    pub async fn licence_status(
        &self,
        no: &str,
    ) -> Result<crate::licence_request::LicenceStatus, ClientError> {
        Self::json(self.req(Method::GET, &format!("/licences/{no}/status"))).await
    }

    /// 企业信息维护: the proposed and accepted profile (enterprise): `GET /profile`.
    pub async fn profile(&self) -> Result<crate::profile::ProfileView, ClientError> {
        Self::json(self.req(Method::GET, "/profile")).await
    }

    /// Proposes a profile (enterprise): `PUT /profile`.
    pub async fn propose_profile(
        &self,
        p: &crate::profile::EnterpriseProfile,
    ) -> Result<crate::profile::ProfileView, ClientError> {
        self.send_json(Method::PUT, "/profile", p).await
    }

    /// Every enterprise's profile (authority): `GET /profiles`.
    pub async fn profiles(&self) -> Result<Vec<crate::profile::ProfileRow>, ClientError> {
        Self::json(self.req(Method::GET, "/profiles")).await
    }

    /// Accepts an enterprise's proposal (authority administrator): `POST /profiles/{uscc}/accept`.
    pub async fn accept_profile(&self, uscc: &str) -> Result<(), ClientError> {
        Self::check(
            self.req(Method::POST, &format!("/profiles/{uscc}/accept"))
                .send()
                .await?,
        )
        .await?;
        Ok(())
    }

    /// The e-key's state (enterprise): `GET /ekey`.
    pub async fn ekey(&self) -> Result<crate::node::EkeyView, ClientError> {
        Self::json(self.req(Method::GET, "/ekey")).await
    }

    /// Asks the issuing office to unlock the locked e-key (enterprise).
    pub async fn request_unlock(&self) -> Result<crate::node::EkeyView, ClientError> {
        self.send_json(Method::POST, "/ekey/unlock-request", &serde_json::json!({}))
            .await
    }

    /// Enterprises waiting for an e-key unlock (authority): `GET /unlock-requests`.
    pub async fn unlock_requests(&self) -> Result<Vec<String>, ClientError> {
        Self::json(self.req(Method::GET, "/unlock-requests")).await
    }

    /// Approves an unlock (authority administrator).
    pub async fn approve_unlock(&self, uscc: &str) -> Result<(), ClientError> {
        Self::check(
            self.req(Method::POST, &format!("/unlock-requests/{uscc}/approve"))
                .send()
                .await?,
        )
        .await?;
        Ok(())
    }

    /// Creates or replaces a staff account (authority administrator): `POST /staff`, with
    /// `role` one of `officer`, `chief`, `admin`.
    pub async fn put_staff(
        &self,
        login: &str,
        name: &str,
        role: &str,
        password: &str,
    ) -> Result<(), ClientError> {
        let body = serde_json::json!({
            "login": login, "name": name, "role": role, "password": password,
        });
        Self::check(self.req(Method::POST, "/staff").json(&body).send().await?).await?;
        Ok(())
    }

    /// Adds replica `id`, reached at `addr`, to a replicated office (administrator):
    /// `POST /cluster/replicas`; the voters after. Answers once the new replica has caught
    /// up and votes.
    pub async fn add_replica(&self, id: u64, addr: &str) -> Result<Vec<u64>, ClientError> {
        let body = serde_json::json!({ "id": id, "addr": addr });
        let v: Voters = Self::json(
            self.req(Method::POST, "/cluster/replicas")
                .json(&body)
                .timeout(std::time::Duration::from_secs(150)),
        )
        .await?;
        Ok(v.voters)
    }

    /// Removes voter `id` from a replicated office (administrator):
    /// `DELETE /cluster/replicas/{id}`; the voters after.
    pub async fn remove_replica(&self, id: u64) -> Result<Vec<u64>, ClientError> {
        let v: Voters =
            Self::json(self.req(Method::DELETE, &format!("/cluster/replicas/{id}"))).await?;
        Ok(v.voters)
    }

    /// The authority's signing-key chain and rollover records: `GET /keys`.
    pub async fn keys(&self) -> Result<crate::authority::KeyChain, ClientError> {
        Self::json(self.req(Method::GET, "/keys")).await
    }

    /// Rolls the authority's signing key over (administrator): `POST /keys/rollover`.
    pub async fn roll_key(&self) -> Result<String, ClientError> {
        #[derive(serde::Deserialize)]
        struct NewKey {
            key: String,
        }
        let k: NewKey = Self::json(self.req(Method::POST, "/keys/rollover")).await?;
        Ok(k.key)
    }

    /// 发证机构联系方式 and 办事指南: `GET /directory`.
    pub async fn directory(&self) -> Result<crate::directory::Directory, ClientError> {
        Self::json(self.req(Method::GET, "/directory")).await
    }

    /// Replaces them (authority administrator): `PUT /directory`.
    pub async fn put_directory(&self, d: &crate::directory::Directory) -> Result<(), ClientError> {
        Self::check(self.req(Method::PUT, "/directory").json(d).send().await?).await?;
        Ok(())
    }

    /// 下载电子许可证: `GET /licences/{no}/file`.
    pub async fn licence_file(&self, no: &str) -> Result<Vec<u8>, ClientError> {
        let resp = Self::check(
            self.req(Method::GET, &format!("/licences/{no}/file"))
                .send()
                .await?,
        )
        .await?;
        Ok(resp.bytes().await?.to_vec())
    }

    /// `GET /reference`.
    pub async fn reference(&self) -> Result<ReferenceData, ClientError> {
        Self::json(self.req(Method::GET, "/reference")).await
    }

    /// 新增: `POST /applications`.
    pub async fn create_application(
        &self,
        form: &ApplicationForm,
    ) -> Result<ApplicationView, ClientError> {
        self.send_json(Method::POST, "/applications", form).await
    }

    /// `GET /applications/{id}`.
    pub async fn application(&self, id: DocId) -> Result<ApplicationView, ClientError> {
        Self::json(self.req(Method::GET, &format!("/applications/{id}"))).await
    }

    /// 暂存 the whole form: `PUT /applications/{id}`.
    pub async fn save_draft(
        &self,
        id: DocId,
        form: &ApplicationForm,
    ) -> Result<ApplicationView, ClientError> {
        self.send_json(Method::PUT, &format!("/applications/{id}"), form)
            .await
    }

    /// Edits some fields: `PATCH /applications/{id}` with a JSON merge patch.
    pub async fn patch_application(
        &self,
        id: DocId,
        patch: &serde_json::Value,
    ) -> Result<ApplicationView, ClientError> {
        self.send_json(Method::PATCH, &format!("/applications/{id}"), patch)
            .await
    }

    /// Keeps `value` of a field two devices set while apart:
    /// `POST /applications/{id}/resolve`.
    pub async fn resolve_conflict(
        &self,
        id: DocId,
        field: &str,
        value: &str,
    ) -> Result<ApplicationView, ClientError> {
        let input = crate::application::ResolveInput {
            field: field.into(),
            value: value.into(),
        };
        self.send_json(Method::POST, &format!("/applications/{id}/resolve"), &input)
            .await
    }

    /// Deletes a draft: `DELETE /applications/{id}`.
    pub async fn delete_application(&self, id: DocId) -> Result<(), ClientError> {
        Self::check(
            self.req(Method::DELETE, &format!("/applications/{id}"))
                .send()
                .await?,
        )
        .await?;
        Ok(())
    }

    /// 上传附件: `POST /applications/{id}/attachments?name=…`.
    pub async fn upload_attachment(
        &self,
        id: DocId,
        name: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<AttachmentRef, ClientError> {
        Self::json(
            self.req(Method::POST, &format!("/applications/{id}/attachments"))
                .query(&[("name", name)])
                .header(reqwest::header::CONTENT_TYPE, media_type)
                .body(bytes),
        )
        .await
    }

    /// Downloads an attachment by hash.
    pub async fn download_attachment(
        &self,
        id: DocId,
        sha256: &str,
    ) -> Result<Vec<u8>, ClientError> {
        let resp = Self::check(
            self.req(
                Method::GET,
                &format!("/applications/{id}/attachments/{sha256}"),
            )
            .send()
            .await?,
        )
        .await?;
        Ok(resp.bytes().await?.to_vec())
    }

    /// Removes an attachment from a draft.
    pub async fn remove_attachment(&self, id: DocId, sha256: &str) -> Result<(), ClientError> {
        Self::check(
            self.req(
                Method::DELETE,
                &format!("/applications/{id}/attachments/{sha256}"),
            )
            .send()
            .await?,
        )
        .await?;
        Ok(())
    }

    /// 保存并盖章: `POST /applications/{id}/seal`.
    ///
    /// `pin` confirms the seal: the e-key's PIN, or on a device without the e-key the
    /// operator's password (see [`SealConfirmation`]).
    pub async fn seal(&self, id: DocId, pin: &str) -> Result<SealResult, ClientError> {
        self.send_json(
            Method::POST,
            &format!("/applications/{id}/seal"),
            &SealConfirmation { pin: pin.into() },
        )
        .await
    }

    /// 上报: `POST /applications/{id}/report`.
    pub async fn report(&self, id: DocId) -> Result<ApplicationView, ClientError> {
        Self::json(self.req(Method::POST, &format!("/applications/{id}/report"))).await
    }

    /// 复制为新申请: a new draft with the form and attachments of `id`.
    pub async fn copy_application(&self, id: DocId) -> Result<ApplicationView, ClientError> {
        Self::json(self.req(Method::POST, &format!("/applications/{id}/copy"))).await
    }

    /// 退回暂存: a sealed application that has not been reported goes back to draft.
    pub async fn unseal(&self, id: DocId) -> Result<ApplicationView, ClientError> {
        Self::json(self.req(Method::POST, &format!("/applications/{id}/unseal"))).await
    }

    /// The latest sealed submission, for offline verification.
    pub async fn sealed_submission(&self, id: DocId) -> Result<SealedSubmission, ClientError> {
        let resp = Self::check(
            self.req(Method::GET, &format!("/applications/{id}/seal"))
                .send()
                .await?,
        )
        .await?;
        Ok(SealedSubmission::decode(&resp.bytes().await?)?)
    }

    /// The list and 查询: `GET /applications?…`.
    pub async fn query(
        &self,
        q: &ApplicationQuery,
    ) -> Result<Page<ApplicationSummary>, ClientError> {
        Self::json(self.req(Method::GET, "/applications").query(q)).await
    }
}

/// The voters of a replicated office after a membership change.
#[derive(serde::Deserialize)]
struct Voters {
    voters: Vec<u64>,
}
