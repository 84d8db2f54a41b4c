//! The text of an e-licence's QR code: the whole signed licence when it fits, else a
//! reference (licence number, SHA-256 of the file, signing key id) that a holder of the
//! file checks its copy against. FORMATS.md "The QR code of an e-licence" specifies both.

use base64::Engine as _;

use crate::licence::{Licence, valid_licence_no};

/// Prefix of the text that carries the whole signed licence file (base64url, unpadded).
pub const FULL_PREFIX: &str = "EXLIC-LIC1:";
/// Prefix of the reference form: `EXLIC-LICREF1:<licence no>:<sha256 hex>:<key id hex>`.
pub const REF_PREFIX: &str = "EXLIC-LICREF1:";

/// What a scanned QR code says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrPayload {
    /// The signed licence file itself, still to be verified.
    Full(Vec<u8>),
    /// A reference to a licence file the reader must already hold.
    Ref {
        /// The licence number.
        licence_no: String,
        /// SHA-256 of the signed file.
        sha256: [u8; 32],
        /// Id of the office key that signed it.
        key_id: [u8; 8],
    },
}

/// Why a QR text is not an exlic licence code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Neither prefix.
    #[error(
        "not the QR code of an e-licence (it starts with neither EXLIC-LIC1: nor EXLIC-LICREF1:)"
    )]
    NotLicence,
    /// The prefix is right, the rest is not.
    #[error("the QR code of an e-licence, damaged: {0}")]
    Damaged(&'static str),
}

/// The text carrying the whole file.
pub fn full_text(file: &[u8]) -> String {
    format!(
        "{FULL_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(file)
    )
}

/// The reference text for `l`, whose signed file is `file`.
pub fn ref_text(l: &Licence, file: &[u8]) -> String {
    format!(
        "{REF_PREFIX}{}:{}:{}",
        l.licence_no,
        hex::encode(crate::seal::sha256(file)),
        hex::encode(l.key_id)
    )
}

impl QrPayload {
    /// Parses a scanned text (surrounding whitespace ignored, as a scanner that types
    /// adds a newline).
    pub fn parse(text: &str) -> Result<Self, QrError> {
        let t = text.trim();
        if let Some(b) = t.strip_prefix(FULL_PREFIX) {
            let file = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(b)
                .map_err(|_| QrError::Damaged("the licence is not base64url"))?;
            return Ok(Self::Full(file));
        }
        let Some(r) = t.strip_prefix(REF_PREFIX) else {
            return Err(QrError::NotLicence);
        };
        let mut parts = r.split(':');
        let (Some(no), Some(sha), Some(key), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(QrError::Damaged("a reference has three parts"));
        };
        if !valid_licence_no(no) {
            return Err(QrError::Damaged("the licence number is malformed"));
        }
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(sha, &mut sha256)
            .map_err(|_| QrError::Damaged("the digest is not 64 hex digits"))?;
        let mut key_id = [0u8; 8];
        hex::decode_to_slice(key, &mut key_id)
            .map_err(|_| QrError::Damaged("the key id is not 16 hex digits"))?;
        Ok(Self::Ref {
            licence_no: no.to_owned(),
            sha256,
            key_id,
        })
    }

    /// Whether a held `file` is the one a reference names (a full code matches its own
    /// bytes only).
    pub fn matches(&self, file: &[u8]) -> bool {
        match self {
            Self::Full(f) => f == file,
            Self::Ref { sha256, .. } => crate::seal::sha256(file) == *sha256,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_round_trip_and_damage_is_named() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let l = crate::licence::Licence {
            key_id: crate::certificate::key_id(key.verifying_key().as_bytes()),
            ..crate::sample::licence()
        };
        let file = l.sign(&key);
        assert_eq!(
            QrPayload::parse(&format!("{}\n", full_text(&file))),
            Ok(QrPayload::Full(file.clone()))
        );
        let r = QrPayload::parse(&ref_text(&l, &file)).unwrap();
        assert!(r.matches(&file) && !r.matches(b"other"));
        assert!(matches!(&r, QrPayload::Ref { licence_no, .. } if *licence_no == l.licence_no));
        assert_eq!(QrPayload::parse("hello"), Err(QrError::NotLicence));
        assert!(matches!(
            QrPayload::parse("EXLIC-LIC1:***"),
            Err(QrError::Damaged(_))
        ));
        assert!(matches!(
            QrPayload::parse(&format!("{REF_PREFIX}26AA000001:00:00")),
            Err(QrError::Damaged(_))
        ));
    }
}
