//! The reference data the office decides on, published as signed, numbered releases in its
//! public document, which every enrolled enterprise syncs and validates against.
//!
//! At start the office puts in force its newest release, unless its own files
//! (`[reference] dir`, else the built-in data) changed since they were last seen: then
//! those files become the next release. An administrator publishes a new year's
//! catalogue (or new code lists) from a file; the release holds every file, so each one is
//! complete on its own.

use std::sync::Arc;

use exlic_client::DocId;
use exlic_client::reference_release::{self, ReferenceRelease};

use super::AuthorityError;
use super::directory::edit_public_doc;
use super::office::Office;
use crate::domain::reference::Reference;
use crate::store::{WriteBatch, audit, directory_doc, docs, meta_get, meta_put};

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
        Ok(docs::load(
            &self.office.store.read()?,
            directory_doc::id(&self.office.root_key()),
        )?
        .and_then(|d| directory_doc::read_reference(&d)))
    }

    fn stored(&self) -> Result<Option<ReferenceRelease>, AuthorityError> {
        let Some(signed) = self.signed()? else {
            return Ok(None);
        };
        Ok(ReferenceRelease::verify_trusted(&signed, &self.office.trust()).ok())
    }

    /// Puts the newest release in force at start, or publishes `own` (the office's own
    /// files) as the next release when they changed since they were last seen.
    pub(super) fn start(&self, own: Arc<Reference>) -> Result<(), AuthorityError> {
        let seen = meta_get(&self.office.store.read()?, META_SOURCE_DIGEST)?;
        let stored = self.stored()?;
        if let Some(r) = &stored
            && seen.as_deref() == Some(own.digest().as_slice())
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
        self.publish_data(own, note, "system")?;
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
        self.office.lone_only("publishing reference data")?;
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
        self.publish_data(Arc::new(data), note, actor)
    }

    /// Signs `data` as the next release, writes it to the public document (queued for
    /// every enterprise) with an audit row, and puts it in force.
    fn publish_data(
        &self,
        data: Arc<Reference>,
        note: &str,
        actor: &str,
    ) -> Result<u32, AuthorityError> {
        let number = self.stored()?.map(|r| r.number + 1).unwrap_or(1);
        let (now, key) = self.office.signer();
        let release = ReferenceRelease {
            number,
            published_at_ms: now,
            note: note.to_owned(),
            files: data.sources().to_vec(),
            authority_key: key.verifying_key().to_bytes(),
        };
        let signed = release.sign(&key);
        let mut w = self.office.store.write()?;
        edit_public_doc(&mut w, &self.office.root_key(), |doc| {
            directory_doc::write_reference(doc, &signed)
        })?;
        if actor == "system" {
            meta_put(&w, META_SOURCE_DIGEST, &data.digest())?;
        }
        Self::audit(&w, now, actor, number, note)?;
        w.commit()?;
        let data = Reference::from_release(&release)
            .map_err(|e| AuthorityError::bad_input("file", e.to_string()))?;
        tracing::info!(release = number, label = %data.label(), "reference data published");
        self.office.reference.set(Arc::new(data));
        Ok(number)
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
