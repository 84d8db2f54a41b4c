//! The seal (企业盖章) of a submission and its offline verification.
//!
//! A seal is an ed25519 signature by a device key over
//! `"exlic/seal/v1" || 0x00 || encode(SealPayload)`, where the payload binds the
//! enterprise, the application, its 申请表号 and revision, the Automerge heads sealed, the
//! SHA-256 of the canonical form content at those heads, and the hash and size of every
//! attachment. The tag keeps a seal from ever passing as any other signed object.
//!
//! A [`SealedSubmission`] carries the payload, the signature and the content bytes, so a
//! verifier needs only this crate, the device's public key and the attachment bytes.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::application::ApplicationForm;
use crate::encoding::{DecodeError, Reader, Writer};
use crate::ids::DocId;

/// Domain-separation tag of seal signatures.
pub const SEAL_TAG: &[u8] = b"exlic/seal/v1";
/// Version byte of the payload encoding without a certificate serial.
pub const PAYLOAD_VERSION: u8 = 1;
/// Version byte of the payload encoding that names the certificate in force at sealing.
pub const PAYLOAD_VERSION_CERT: u8 = 2;
/// Version byte of the submission envelope.
pub const ENVELOPE_VERSION: u8 = 1;
/// Most attachments one seal may cover.
pub const MAX_ATTACHMENTS: usize = 256;
/// Most heads one seal may cover.
pub const MAX_HEADS: usize = 1024;
/// Largest canonical content accepted, in bytes.
pub const MAX_CONTENT: usize = 1 << 20;

/// The hash and size of one sealed attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttachmentDigest {
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// Length in bytes.
    pub size: u64,
}

/// What a seal signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealPayload {
    /// The sealing enterprise's USCC.
    pub enterprise_uscc: String,
    /// The application document.
    pub application_id: DocId,
    /// 申请表号 (21 digits).
    pub application_no: String,
    /// 1 for the first seal, +1 for each resubmission after a return.
    pub revision: u32,
    /// Automerge change hashes of the sealed heads, sorted ascending, no duplicates.
    pub heads: Vec<[u8; 32]>,
    /// SHA-256 of [`canonical_content`] of the form at those heads.
    pub content_sha256: [u8; 32],
    /// Attachments, sorted by hash, no duplicates.
    pub attachments: Vec<AttachmentDigest>,
    /// The device public key that signs.
    pub device_key: [u8; 32],
    /// The device's clock at sealing, Unix ms. Informational only: never trusted.
    pub sealed_at_ms: i64,
    /// The serial of the device certificate in force when it sealed (version 2); `None`
    /// encodes version 1, which names no certificate.
    pub certificate_serial: Option<u64>,
}

/// A seal with everything needed to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSubmission {
    /// `encode(SealPayload)`.
    pub payload: Vec<u8>,
    /// The ed25519 signature.
    pub signature: [u8; 64],
    /// The canonical content the payload's `content_sha256` names.
    pub content: Vec<u8>,
}

/// Why a seal does not verify. Each case has its own variant so callers can tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The envelope or payload is malformed.
    #[error("malformed seal: {0}")]
    Decode(#[from] DecodeError),
    /// An unknown format version.
    #[error("unsupported seal format version {0}")]
    Version(u8),
    /// The payload names a different device key than the one checked against.
    #[error("seal was made by another device key")]
    WrongKey,
    /// The device key bytes are not a valid ed25519 key.
    #[error("device key is not a valid ed25519 public key")]
    BadKey,
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The content is not what was sealed.
    #[error("content differs from what was sealed")]
    ContentMismatch,
    /// A sealed attachment was not supplied.
    #[error("attachment {0} is missing")]
    AttachmentMissing(String),
    /// An attachment's bytes are not what was sealed.
    #[error("attachment {0} differs from what was sealed")]
    AttachmentMismatch(String),
}

