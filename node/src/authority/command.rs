//! The office's writes as commands: what a clerk asked for ([`Op`]), stamped with the time
//! by the replica that took it ([`Stamped`]), and the one function that applies it
//! ([`apply`]) inside a write. A lone office applies it at once; a replicated one proposes
//! it to the others and every replica applies it from the log, so all of them write the
//! same rows, number the same licence the same way and sign the same bytes (ed25519
//! signatures are deterministic; the time is the stamp's, never a replica's own clock).
//!
//! The reply is [`Outcome`] or a [`Refused`] answer; both are encoded into the Raft log's
//! reply so a client's retry gets the first answer.

use serde::{Deserialize, Serialize};

use exlic_client::DocId;
use exlic_client::status::ApplicationStatus;

use super::AuthorityError;
use super::office::Office;
use crate::domain::review::Stage;
use crate::store::WriteBatch;

/// A write the office was asked to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// A 初审 or 复审 decision on an application; approval at 复审 issues its licence.
    Review {
        /// The application.
        application: [u8; 16],
        /// 复审 (else 初审).
        second: bool,
        /// Approve (else refuse, with `reason`).
        approve: bool,
        /// The reason given, trimmed.
        reason: String,
        /// The staff member's audit name.
        actor: String,
    },
    /// 上报: sealed submissions checked and receipted by the replica that took them.
    Ingest {
        /// In the order they came.
        submissions: Vec<Received>,
    },
    /// 手机证书授权: a device-certificate request signed by the enterprise's master e-key.
    Certify {
        /// The enterprise (USCC) the requesting device speaks for.
        enterprise: String,
        /// The signed request, as it came.
        #[serde(with = "crate::cluster::b64")]
        request: Vec<u8>,
    },
    /// An enrolment invite for one device of an enterprise, with its 申请表号 block.
    Invite {
        /// The enterprise's USCC.
        uscc: String,
        /// The enterprise's name.
        name: String,
        /// How many 申请表号 the block holds.
        numbers: u64,
        /// Days the invite stays valid.
        valid_days: i64,
        /// The invite's secret, drawn by the replica that took the request.
        secret: [u8; 32],
    },
    /// A device enrols with an invite's secret on first contact.
    Enrol {
        /// The device's key.
        peer: [u8; 32],
        /// The invite's secret.
        secret: [u8; 32],
        /// The enterprise's master e-key (or `NO_EKEY` for a further device).
        master_key: [u8; 32],
    },
    /// An enrolled device asks for the 申请表号 block after the one starting at `current`.
    MoreNumbers {
        /// The device's key.
        peer: [u8; 32],
        /// The first number of the block it holds, in decimal.
        current: String,
        /// How many it asks for.
        want: u64,
    },
    /// The administrator approves an enterprise's e-key unlock request.
    Unlock {
        /// The enterprise (USCC).
        uscc: String,
        /// The staff member's audit name.
        actor: String,
        /// The new document that carries the unlock back, its id drawn by the replica
        /// that took the request.
        doc: [u8; 16],
    },
    /// One chunk of an attachment an enterprise uploads, in order.
    BlobChunk {
        /// The enterprise (USCC) uploading it.
        enterprise: String,
        /// The attachment's hash.
        sha256: [u8; 32],
        /// Its declared size.
        size: u64,
        /// Where this chunk starts.
        offset: u64,
        /// The chunk.
        #[serde(with = "crate::cluster::b64")]
        bytes: Vec<u8>,
    },
    /// A customs invite for one customs district's node.
    CustomsInvite {
        /// The district's code.
        district: String,
        /// Its name, from the reference data of the replica that took the request.
        name: String,
        /// Days the invite stays valid.
        valid_days: i64,
        /// The invite's secret, drawn by the replica that took the request.
        secret: [u8; 32],
    },
    /// A customs node enrols with its invite's secret.
    CustomsEnrol {
        /// The node's key.
        peer: [u8; 32],
        /// The invite's secret.
        secret: [u8; 32],
    },
    /// Usage entries a customs node reports (each verified under its key by the replica
    /// that took them).
    Usage {
        /// The node's key.
        peer: [u8; 32],
        /// The signed entries, in order.
        entries: Vec<crate::cluster::Bytes>,
    },
    /// The office accepts an enterprise's profile proposal (企业信息维护).
    AcceptProfile {
        /// The enterprise (USCC).
        uscc: String,
        /// The staff member's audit name.
        actor: String,
        /// The proposal as the taking replica read it from the enterprise's document.
        profile: Box<exlic_client::profile::EnterpriseProfile>,
        /// The acceptance document's id should it be new, drawn by the taking replica.
        doc: [u8; 16],
    },
    /// The office publishes a new directory and guides (办事指南) to every enterprise.
    PutDirectory {
        /// The directory, checked by the taking replica.
        directory: Box<exlic_client::directory::Directory>,
        /// The staff member's audit name.
        actor: String,
    },
    /// The office publishes a reference release (代码表, 分级发证目录) to every enterprise.
    PublishReference {
        /// Every file of the release, checked by the taking replica.
        files: Vec<(String, String)>,
        /// The note published with it.
        note: String,
        /// The staff member's audit name.
        actor: String,
    },
    /// A staff account created or replaced.
    PutStaff {
        /// Its login.
        login: String,
        /// Its display name.
        name: String,
        /// Its role's code.
        role: String,
        /// The password's Argon2id hash (PHC string), made by the taking replica: the
        /// password itself is never in the log.
        hash: String,
    },
    /// A signing-key rollover (see `authority::keys`).
    RollKey {
        /// The staff member's audit name.
        actor: String,
        /// The new key's seed, drawn by the replica that took the request. Every replica
        /// signs with it, so each must hold it, as each holds the office's root: it
        /// travels to them in the log (between replicas only, encrypted, as snapshots
        /// carry the current seed).
        seed: [u8; 32],
    },
    /// The decision on a 删证 or 核销 request: approval changes the licence's standing.
    LicenceRequest {
        /// The request document.
        request: [u8; 16],
        /// Approve (else refuse, with `reason`).
        approve: bool,
        /// The reason given, trimmed.
        reason: String,
        /// The staff member's audit name.
        actor: String,
    },
}

