//! An office's transparency log as a verifier sees it: the entries, the signed checkpoint
//! (C2SP tlog-checkpoint in a C2SP signed note), inclusion and consistency proofs, and the
//! supervising bureau's co-signature.
//!
//! Every licence, standing statement, device certificate and revocation an office makes is
//! an entry of its log; the Merkle tree is RFC 6962's, as `tlog_tiles` computes it. The
//! formats are in `FORMATS.md` § Transparency log.

use std::fmt;

use ed25519_dalek::{Signature as EdSignature, Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, Signature, Verifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

use crate::certificate::Trust;
use crate::encoding::{DecodeError, Reader, Writer};

/// Version byte of an entry and of an inclusion proof.
pub const VERSION: u8 = 1;
/// The signed-note algorithm byte of an Ed25519 key (c2sp.org/signed-note).
const ALG_ED25519: u8 = 1;
/// The checkpoint's extension line that dates it (office clock, Unix ms).
const TIME_PREFIX: &str = "exlic-time ";
/// At most this many hashes in a proof (a tree of up to 2^64 entries needs 64).
const MAX_PROOF_HASHES: usize = 64;
/// At most this many bytes of a checkpoint note carried in a proof.
const MAX_NOTE: usize = 16 * 1024;
/// At most this many bytes of a logged object.
pub const MAX_OBJECT: usize = 1 << 20;

/// What a log entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EntryKind {
    /// A signed e-licence file (`.lic`).
    Licence = 1,
    /// A signed standing statement (`exlic/standing/v1`).
    Standing = 2,
    /// A signed device certificate (`exlic/device-cert/v1`).
    Certificate = 3,
    /// A device certificate's revocation ([`Revocation`]).
    Revocation = 4,
}

impl EntryKind {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Licence,
            2 => Self::Standing,
            3 => Self::Certificate,
            4 => Self::Revocation,
            _ => return None,
        })
    }

    /// A short name for lists and logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::Licence => "licence",
            Self::Standing => "standing",
            Self::Certificate => "certificate",
            Self::Revocation => "revocation",
        }
    }
}

/// One entry of an office's log: `u8 1 || u8 kind || bytes object`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What the object is.
    pub kind: EntryKind,
    /// The object's exact bytes (a signed file, or an encoded [`Revocation`]).
    pub object: Vec<u8>,
}

impl Entry {
    /// An entry of `kind` holding `object`.
    pub fn new(kind: EntryKind, object: &[u8]) -> Self {
        Self {
            kind,
            object: object.to_vec(),
        }
    }

    /// The canonical bytes (the log's record).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION).u8(self.kind as u8).bytes(&self.object);
        w.finish()
    }

    /// Decodes an entry.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(VERSION)?;
        let kind = EntryKind::from_u8(r.u8("kind")?).ok_or(DecodeError::Invalid {
            field: "kind",
            reason: "unknown entry kind",
        })?;
        let object = r.bytes("object", MAX_OBJECT)?.to_vec();
        r.end()?;
        Ok(Self { kind, object })
    }

    /// The entry's leaf hash: SHA-256(0x00 || entry), RFC 6962.
    pub fn leaf_hash(&self) -> [u8; 32] {
        leaf_hash(&self.encode())
    }
}

/// The leaf hash of an encoded entry.
pub fn leaf_hash(encoded: &[u8]) -> [u8; 32] {
    tlog_tiles::record_hash(encoded).0
}

/// A device certificate's revocation, as logged: `u8 1 || u64 serial || str
/// enterprise_uscc || i64 revoked_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The certificate's serial.
    pub serial: u64,
    /// Whose certificate it was.
    pub enterprise_uscc: String,
    /// When it was revoked (office clock).
    pub revoked_at_ms: i64,
}

impl Revocation {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .u64(self.serial)
            .str(&self.enterprise_uscc)
            .i64(self.revoked_at_ms);
        w.finish()
    }

    /// Decodes a revocation.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(VERSION)?;
        let v = Self {
            serial: r.u64("serial")?,
            enterprise_uscc: r.str("enterprise_uscc", 64)?.to_owned(),
            revoked_at_ms: r.i64("revoked_at_ms")?,
        };
        r.end()?;
        Ok(v)
    }
}