/// The canonical content of a form: its JSON with keys in declaration order, no spaces.
pub fn canonical_content(form: &ApplicationForm) -> Vec<u8> {
    serde_json::to_vec(form).expect("form serialises")
}

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl SealPayload {
    /// The canonical encoding (see `FORMATS.md`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        let version = if self.certificate_serial.is_some() {
            PAYLOAD_VERSION_CERT
        } else {
            PAYLOAD_VERSION
        };
        w.u8(version)
            .str(&self.enterprise_uscc)
            .fixed(self.application_id.as_bytes())
            .str(&self.application_no)
            .u32(self.revision)
            .count(self.heads.len());
        for h in &self.heads {
            w.fixed(h);
        }
        w.fixed(&self.content_sha256).count(self.attachments.len());
        for a in &self.attachments {
            w.fixed(&a.sha256).u64(a.size);
        }
        w.fixed(&self.device_key).i64(self.sealed_at_ms);
        if let Some(serial) = self.certificate_serial {
            w.u64(serial);
        }
        w.finish()
    }

    /// Decodes and checks the canonical form (sorted, unique lists).
    pub fn decode(bytes: &[u8]) -> Result<Self, SealError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != PAYLOAD_VERSION && version != PAYLOAD_VERSION_CERT {
            return Err(SealError::Version(version));
        }
        let enterprise_uscc = r.str("enterprise_uscc", 64)?.to_owned();
        let application_id = DocId(r.fixed("application_id")?);
        let application_no = r.str("application_no", 64)?.to_owned();
        let revision = r.u32("revision")?;
        let n = r.count("heads", MAX_HEADS, 32)?;
        let mut heads = Vec::with_capacity(n);
        for _ in 0..n {
            heads.push(r.fixed::<32>("heads")?);
        }
        if !heads.windows(2).all(|w| w[0] < w[1]) {
            return Err(DecodeError::Invalid {
                field: "heads",
                reason: "not sorted and unique",
            }
            .into());
        }
        let content_sha256 = r.fixed("content_sha256")?;
        let n = r.count("attachments", MAX_ATTACHMENTS, 40)?;
        let mut attachments = Vec::with_capacity(n);
        for _ in 0..n {
            attachments.push(AttachmentDigest {
                sha256: r.fixed("attachments.sha256")?,
                size: r.u64("attachments.size")?,
            });
        }
        if !attachments.windows(2).all(|w| w[0].sha256 < w[1].sha256) {
            return Err(DecodeError::Invalid {
                field: "attachments",
                reason: "not sorted and unique",
            }
            .into());
        }
        let device_key = r.fixed("device_key")?;
        let sealed_at_ms = r.i64("sealed_at_ms")?;
        let certificate_serial = if version == PAYLOAD_VERSION_CERT {
            Some(r.u64("certificate_serial")?)
        } else {
            None
        };
        r.end()?;
        Ok(Self {
            enterprise_uscc,
            application_id,
            application_no,
            revision,
            heads,
            content_sha256,
            attachments,
            device_key,
            sealed_at_ms,
            certificate_serial,
        })
    }

    /// The exact bytes the device signs.
    pub fn signing_message(encoded_payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(SEAL_TAG.len() + 1 + encoded_payload.len());
        m.extend_from_slice(SEAL_TAG);
        m.push(0);
        m.extend_from_slice(encoded_payload);
        m
    }
}

impl SealedSubmission {
    /// Seals `payload` with `key`; `content` must be the canonical content it names.
    pub fn seal(payload: &SealPayload, content: Vec<u8>, key: &SigningKey) -> Self {
        debug_assert_eq!(payload.device_key, key.verifying_key().to_bytes());
        let encoded = payload.encode();
        let signature = key.sign(&SealPayload::signing_message(&encoded)).to_bytes();
        Self {
            payload: encoded,
            signature,
            content,
        }
    }

    /// SHA-256 of the encoded payload: the seal's identity.
    pub fn seal_hash(&self) -> [u8; 32] {
        sha256(&self.payload)
    }