/// A sealed submission as the replica that took it checked it: the envelope, who sent it,
/// and the receipt it signed, handed out once the command is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// The enterprise (USCC) whose device sent it.
    pub enterprise: String,
    /// The sealed submission.
    #[serde(with = "crate::cluster::b64")]
    pub envelope: Vec<u8>,
    /// The signed receipt.
    #[serde(with = "crate::cluster::b64")]
    pub receipt: Vec<u8>,
    /// When it was received (the receipt's time).
    pub received_at_ms: i64,
}

/// An [`Op`] with the time it was taken at, Unix ms: the only clock its apply reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped {
    /// When the replica that took it received it.
    pub at_ms: i64,
    /// What to do.
    pub op: Op,
}

/// What an applied command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "done", rename_all = "snake_case")]
pub enum Outcome {
    /// A review decision: the case's status after it and the licence it issued.
    Reviewed {
        /// The status after the decision.
        status: ApplicationStatus,
        /// The licence number, when the decision issued one.
        licence_no: Option<String>,
    },
    /// A 删证/核销 request was decided.
    LicenceRequestDecided,
    /// An enterprise's profile was accepted.
    ProfileAccepted,
    /// The directory was published.
    DirectoryPut,
    /// A reference release was published.
    ReferencePublished {
        /// Its number.
        number: u32,
    },
    /// A staff account was stored.
    StaffPut,
    /// The signing key rolled over to `key`.
    KeyRolled {
        /// The new public key.
        key: [u8; 32],
    },
    /// An e-key unlock was granted.
    Unlocked,
    /// A certificate request carried out: the certificate issued, if one was.
    Certified {
        /// The signed certificate (empty when the request only revoked).
        #[serde(with = "crate::cluster::b64")]
        certificate: Vec<u8>,
    },
    /// An invite kept: its block's first number (decimal; empty for a customs invite)
    /// and when it expires.
    Invited {
        /// The block's first 申请表号, in decimal.
        first: String,
        /// When the invite expires, Unix ms.
        expires_ms: i64,
    },
    /// A protocol request answered (enrolment, a number block), as the protocol encodes it.
    Answered {
        /// The encoded answer.
        #[serde(with = "crate::cluster::b64")]
        answer: Vec<u8>,
    },
    /// Submissions stored: each one's answer (a receipt or a refusal), encoded as the
    /// protocol encodes it.
    Ingested {
        /// One per submission, in order.
        answers: Vec<Vec<u8>>,
    },
}

