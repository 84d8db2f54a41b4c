//! `exlic-client`: everything a third party needs to talk to or verify exlic.
//!
//! The crate holds the *wire types* of the system and nothing else that is serialisable:
//!
//! * [`application`], [`attachment`], [`query`], [`reference`], [`status`], [`node`] —
//!   the JSON shapes of the node's API under `/api/v1/`;
//! * [`error`] — the JSON error body every endpoint returns on failure;
//! * [`seal`] — the sealed submission format (保存并盖章): a canonical binary payload signed
//!   with ed25519 under a domain-separation tag, verifiable offline with [`seal::verify`];
//! * [`encoding`] — the canonical length-prefixed encoding the signed formats use;
//! * [`protocol`] — the sync protocol between enterprise and authority nodes, and
//!   [`inflate`], the bound on how far a message's compressed Automerge content inflates;
//! * [`receipt`], [`invite`], [`signed`] — the authority's signed receipt, the enrolment
//!   token, and the tagged signing they share;
//! * [`certificate`] — device certificates, revocation lists, authority key rollover, and
//!   verification of a seal at the authority's receipt time;
//! * [`licence`] — the signed electronic export licence and its offline verification;
//! * [`translog`] — the office's transparency log: entries, signed checkpoints, inclusion and
//!   consistency proofs, the bureau's co-signature;
//! * [`uscc`] — the GB 32100-2015 unified social credit code check;
//! * [`client`] (feature `http`, on by default) — a typed async client for the API.
//!
//! Formats are specified in `client-lib/FORMATS.md`, with test vectors under
//! `client-lib/vectors/`, so a verifier can be written from the documents alone.

pub mod application;
pub mod attachment;
pub mod authority;
pub mod cert_request;
pub mod certificate;
#[cfg(feature = "http")]
pub mod client;
pub mod directory;
pub mod encoding;
pub mod error;
pub mod ids;
pub mod inflate;
pub mod invite;
pub mod licence;
pub mod licence_qr;
pub mod licence_request;
pub mod node;
pub mod profile;
pub mod protocol;
pub mod query;
pub mod receipt;
pub mod reference;
pub mod reference_release;
pub mod refusal;
pub mod sample;
pub mod seal;
pub mod signed;
pub mod standing;
pub mod status;
pub mod translog;
pub mod usage;
pub mod uscc;

pub use ids::DocId;
