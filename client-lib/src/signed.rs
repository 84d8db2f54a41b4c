//! Signed objects other than seals: `tag || 0x00 || payload`, signed with ed25519 and
//! carried as `bytes payload || fixed[64] signature`. Each object type has its own tag, so
//! a signature of one kind never passes as another.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::encoding::{DecodeError, Reader, Writer};

/// Why a signed object does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignedError {
    /// Malformed.
    #[error("malformed: {0}")]
    Decode(#[from] DecodeError),
    /// Not a valid ed25519 key.
    #[error("signer key is not a valid ed25519 public key")]
    BadKey,
    /// The signature does not verify under this tag and key.
    #[error("signature does not verify")]
    BadSignature,
}

fn message(tag: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(tag.len() + 1 + payload.len());
    m.extend_from_slice(tag);
    m.push(0);
    m.extend_from_slice(payload);
    m
}

/// Signs `payload` under `tag`; returns the carried form.
pub fn sign(tag: &[u8], payload: &[u8], key: &SigningKey) -> Vec<u8> {
    let sig = key.sign(&message(tag, payload)).to_bytes();
    let mut w = Writer::new();
    w.bytes(payload).fixed(&sig);
    w.finish()
}

/// Checks the carried form under `tag` and `key`; returns the payload.
pub fn open<'a>(tag: &[u8], carried: &'a [u8], key: &[u8; 32]) -> Result<&'a [u8], SignedError> {
    let mut r = Reader::new(carried);
    let payload = r.bytes("payload", 1 << 20)?;
    let sig: [u8; 64] = r.fixed("signature")?;
    r.end()?;
    let vk = VerifyingKey::from_bytes(key).map_err(|_| SignedError::BadKey)?;
    vk.verify_strict(&message(tag, payload), &Signature::from_bytes(&sig))
        .map_err(|_| SignedError::BadSignature)?;
    Ok(payload)
}

/// Opens an object that names the key that signed it and when (a refusal, a reference
/// release): that key must have been in `trust`'s chain at that time, the signature under
/// `tag` must verify with it, and the signed payload must be the one read before checking.
pub fn open_dated<T: PartialEq>(
    tag: &[u8],
    carried: &[u8],
    trust: &crate::certificate::Trust,
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
    signer: impl Fn(&T) -> ([u8; 32], i64),
) -> Result<T, SignedError> {
    let claimed = decode(peek(carried)?)?;
    let (key, at_ms) = signer(&claimed);
    if !trust.valid_at(&key, at_ms) {
        return Err(SignedError::BadSignature);
    }
    let opened = decode(open(tag, carried, &key)?)?;
    if opened != claimed {
        return Err(SignedError::BadSignature);
    }
    Ok(opened)
}

/// The payload without checking the signature (to read who claims to have signed).
pub fn peek(carried: &[u8]) -> Result<&[u8], SignedError> {
    let mut r = Reader::new(carried);
    let payload = r.bytes("payload", 1 << 20)?;
    let _: [u8; 64] = r.fixed("signature")?;
    r.end()?;
    Ok(payload)
}