    /// The envelope's canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(ENVELOPE_VERSION)
            .bytes(&self.payload)
            .fixed(&self.signature)
            .bytes(&self.content);
        w.finish()
    }

    /// Decodes an envelope (without verifying it).
    pub fn decode(bytes: &[u8]) -> Result<Self, SealError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("envelope_version")?;
        if version != ENVELOPE_VERSION {
            return Err(SealError::Version(version));
        }
        let payload = r.bytes("payload", 64 * 1024)?.to_vec();
        let signature = r.fixed("signature")?;
        let content = r.bytes("content", MAX_CONTENT)?.to_vec();
        r.end()?;
        Ok(Self {
            payload,
            signature,
            content,
        })
    }

    /// Checks the signature by `device_key` and that the content is what was sealed.
    /// Attachments are not checked; see [`verify`] for the whole check.
    pub fn verify_signature(&self, device_key: &[u8; 32]) -> Result<SealPayload, SealError> {
        let payload = SealPayload::decode(&self.payload)?;
        if &payload.device_key != device_key {
            return Err(SealError::WrongKey);
        }
        let key = VerifyingKey::from_bytes(device_key).map_err(|_| SealError::BadKey)?;
        let sig = Signature::from_bytes(&self.signature);
        key.verify_strict(&SealPayload::signing_message(&self.payload), &sig)
            .map_err(|_| SealError::BadSignature)?;
        if sha256(&self.content) != payload.content_sha256 {
            return Err(SealError::ContentMismatch);
        }
        Ok(payload)
    }
}

/// Verifies a sealed submission against a device key and the attachment bytes, which
/// `attachment` looks up by SHA-256. Returns the verified payload.
pub fn verify(
    submission: &SealedSubmission,
    device_key: &[u8; 32],
    mut attachment: impl FnMut(&[u8; 32]) -> Option<Vec<u8>>,
) -> Result<SealPayload, SealError> {
    let payload = submission.verify_signature(device_key)?;
    for a in &payload.attachments {
        let name = hex::encode(a.sha256);
        let bytes =
            attachment(&a.sha256).ok_or_else(|| SealError::AttachmentMissing(name.clone()))?;
        if bytes.len() as u64 != a.size || sha256(&bytes) != a.sha256 {
            return Err(SealError::AttachmentMismatch(name));
        }
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn sample() -> (SealedSubmission, Vec<u8>) {
        let att = b"contract scan".to_vec();
        let form = ApplicationForm {
            exporter_name: "测试企业".into(),
            ..Default::default()
        };
        let content = canonical_content(&form);
        let payload = SealPayload {
            enterprise_uscc: "91350100M000100Y43".into(),
            application_id: DocId([1; 16]),
            application_no: "249999400000560600096".into(),
            revision: 1,
            heads: vec![[2; 32], [3; 32]],
            content_sha256: sha256(&content),
            attachments: vec![AttachmentDigest {
                sha256: sha256(&att),
                size: att.len() as u64,
            }],
            device_key: key().verifying_key().to_bytes(),
            sealed_at_ms: 1_700_000_000_000,
            certificate_serial: None,
        };
        (SealedSubmission::seal(&payload, content, &key()), att)
    }

    #[test]
    fn seal_round_trips_and_verifies() {
        let (sub, att) = sample();
        let decoded = SealedSubmission::decode(&sub.encode()).unwrap();
        assert_eq!(decoded, sub);
        let pk = key().verifying_key().to_bytes();
        let p = verify(&decoded, &pk, |_| Some(att.clone())).unwrap();
        assert_eq!(p.revision, 1);
    }

    #[test]
    fn any_single_bit_flip_of_the_envelope_fails() {
        let (sub, att) = sample();
        let pk = key().verifying_key().to_bytes();
        let bytes = sub.encode();
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            let ok = SealedSubmission::decode(&b)
                .and_then(|s| verify(&s, &pk, |_| Some(att.clone())))
                .is_ok();
            assert!(!ok, "bit {i} flipped still verifies");
        }
    }

    #[test]
    fn changed_attachment_or_content_is_named() {
        let (mut sub, att) = sample();
        let pk = key().verifying_key().to_bytes();
        assert!(matches!(
            verify(&sub, &pk, |_| Some(b"other".to_vec())),
            Err(SealError::AttachmentMismatch(_))
        ));
        assert!(matches!(
            verify(&sub, &pk, |_| None),
            Err(SealError::AttachmentMissing(_))
        ));
        sub.content.push(b' ');
        assert_eq!(
            verify(&sub, &pk, |_| Some(att.clone())),
            Err(SealError::ContentMismatch)
        );
        let other = SigningKey::from_bytes(&[8u8; 32])
            .verifying_key()
            .to_bytes();
        assert_eq!(sub.verify_signature(&other), Err(SealError::WrongKey));
    }
}

