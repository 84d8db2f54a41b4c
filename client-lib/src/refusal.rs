//! The authority's signed refusal of a submission at receipt (`exlic/refusal/v1`): the
//! office re-checked the sealed form against its own reference data and clock and names
//! every rule that failed, field by field. The enterprise verifies it like a receipt and
//! shows each finding beside its field; the application is editable again.

use crate::certificate::Trust;
use crate::encoding::{DecodeError, Reader, Writer};
use crate::error::{FieldError, Severity};
use crate::ids::DocId;
use crate::signed::{self, SignedError};

/// Signature tag of refusals.
pub const TAG: &[u8] = b"exlic/refusal/v1";
/// Most findings one refusal carries.
pub const MAX_FINDINGS: usize = 256;

/// What the authority attests it refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// SHA-256 of the seal payload refused.
    pub seal_hash: [u8; 32],
    /// The application.
    pub application_id: DocId,
    /// 申请表号.
    pub application_no: String,
    /// The revision refused.
    pub revision: u32,
    /// The enterprise.
    pub enterprise_uscc: String,
    /// The authority's clock when it checked, Unix ms.
    pub refused_at_ms: i64,
    /// Every rule that failed (errors) and what it noted (warnings).
    pub findings: Vec<FieldError>,
    /// The authority key that signs.
    pub authority_key: [u8; 32],
}

impl Refusal {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .fixed(&self.seal_hash)
            .fixed(self.application_id.as_bytes())
            .str(&self.application_no)
            .u32(self.revision)
            .str(&self.enterprise_uscc)
            .i64(self.refused_at_ms)
            .count(self.findings.len());
        for f in &self.findings {
            w.str(&f.field)
                .str(&f.rule)
                .str(&f.message)
                .u8(match f.severity {
                    Severity::Error => 1,
                    Severity::Warning => 2,
                });
        }
        w.fixed(&self.authority_key);
        w.finish()
    }

    /// Decodes, refusing anything malformed or over a limit.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let seal_hash = r.fixed("seal_hash")?;
        let application_id = DocId(r.fixed("application_id")?);
        let application_no = r.str("application_no", 64)?.to_owned();
        let revision = r.u32("revision")?;
        let enterprise_uscc = r.str("enterprise_uscc", 64)?.to_owned();
        let refused_at_ms = r.i64("refused_at_ms")?;
        let n = r.count("findings", MAX_FINDINGS, 4)?;
        let mut findings = Vec::with_capacity(n);
        for _ in 0..n {
            findings.push(FieldError {
                field: r.str("findings.field", 128)?.to_owned(),
                rule: r.str("findings.rule", 16)?.to_owned(),
                message: r.str("findings.message", 1024)?.to_owned(),
                severity: match r.u8("findings.severity")? {
                    1 => Severity::Error,
                    2 => Severity::Warning,
                    _ => {
                        return Err(DecodeError::Invalid {
                            field: "findings.severity",
                            reason: "unknown",
                        });
                    }
                },
            });
        }
        let out = Self {
            seal_hash,
            application_id,
            application_no,
            revision,
            enterprise_uscc,
            refused_at_ms,
            findings,
            authority_key: r.fixed("authority_key")?,
        };
        r.end()?;
        Ok(out)
    }

    /// Signs with the authority key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        signed::sign(TAG, &self.encode(), key)
    }

    /// Checks a signed refusal against a chain of authority keys: it must be signed by the
    /// key it names, and that key must have been the authority's key when it refused.
    pub fn verify_trusted(carried: &[u8], trust: &Trust) -> Result<Self, SignedError> {
        signed::open_dated(TAG, carried, trust, Self::decode, |r| {
            (r.authority_key, r.refused_at_ms)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_round_trip_and_verify_only_under_their_tag_and_key() {
        let k = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let pk = k.verifying_key().to_bytes();
        let r = Refusal {
            seal_hash: [1; 32],
            application_id: DocId([2; 16]),
            application_no: "1".repeat(21),
            revision: 2,
            enterprise_uscc: "913502000728319549".into(),
            refused_at_ms: 5,
            findings: vec![FieldError {
                field: "goods[0].unit".into(),
                rule: "V14".into(),
                message: "not the catalogue's unit".into(),
                severity: Severity::Error,
            }],
            authority_key: pk,
        };
        assert_eq!(Refusal::decode(&r.encode()).unwrap(), r);
        let trust = Trust::new(pk);
        let s = r.sign(&k);
        assert_eq!(Refusal::verify_trusted(&s, &trust).unwrap(), r);
        let receipt_tag = signed::sign(b"exlic/receipt/v1", &r.encode(), &k);
        assert!(Refusal::verify_trusted(&receipt_tag, &trust).is_err());
        let other = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        assert!(Refusal::verify_trusted(&r.sign(&other), &trust).is_err());
        let mut bad = s;
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(Refusal::verify_trusted(&bad, &trust).is_err());
    }
}
