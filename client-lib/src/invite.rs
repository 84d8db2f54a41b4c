//! The enrolment token (`exlic/invite/v1`): everything an enterprise node needs to find,
//! trust and enrol with its authority, in one string the authority hands out.
//!
//! Text form: `EXLIC1-` followed by lowercase hex of the signed object. The secret inside
//! is a one-time bearer credential: the authority stores only its hash.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::signed::{self, SignedError};

/// Signature tag of invites.
pub const TAG: &[u8] = b"exlic/invite/v1";
/// Prefix of the text form.
pub const PREFIX: &str = "EXLIC1-";

/// An invitation to enrol one device of one enterprise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The authority's signing key (also its libp2p identity).
    pub authority_key: [u8; 32],
    /// Multiaddresses the authority listens on, e.g. `/ip4/127.0.0.1/tcp/7300`.
    pub addrs: Vec<String>,
    /// The enterprise's USCC.
    pub enterprise_uscc: String,
    /// 企业名称.
    pub enterprise_name: String,
    /// Issuing agency code.
    pub agency_code: String,
    /// One-time secret.
    pub secret: [u8; 32],
    /// First 申请表号 of the block granted to this device.
    pub block_first: u128,
    /// Numbers in the block.
    pub block_len: u64,
    /// The invite is refused after this time (authority clock, Unix ms).
    pub expires_at_ms: i64,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InviteError {
    /// Not `EXLIC1-` + hex.
    #[error("not an exlic enrolment token (expected EXLIC1-…)")]
    Syntax,
    /// Malformed or badly signed.
    #[error("enrolment token: {0}")]
    Signed(#[from] SignedError),
}

impl Invite {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1).fixed(&self.authority_key).count(self.addrs.len());
        for a in &self.addrs {
            w.str(a);
        }
        w.str(&self.enterprise_uscc)
            .str(&self.enterprise_name)
            .str(&self.agency_code)
            .fixed(&self.secret)
            .fixed(&self.block_first.to_be_bytes())
            .u64(self.block_len)
            .i64(self.expires_at_ms);
        w.finish()
    }

    fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let authority_key = r.fixed("authority_key")?;
        let n = r.count("addrs", 16, 4)?;
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            addrs.push(r.str("addrs", 256)?.to_owned());
        }
        let out = Self {
            authority_key,
            addrs,
            enterprise_uscc: r.str("enterprise_uscc", 64)?.to_owned(),
            enterprise_name: r.str("enterprise_name", 400)?.to_owned(),
            agency_code: r.str("agency_code", 8)?.to_owned(),
            secret: r.fixed("secret")?,
            block_first: u128::from_be_bytes(r.fixed("block_first")?),
            block_len: r.u64("block_len")?,
            expires_at_ms: r.i64("expires_at_ms")?,
        };
        r.end()?;
        Ok(out)
    }

    /// Signs and renders the token text.
    pub fn to_token(&self, key: &ed25519_dalek::SigningKey) -> String {
        format!(
            "{PREFIX}{}",
            hex::encode(signed::sign(TAG, &self.encode(), key))
        )
    }

    /// Parses a token and checks it is signed by the key it names.
    pub fn from_token(token: &str) -> Result<Self, InviteError> {
        let hexpart = token
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(InviteError::Syntax)?;
        let bytes = hex::decode(hexpart).map_err(|_| InviteError::Syntax)?;
        let claimed = Self::decode(signed::peek(&bytes)?).map_err(SignedError::from)?;
        let payload = signed::open(TAG, &bytes, &claimed.authority_key)?;
        Ok(Self::decode(payload).map_err(SignedError::from)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_tampering_fails() {
        let k = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let i = Invite {
            authority_key: k.verifying_key().to_bytes(),
            addrs: vec!["/ip4/127.0.0.1/tcp/7300".into()],
            enterprise_uscc: "913502000728319549".into(),
            enterprise_name: "厦门示例化工进出口有限公司".into(),
            agency_code: "AA".into(),
            secret: [9; 32],
            block_first: 269_999_400_000_560_600_000,
            block_len: 1000,
            expires_at_ms: 10,
        };
        let t = i.to_token(&k);
        assert_eq!(Invite::from_token(&t).unwrap(), i);
        let mut bad = t.into_bytes();
        let n = bad.len() - 3;
        bad[n] = if bad[n] == b'0' { b'1' } else { b'0' };
        assert!(Invite::from_token(std::str::from_utf8(&bad).unwrap()).is_err());
        assert_eq!(Invite::from_token("hello"), Err(InviteError::Syntax));
    }
}
