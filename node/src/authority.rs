//! The authority role (发证机构). [`Authority`] holds one part per concern, each a type of
//! its own module sharing the [`office::Office`] context: the enterprise [`registry`]
//! (invites, enrolment), the [`replica`] (documents and feeds), [`ingest`] (submissions →
//! receipts), [`blobs`], [`certificates`], [`review`] (初审, 复审, issuance), 删证/核销
//! [`licence_request`]s, [`profiles`], [`unlocks`], [`keys`], [`staff`], the [`casefile`]
//! read-outs and the [`directory`]. Decisions are `domain`'s; these modules read, decide
//! and write.
//!
//! [`Authority::handle`] takes one request from one peer and returns the answer: the
//! authority's side of sync with no I/O but its store. Every request is one redb
//! transaction: a request that fails in any part stores nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use exlic_client::protocol::{ErrorCode, Request, Response};

use crate::clock::Clock;
use crate::domain::reference::Reference;
use crate::store::{Store, StoreError, meta_get, meta_put, registry as registry_rows};

const META_AUTHORITY_KEY: &str = "authority_key";
/// The current signing seed after a key rollover (absent: the identity key signs).
const META_SIGNING_KEY: &str = "authority_signing_key";
const META_NEXT_BLOCK: &str = "next_block_first";
const META_NEXT_SERIAL: &str = "next_cert_serial";
const META_CRL_VERSION: &str = "crl_version";
/// Validity of a device certificate.
pub const CERT_VALIDITY_MS: i64 = 365 * 86_400_000;
/// Validity of a revocation list.
pub const CRL_VALIDITY_MS: i64 = 7 * 86_400_000;

/// Who the authority is.
#[derive(Debug, Clone)]
pub struct AuthorityInfo {
    /// 发证机构 name.
    pub name: String,
    /// Agency code (许可证号 positions 3–4).
    pub agency_code: String,
    /// Where enterprises reach it, as multiaddresses.
    pub addrs: Vec<String>,
    /// Largest attachment accepted, bytes.
    pub attachment_max_bytes: u64,
}

/// Why an authority action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Input that cannot be used, naming the field it came in.
    #[error("{field}: {message}")]
    BadInput {
        /// The field (API name) the input came in.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// What the request names does not exist.
    #[error("{field}: {message}")]
    NotFound {
        /// The field that named it.
        field: String,
        /// What was not found.
        message: String,
    },
    /// The request is not allowed in the current state of what it names.
    #[error("{field}: {message}")]
    WrongState {
        /// The field whose state refuses it.
        field: String,
        /// Why.
        message: String,
    },
    /// Not initialised.
    #[error("authority node is not initialised (no key)")]
    NotInitialised,
    /// A replicated office could not commit the write now (no leader, this replica cut
    /// off); nothing was written, and the same request may be tried again.
    #[error("the office cannot commit writes now: {0}")]
    Unavailable(String),
}

crate::store::errors_via_store!(
    AuthorityError,
    redb::TableError,
    redb::StorageError,
    redb::TransactionError,
    redb::CommitError
);

/// Creates the authority key (kept if present).
pub fn initialise(store: &Store) -> Result<(), AuthorityError> {
    let w = store.write()?;
    if meta_get(&w, META_AUTHORITY_KEY)?.is_none() {
        meta_put(&w, META_AUTHORITY_KEY, &crate::random::bytes::<32>())?;
    }
    w.commit()?;
    Ok(())
}

/// Reads the authority's identity seed: its libp2p identity, the key enterprises are given
/// in their enrolment token (the root of their trust), and its first signing key.
pub fn key_seed(store: &Store) -> Result<[u8; 32], AuthorityError> {
    meta_get(&store.read()?, META_AUTHORITY_KEY)?
        .and_then(|v| v.try_into().ok())
        .ok_or(AuthorityError::NotInitialised)
}

/// The authority role over one store: one part per concern.
#[derive(Debug)]
pub struct Authority {
    office: Arc<office::Office>,
    /// Invites and enrolment.
    pub registry: registry::Registry,
    /// Documents and feeds.
    pub replica: replica::Replica,
    /// Submissions and receipts.
    pub ingest: ingest::Ingest,
    /// Attachment transfers.
    pub blobs: blobs::Blobs,
    /// Device certificates and revocations.
    pub certificates: certificates::Certificates,
    /// 初审, 复审 and issuance.
    pub review: review::Review,
    /// 删证 and 核销 requests.
    pub licence_requests: licence_request::LicenceRequests,
    /// 企业信息维护.
    pub profiles: profiles::Profiles,
    /// E-key unlocks.
    pub unlocks: unlocks::Unlocks,
    /// The reference data in force and its published releases.
    pub reference: reference::ReferencePublisher,
    /// Signing-key rollover.
    pub keys: keys::Keys,
    /// Staff accounts, sign-in, the audit trail.
    pub staff: staff::StaffAccounts,
    /// Case files and dashboard figures.
    pub cases: casefile::CaseFiles,
    /// Customs nodes: invites, the standing feed, usage.
    pub customs: customs::CustomsLinks,
    /// 联系方式 and 办事指南.
    pub directory: directory::Directory,
    /// The transparency log: checkpoints, tiles, proofs, the entries in order.
    pub log: translog::Translog,
}

