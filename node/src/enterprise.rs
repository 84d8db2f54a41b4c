//! The enterprise role. [`Enterprise`] holds one part per concern, each a type of its own
//! module sharing the [`device::Device`] context: [`applications`] (新增, 暂存, edits, the
//! list and 查询), [`attachments`], [`sealing`] (保存并盖章, 上报), [`certs`] (手机证书授权),
//! [`licence_request`]s (删证/核销), [`profile`] (企业信息维护), the e-key's [`unlock`], the
//! attachment [`blob_relay`], the [`replica`] (its side of sync) and the [`delivery`] of
//! sealed submissions and the office's answers; the [`session`] drives
//! sync as a sans-IO state machine.
//!
//! Every action is one redb transaction, acknowledged only after it commits: a part reads
//! the current state, asks [`crate::domain`] whether the action is allowed and valid,
//! applies the change to the Automerge document and the node's records, and commits.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use exlic_client::DocId;
use exlic_client::error::{FieldError, Severity};
use exlic_client::node::NodeInfo;

use crate::clock::Clock;
use crate::domain::lifecycle::Refused;
use crate::domain::numbering::{NumberBlock, NumberError};
use crate::domain::reference::Reference;
use crate::domain::rules::TextLimits;
use crate::store::{Store, StoreError, meta_get, meta_put};
use applications::Applications;
use attachments::Attachments;
use blob_relay::BlobRelay;
use certs::Certificates;
use delivery::Delivery;
use device::Device;
use licence_request::LicenceRequests;
use numbers::Numbers;
use profile::Profile;
use reference::ReferenceUpdates;
use replica::Replica;
use sealing::Sealing;
use unlock::Ekey;

/// Who this node belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// 企业名称.
    pub enterprise_name: String,
    /// 统一社会信用代码.
    pub enterprise_uscc: String,
    /// The issuing agency (发证机构) code of its home office (the one it enrolled from).
    pub agency_code: String,
    /// The agency codes of the other offices it is enrolled with, in the order the
    /// config lists them (see [`offices`]).
    pub other_agencies: Vec<String>,
}

/// Settings of the enterprise role.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Free-text limits (V24).
    pub limits: TextLimits,
    /// USCCs accepted although they fail the checksum.
    pub uscc_allow_list: Vec<String>,
    /// Largest attachment, bytes.
    pub attachment_max_bytes: u64,
    /// Most attachments per application.
    pub attachments_per_application: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            limits: TextLimits::default(),
            uscc_allow_list: Vec::new(),
            attachment_max_bytes: 20 << 20,
            attachments_per_application: 50,
        }
    }
}