/// The log origin of the office with agency code `agency` (its checkpoints' first line and
/// the name its key signs them under). The code is box 20 of every licence it issues.
pub fn origin(agency: &str) -> String {
    format!("exlic.office/{agency}")
}

/// The signed-note key name of the bureau named `name`.
pub fn witness_name(name: &str) -> String {
    format!("exlic.bureau/{name}")
}

/// The signed-note key id of `key` under `name` (c2sp.org/signed-note: the first four
/// bytes of SHA-256(name || "\n" || 0x01 || key)).
pub fn note_key_id(name: &str, key: &[u8; 32]) -> u32 {
    let mut k = Vec::with_capacity(33);
    k.push(ALG_ED25519);
    k.extend_from_slice(key);
    signed_note::key_id(name, &k)
}

/// A tree head: what a checkpoint says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// Entries in the tree.
    pub size: u64,
    /// The tree's root hash.
    pub hash: [u8; 32],
}

/// Why a log object did not verify. Each failure has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The bytes do not decode.
    #[error("malformed: {0}")]
    Malformed(#[from] DecodeError),
    /// The checkpoint is not a well-formed signed note or tlog-checkpoint.
    #[error("malformed checkpoint")]
    Checkpoint,
    /// The checkpoint is of another log.
    #[error("checkpoint of log `{found}`, not `{expected}`")]
    Origin {
        /// The log the verifier expected.
        expected: String,
        /// The log the checkpoint names.
        found: String,
    },
    /// No signature on the checkpoint verifies under the office's keys, or one of them
    /// is invalid.
    #[error("the checkpoint is not signed by the office's key")]
    Signature,
    /// The checkpoint is signed by a key that was not the office's at its time.
    #[error("the checkpoint is signed by a key that was not the office's at its time")]
    RetiredKey,
    /// The checkpoint carries no valid co-signature of the required witness.
    #[error("the checkpoint is not co-signed by the bureau")]
    NotWitnessed,
    /// The proof is for a tree of another size than the checkpoint's.
    #[error("the proof is for a tree of {proof} entries, the checkpoint for {checkpoint}")]
    SizeMismatch {
        /// The proof's tree size.
        proof: u64,
        /// The checkpoint's tree size.
        checkpoint: u64,
    },
    /// The entry is not at that index of the tree (a changed byte of entry or proof).
    #[error("the entry is not in the log at index {0}")]
    NotIncluded(u64),
    /// The two tree heads are not one history.
    #[error("tree {old} is not a prefix of tree {new}: the log forked")]
    Inconsistent {
        /// The older tree size.
        old: u64,
        /// The newer tree size.
        new: u64,
    },
}

/// A checkpoint that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The log.
    pub origin: String,
    /// The tree head.
    pub head: TreeHead,
    /// When the office signed it (office clock, Unix ms).
    pub at_ms: i64,
    /// The office key that signed it.
    pub key: [u8; 32],
    /// Whether the required witness co-signed it.
    pub witnessed: bool,
}

/// Builds the checkpoint text of `head` for log `origin`, dated `at_ms`, and signs it with
/// `key` under the name `origin`: the signed note's bytes.
pub fn sign_checkpoint(origin: &str, head: TreeHead, at_ms: i64, key: &SigningKey) -> Vec<u8> {
    let text = Checkpoint::new(
        origin,
        head.size,
        Hash(head.hash),
        &format!("{TIME_PREFIX}{at_ms}\n"),
    )
    .expect("origin is non-empty and the extension one line")
    .to_bytes();
    let sig = note_signature(origin, key, &text);
    Note::new(&text, &[sig])
        .expect("a checkpoint's text is a well-formed note")
        .to_bytes()
}

fn note_signature(name: &str, key: &SigningKey, text: &[u8]) -> Signature {
    let public = key.verifying_key().to_bytes();
    let sig: EdSignature = key.sign(text);
    Signature::new(
        name.to_owned(),
        note_key_id(name, &public),
        sig.to_bytes().to_vec(),
    )
    .expect("the name is a valid key name")
}