/// What a request did, for the network layer.
#[derive(Debug)]
pub struct Handled {
    /// The answer.
    pub response: Response,
    /// Whether the peer broke the protocol and should be disconnected.
    pub drop_peer: bool,
}

impl From<crate::store::group::Abandoned> for AuthorityError {
    /// A batch abandoned by its writer, as the storage failure it is.
    fn from(a: crate::store::group::Abandoned) -> Self {
        Self::Store(StoreError::Batch {
            message: a.to_string(),
            disk_full: false,
        })
    }
}

impl AuthorityError {
    /// Input that cannot be used.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Something named by the request does not exist.
    pub fn not_found(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::NotFound {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Not allowed in the current state.
    pub fn wrong_state(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::WrongState {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Handled {
    fn ok(response: Response) -> Self {
        Self {
            response,
            drop_peer: false,
        }
    }
    fn refuse(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            response: Response::error(code, message),
            drop_peer: false,
        }
    }
    fn violation(message: impl Into<String>) -> Self {
        Self {
            response: Response::error(ErrorCode::BadRequest, message),
            drop_peer: true,
        }
    }
}

impl Authority {
    /// Opens the role over an initialised store, with the built-in reference data.
    pub fn new(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        info: AuthorityInfo,
    ) -> Result<Self, AuthorityError> {
        Self::with_reference(store, clock, info, Reference::embedded_shared())
    }

    /// Opens the role with the office's own reference data (`[reference] dir`): what it
    /// re-checks sealed forms against and builds licences from.
    pub fn with_reference(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        info: AuthorityInfo,
        reference: Arc<Reference>,
    ) -> Result<Self, AuthorityError> {
        Self::open(store, clock, info, reference, true)
    }

    /// Opens the role as one replica of a replicated office: as [`Self::with_reference`],
    /// but its own reference files are never published from it alone (the office's newest
    /// release is in force; a new one is published as a command).
    pub fn replica_with_reference(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        info: AuthorityInfo,
        reference: Arc<Reference>,
    ) -> Result<Self, AuthorityError> {
        Self::open(store, clock, info, reference, false)
    }

    fn open(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        info: AuthorityInfo,
        reference: Arc<Reference>,
        publish_own: bool,
    ) -> Result<Self, AuthorityError> {
        let addrs = Arc::new(Mutex::new(info.addrs.clone()));
        let office = Arc::new(office::Office::open(store, clock, info, reference.clone())?);
        directory::move_legacy(&office)?;
        let publisher = reference::ReferencePublisher {
            office: office.clone(),
        };
        publisher.start(reference, publish_own)?;
        let certificates = certificates::Certificates {
            office: office.clone(),
        };
        let licence_requests = licence_request::LicenceRequests {
            office: office.clone(),
        };
        let profiles = profiles::Profiles {
            office: office.clone(),
        };
        let unlocks = unlocks::Unlocks {
            office: office.clone(),
        };
        Ok(Self {
            registry: registry::Registry {
                office: office.clone(),
                addrs: addrs.clone(),
            },
            customs: customs::CustomsLinks {
                office: office.clone(),
                addrs,
            },
            replica: replica::Replica {
                office: office.clone(),
                sessions: Arc::new(Mutex::new(HashMap::new())),
                licence_requests: licence_requests.clone(),
                profiles: profiles.clone(),
                unlocks: unlocks.clone(),
                batches: Arc::default(),
            },
            ingest: ingest::Ingest {
                office: office.clone(),
                group: Arc::default(),
            },
            blobs: blobs::Blobs {
                office: office.clone(),
            },
            review: review::Review {
                office: office.clone(),
            },
            keys: keys::Keys {
                office: office.clone(),
            },
            staff: staff::StaffAccounts {
                accounts: crate::accounts::Accounts::new(
                    office.store.clone(),
                    office.clock.clone(),
                ),
                office: office.clone(),
            },
            cases: casefile::CaseFiles {
                office: office.clone(),
                certificates: certificates.clone(),
            },
            directory: directory::Directory {
                office: office.clone(),
            },
            log: translog::Translog {
                office: office.clone(),
            },
            certificates,
            licence_requests,
            profiles,
            unlocks,
            reference: publisher,
            office,
        })
    }

    /// What this authority's own verifications trust: its keys, from the identity key
    /// through every rollover to the current one.
    pub fn trust(&self) -> exlic_client::certificate::Trust {
        self.office.trust()
    }

    /// The identity key: what enrolment tokens carry and enterprises root their trust in.
    pub fn root_key(&self) -> [u8; 32] {
        self.office.root_key()
    }

    /// Now, by the authority's clock (the only time it trusts), Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.office.clock.now_ms()
    }

    /// Its current signing key's public half.
    pub fn public_key(&self) -> [u8; 32] {
        self.office.public_key()
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.office.store
    }

    /// Who it is.
    pub fn info(&self) -> &AuthorityInfo {
        &self.office.info
    }

    /// Handles one request from `peer` (its ed25519 device key).
    pub fn handle(&self, peer: [u8; 32], request: Request) -> Handled {
        let result = match request {
            Request::Enrol { secret, master_key } => self.registry.enrol(peer, secret, master_key),
            Request::EnrolCustoms { secret } => self.customs.enrol(peer, secret),
            Request::Standing { cursor } => {
                self.for_customs(peer, |_| self.customs.standing(cursor))
            }
            Request::Usage(entries) => self.for_customs(peer, |district| {
                self.customs.usage(peer, district, &entries)
            }),
            Request::LogPage { from } => self.log.serve_page(peer, from),
            Request::Cosigned { checkpoint } => self.log.keep_cosigned(peer, &checkpoint),
            Request::LogTiles { size, tiles } => self.log.serve_tiles(peer, size, &tiles),
            other => {
                let e = match self.known(|t| Ok(registry_rows::enterprise_of(t, &peer)?)) {
                    Ok(Some(e)) => e,
                    Ok(None) => {
                        return Handled::refuse(
                            ErrorCode::NotEnrolled,
                            "this device is not enrolled",
                        );
                    }
                    Err(err) => return Handled::refuse(ErrorCode::Unavailable, err.to_string()),
                };
                match other {
                    Request::Sync { feed, cursor, docs } => {
                        self.replica.sync(peer, &e, (feed, cursor), docs)
                    }
                    Request::Submit(env) => self.ingest.submit(&e, &env),
                    Request::SubmitMany(envs) => {
                        self.ingest.submit_many(&e, &envs).map(|answers| Handled {
                            drop_peer: answers.iter().any(|h| h.drop_peer),
                            response: Response::Submitted(
                                answers.into_iter().map(|h| h.response).collect(),
                            ),
                        })
                    }
                    Request::BlobStatus { sha256, size } => self.blobs.status(&e, sha256, size),
                    Request::BlobPut {
                        sha256,
                        size,
                        offset,
                        bytes,
                    } => self.blobs.put(&e, sha256, size, offset, &bytes),
                    Request::BlobGet { sha256, offset } => self.blobs.get(&e, sha256, offset),
                    Request::Certify(req) => self.certificates.certify(&e, &req),
                    Request::Revocations => self
                        .certificates
                        .revocations()
                        .map(|c| Handled::ok(Response::Revocations(c))),
                    Request::MyCertificate => self.certificates.my_certificate(peer),
                    Request::MoreNumbers { current, want } => {
                        self.registry.more_numbers(peer, current, want)
                    }
                    Request::Enrol { .. }
                    | Request::EnrolCustoms { .. }
                    | Request::Standing { .. }
                    | Request::Usage(_)
                    | Request::LogPage { .. }
                    | Request::Cosigned { .. }
                    | Request::LogTiles { .. } => unreachable!(),
                }
            }
        };
        result.unwrap_or_else(|e| Handled::refuse(ErrorCode::Unavailable, e.to_string()))
    }

    /// Runs `f` with the district of customs node `peer`; refuses any other peer.
    /// What `look` finds in the store; on a replica that finds nothing, looked up again
    /// once it has applied every write committed before (a read barrier): a device or a
    /// customs node enrolled through another replica a moment ago is known.
    fn known<T>(
        &self,
        look: impl Fn(&redb::ReadTransaction) -> Result<Option<T>, AuthorityError>,
    ) -> Result<Option<T>, AuthorityError> {
        if let Some(v) = look(&self.office.store.read()?)? {
            return Ok(Some(v));
        }
        if self.office.settle()? {
            return look(&self.office.store.read()?);
        }
        Ok(None)
    }

    fn for_customs(
        &self,
        peer: [u8; 32],
        f: impl FnOnce(&str) -> Result<Handled, AuthorityError>,
    ) -> Result<Handled, AuthorityError> {
        let district = self.known(|t| Ok(crate::store::usage::customs_district(t, &peer)?))?;
        match district {
            Some(d) => f(&d),
            None => Ok(Handled::refuse(
                ErrorCode::NotEnrolled,
                "this node is not an enrolled customs node",
            )),
        }
    }
}

pub mod blobs;
mod case_docs;
pub mod casefile;
pub mod certificates;
pub mod command;
pub mod customs;
pub mod directory;
pub mod ingest;
pub mod keys;
pub mod licence_request;
pub mod office;
pub mod profiles;
pub mod reference;
pub mod registry;
pub mod replica;
pub mod replicated;
pub mod review;
pub mod staff;
#[cfg(test)]
mod tests;
pub mod translog;
pub mod unlocks;