/// Why an action failed. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnterpriseError {
    /// No application with that id.
    #[error("no application {0}")]
    NotFound(DocId),
    /// No attachment with that hash on the application.
    #[error("no attachment {0} on this application")]
    AttachmentNotFound(String),
    /// Input broke rules; every failure is listed.
    #[error("{} rule(s) failed", .0.iter().filter(|e| e.severity == Severity::Error).count())]
    Invalid(Vec<FieldError>),
    /// Bad input outside the form rules (query parameters, upload metadata).
    #[error("{field}: {message}")]
    BadInput {
        /// The parameter.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The action is not allowed in the application's state.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// Numbering failed (block exhausted).
    #[error(transparent)]
    Numbers(#[from] NumberError),
    /// An attachment is over the size limit.
    #[error("attachment is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The node was never initialised (no device key or number block).
    #[error("node is not initialised: {0}")]
    NotInitialised(&'static str),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Automerge refused an operation.
    #[error("document: {0}")]
    Document(#[from] automerge::AutomergeError),
}

type Result<T, E = EnterpriseError> = std::result::Result<T, E>;

crate::store::errors_via_store!(
    EnterpriseError,
    redb::TableError,
    redb::StorageError,
    redb::TransactionError,
    redb::CommitError
);

/// Creates the device key and the number block of a new node (kept if already there).
pub fn initialise(store: &Store, block: NumberBlock) -> Result<()> {
    let w = store.write()?;
    if meta_get(&w, META_DEVICE_KEY)?.is_none() {
        meta_put(&w, META_DEVICE_KEY, &crate::random::bytes::<32>())?;
    }
    numbers::initialise(&w, &block)?;
    w.commit()?;
    Ok(())
}

const META_DEVICE_KEY: &str = "device_key";
const META_INVITE_SECRET: &str = "invite_secret";

/// Records the invite secret for enrolment (the master e-key is created by
/// [`crate::ekey::create`] under the user's PIN).
pub fn initialise_enrolment(store: &Store, secret: [u8; 32]) -> Result<()> {
    initialise_enrolment_with(store, &crate::upstream::Link::Home, secret)
}

/// Records the invite secret for enrolment with office `link` (another office:
/// `exlic enterprise add-office`).
pub fn initialise_enrolment_with(
    store: &Store,
    link: &crate::upstream::Link,
    secret: [u8; 32],
) -> Result<()> {
    let w = store.write()?;
    meta_put(&w, &link.key(META_INVITE_SECRET), &secret)?;
    w.commit()?;
    Ok(())
}

/// The enterprise role over one store: one part per concern.
#[derive(Debug)]
pub struct Enterprise {
    device: Arc<Device>,
    /// 新增, 暂存, edits, deletion, the list and 查询.
    pub applications: Applications,
    /// 上传附件.
    pub attachments: Attachments,
    /// 保存并盖章 and 上报.
    pub sealing: Sealing,
    /// 手机证书授权: requests and this device's certificate.
    pub certificates: Certificates,
    /// 删证 and 核销 requests.
    pub licence_requests: LicenceRequests,
    /// 企业信息维护.
    pub profile: Profile,
    /// E-key state and unlocks.
    pub ekey: Ekey,
    /// Attachment relay between devices.
    pub blobs: BlobRelay,
    /// The enterprise side of sync as store operations.
    pub replica: Replica,
    /// Sealed submissions in the outbox and the office's answers.
    pub delivery: Delivery,
    /// The office's reference releases.
    pub reference: ReferenceUpdates,
    /// This device's 申请表号 blocks.
    pub numbers: Numbers,
    /// Who may act here, the seal confirmation and the audit trail.
    pub operators: operators::Operators,
}

impl Enterprise {
    /// Opens the role over an initialised store.
    pub fn new(
        store: Arc<Store>,
        reference: Arc<Reference>,
        clock: Arc<dyn Clock>,
        identity: Identity,
        settings: Settings,
    ) -> Result<Self> {
        let txn = store.read()?;
        let seed: [u8; 32] = meta_get(&txn, META_DEVICE_KEY)?
            .and_then(|v| v.try_into().ok())
            .ok_or(EnterpriseError::NotInitialised("no device key"))?;
        let key = SigningKey::from_bytes(&seed);
        store.set_actor(automerge::ActorId::from(
            &key.verifying_key().to_bytes()[..16],
        ));
        let device = Arc::new(Device {
            store,
            reference: crate::domain::reference::Current::new(reference),
            clock,
            identity,
            settings,
            key,
        });
        let d = || device.clone();
        let applications = Applications { device: d() };
        let certificates = Certificates { device: d() };
        let licence_requests = LicenceRequests { device: d() };
        let profile = Profile { device: d() };
        let ekey = Ekey { device: d() };
        let blobs = BlobRelay { device: d() };
        let delivery = Delivery { device: d() };
        Ok(Self {
            reference: ReferenceUpdates { device: d() },
            numbers: Numbers { device: d() },
            operators: operators::Operators {
                accounts: crate::accounts::Accounts::new(
                    device.store.clone(),
                    device.clock.clone(),
                ),
                device: d(),
            },
            attachments: Attachments {
                device: d(),
                applications: applications.clone(),
            },
            sealing: Sealing {
                device: d(),
                applications: applications.clone(),
                certificates: certificates.clone(),
            },
            replica: Replica {
                device: d(),
                licence_requests: licence_requests.clone(),
                profile: profile.clone(),
                ekey: ekey.clone(),
            },
            applications,
            certificates,
            licence_requests,
            profile,
            ekey,
            blobs,
            delivery,
            device,
        })
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<Store> {
        &self.device.store
    }

    /// The reference data in force now.
    pub fn reference(&self) -> Arc<Reference> {
        self.device.reference()
    }

    /// This device's public seal key.
    pub fn device_public_key(&self) -> [u8; 32] {
        self.device.public_key()
    }

    /// Who this node belongs to and the offices it is enrolled with.
    pub fn identity(&self) -> &Identity {
        &self.device.identity
    }

    /// Settings in force.
    pub fn settings(&self) -> &Settings {
        &self.device.settings
    }

    /// Now, by this node's clock, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.device.clock.now_ms()
    }

    /// What this node trusts of the authority: `root` (the key in its enrolment token)
    /// and every key rollover record synced since.
    pub fn authority_trust(&self, root: &[u8; 32]) -> Result<exlic_client::certificate::Trust> {
        self.device.authority_trust(root)
    }

    /// The key rollover records of the office whose root key is `root` as this node holds
    /// them, oldest first (each signed by the key before; the first by the root in the
    /// enrolment token).
    pub fn key_records(&self, root: &[u8; 32]) -> Result<Vec<Vec<u8>>> {
        self.device.key_records(root)
    }

    /// The invite secret of the home office (until enrolled) and the enterprise's master
    /// public key; a device that joined without the e-key (`--join`) presents
    /// [`exlic_client::protocol::NO_EKEY`].
    pub fn enrolment_keys(&self) -> Result<(Option<[u8; 32]>, [u8; 32])> {
        self.enrolment_keys_for(&crate::upstream::Link::Home)
    }

    /// [`Self::enrolment_keys`] for office `link`.
    pub fn enrolment_keys_for(
        &self,
        link: &crate::upstream::Link,
    ) -> Result<(Option<[u8; 32]>, [u8; 32])> {
        let t = self.device.store.read()?;
        let secret = meta_get(&t, &link.key(META_INVITE_SECRET))?.and_then(|v| v.try_into().ok());
        drop(t);
        let master = crate::ekey::public_key(&self.device.store)
            .map_err(|e| {
                EnterpriseError::NotInitialised(if matches!(e, crate::ekey::EkeyError::Store(_)) {
                    "storage"
                } else {
                    "e-key"
                })
            })?
            .unwrap_or(exlic_client::protocol::NO_EKEY);
        Ok((secret, master))
    }

    /// What the node says about itself.
    pub fn node_info(&self) -> Result<NodeInfo> {
        let left = self.numbers.left()?;
        let device = &self.device;
        Ok(NodeInfo {
            role: "enterprise".into(),
            enterprise_name: device.identity.enterprise_name.clone(),
            enterprise_uscc: device.identity.enterprise_uscc.clone(),
            agency_code: device.identity.agency_code.clone(),
            device_public_key: hex::encode(device.public_key()),
            numbers_left: left,
            version: env!("CARGO_PKG_VERSION").into(),
            reference_version: device.reference().label(),
        })
    }
}

pub mod applications;
pub mod attachments;
pub mod blob_relay;
pub mod certs;
pub mod delivery;
pub mod device;
pub mod licence_request;
pub mod numbers;
pub mod offices;
pub mod operators;
pub mod profile;
pub mod reference;
pub mod replica;
pub mod sealing;
pub mod session;
#[cfg(test)]
pub(crate) mod tests;
pub mod unlock;
