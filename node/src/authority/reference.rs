//! The reference data the office decides on, published as signed, numbered releases in its
//! public document, which every enrolled enterprise syncs and validates against.
//!
//! At start a lone office puts in force its newest release, unless its own files
//! (`[reference] dir`, else the built-in data) changed since they were last seen: then
//! those files become the next release. A replica never publishes on its own at start
//! (the others would not have it): it puts the office's newest release in force. An
//! administrator publishes a new year's catalogue (or new code lists) from a file, as a
//! command every replica applies ([`apply_publish`]); the release holds every file, so
//! each one is complete on its own.

use std::sync::Arc;

use exlic_client::DocId;
use exlic_client::reference_release::{self, ReferenceRelease};

use super::AuthorityError;
use super::command::{Op, Outcome};
use super::directory::edit_public_doc;
use super::office::Office;
use crate::domain::reference::Reference;
use crate::store::{Txn, WriteBatch, audit, directory_doc, docs, meta_get, meta_put};

/// The digest of the office's own files when they were last published or seen.
const META_SOURCE_DIGEST: &str = "reference_source_digest";

/// The office's reference releases.
#[derive(Debug, Clone)]
pub struct ReferencePublisher {
    pub(super) office: Arc<Office>,
}

/// A release as shown to staff.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReleaseInfo {
    /// Release number.
    pub number: u32,
    /// Publication time, Unix ms.
    pub published_at_ms: i64,
    /// The note published with it.
    pub note: String,
    /// Its files: name and size in bytes.
    pub files: Vec<(String, usize)>,
    /// The quota years with a catalogue of their own.
    pub catalogue_years: Vec<u16>,
    /// The code lists' version.
    pub codes_version: String,
}

/// The signed release in the office's public document, as `txn` sees it.
fn signed_in(office: &Office, txn: &impl Txn) -> Result<Option<Vec<u8>>, AuthorityError> {
    Ok(docs::load(txn, directory_doc::id(&office.root_key()))?
        .and_then(|d| directory_doc::read_reference(&d)))
}

/// The release in force as `txn` sees it, if it verifies under the office's chain.
fn stored_in(office: &Office, txn: &impl Txn) -> Result<Option<ReferenceRelease>, AuthorityError> {
    let Some(signed) = signed_in(office, txn)? else {
        return Ok(None);
    };
    Ok(ReferenceRelease::verify_trusted(&signed, &office.trust()).ok())
}

/// Applies a release of `files` (the whole set, checked by the replica that took it),
/// dated `at_ms`: signs it as the next number, writes it to the public document (queued
/// for every enterprise) with an audit row, and puts it in force.
pub(super) fn apply_publish(
    office: &Office,
    w: &mut WriteBatch<'_>,
    at_ms: i64,
    files: &[(String, String)],
    note: &str,
    actor: &str,
) -> Result<Outcome, AuthorityError> {
    let data = Reference::from_sources(files.to_vec())
        .map_err(|e| AuthorityError::bad_input("file", e.to_string()))?;
    // Read through the batch: an earlier release in the same batch is in its documents.
    let number = w
        .doc(directory_doc::id(&office.root_key()))?
        .and_then(|d| directory_doc::read_reference(d))
        .and_then(|signed| ReferenceRelease::verify_trusted(&signed, &office.trust()).ok())
        .map_or(1, |r| r.number + 1);
    let (now, key) = office.signer_at(at_ms);
    let release = ReferenceRelease {
        number,
        published_at_ms: now,
        note: note.to_owned(),
        files: data.sources().to_vec(),
        authority_key: key.verifying_key().to_bytes(),
    };
    let signed = release.sign(&key);
    edit_public_doc(w, &office.root_key(), |doc| {
        directory_doc::write_reference(doc, &signed)
    })?;
    ReferencePublisher::audit(w, now, actor, number, note)?;
    let data = Reference::from_release(&release)
        .map_err(|e| AuthorityError::bad_input("file", e.to_string()))?;
    tracing::info!(release = number, label = %data.label(), "reference data published");
    office.reference.set(Arc::new(data));
    Ok(Outcome::ReferencePublished { number })
}

impl ReferencePublisher {
    /// The data in force.
    pub fn current(&self) -> Arc<Reference> {
        self.office.reference()
    }

    /// The release in force, if one was published.
    pub fn release(&self) -> Result<Option<ReleaseInfo>, AuthorityError> {
        let Some(r) = self.stored()? else {
            return Ok(None);
        };
        let data = self.office.reference();
        Ok(Some(ReleaseInfo {
            number: r.number,
            published_at_ms: r.published_at_ms,
            note: r.note,
            files: r.files.iter().map(|(n, t)| (n.clone(), t.len())).collect(),
            catalogue_years: data.data().catalogues.iter().map(|c| c.year).collect(),
            codes_version: data.version().into(),
        }))
    }

    /// The signed release in force, as carried to enterprises.
    pub fn signed(&self) -> Result<Option<Vec<u8>>, AuthorityError> {
        signed_in(&self.office, &self.office.store.read()?)
    }