#[cfg(test)]
mod vectors {
    //! The committed test vector `vectors/seal-v1.json` must stay byte-identical.
    use super::*;

    fn vector() -> (SealedSubmission, SigningKey) {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let form = ApplicationForm {
            exporter_name: "厦门示例化工进出口有限公司".into(),
            commodity_code: "2918140000".into(),
            ..Default::default()
        };
        let content = canonical_content(&form);
        let att = b"contract".to_vec();
        let payload = SealPayload {
            enterprise_uscc: "913502000728319549".into(),
            application_id: DocId([0x11; 16]),
            application_no: "269999400000560600000".into(),
            revision: 1,
            heads: vec![[0x22; 32]],
            content_sha256: sha256(&content),
            attachments: vec![AttachmentDigest {
                sha256: sha256(&att),
                size: att.len() as u64,
            }],
            device_key: key.verifying_key().to_bytes(),
            sealed_at_ms: 1_764_000_000_000,
            certificate_serial: None,
        };
        (SealedSubmission::seal(&payload, content, &key), key)
    }

    /// The same seal in version 2, naming certificate serial 7.
    fn vector_v2() -> SealedSubmission {
        let (v1, key) = vector();
        let mut payload = SealPayload::decode(&v1.payload).unwrap();
        payload.certificate_serial = Some(7);
        SealedSubmission::seal(&payload, v1.content, &key)
    }

    #[test]
    fn seal_v2_vector_is_stable_and_names_its_certificate() {
        let sub = vector_v2();
        let json = serde_json::json!({
            "description": "exlic/seal/v1 payload version 2 (names the certificate in force at sealing, serial 7): otherwise as seal-v1.json",
            "payload_hex": hex::encode(&sub.payload),
            "signature_hex": hex::encode(sub.signature),
            "envelope_hex": hex::encode(sub.encode()),
        });
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/seal-v2.json");
        let text = serde_json::to_string_pretty(&json).unwrap() + "\n";
        if std::env::var_os("EXLIC_WRITE_VECTORS").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(path)
            .expect("vectors/seal-v2.json (EXLIC_WRITE_VECTORS=1 writes it)");
        assert_eq!(committed, text, "the seal encoding changed");
        let payload = SealPayload::decode(&sub.payload).unwrap();
        assert_eq!(payload.certificate_serial, Some(7));
        assert_eq!(sub.payload[0], PAYLOAD_VERSION_CERT);
        // Version 1 still decodes, naming no certificate.
        let (v1, _) = vector();
        assert_eq!(
            SealPayload::decode(&v1.payload).unwrap().certificate_serial,
            None
        );
    }

    #[test]
    fn seal_v1_vector_is_stable() {
        let (sub, key) = vector();
        let json = serde_json::json!({
            "description": "exlic/seal/v1: ed25519 seed 0x07*32; attachment bytes are the ASCII string 'contract'",
            "device_public_key": hex::encode(key.verifying_key().to_bytes()),
            "attachment_hex": hex::encode(b"contract"),
            "payload_hex": hex::encode(&sub.payload),
            "signing_message_hex": hex::encode(SealPayload::signing_message(&sub.payload)),
            "signature_hex": hex::encode(sub.signature),
            "envelope_hex": hex::encode(sub.encode()),
        });
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/seal-v1.json");
        let text = serde_json::to_string_pretty(&json).unwrap() + "\n";
        if std::env::var_os("EXLIC_WRITE_VECTORS").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(path)
            .expect("vectors/seal-v1.json (EXLIC_WRITE_VECTORS=1 writes it)");
        assert_eq!(
            committed, text,
            "the seal encoding changed; that breaks every verifier"
        );
        let env =
            SealedSubmission::decode(&hex::decode(json["envelope_hex"].as_str().unwrap()).unwrap())
                .unwrap();
        verify(&env, &key.verifying_key().to_bytes(), |_| {
            Some(b"contract".to_vec())
        })
        .unwrap();
    }
}