impl Outcome {
    /// The error for an outcome its op cannot have (a reply read under the wrong request).
    pub(super) fn unexpected(other: Outcome) -> AuthorityError {
        AuthorityError::Store(crate::store::StoreError::Invariant(format!(
            "a command answered {other:?}"
        )))
    }

    /// The protocol answer an [`Outcome::Answered`] carries.
    pub(super) fn into_handled(self) -> Result<super::Handled, AuthorityError> {
        let Outcome::Answered { answer } = self else {
            return Err(Outcome::unexpected(self));
        };
        exlic_client::protocol::Response::decode(&answer)
            .map(super::Handled::ok)
            .map_err(|_| crate::store::StoreError::Record("answer").into())
    }
}

/// A command refused without changing anything: the error a lone office returns,
/// carried through the log's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// `bad_input`, `not_found` or `wrong_state`.
    pub kind: String,
    /// The field the refusal names.
    pub field: String,
    /// Why.
    pub message: String,
}

impl Refused {
    /// The refusal `e` is, if it is one (storage failures are not: they halt a replica).
    pub fn of(e: &AuthorityError) -> Option<Self> {
        let (kind, field, message) = match e {
            AuthorityError::BadInput { field, message } => ("bad_input", field, message),
            AuthorityError::NotFound { field, message } => ("not_found", field, message),
            AuthorityError::WrongState { field, message } => ("wrong_state", field, message),
            _ => return None,
        };
        Some(Self {
            kind: kind.to_owned(),
            field: field.clone(),
            message: message.clone(),
        })
    }

    /// The error it stands for.
    pub fn into_error(self) -> AuthorityError {
        let Self {
            kind,
            field,
            message,
        } = self;
        match kind.as_str() {
            "bad_input" => AuthorityError::BadInput { field, message },
            "not_found" => AuthorityError::NotFound { field, message },
            _ => AuthorityError::WrongState { field, message },
        }
    }
}

/// A command's reply as the log keeps it.
pub type Reply = Result<Outcome, Refused>;

/// Encodes a stamped command for the log.
pub fn encode(c: &Stamped) -> Vec<u8> {
    serde_json::to_vec(c).expect("a command serialises")
}

/// Decodes a stamped command from the log.
pub fn decode(body: &[u8]) -> Result<Stamped, serde_json::Error> {
    serde_json::from_slice(body)
}

/// Encodes a reply for the log.
pub fn encode_reply(r: &Reply) -> Vec<u8> {
    serde_json::to_vec(r).expect("a reply serialises")
}

