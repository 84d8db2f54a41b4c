//! The authority's signed receipt of a submission (`exlic/receipt/v1`): proof that the
//! authority verified and recorded a seal at its own clock's time.

use crate::certificate::Trust;
use crate::encoding::{DecodeError, Reader, Writer};
use crate::ids::DocId;
use crate::signed::{self, SignedError};

/// Signature tag of receipts.
pub const TAG: &[u8] = b"exlic/receipt/v1";

/// What the authority attests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// SHA-256 of the seal payload received.
    pub seal_hash: [u8; 32],
    /// The application.
    pub application_id: DocId,
    /// 申请表号.
    pub application_no: String,
    /// The revision received.
    pub revision: u32,
    /// The enterprise.
    pub enterprise_uscc: String,
    /// The authority's clock at receipt, Unix ms: the time every validity check uses.
    pub received_at_ms: i64,
    /// The authority key that signs.
    pub authority_key: [u8; 32],
}

impl Receipt {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .fixed(&self.seal_hash)
            .fixed(self.application_id.as_bytes())
            .str(&self.application_no)
            .u32(self.revision)
            .str(&self.enterprise_uscc)
            .i64(self.received_at_ms)
            .fixed(&self.authority_key);
        w.finish()
    }

    /// Decodes.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let out = Self {
            seal_hash: r.fixed("seal_hash")?,
            application_id: DocId(r.fixed("application_id")?),
            application_no: r.str("application_no", 64)?.to_owned(),
            revision: r.u32("revision")?,
            enterprise_uscc: r.str("enterprise_uscc", 64)?.to_owned(),
            received_at_ms: r.i64("received_at_ms")?,
            authority_key: r.fixed("authority_key")?,
        };
        r.end()?;
        Ok(out)
    }

    /// Signs with the authority key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        signed::sign(TAG, &self.encode(), key)
    }

    /// Checks a signed receipt against the authority key.
    pub fn verify(carried: &[u8], authority_key: &[u8; 32]) -> Result<Self, SignedError> {
        let payload = signed::open(TAG, carried, authority_key)?;
        let r = Self::decode(payload)?;
        if &r.authority_key != authority_key {
            return Err(SignedError::BadSignature);
        }
        Ok(r)
    }

    /// Checks a signed receipt against a chain of authority keys: it must be signed by the
    /// key it names, and that key must have been the authority's key at `received_at_ms`.
    pub fn verify_trusted(carried: &[u8], trust: &Trust) -> Result<Self, SignedError> {
        let claimed = Self::decode(signed::peek(carried)?)?;
        if !trust.valid_at(&claimed.authority_key, claimed.received_at_ms) {
            return Err(SignedError::BadSignature);
        }
        Self::verify(carried, &claimed.authority_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_verify_only_under_their_tag_and_key() {
        let k = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let pk = k.verifying_key().to_bytes();
        let r = Receipt {
            seal_hash: [1; 32],
            application_id: DocId([2; 16]),
            application_no: "1".repeat(21),
            revision: 1,
            enterprise_uscc: "913502000728319549".into(),
            received_at_ms: 5,
            authority_key: pk,
        };
        let s = r.sign(&k);
        assert_eq!(Receipt::verify(&s, &pk).unwrap(), r);
        let other = signed::sign(b"exlic/invite/v1", &r.encode(), &k);
        assert_eq!(Receipt::verify(&other, &pk), Err(SignedError::BadSignature));
        let mut bad = s;
        bad[10] ^= 1;
        assert!(Receipt::verify(&bad, &pk).is_err());
    }
}