/// The bureau's co-signature: `note` with the witness `name`'s signature added (one that
/// was already there under the same key is replaced).
pub fn cosign(note: &[u8], name: &str, key: &SigningKey) -> Result<Vec<u8>, LogError> {
    let mut n = Note::from_bytes(note).map_err(|_| LogError::Checkpoint)?;
    let sig = note_signature(name, key, n.text());
    let mut sigs: Vec<Signature> = Vec::new();
    // Keep the other signatures in order; `Note` has no accessor for them, so re-parse.
    for line in signature_lines(note) {
        if let Ok(s) = Signature::from_bytes(line.as_bytes())
            && !(s.name() == sig.name() && s.id() == sig.id())
        {
            sigs.push(s);
        }
    }
    sigs.push(sig);
    n = Note::new(n.text(), &sigs).map_err(|_| LogError::Checkpoint)?;
    Ok(n.to_bytes())
}

/// The signature lines of a note (after the last blank line), without their newlines.
fn signature_lines(note: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(note);
    match s.rfind("\n\n") {
        Some(i) => s[i + 2..].lines().map(str::to_owned).collect(),
        None => Vec::new(),
    }
}

/// An Ed25519 note verifier over `ed25519-dalek` (strict verification).
struct EdVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl Verifier for EdVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = EdSignature::from_slice(sig) else {
            return false;
        };
        self.key.verify_strict(msg, &sig).is_ok()
    }
}

fn verifier(name: &str, key: &[u8; 32]) -> Option<Box<dyn Verifier>> {
    Some(Box::new(EdVerifier {
        name: name.to_owned(),
        id: note_key_id(name, key),
        key: VerifyingKey::from_bytes(key).ok()?,
    }))
}

/// A witness a verifier requires: its key name and public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// The key name ([`witness_name`]).
    pub name: String,
    /// Its Ed25519 public key.
    pub key: [u8; 32],
}

/// Verifies a checkpoint note of log `origin`: signed by a key of the office's chain that
/// was the office's at the checkpoint's time, and, when `witness` is given, co-signed by
/// it.
pub fn open_checkpoint(
    note: &[u8],
    origin: &str,
    trust: &Trust,
    witness: Option<&Witness>,
) -> Result<VerifiedCheckpoint, LogError> {
    let n = Note::from_bytes(note).map_err(|_| LogError::Checkpoint)?;
    let cp = Checkpoint::from_bytes(n.text()).map_err(|_| LogError::Checkpoint)?;
    if cp.origin() != origin {
        return Err(LogError::Origin {
            expected: origin.to_owned(),
            found: cp.origin().to_owned(),
        });
    }
    let at_ms = cp
        .extension()
        .lines()
        .find_map(|l| l.strip_prefix(TIME_PREFIX))
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or(LogError::Checkpoint)?;
    let mut list: Vec<Box<dyn Verifier>> = trust
        .keys()
        .iter()
        .filter_map(|k| verifier(origin, &k.key))
        .collect();
    if let Some(w) = witness {
        list.extend(verifier(&w.name, &w.key));
    }
    let (verified, _unknown) = n
        .verify(&VerifierList::new(list))
        .map_err(|_| LogError::Signature)?;
    let office_key = trust
        .keys()
        .iter()
        .find(|k| {
            verified
                .iter()
                .any(|s| s.name() == origin && s.id() == note_key_id(origin, &k.key))
        })
        .ok_or(LogError::Signature)?;
    if !trust.valid_at(&office_key.key, at_ms) {
        return Err(LogError::RetiredKey);
    }
    let witnessed = witness.is_some_and(|w| {
        verified
            .iter()
            .any(|s| s.name() == w.name && s.id() == note_key_id(&w.name, &w.key))
    });
    if witness.is_some() && !witnessed {
        return Err(LogError::NotWitnessed);
    }
    Ok(VerifiedCheckpoint {
        origin: origin.to_owned(),
        head: TreeHead {
            size: cp.size(),
            hash: cp.hash().0,
        },
        at_ms,
        key: office_key.key,
        witnessed,
    })
}

