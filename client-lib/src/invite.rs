//! The enrolment tokens: everything an enterprise node (`exlic/invite/v1`) or a customs
//! node (`exlic/customs-invite/v1`) needs to find, trust and enrol with its office, in one
//! string the office hands out.
//!
//! Text form: `EXLIC1-` (customs: `EXLICC1-`) followed by lowercase hex of the signed object. The secret inside
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

/// Signature tag of customs invites.
pub const CUSTOMS_TAG: &[u8] = b"exlic/customs-invite/v1";
/// Prefix of a customs invite's text form.
pub const CUSTOMS_PREFIX: &str = "EXLICC1-";

/// An invitation to enrol a customs node (海关) of one customs district with an office,
/// whose licences it will check (`exlic/customs-invite/v1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomsInvite {
    /// The office's identity key (its libp2p identity, the customs node's trust root).
    pub authority_key: [u8; 32],
    /// Multiaddresses the office listens on.
    pub addrs: Vec<String>,
    /// The customs district (关区) code, 4 digits.
    pub district: String,
    /// The district's name.
    pub district_name: String,
    /// One-time secret.
    pub secret: [u8; 32],
    /// The invite is refused after this time (office clock, Unix ms).
    pub expires_at_ms: i64,
    /// The office's agency code (发证机构代码), which its licence numbers carry: how a
    /// customs node enrolled with several offices knows which office a licence is of.
    /// Empty in a version-1 token (before customs could follow several offices).
    pub agency_code: String,
}

impl CustomsInvite {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(2).fixed(&self.authority_key).count(self.addrs.len());
        for a in &self.addrs {
            w.str(a);
        }
        w.str(&self.district)
            .str(&self.district_name)
            .fixed(&self.secret)
            .i64(self.expires_at_ms)
            .str(&self.agency_code);
        w.finish()
    }

    fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let version = r.u8("version")?;
        if !(1..=2).contains(&version) {
            return Err(DecodeError::Invalid {
                field: "version",
                reason: "unknown format version",
            });
        }
        let authority_key = r.fixed("authority_key")?;
        let n = r.count("addrs", 16, 4)?;
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            addrs.push(r.str("addrs", 256)?.to_owned());
        }
        let out = Self {
            authority_key,
            addrs,
            district: r.str("district", 8)?.to_owned(),
            district_name: r.str("district_name", 200)?.to_owned(),
            secret: r.fixed("secret")?,
            expires_at_ms: r.i64("expires_at_ms")?,
            agency_code: if version == 2 {
                r.str("agency_code", 8)?.to_owned()
            } else {
                String::new()
            },
        };
        r.end()?;
        Ok(out)
    }

    /// Signs and renders the token text.
    pub fn to_token(&self, key: &ed25519_dalek::SigningKey) -> String {
        format!(
            "{CUSTOMS_PREFIX}{}",
            hex::encode(signed::sign(CUSTOMS_TAG, &self.encode(), key))
        )
    }

    /// Parses a token and checks it is signed by the key it names.
    pub fn from_token(token: &str) -> Result<Self, InviteError> {
        let hexpart = token
            .trim()
            .strip_prefix(CUSTOMS_PREFIX)
            .ok_or(InviteError::Syntax)?;
        let bytes = hex::decode(hexpart).map_err(|_| InviteError::Syntax)?;
        let claimed = Self::decode(signed::peek(&bytes)?).map_err(SignedError::from)?;
        let payload = signed::open(CUSTOMS_TAG, &bytes, &claimed.authority_key)?;
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

    #[test]
    fn customs_tokens_round_trip_and_are_not_enterprise_tokens() {
        let k = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let i = CustomsInvite {
            authority_key: k.verifying_key().to_bytes(),
            addrs: vec!["/ip4/127.0.0.1/tcp/7300".into()],
            district: "2200".into(),
            district_name: "上海关区".into(),
            secret: [9; 32],
            expires_at_ms: 10,
            agency_code: "31".into(),
        };
        let t = i.to_token(&k);
        assert_eq!(CustomsInvite::from_token(&t).unwrap(), i);
        // A version-1 token (no agency code) is still read.
        let mut v1 = i.encode();
        v1[0] = 1;
        v1.truncate(v1.len() - 4 - 2); // the code: its four-byte length and two bytes
        let v1 = format!(
            "{CUSTOMS_PREFIX}{}",
            hex::encode(signed::sign(CUSTOMS_TAG, &v1, &k))
        );
        let read = CustomsInvite::from_token(&v1).unwrap();
        assert_eq!(read.agency_code, "");
        assert_eq!(read.district, i.district);
        assert_eq!(Invite::from_token(&t), Err(InviteError::Syntax));
        let as_enterprise = format!("{PREFIX}{}", t.strip_prefix(CUSTOMS_PREFIX).unwrap());
        assert!(Invite::from_token(&as_enterprise).is_err());
    }
}
