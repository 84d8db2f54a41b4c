//! Authority key rollover: a new signing key certified by the current one, effective from
//! now, recorded in order and published to every enterprise in the public document.
//!
//! The identity key (see [`super::key_seed`]) stays the root every verifier starts from and
//! the node's libp2p identity; after a rollover it signs only enrolment tokens (whose
//! signature tag no verifier of licences, certificates or receipts accepts). Objects signed
//! before a rollover keep verifying through the chain; the retired key is discarded, and
//! anything claiming a time after its retirement under it is refused
//! (`exlic_client::certificate::Trust`).

use ed25519_dalek::SigningKey;
use exlic_client::DocId;
use exlic_client::authority::KeyEntry;
use exlic_client::certificate::{KeyRecord, key_id};

use super::command::{Op, Outcome};
use super::office::{Office, signing_state};
use super::{AuthorityError, META_SIGNING_KEY};
use crate::store::{WriteBatch, audit, directory_doc, key_records, meta_put};

/// Signing-key rollover and the key chain.
#[derive(Debug, Clone)]
pub struct Keys {
    pub(super) office: std::sync::Arc<super::office::Office>,
}

impl Keys {
    /// Every key rollover record, oldest first (what `exlic verify --rollover` takes).
    pub fn records(&self) -> Result<Vec<Vec<u8>>, AuthorityError> {
        Ok(key_records::all(&self.office.store.read()?)?)
    }

    /// The chain of keys, oldest first.
    pub fn chain(&self) -> Vec<KeyEntry> {
        self.office
            .trust()
            .keys()
            .iter()
            .map(|k| KeyEntry {
                key: hex::encode(k.key),
                key_id: hex::encode(key_id(&k.key)),
                from_ms: (k.from_ms != i64::MIN).then_some(k.from_ms),
                until_ms: (k.until_ms != i64::MAX).then_some(k.until_ms),
            })
            .collect()
    }

    /// Rolls the signing key over: a fresh key (drawn here, carried in the command so
    /// every replica takes the same one), certified by the current one and effective from
    /// the command's time, becomes the signing key in one durable transaction (the record,
    /// the new seed, the public document, the audit entry). Returns the new public key.
    pub fn roll(&self, actor: &str) -> Result<[u8; 32], AuthorityError> {
        let seed: [u8; 32] = crate::random::bytes();
        match self.office.run(Op::RollKey {
            actor: actor.to_owned(),
            seed,
        })? {
            Outcome::KeyRolled { key } => Ok(key),
            other => Err(Outcome::unexpected(other)),
        }
    }
}

/// Applies a rollover to `seed` at `at_ms`: the current key and chain are read from `w`
/// (not from memory, so a batch applied again after a refusal rolls from the same key),
/// and the office signs with the new key from the next object on.
pub(super) fn apply_roll(
    office: &Office,
    w: &mut WriteBatch<'_>,
    at_ms: i64,
    actor: &str,
    seed: &[u8; 32],
) -> Result<Outcome, AuthorityError> {
    let (old, mut next) = signing_state(&*w, &office.identity)?;
    let last_from = next.keys().last().map(|k| k.from_ms).unwrap_or(i64::MIN);
    let effective_ms = at_ms.max(last_from.saturating_add(1));
    let new = SigningKey::from_bytes(seed);
    let new_key = new.verifying_key().to_bytes();
    let record = KeyRecord {
        key_id: key_id(&old.verifying_key().to_bytes()),
        new_key,
        effective_ms,
    }
    .sign(&old);
    next.roll_over(&record)
        .map_err(|e| AuthorityError::wrong_state("key rollover", e.to_string()))?;
    key_records::append(w, &record)?;
    let records = key_records::all(&*w)?;
    meta_put(w, META_SIGNING_KEY, seed)?;
    super::directory::edit_public_doc(w, &office.root_key(), |doc| {
        directory_doc::write_keys(doc, &records)
    })?;
    audit::append(
        w,
        effective_ms,
        actor,
        DocId([0; 16]),
        "key.rotate",
        &format!(
            "{} → {}",
            hex::encode(key_id(&old.verifying_key().to_bytes())),
            hex::encode(key_id(&new_key))
        ),
    )?;
    *office.signing.write().unwrap_or_else(|p| p.into_inner()) = (new, next);
    tracing::info!(key_id = %hex::encode(key_id(&new_key)), "authority signing key rolled over");
    Ok(Outcome::KeyRolled { key: new_key })
}