/// Reads a checkpoint's tree head and time without checking any signature (for a
/// monitor that checks signatures separately, or for display).
pub fn peek_checkpoint(note: &[u8]) -> Result<(String, TreeHead, i64), LogError> {
    let n = Note::from_bytes(note).map_err(|_| LogError::Checkpoint)?;
    let cp = Checkpoint::from_bytes(n.text()).map_err(|_| LogError::Checkpoint)?;
    let at_ms = cp
        .extension()
        .lines()
        .find_map(|l| l.strip_prefix(TIME_PREFIX))
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or(LogError::Checkpoint)?;
    Ok((
        cp.origin().to_owned(),
        TreeHead {
            size: cp.size(),
            hash: cp.hash().0,
        },
        at_ms,
    ))
}

/// An inclusion proof: entry `index` is in the tree of `tree_size` entries that
/// `checkpoint` (a signed note) commits to.
///
/// Encoded as `u8 1 || u64 index || u64 tree_size || list<fixed[32]> hashes || bytes
/// checkpoint`.
#[derive(Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The entry's index (0-based).
    pub index: u64,
    /// The tree size the proof is for.
    pub tree_size: u64,
    /// The audit path, RFC 6962 order as `tlog_tiles::prove_record` gives it.
    pub hashes: Vec<[u8; 32]>,
    /// The signed checkpoint note of that tree.
    pub checkpoint: Vec<u8>,
}

impl fmt::Debug for InclusionProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InclusionProof")
            .field("index", &self.index)
            .field("tree_size", &self.tree_size)
            .field("hashes", &self.hashes.len())
            .finish_non_exhaustive()
    }
}

impl InclusionProof {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION)
            .u64(self.index)
            .u64(self.tree_size)
            .count(self.hashes.len());
        for h in &self.hashes {
            w.fixed(h);
        }
        w.bytes(&self.checkpoint);
        w.finish()
    }

    /// Decodes a proof.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        r.version(VERSION)?;
        let index = r.u64("index")?;
        let tree_size = r.u64("tree_size")?;
        let n = r.count("hashes", MAX_PROOF_HASHES, 32)?;
        let mut hashes = Vec::with_capacity(n);
        for _ in 0..n {
            hashes.push(r.fixed::<32>("hashes")?);
        }
        let checkpoint = r.bytes("checkpoint", MAX_NOTE)?.to_vec();
        r.end()?;
        Ok(Self {
            index,
            tree_size,
            hashes,
            checkpoint,
        })
    }

    /// Checks that `entry` is at this proof's index of the tree its checkpoint commits to,
    /// and that the checkpoint verifies (see [`open_checkpoint`]).
    pub fn verify(
        &self,
        entry: &Entry,
        origin: &str,
        trust: &Trust,
        witness: Option<&Witness>,
    ) -> Result<VerifiedCheckpoint, LogError> {
        let cp = open_checkpoint(&self.checkpoint, origin, trust, witness)?;
        self.check_path(entry, cp.head)?;
        Ok(cp)
    }

    /// Checks the audit path alone against a tree head the caller trusts.
    pub fn check_path(&self, entry: &Entry, head: TreeHead) -> Result<(), LogError> {
        if head.size != self.tree_size {
            return Err(LogError::SizeMismatch {
                proof: self.tree_size,
                checkpoint: head.size,
            });
        }
        let path: Vec<Hash> = self.hashes.iter().map(|h| Hash(*h)).collect();
        tlog_tiles::check_record(
            &path,
            self.tree_size,
            Hash(head.hash),
            self.index,
            Hash(entry.leaf_hash()),
        )
        .map_err(|_| LogError::NotIncluded(self.index))
    }
}