    fn stored(&self) -> Result<Option<ReferenceRelease>, AuthorityError> {
        stored_in(&self.office, &self.office.store.read()?)
    }

    /// Puts the newest release in force at start, or on a lone office (`publish_own`)
    /// publishes `own` (the office's own files) as the next release when they changed
    /// since they were last seen.
    pub(super) fn start(
        &self,
        own: Arc<Reference>,
        publish_own: bool,
    ) -> Result<(), AuthorityError> {
        let seen = meta_get(&self.office.store.read()?, META_SOURCE_DIGEST)?;
        let stored = self.stored()?;
        let unchanged = seen.as_deref() == Some(own.digest().as_slice());
        if !publish_own {
            if !unchanged {
                tracing::warn!(
                    "this replica's reference files differ from the office's release in force; they are not published from one replica: publish them on the 参考数据 screen"
                );
            }
            return match &stored {
                Some(r) => {
                    self.office
                        .reference
                        .set(Arc::new(Reference::from_release(r).map_err(|e| {
                            AuthorityError::wrong_state("reference", e.to_string())
                        })?));
                    Ok(())
                }
                None => Ok(()),
            };
        }
        if let Some(r) = &stored
            && unchanged
        {
            match Reference::from_release(r) {
                Ok(data) => {
                    self.office.reference.set(Arc::new(data));
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(release = r.number, error = %e, "the stored reference release does not load; publishing the office's own files")
                }
            }
        }
        let note = if stored.is_none() {
            "本机构参考数据（首次发布）"
        } else {
            "本机构参考数据文件已更新"
        };
        let (now, _) = self.office.signer();
        let mut w = self.office.store.write()?;
        apply_publish(&self.office, &mut w, now, own.sources(), note, "system")?;
        meta_put(&w, META_SOURCE_DIGEST, &own.digest())?;
        w.commit()?;
        Ok(())
    }

    /// Publishes the current files with `files` replacing (or adding) those of the same
    /// name: `codes.json` or `catalogue-YYYY.json`. Refused, with nothing changed, when a
    /// file is named otherwise, does not load, or changes nothing.
    pub fn publish(
        &self,
        files: Vec<(String, String)>,
        note: &str,
        actor: &str,
    ) -> Result<u32, AuthorityError> {
        let note = note.trim();
        if note.chars().count() > reference_release::MAX_NOTE / 3 {
            return Err(AuthorityError::bad_input(
                "note",
                format!("at most {} characters", reference_release::MAX_NOTE / 3),
            ));
        }
        if files.is_empty() {
            return Err(AuthorityError::bad_input(
                "file",
                "choose a file to publish",
            ));
        }
        let current = self.office.reference();
        let mut all: Vec<(String, String)> = current.sources().to_vec();
        for (name, text) in files {
            let name = name.trim().to_owned();
            let valid = name == "codes.json"
                || name
                    .strip_prefix("catalogue-")
                    .and_then(|r| r.strip_suffix(".json"))
                    .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()));
            if !valid {
                return Err(AuthorityError::bad_input(
                    "file",
                    format!("{name}: must be named codes.json or catalogue-YYYY.json"),
                ));
            }
            if text.len() > reference_release::MAX_FILE {
                return Err(AuthorityError::bad_input(
                    "file",
                    format!(
                        "{name}: larger than {} KiB",
                        reference_release::MAX_FILE >> 10
                    ),
                ));
            }
            all.retain(|(n, _)| *n != name);
            all.push((name, text));
        }
        let data = Reference::from_sources(all)
            .map_err(|e| AuthorityError::bad_input("file", e.to_string()))?;
        if data.digest() == current.digest() {
            return Err(AuthorityError::wrong_state(
                "file",
                "the files are the same as the release in force",
            ));
        }
        let note = if note.is_empty() { "published" } else { note };
        match self.office.run(Op::PublishReference {
            files: data.sources().to_vec(),
            note: note.to_owned(),
            actor: actor.to_owned(),
        })? {
            Outcome::ReferencePublished { number } => Ok(number),
            other => Err(Outcome::unexpected(other)),
        }
    }

    /// On a snapshot install: puts the installed office's release in force.
    pub(super) fn reload(office: &Office, txn: &impl Txn) -> Result<(), AuthorityError> {
        if let Some(r) = stored_in(office, txn)? {
            let data = Reference::from_release(&r)
                .map_err(|e| AuthorityError::wrong_state("reference", e.to_string()))?;
            office.reference.set(Arc::new(data));
        }
        Ok(())
    }

    fn audit(
        w: &WriteBatch<'_>,
        now: i64,
        actor: &str,
        number: u32,
        note: &str,
    ) -> Result<(), AuthorityError> {
        audit::append(
            w,
            now,
            actor,
            DocId([0; 16]),
            "reference.publish",
            &format!("@release={number};note={note}"),
        )?;
        Ok(())
    }
}
