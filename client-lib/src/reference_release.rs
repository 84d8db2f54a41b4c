//! A release of the office's reference data (`exlic/reference/v1`): the code lists and
//! currency rates (`codes.json`) and the yearly 出口许可证管理货物目录 (`catalogue-YYYY.json`),
//! numbered and signed by the office that publishes them. Every enrolled enterprise syncs
//! the newest release and validates against it, offline; anyone can check which office
//! published which data, and when.

use crate::certificate::Trust;
use crate::encoding::{DecodeError, Reader, Writer};
use crate::signed::{self, SignedError};

/// Signature tag of reference releases.
pub const TAG: &[u8] = b"exlic/reference/v1";
/// Most files one release carries.
pub const MAX_FILES: usize = 64;
/// Longest file name.
pub const MAX_NAME: usize = 64;
/// Largest single file.
pub const MAX_FILE: usize = 256 * 1024;
/// Longest release note.
pub const MAX_NOTE: usize = 512;

/// One release of reference data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceRelease {
    /// The release number: 1 for the office's first, one more for each after.
    pub number: u32,
    /// When the office published it (its clock), Unix ms.
    pub published_at_ms: i64,
    /// What changed and where it comes from (e.g. the announcement it carries out).
    pub note: String,
    /// Every file of the data, by name, sorted by name: `codes.json` and
    /// `catalogue-YYYY.json`, each JSON text.
    pub files: Vec<(String, String)>,
    /// The office key that signs.
    pub authority_key: [u8; 32],
}

impl ReferenceRelease {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1)
            .u32(self.number)
            .i64(self.published_at_ms)
            .str(&self.note)
            .count(self.files.len());
        for (name, text) in &self.files {
            w.str(name).str(text);
        }
        w.fixed(&self.authority_key);
        w.finish()
    }

    /// Decodes, refusing anything malformed, over a limit, or with files out of order.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(1)?;
        let number = r.u32("number")?;
        let published_at_ms = r.i64("published_at_ms")?;
        let note = r.str("note", MAX_NOTE)?.to_owned();
        let n = r.count("files", MAX_FILES, 8)?;
        let mut files: Vec<(String, String)> = Vec::with_capacity(n);
        for _ in 0..n {
            let name = r.str("files.name", MAX_NAME)?.to_owned();
            let text = r.str("files.text", MAX_FILE)?.to_owned();
            if files.last().is_some_and(|(last, _)| *last >= name) {
                return Err(DecodeError::Invalid {
                    field: "files.name",
                    reason: "not sorted and unique",
                });
            }
            files.push((name, text));
        }
        let out = Self {
            number,
            published_at_ms,
            note,
            files,
            authority_key: r.fixed("authority_key")?,
        };
        r.end()?;
        Ok(out)
    }

    /// Signs with the office key.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        signed::sign(TAG, &self.encode(), key)
    }

    /// Checks a signed release against a chain of office keys: it must be signed by the key
    /// it names, and that key must have been the office's key when it was published.
    pub fn verify_trusted(carried: &[u8], trust: &Trust) -> Result<Self, SignedError> {
        signed::open_dated(TAG, carried, trust, Self::decode, |r| {
            (r.authority_key, r.published_at_ms)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: [u8; 32]) -> ReferenceRelease {
        ReferenceRelease {
            number: 2,
            published_at_ms: 1_796_000_000_000,
            note: "2028 目录".into(),
            files: vec![
                ("catalogue-2028.json".into(), "{\"year\":2028}".into()),
                ("codes.json".into(), "{}".into()),
            ],
            authority_key: key,
        }
    }

    #[test]
    fn releases_round_trip_and_verify_only_under_their_tag_and_key() {
        let k = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let pk = k.verifying_key().to_bytes();
        let r = sample(pk);
        assert_eq!(ReferenceRelease::decode(&r.encode()).unwrap(), r);
        let trust = Trust::new(pk);
        let s = r.sign(&k);
        assert_eq!(ReferenceRelease::verify_trusted(&s, &trust).unwrap(), r);
        let other_tag = signed::sign(b"exlic/refusal/v1", &r.encode(), &k);
        assert!(ReferenceRelease::verify_trusted(&other_tag, &trust).is_err());
        let other = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        assert!(ReferenceRelease::verify_trusted(&r.sign(&other), &trust).is_err());
        let mut bad = s;
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(ReferenceRelease::verify_trusted(&bad, &trust).is_err());
    }

    #[test]
    fn files_out_of_order_or_repeated_are_refused() {
        let mut r = sample([1; 32]);
        r.files.swap(0, 1);
        assert!(ReferenceRelease::decode(&r.encode()).is_err());
        let mut r = sample([1; 32]);
        r.files[1].0 = r.files[0].0.clone();
        assert!(ReferenceRelease::decode(&r.encode()).is_err());
    }
}