/// Checks a consistency proof: the tree `old` is a prefix of the tree `new`.
pub fn check_consistency(old: TreeHead, new: TreeHead, proof: &[[u8; 32]]) -> Result<(), LogError> {
    let bad = LogError::Inconsistent {
        old: old.size,
        new: new.size,
    };
    if old.size > new.size {
        return Err(bad);
    }
    if old.size == new.size {
        return if old.hash == new.hash && proof.is_empty() {
            Ok(())
        } else {
            Err(bad)
        };
    }
    if old.size == 0 {
        return Ok(());
    }
    let path: Vec<Hash> = proof.iter().map(|h| Hash(*h)).collect();
    tlog_tiles::check_tree(&path, new.size, Hash(new.hash), old.size, Hash(old.hash))
        .map_err(|_| bad)
}

/// The height of the hash tiles an office serves (c2sp.org/tlog-tiles fixes 8).
pub const TILE_HEIGHT: u8 = 8;

/// Hands `tlog_tiles` the tiles a client has, and notes any it lacks.
struct Tiles<'a> {
    have: &'a std::collections::HashMap<crate::protocol::TileRef, Vec<u8>>,
    wanted: std::cell::RefCell<Vec<crate::protocol::TileRef>>,
}

fn tile_ref(t: &tlog_tiles::Tile) -> crate::protocol::TileRef {
    crate::protocol::TileRef {
        level: t.level(),
        index: t.level_index(),
        width: u16::try_from(t.width()).unwrap_or(u16::MAX),
    }
}

impl tlog_tiles::TileReader for Tiles<'_> {
    fn height(&self) -> u8 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        let mut out = Vec::with_capacity(tiles.len());
        for t in tiles {
            match self.have.get(&tile_ref(t)) {
                Some(b) => out.push(b.clone()),
                None => self.wanted.borrow_mut().push(tile_ref(t)),
            }
        }
        if self.wanted.borrow().is_empty() {
            Ok(out)
        } else {
            Err(tlog_tiles::Error::IndexesNotInTree)
        }
    }

    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