/// Decodes a reply from the log.
pub fn decode_reply(bytes: &[u8]) -> Result<Reply, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Applies `c` inside `w`. An error changes nothing once `w` is dropped: the caller commits
/// only on success.
pub fn apply(
    office: &Office,
    w: &mut WriteBatch<'_>,
    c: &Stamped,
) -> Result<Outcome, AuthorityError> {
    match &c.op {
        Op::Review {
            application,
            second,
            approve,
            reason,
            actor,
        } => super::review::apply_decision(
            office,
            w,
            c.at_ms,
            super::review::Decided {
                app: DocId(*application),
                stage: if *second {
                    Stage::Second
                } else {
                    Stage::Initial
                },
                approve: *approve,
                reason,
                actor,
            },
        ),
        Op::Ingest { submissions } => {
            let mut answers = Vec::with_capacity(submissions.len());
            let trust = office.trust();
            for r in submissions {
                let job = super::ingest::IngestJob::from_received(r.clone())?;
                answers.push(super::ingest::ingest_one(w, &trust, job)?.response.encode());
            }
            Ok(Outcome::Ingested { answers })
        }
        Op::Invite {
            uscc,
            name,
            numbers,
            valid_days,
            secret,
        } => super::registry::apply_invite(
            w,
            office,
            c.at_ms,
            (uscc, name, *numbers, *valid_days, *secret),
        ),
        Op::Enrol {
            peer,
            secret,
            master_key,
        } => {
            let h = super::registry::apply_enrol(w, office, c.at_ms, *peer, *secret, *master_key)?;
            Ok(Outcome::Answered {
                answer: h.response.encode(),
            })
        }
        Op::MoreNumbers {
            peer,
            current,
            want,
        } => {
            let current = current
                .parse()
                .map_err(|_| AuthorityError::bad_input("current", "not a 申请表号"))?;
            let h = super::registry::apply_more_numbers(w, office, c.at_ms, *peer, current, *want)?;
            Ok(Outcome::Answered {
                answer: h.response.encode(),
            })
        }
        Op::Unlock { uscc, actor, doc } => {
            super::unlocks::apply_approve(office, w, c.at_ms, (uscc, actor, DocId(*doc)))
        }
        Op::CustomsInvite {
            district,
            name,
            valid_days,
            secret,
        } => super::customs::apply_invite(w, c.at_ms, (district, name, *valid_days, *secret)),
        Op::CustomsEnrol { peer, secret } => {
            super::customs::apply_enrol(w, c.at_ms, *peer, *secret)
        }
        Op::Usage { peer, entries } => {
            super::customs::apply_usage(office, w, c.at_ms, *peer, entries)
        }
        Op::BlobChunk {
            enterprise,
            sha256,
            size,
            offset,
            bytes,
        } => super::blobs::apply_chunk(w, enterprise, (*sha256, *size, *offset), bytes),
        Op::Certify {
            enterprise,
            request,
        } => super::certificates::apply_certify(office, w, c.at_ms, enterprise, request),
        Op::AcceptProfile {
            uscc,
            actor,
            profile,
            doc,
        } => super::profiles::apply_accept(w, c.at_ms, (uscc, actor), profile, DocId(*doc)),
        Op::PutDirectory { directory, actor } => {
            super::directory::apply_put(office, w, c.at_ms, directory, actor)
        }
        Op::PublishReference { files, note, actor } => {
            super::reference::apply_publish(office, w, c.at_ms, files, note, actor)
        }
        Op::PutStaff {
            login,
            name,
            role,
            hash,
        } => super::staff::apply_put(w, c.at_ms, login, (name, role, hash)),
        Op::RollKey { actor, seed } => super::keys::apply_roll(office, w, c.at_ms, actor, seed),
        Op::LicenceRequest {
            request,
            approve,
            reason,
            actor,
        } => super::licence_request::apply_decision(
            office,
            w,
            c.at_ms,
            DocId(*request),
            *approve,
            reason,
            actor,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_and_its_replies_survive_the_log_encoding() {
        let c = Stamped {
            at_ms: 1_779_000_000_000,
            op: Op::Review {
                application: [7; 16],
                second: true,
                approve: false,
                reason: "合同不全".into(),
                actor: "处长".into(),
            },
        };
        assert_eq!(decode(&encode(&c)).unwrap(), c);
        for r in [
            Ok(Outcome::Reviewed {
                status: ApplicationStatus::Issued,
                licence_no: Some("26-AA-000001".into()),
            }),
            Err(Refused::of(&AuthorityError::wrong_state("status", "already decided")).unwrap()),
        ] {
            assert_eq!(decode_reply(&encode_reply(&r)).unwrap(), r);
        }
    }

    #[test]
    fn a_refusal_keeps_its_kind_field_and_message_through_the_log() {
        for e in [
            AuthorityError::bad_input("reason", "empty"),
            AuthorityError::not_found("application", "no case"),
            AuthorityError::wrong_state("status", "issued"),
        ] {
            let back = Refused::of(&e).unwrap().into_error();
            assert_eq!(back.to_string(), e.to_string());
            assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&e));
        }
        assert!(Refused::of(&AuthorityError::NotInitialised).is_none());
    }
}