/// What a client holding tree head `old` learns from the hash tiles of tree `new`:
/// either they prove `old` a prefix of `new` (`Ok(vec![])`), or these tiles are still
/// needed (`Ok(tiles)`: ask the office for them, then call again with them), or the two
/// are not one history. Every tile is checked against `new`'s root before it is used, so
/// tiles from anywhere (a cache, a relay) are as good as the office's.
pub fn consistency_from_tiles(
    old: TreeHead,
    new: TreeHead,
    have: &std::collections::HashMap<crate::protocol::TileRef, Vec<u8>>,
) -> Result<Vec<crate::protocol::TileRef>, LogError> {
    let bad = LogError::Inconsistent {
        old: old.size,
        new: new.size,
    };
    if old.size >= new.size || old.size == 0 {
        return check_consistency(old, new, &[]).map(|()| Vec::new());
    }
    let reader = Tiles {
        have,
        wanted: std::cell::RefCell::new(Vec::new()),
    };
    let hashes = tlog_tiles::TileHashReader::new(new.size, Hash(new.hash), &reader);
    match tlog_tiles::prove_tree(new.size, old.size, &hashes) {
        Ok(proof) => {
            let proof: Vec<[u8; 32]> = proof.iter().map(|h| h.0).collect();
            check_consistency(old, new, &proof).map(|()| Vec::new())
        }
        Err(_) if !reader.wanted.borrow().is_empty() => Ok(reader.wanted.into_inner()),
        // Tiles that do not hash to `new`'s root, or a proof that does not check.
        Err(_) => Err(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory tree through `tlog_tiles`, as the office's store keeps one.
    #[derive(Default)]
    struct Mem(Vec<Hash>);

    impl tlog_tiles::HashReader for Mem {
        fn read_hashes(&self, ix: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
            Ok(ix.iter().map(|&i| self.0[i as usize]).collect())
        }
    }

    impl Mem {
        fn append(&mut self, n: u64, e: &Entry) {
            let hs =
                tlog_tiles::stored_hashes_for_record_hash(n, Hash(e.leaf_hash()), &*self).unwrap();
            self.0.extend(hs);
        }
        fn head(&self, n: u64) -> TreeHead {
            TreeHead {
                size: n,
                hash: tlog_tiles::tree_hash(n, self).unwrap().0,
            }
        }
    }

    fn key(b: u8) -> SigningKey {
        SigningKey::from_bytes(&[b; 32])
    }

    fn entries(n: u64) -> Vec<Entry> {
        (0..n)
            .map(|i| Entry::new(EntryKind::Licence, format!("licence {i}").as_bytes()))
            .collect()
    }

    fn tree(es: &[Entry]) -> Mem {
        let mut m = Mem::default();
        for (i, e) in es.iter().enumerate() {
            m.append(i as u64, e);
        }
        m
    }

    #[test]
    fn an_entry_proves_into_a_signed_checkpoint_and_any_changed_byte_is_refused() {
        let es = entries(13);
        let m = tree(&es);
        let k = key(7);
        let origin = origin("01");
        let head = m.head(13);
        let note = sign_checkpoint(&origin, head, 1_000, &k);
        let trust = Trust::new(k.verifying_key().to_bytes());
        for (i, e) in es.iter().enumerate() {
            let p = InclusionProof {
                index: i as u64,
                tree_size: 13,
                hashes: tlog_tiles::prove_record(13, i as u64, &m)
                    .unwrap()
                    .into_iter()
                    .map(|h| h.0)
                    .collect(),
                checkpoint: note.clone(),
            };
            let back = InclusionProof::decode(&p.encode()).unwrap();
            let cp = back.verify(e, &origin, &trust, None).unwrap();
            assert_eq!((cp.head, cp.at_ms, cp.witnessed), (head, 1_000, false));
            // Another entry at this index is refused.
            let other = &es[(i + 1) % es.len()];
            assert_eq!(
                back.verify(other, &origin, &trust, None),
                Err(LogError::NotIncluded(i as u64))
            );
        }
        // Every changed byte of the encoded proof is refused.
        let p = InclusionProof {
            index: 5,
            tree_size: 13,
            hashes: tlog_tiles::prove_record(13, 5, &m)
                .unwrap()
                .into_iter()
                .map(|h| h.0)
                .collect(),
            checkpoint: note,
        };
        let bytes = p.encode();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let ok = InclusionProof::decode(&b)
                .ok()
                .is_some_and(|p| p.verify(&es[5], &origin, &trust, None).is_ok());
            assert!(!ok, "byte {i} changed and the proof still verified");
        }
        // Every changed byte of the entry is refused.
        let enc = es[5].encode();
        for i in 0..enc.len() {
            let mut b = enc.clone();
            b[i] ^= 0x01;
            let ok = Entry::decode(&b)
                .ok()
                .is_some_and(|e| p.verify(&e, &origin, &trust, None).is_ok());
            assert!(!ok, "entry byte {i} changed and still verified");
        }
    }

    #[test]
    fn a_checkpoint_of_another_log_or_key_or_time_is_refused() {
        let k = key(7);
        let head = TreeHead {
            size: 3,
            hash: [9; 32],
        };
        let note = sign_checkpoint(&origin("01"), head, 5_000, &k);
        let trust = Trust::new(k.verifying_key().to_bytes());
        assert!(matches!(
            open_checkpoint(&note, &origin("02"), &trust, None),
            Err(LogError::Origin { .. })
        ));
        let stranger = Trust::new(key(8).verifying_key().to_bytes());
        assert_eq!(
            open_checkpoint(&note, &origin("01"), &stranger, None),
            Err(LogError::Signature)
        );
        // A witness is required but has not signed; then it co-signs.
        let w = key(9);
        let witness = Witness {
            name: witness_name("bureau"),
            key: w.verifying_key().to_bytes(),
        };
        assert_eq!(
            open_checkpoint(&note, &origin("01"), &trust, Some(&witness)),
            Err(LogError::NotWitnessed)
        );
        let cosigned = cosign(&note, &witness.name, &w).unwrap();
        let cp = open_checkpoint(&cosigned, &origin("01"), &trust, Some(&witness)).unwrap();
        assert!(cp.witnessed);
        // Co-signing twice keeps one co-signature; the office's stays.
        let again = cosign(&cosigned, &witness.name, &w).unwrap();
        assert_eq!(again, cosigned);
        // A forged co-signature (another key under the witness's name) is refused.
        let forged = cosign(&note, &witness.name, &key(10)).unwrap();
        assert_eq!(
            open_checkpoint(&forged, &origin("01"), &trust, Some(&witness)),
            Err(LogError::NotWitnessed)
        );
    }

    #[test]
    fn consistency_holds_for_a_prefix_and_fails_for_a_fork() {
        let es = entries(20);
        let m = tree(&es);
        for old in [1u64, 2, 7, 8, 13, 20] {
            let proof: Vec<[u8; 32]> = tlog_tiles::prove_tree(20, old, &m)
                .unwrap()
                .into_iter()
                .map(|h| h.0)
                .collect();
            check_consistency(m.head(old), m.head(20), &proof).unwrap();
        }
        // A fork: the same first 7 entries, then a different 8th.
        let mut forked = es[..8].to_vec();
        forked[7] = Entry::new(EntryKind::Licence, b"another licence");
        let f = tree(&forked);
        let proof: Vec<[u8; 32]> = tlog_tiles::prove_tree(20, 8, &m)
            .unwrap()
            .into_iter()
            .map(|h| h.0)
            .collect();
        assert_eq!(
            check_consistency(f.head(8), m.head(20), &proof),
            Err(LogError::Inconsistent { old: 8, new: 20 })
        );
        assert!(check_consistency(m.head(8), f.head(8), &[]).is_err());
    }

    /// The tiles `wanted` of the tree in `m`, as an office serves them.
    fn serve(
        m: &Mem,
        wanted: &[crate::protocol::TileRef],
        have: &mut std::collections::HashMap<crate::protocol::TileRef, Vec<u8>>,
    ) {
        for t in wanted {
            let tile =
                tlog_tiles::Tile::new(TILE_HEIGHT, t.level, t.index, u32::from(t.width), false);
            have.insert(*t, tile.read_data(m).unwrap());
        }
    }

    #[test]
    fn a_client_proves_consistency_from_tiles_and_a_fork_or_a_changed_tile_is_caught() {
        let es = entries(700);
        let m = tree(&es);
        for old in [1u64, 255, 256, 300, 699] {
            let mut have = std::collections::HashMap::new();
            let wanted = consistency_from_tiles(m.head(old), m.head(700), &have).unwrap();
            assert!(!wanted.is_empty(), "{old}: tiles are needed first");
            serve(&m, &wanted, &mut have);
            assert_eq!(
                consistency_from_tiles(m.head(old), m.head(700), &have).unwrap(),
                Vec::new(),
                "{old}"
            );
        }
        // Nothing to prove from an empty tree or for the same head.
        let none = std::collections::HashMap::new();
        assert!(
            consistency_from_tiles(m.head(0), m.head(700), &none)
                .unwrap()
                .is_empty()
        );
        assert!(
            consistency_from_tiles(m.head(9), m.head(9), &none)
                .unwrap()
                .is_empty()
        );
        // A head the office showed someone else: 300 entries, the 100th different.
        let mut forked = es[..300].to_vec();
        forked[99] = Entry::new(EntryKind::Licence, b"another licence");
        let f = tree(&forked);
        let mut have = std::collections::HashMap::new();
        let wanted = consistency_from_tiles(f.head(300), m.head(700), &have).unwrap();
        serve(&m, &wanted, &mut have);
        assert_eq!(
            consistency_from_tiles(f.head(300), m.head(700), &have),
            Err(LogError::Inconsistent { old: 300, new: 700 })
        );
        // A shrinking tree, and a tile with one changed byte.
        assert!(consistency_from_tiles(m.head(700), m.head(300), &none).is_err());
        let mut have = std::collections::HashMap::new();
        let wanted = consistency_from_tiles(m.head(300), m.head(700), &have).unwrap();
        serve(&m, &wanted, &mut have);
        have.values_mut().next().unwrap()[5] ^= 1;
        assert_eq!(
            consistency_from_tiles(m.head(300), m.head(700), &have),
            Err(LogError::Inconsistent { old: 300, new: 700 })
        );
    }

    #[test]
    fn entries_and_revocations_round_trip_and_refuse_unknown_kinds() {
        let r = Revocation {
            serial: 7,
            enterprise_uscc: "91310000MA1FL8XQ3X".into(),
            revoked_at_ms: 42,
        };
        assert_eq!(Revocation::decode(&r.encode()).unwrap(), r);
        let e = Entry::new(EntryKind::Revocation, &r.encode());
        assert_eq!(Entry::decode(&e.encode()).unwrap(), e);
        let mut b = e.encode();
        b[1] = 9;
        assert!(Entry::decode(&b).is_err());
    }

    /// The committed vectors `vectors/translog-v1.json` must stay byte-identical
    /// (`EXLIC_WRITE_VECTORS=1` writes them).
    #[test]
    fn translog_vectors_are_stable() {
        let office = key(1);
        let bureau = key(4);
        let revocation = Revocation {
            serial: 3,
            enterprise_uscc: "91310000MA1FL8XQ3X".into(),
            revoked_at_ms: 1_765_000_000_000,
        };
        let es = vec![
            Entry::new(EntryKind::Licence, b"licence file bytes"),
            Entry::new(EntryKind::Standing, b"standing statement bytes"),
            Entry::new(EntryKind::Certificate, b"device certificate bytes"),
            Entry::new(EntryKind::Revocation, &revocation.encode()),
            Entry::new(EntryKind::Licence, b"another licence file"),
        ];
        let m = tree(&es);
        let origin = origin("AA");
        let head = m.head(5);
        let note = sign_checkpoint(&origin, head, 1_765_000_000_000, &office);
        let witness = Witness {
            name: witness_name("bureau"),
            key: bureau.verifying_key().to_bytes(),
        };
        let cosigned = cosign(&note, &witness.name, &bureau).unwrap();
        let proof = InclusionProof {
            index: 2,
            tree_size: 5,
            hashes: tlog_tiles::prove_record(5, 2, &m)
                .unwrap()
                .into_iter()
                .map(|h| h.0)
                .collect(),
            checkpoint: cosigned.clone(),
        };
        let consistency: Vec<[u8; 32]> = tlog_tiles::prove_tree(5, 3, &m)
            .unwrap()
            .into_iter()
            .map(|h| h.0)
            .collect();
        let json = serde_json::json!({
            "description": "ed25519 seeds: office 0x01*32 (log origin exlic.office/AA), bureau 0x04*32 (key name exlic.bureau/bureau); entries as encoded, leaf = SHA-256(0x00 || entry)",
            "office_public_key": hex::encode(office.verifying_key().to_bytes()),
            "bureau_public_key": hex::encode(bureau.verifying_key().to_bytes()),
            "entries": es.iter().map(|e| hex::encode(e.encode())).collect::<Vec<_>>(),
            "leaf_hashes": es.iter().map(|e| hex::encode(e.leaf_hash())).collect::<Vec<_>>(),
            "root_hash_5": hex::encode(head.hash),
            "root_hash_3": hex::encode(m.head(3).hash),
            "checkpoint": String::from_utf8(note).unwrap(),
            "checkpoint_cosigned": String::from_utf8(cosigned).unwrap(),
            "inclusion_proof_of_entry_2": hex::encode(proof.encode()),
            "consistency_proof_3_to_5": consistency.iter().map(hex::encode).collect::<Vec<_>>(),
        });
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/translog-v1.json");
        let text = serde_json::to_string_pretty(&json).unwrap() + "\n";
        if std::env::var_os("EXLIC_WRITE_VECTORS").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(path)
            .expect("vectors/translog-v1.json (EXLIC_WRITE_VECTORS=1 writes it)");
        assert_eq!(
            committed, text,
            "a log format changed; that breaks every verifier"
        );
        // And they verify as documented.
        let trust = Trust::new(office.verifying_key().to_bytes());
        let cp = proof
            .verify(&es[2], &origin, &trust, Some(&witness))
            .unwrap();
        assert!(cp.witnessed);
        check_consistency(m.head(3), head, &consistency).unwrap();
    }
}
