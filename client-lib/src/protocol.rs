//! The sync protocol between enterprise and authority nodes (`/exlic/sync/1`), carried by
//! libp2p request-response over TCP + Noise + Yamux.
//!
//! The enterprise node always asks; the authority answers. One request is one of:
//! * [`Request::Enrol`] — first contact: spends the invite secret, registers the device key;
//! * [`Request::Sync`] — Automerge sync messages for many documents at once, plus the
//!   authority's change-feed cursor the enterprise has reached (a position in one
//!   replica's feed, named by its [`Request::Sync::feed`]);
//! * [`Request::Submit`] — a sealed submission (上报), answered with a signed receipt;
//!   [`Request::SubmitMany`] — up to [`MAX_SUBMISSIONS`] of them (an outbox draining),
//!   answered with one answer each in [`Response::Submitted`];
//! * [`Request::BlobStatus`], [`Request::BlobPut`], [`Request::BlobGet`] — attachments,
//!   chunked and resumable;
//! * [`Request::MoreNumbers`] — a new 申请表号 block before the device's runs out.
//!
//! A customs node asks too: [`Request::EnrolCustoms`] once, then [`Request::Standing`] (the
//! office's standing feed and key chain) and [`Request::Usage`] (its signed usage entries).
//! The supervising bureau asks only [`Request::LogPage`] (the office's transparency log,
//! read only) and sends [`Request::Cosigned`] (its co-signature of a checkpoint).
//!
//! Frames are `u32` big-endian length + [`crate::encoding`] body. Every length is checked
//! against the limits below before anything is allocated.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::ids::DocId;

/// libp2p protocol name.
pub const PROTOCOL: &str = "/exlic/sync/1";
/// Largest request frame.
pub const MAX_REQUEST: usize = 8 << 20;
/// Largest response frame.
pub const MAX_RESPONSE: usize = 16 << 20;
/// Most documents in one sync request or response.
pub const MAX_DOCS: usize = 2000;
/// Largest single Automerge message carried.
pub const MAX_DOC_MESSAGE: usize = 4 << 20;
/// Most bytes the compressed parts of the Automerge content in one request or response
/// may inflate to (a first sync of 1,000 application forms inflates to about 6 MiB).
pub const MAX_INFLATED: usize = 64 << 20;
/// Most sealed submissions in one [`Request::SubmitMany`].
pub const MAX_SUBMISSIONS: usize = 256;
/// Largest sealed submission envelope.
pub const MAX_ENVELOPE: usize = 2 << 20;
/// Attachment bytes per `BlobPut` / `BlobData`.
pub const BLOB_CHUNK: usize = 256 * 1024;

/// The master key an enterprise device without the e-key presents in [`Request::Enrol`]
/// (another device of an enrolled enterprise): the office refuses it for an enterprise's
/// first device and ignores it otherwise.
pub const NO_EKEY: [u8; 32] = [0; 32];

/// A request from an enterprise node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Spend an invite and register this device.
    Enrol {
        /// The invite's secret.
        secret: [u8; 32],
        /// The enterprise's master public key (e-key).
        master_key: [u8; 32],
    },
    /// Sync documents.
    Sync {
        /// The change feed `cursor` is a position in (0: none yet). Each replica of an
        /// office numbers its feed itself, so a position means something only to the feed
        /// that gave it: an office whose feed is another reads its feed from the start.
        feed: u64,
        /// The authority change-feed position this node has fully synced.
        cursor: u64,
        /// One Automerge sync message per document.
        docs: Vec<(DocId, Vec<u8>)>,
    },
    /// 上报: a sealed submission envelope.
    Submit(Vec<u8>),
    /// 上报 of several sealed submission envelopes at once (an outbox draining), at most
    /// [`MAX_SUBMISSIONS`]; answered with [`Response::Submitted`].
    SubmitMany(Vec<Vec<u8>>),
    /// How much of a blob the authority holds.
    BlobStatus {
        /// Its SHA-256.
        sha256: [u8; 32],
        /// Its total size.
        size: u64,
    },
    /// A chunk of a blob, at a chunk-aligned offset.
    BlobPut {
        /// Its SHA-256.
        sha256: [u8; 32],
        /// Its total size.
        size: u64,
        /// Where this chunk starts.
        offset: u64,
        /// At most [`BLOB_CHUNK`] bytes.
        bytes: Vec<u8>,
    },
    /// Fetch a chunk of a blob.
    BlobGet {
        /// Its SHA-256.
        sha256: [u8; 32],
        /// Chunk-aligned offset.
        offset: u64,
    },
    /// A device-certificate request signed by the master e-key ([`crate::cert_request`]).
    Certify(Vec<u8>),
    /// The current signed revocation list.
    Revocations,
    /// 制作证书: the newest certificate issued for the asking device, with the list.
    MyCertificate,
    /// A new block of 申请表号 to follow the block this device is using. Asking again for
    /// the same `current` gets the same block, so a lost answer wastes nothing.
    MoreNumbers {
        /// The first number of the block the device is using (21 digits as a number).
        current: u128,
        /// How many numbers it asks for (the office may grant fewer).
        want: u64,
    },
    /// A customs node spends its invite and registers its key for its district.
    EnrolCustoms {
        /// The invite's secret.
        secret: [u8; 32],
    },
    /// The office's standing feed from `cursor` (a customs node).
    Standing {
        /// Where the last page this node applied ended (0 at first).
        cursor: u64,
    },
    /// Signed usage entries ([`crate::usage`]), in `seq` order, from the first the office
    /// has not acknowledged.
    Usage(Vec<Vec<u8>>),
    /// The office's transparency log from entry `from` on (the supervising bureau, read
    /// only).
    LogPage {
        /// The first entry wanted (how many the bureau holds).
        from: u64,
    },
    /// The bureau's co-signature of a checkpoint of the office's ([`crate::translog`]).
    Cosigned {
        /// The checkpoint note with the bureau's signature added.
        checkpoint: Vec<u8>,
    },
    /// Hash tiles (c2sp.org/tlog-tiles, height 8) of the office's log as of the checkpoint
    /// of tree `size` (0: the newest), for a client that proves from them itself; any
    /// enrolled peer may ask.
    LogTiles {
        /// The tree the tiles are of (a size the office signed a checkpoint at), or 0.
        size: u64,
        /// The tiles wanted, at most [`MAX_TILES`].
        tiles: Vec<TileRef>,
    },
}

/// At most this many tiles in one [`Request::LogTiles`].
pub const MAX_TILES: usize = 64;

/// One hash tile of a log: level, index at that level and width (1–256 hashes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileRef {
    /// The tile's level (level 0 holds the leaf hashes).
    pub level: u8,
    /// Its index among that level's tiles.
    pub index: u64,
    /// How many hashes it holds (256 for a full tile).
    pub width: u16,
}

/// What happened to one document of a sync request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocReply {
    /// The authority's next sync message for the document.
    Message(Vec<u8>),
    /// Nothing more to say for now.
    Done,
    /// Unknown, or not this party's to read or write: the same answer for both.
    NotFound,
}

/// A stable error code of a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The peer is not enrolled.
    NotEnrolled = 1,
    /// The invite is unknown, spent by another device, or expired.
    BadInvite = 2,
    /// The request is malformed or breaks a limit.
    BadRequest = 3,
    /// The submission's seal does not verify or does not match the documents.
    BadSeal = 4,
    /// Not found (or not yours).
    NotFound = 5,
    /// Too many requests; slow down.
    RateLimited = 6,
    /// The authority failed to store; retry later.
    Unavailable = 7,
    /// A resubmission of an old revision with different content.
    StaleRevision = 8,
    /// A blob's bytes do not match its hash.
    BlobMismatch = 9,
    /// A certificate request is not acceptable (signature, replay, limits).
    BadCertRequest = 10,
}

impl ErrorCode {
    fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            1 => Self::NotEnrolled,
            2 => Self::BadInvite,
            3 => Self::BadRequest,
            4 => Self::BadSeal,
            5 => Self::NotFound,
            6 => Self::RateLimited,
            7 => Self::Unavailable,
            8 => Self::StaleRevision,
            9 => Self::BlobMismatch,
            10 => Self::BadCertRequest,
            _ => return None,
        })
    }
}

/// The authority's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Enrolment accepted (or already done for this device).
    Enrolled {
        /// The enterprise the device now speaks for.
        enterprise_uscc: String,
    },
    /// Answers to a sync request.
    Sync {
        /// The change feed `cursor` is a position in (see [`Request::Sync::feed`]).
        feed: u64,
        /// The authority's change-feed position these answers reflect.
        cursor: u64,
        /// Per requested document, plus documents changed on the authority side since the
        /// request's cursor that this enterprise may read.
        docs: Vec<(DocId, DocReply)>,
        /// More changed documents remain beyond this answer.
        more: bool,
    },
    /// A signed receipt ([`crate::receipt`]).
    Receipt(Vec<u8>),
    /// A signed refusal at receipt ([`crate::refusal`]): the office's own checks of the
    /// sealed form failed; final for that revision.
    Refused(Vec<u8>),
    /// Bytes of a blob the authority holds, from the start.
    BlobHave {
        /// Contiguous bytes received.
        received: u64,
    },
    /// A chunk of a blob.
    BlobData {
        /// Total size.
        size: u64,
        /// Where the chunk starts.
        offset: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A certificate request was carried out.
    Certified {
        /// The new signed certificate (empty for 注销).
        certificate: Vec<u8>,
        /// The signed revocation list after the request.
        revocations: Vec<u8>,
    },
    /// The current signed revocation list.
    Revocations(Vec<u8>),
    /// A page of the standing feed ([`crate::standing::FeedPage`], signed) and the office's
    /// key records from its identity key on ([`crate::certificate`]).
    Standing {
        /// The signed page.
        page: Vec<u8>,
        /// Every key record, oldest first.
        keys: Vec<Vec<u8>>,
        /// More of the feed remains beyond this page.
        more: bool,
    },
    /// A page of the office's transparency log: encoded entries from the asked `from`,
    /// the newest signed checkpoint, and the office's key records from its identity key on.
    LogPage {
        /// Encoded entries ([`crate::translog::Entry`]), from the asked index.
        entries: Vec<Vec<u8>>,
        /// The newest signed checkpoint (empty while the log is empty).
        checkpoint: Vec<u8>,
        /// Every key record, oldest first.
        keys: Vec<Vec<u8>>,
        /// More entries remain beyond this page.
        more: bool,
    },
    /// The office keeps the bureau's co-signature.
    CosignKept,
    /// The checkpoint a [`Request::LogTiles`] named (the newest for size 0; empty while
    /// the log is empty) and each tile asked for, in order: its hashes, or `None` if it
    /// is not a tile of that tree.
    LogTiles {
        /// The signed checkpoint note.
        checkpoint: Vec<u8>,
        /// The tiles' bytes (32 bytes a hash).
        tiles: Vec<Option<Vec<u8>>>,
        /// Every key record of the office, oldest first.
        keys: Vec<Vec<u8>>,
    },
    /// One answer per envelope of a [`Request::SubmitMany`], in order: each a
    /// [`Response::Receipt`], a [`Response::Refused`] or a [`Response::Error`].
    Submitted(Vec<Response>),
    /// Usage entries stored through `seq` (the node's whole ledger up to there).
    UsageStored {
        /// The highest entry number the office holds.
        seq: u64,
    },
    /// A block of 申请表号 granted to the asking device.
    Numbers {
        /// Its first number.
        first: u128,
        /// How many.
        len: u64,
    },
    /// The request was refused.
    Error {
        /// Why, for programs.
        code: ErrorCode,
        /// Why, for people.
        message: String,
    },
}

const T_ENROL: u8 = 1;
const T_SYNC: u8 = 2;
const T_SUBMIT: u8 = 3;
const T_BLOB_STATUS: u8 = 4;
const T_BLOB_PUT: u8 = 5;
const T_BLOB_GET: u8 = 6;
const T_CERTIFY: u8 = 7;
const T_REVOCATIONS: u8 = 8;
const T_MY_CERTIFICATE: u8 = 9;
const T_MORE_NUMBERS: u8 = 10;
const T_ENROL_CUSTOMS: u8 = 11;
const T_STANDING: u8 = 12;
const T_USAGE: u8 = 13;
const T_LOG_PAGE: u8 = 14;
const T_COSIGNED: u8 = 15;
const T_SUBMIT_MANY: u8 = 16;
const T_LOG_TILES: u8 = 17;
/// At most this many entries in one page of an office's log.
pub const MAX_LOG_PAGE: usize = 1024;

const R_ENROLLED: u8 = 1;
const R_SYNC: u8 = 2;
const R_RECEIPT: u8 = 3;
const R_BLOB_HAVE: u8 = 4;
const R_BLOB_DATA: u8 = 5;
const R_ERROR: u8 = 6;
const R_CERTIFIED: u8 = 7;
const R_REVOCATIONS: u8 = 8;
const R_REFUSED: u8 = 9;
const R_NUMBERS: u8 = 10;
const R_STANDING: u8 = 11;
const R_USAGE_STORED: u8 = 12;
const R_LOG_PAGE: u8 = 13;
const R_COSIGN_KEPT: u8 = 14;
const R_SUBMITTED: u8 = 15;
const R_LOG_TILES: u8 = 16;

const D_MESSAGE: u8 = 1;
const D_DONE: u8 = 2;
const D_NOT_FOUND: u8 = 3;

fn invalid(field: &'static str, reason: &'static str) -> DecodeError {
    DecodeError::Invalid { field, reason }
}

impl Request {
    /// Encodes the request body.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Enrol { secret, master_key } => {
                w.u8(T_ENROL).fixed(secret).fixed(master_key);
            }
            Self::Sync { feed, cursor, docs } => {
                w.u8(T_SYNC).u64(*feed).u64(*cursor).count(docs.len());
                for (id, m) in docs {
                    w.fixed(id.as_bytes()).bytes(m);
                }
            }
            Self::Submit(env) => {
                w.u8(T_SUBMIT).bytes(env);
            }
            Self::BlobStatus { sha256, size } => {
                w.u8(T_BLOB_STATUS).fixed(sha256).u64(*size);
            }
            Self::BlobPut {
                sha256,
                size,
                offset,
                bytes,
            } => {
                w.u8(T_BLOB_PUT)
                    .fixed(sha256)
                    .u64(*size)
                    .u64(*offset)
                    .bytes(bytes);
            }
            Self::BlobGet { sha256, offset } => {
                w.u8(T_BLOB_GET).fixed(sha256).u64(*offset);
            }
            Self::Certify(b) => {
                w.u8(T_CERTIFY).bytes(b);
            }
            Self::Revocations => {
                w.u8(T_REVOCATIONS);
            }
            Self::MyCertificate => {
                w.u8(T_MY_CERTIFICATE);
            }
            Self::MoreNumbers { current, want } => {
                w.u8(T_MORE_NUMBERS)
                    .fixed(&current.to_be_bytes())
                    .u64(*want);
            }
            Self::EnrolCustoms { secret } => {
                w.u8(T_ENROL_CUSTOMS).fixed(secret);
            }
            Self::Standing { cursor } => {
                w.u8(T_STANDING).u64(*cursor);
            }
            Self::Usage(entries) => {
                w.u8(T_USAGE).count(entries.len());
                for e in entries {
                    w.bytes(e);
                }
            }
            Self::LogPage { from } => {
                w.u8(T_LOG_PAGE).u64(*from);
            }
            Self::Cosigned { checkpoint } => {
                w.u8(T_COSIGNED).bytes(checkpoint);
            }
            Self::LogTiles { size, tiles } => {
                w.u8(T_LOG_TILES).u64(*size).count(tiles.len());
                for t in tiles {
                    w.u8(t.level).u64(t.index).fixed(&t.width.to_be_bytes());
                }
            }
            Self::SubmitMany(envs) => {
                w.u8(T_SUBMIT_MANY).count(envs.len());
                for e in envs {
                    w.bytes(e);
                }
            }
        }
        w.finish()
    }

    /// Decodes a request body, refusing anything malformed or over a limit.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let req = match r.u8("type")? {
            T_ENROL => Self::Enrol {
                secret: r.fixed("secret")?,
                master_key: r.fixed("master_key")?,
            },
            T_SYNC => {
                let feed = r.u64("feed")?;
                let cursor = r.u64("cursor")?;
                let n = r.count("docs", MAX_DOCS, 20)?;
                let mut docs = Vec::with_capacity(n);
                for _ in 0..n {
                    let id = DocId(r.fixed("docs.id")?);
                    let m = r.bytes("docs.message", MAX_DOC_MESSAGE)?.to_vec();
                    docs.push((id, m));
                }
                Self::Sync { feed, cursor, docs }
            }
            T_SUBMIT => Self::Submit(r.bytes("envelope", MAX_ENVELOPE)?.to_vec()),
            T_SUBMIT_MANY => {
                let n = r.count("envelopes", MAX_SUBMISSIONS, 4)?;
                if n == 0 {
                    return Err(invalid("envelopes", "empty"));
                }
                let mut envs = Vec::with_capacity(n);
                for _ in 0..n {
                    envs.push(r.bytes("envelopes", MAX_ENVELOPE)?.to_vec());
                }
                Self::SubmitMany(envs)
            }
            T_BLOB_STATUS => Self::BlobStatus {
                sha256: r.fixed("sha256")?,
                size: r.u64("size")?,
            },
            T_BLOB_PUT => {
                let sha256 = r.fixed("sha256")?;
                let size = r.u64("size")?;
                let offset = r.u64("offset")?;
                let bytes = r.bytes("bytes", BLOB_CHUNK)?.to_vec();
                if offset % BLOB_CHUNK as u64 != 0 {
                    return Err(invalid("offset", "not chunk-aligned"));
                }
                Self::BlobPut {
                    sha256,
                    size,
                    offset,
                    bytes,
                }
            }
            T_BLOB_GET => {
                let sha256 = r.fixed("sha256")?;
                let offset = r.u64("offset")?;
                if offset % BLOB_CHUNK as u64 != 0 {
                    return Err(invalid("offset", "not chunk-aligned"));
                }
                Self::BlobGet { sha256, offset }
            }
            T_CERTIFY => Self::Certify(r.bytes("request", 4096)?.to_vec()),
            T_REVOCATIONS => Self::Revocations,
            T_MY_CERTIFICATE => Self::MyCertificate,
            T_MORE_NUMBERS => Self::MoreNumbers {
                current: u128::from_be_bytes(r.fixed("current")?),
                want: r.u64("want")?,
            },
            T_ENROL_CUSTOMS => Self::EnrolCustoms {
                secret: r.fixed("secret")?,
            },
            T_STANDING => Self::Standing {
                cursor: r.u64("cursor")?,
            },
            T_USAGE => {
                let n = r.count("entries", crate::usage::MAX_ENTRIES, 4)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    entries.push(r.bytes("entries", 1024)?.to_vec());
                }
                Self::Usage(entries)
            }
            T_LOG_PAGE => Self::LogPage {
                from: r.u64("from")?,
            },
            T_COSIGNED => Self::Cosigned {
                checkpoint: r.bytes("checkpoint", 16 * 1024)?.to_vec(),
            },
            T_LOG_TILES => {
                let size = r.u64("size")?;
                let n = r.count("tiles", MAX_TILES, 11)?;
                let mut tiles = Vec::with_capacity(n);
                for _ in 0..n {
                    let level = r.u8("tiles")?;
                    let index = r.u64("tiles")?;
                    let width = u16::from_be_bytes(r.fixed::<2>("tiles")?);
                    if level > 63 || !(1..=256).contains(&width) {
                        return Err(invalid("tiles", "not a tile of height 8"));
                    }
                    tiles.push(TileRef {
                        level,
                        index,
                        width,
                    });
                }
                Self::LogTiles { size, tiles }
            }
            _ => return Err(invalid("type", "unknown request type")),
        };
        r.end()?;
        Ok(req)
    }
}

impl Response {
    /// Encodes the response body.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Enrolled { enterprise_uscc } => {
                w.u8(R_ENROLLED).str(enterprise_uscc);
            }
            Self::Sync {
                feed,
                cursor,
                docs,
                more,
            } => {
                w.u8(R_SYNC)
                    .u64(*feed)
                    .u64(*cursor)
                    .u8(u8::from(*more))
                    .count(docs.len());
                for (id, d) in docs {
                    w.fixed(id.as_bytes());
                    match d {
                        DocReply::Message(m) => {
                            w.u8(D_MESSAGE).bytes(m);
                        }
                        DocReply::Done => {
                            w.u8(D_DONE);
                        }
                        DocReply::NotFound => {
                            w.u8(D_NOT_FOUND);
                        }
                    }
                }
            }
            Self::Receipt(b) => {
                w.u8(R_RECEIPT).bytes(b);
            }
            Self::Refused(b) => {
                w.u8(R_REFUSED).bytes(b);
            }
            Self::BlobHave { received } => {
                w.u8(R_BLOB_HAVE).u64(*received);
            }
            Self::BlobData {
                size,
                offset,
                bytes,
            } => {
                w.u8(R_BLOB_DATA).u64(*size).u64(*offset).bytes(bytes);
            }
            Self::Error { code, message } => {
                w.u8(R_ERROR).u32(*code as u32).str(message);
            }
            Self::Certified {
                certificate,
                revocations,
            } => {
                w.u8(R_CERTIFIED).bytes(certificate).bytes(revocations);
            }
            Self::Revocations(b) => {
                w.u8(R_REVOCATIONS).bytes(b);
            }
            Self::Numbers { first, len } => {
                w.u8(R_NUMBERS).fixed(&first.to_be_bytes()).u64(*len);
            }
            Self::Standing { page, keys, more } => {
                w.u8(R_STANDING).bytes(page).count(keys.len());
                for k in keys {
                    w.bytes(k);
                }
                w.u8(u8::from(*more));
            }
            Self::UsageStored { seq } => {
                w.u8(R_USAGE_STORED).u64(*seq);
            }
            Self::LogPage {
                entries,
                checkpoint,
                keys,
                more,
            } => {
                w.u8(R_LOG_PAGE).count(entries.len());
                for e in entries {
                    w.bytes(e);
                }
                w.bytes(checkpoint).count(keys.len());
                for k in keys {
                    w.bytes(k);
                }
                w.u8(u8::from(*more));
            }
            Self::CosignKept => {
                w.u8(R_COSIGN_KEPT);
            }
            Self::LogTiles {
                checkpoint,
                tiles,
                keys,
            } => {
                w.u8(R_LOG_TILES).bytes(checkpoint).count(tiles.len());
                for t in tiles {
                    match t {
                        Some(b) => w.u8(1).bytes(b),
                        None => w.u8(0),
                    };
                }
                w.count(keys.len());
                for k in keys {
                    w.bytes(k);
                }
            }
            Self::Submitted(answers) => {
                w.u8(R_SUBMITTED).count(answers.len());
                for a in answers {
                    w.bytes(&a.encode());
                }
            }
        }
        w.finish()
    }

    /// Decodes a response body, refusing anything malformed or over a limit.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let resp = match r.u8("type")? {
            R_ENROLLED => Self::Enrolled {
                enterprise_uscc: r.str("enterprise_uscc", 64)?.to_owned(),
            },
            R_SYNC => {
                let feed = r.u64("feed")?;
                let cursor = r.u64("cursor")?;
                let more = match r.u8("more")? {
                    0 => false,
                    1 => true,
                    _ => return Err(invalid("more", "not a boolean")),
                };
                let n = r.count("docs", MAX_DOCS, 17)?;
                let mut docs = Vec::with_capacity(n);
                for _ in 0..n {
                    let id = DocId(r.fixed("docs.id")?);
                    let d = match r.u8("docs.kind")? {
                        D_MESSAGE => {
                            DocReply::Message(r.bytes("docs.message", MAX_DOC_MESSAGE)?.to_vec())
                        }
                        D_DONE => DocReply::Done,
                        D_NOT_FOUND => DocReply::NotFound,
                        _ => return Err(invalid("docs.kind", "unknown")),
                    };
                    docs.push((id, d));
                }
                Self::Sync {
                    feed,
                    cursor,
                    docs,
                    more,
                }
            }
            R_RECEIPT => Self::Receipt(r.bytes("receipt", 64 * 1024)?.to_vec()),
            R_REFUSED => Self::Refused(r.bytes("refusal", 512 * 1024)?.to_vec()),
            R_BLOB_HAVE => Self::BlobHave {
                received: r.u64("received")?,
            },
            R_BLOB_DATA => Self::BlobData {
                size: r.u64("size")?,
                offset: r.u64("offset")?,
                bytes: r.bytes("bytes", BLOB_CHUNK)?.to_vec(),
            },
            R_ERROR => {
                let code = u16::try_from(r.u32("code")?)
                    .ok()
                    .and_then(ErrorCode::from_u16)
                    .ok_or(invalid("code", "unknown"))?;
                Self::Error {
                    code,
                    message: r.str("message", 4096)?.to_owned(),
                }
            }
            R_CERTIFIED => Self::Certified {
                certificate: r.bytes("certificate", 4096)?.to_vec(),
                revocations: r.bytes("revocations", 8 << 20)?.to_vec(),
            },
            R_REVOCATIONS => Self::Revocations(r.bytes("revocations", 8 << 20)?.to_vec()),
            R_NUMBERS => Self::Numbers {
                first: u128::from_be_bytes(r.fixed("first")?),
                len: r.u64("len")?,
            },
            R_STANDING => {
                let page = r.bytes("page", 1 << 20)?.to_vec();
                let n = r.count("keys", 1024, 4)?;
                let mut keys = Vec::with_capacity(n);
                for _ in 0..n {
                    keys.push(r.bytes("keys", 4096)?.to_vec());
                }
                let more = match r.u8("more")? {
                    0 => false,
                    1 => true,
                    _ => return Err(invalid("more", "not a boolean")),
                };
                Self::Standing { page, keys, more }
            }
            R_USAGE_STORED => Self::UsageStored { seq: r.u64("seq")? },
            R_LOG_PAGE => {
                let n = r.count("entries", MAX_LOG_PAGE, 4)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    entries.push(
                        r.bytes("entries", crate::translog::MAX_OBJECT + 16)?
                            .to_vec(),
                    );
                }
                let checkpoint = r.bytes("checkpoint", 16 * 1024)?.to_vec();
                let k = r.count("keys", 1024, 4)?;
                let mut keys = Vec::with_capacity(k);
                for _ in 0..k {
                    keys.push(r.bytes("keys", 4096)?.to_vec());
                }
                let more = match r.u8("more")? {
                    0 => false,
                    1 => true,
                    _ => return Err(invalid("more", "not a boolean")),
                };
                Self::LogPage {
                    entries,
                    checkpoint,
                    keys,
                    more,
                }
            }
            R_COSIGN_KEPT => Self::CosignKept,
            R_LOG_TILES => {
                let checkpoint = r.bytes("checkpoint", 16 * 1024)?.to_vec();
                let n = r.count("tiles", MAX_TILES, 1)?;
                let mut tiles = Vec::with_capacity(n);
                for _ in 0..n {
                    tiles.push(match r.u8("tiles")? {
                        0 => None,
                        1 => Some(r.bytes("tiles", 256 * 32)?.to_vec()),
                        _ => return Err(invalid("tiles", "not a present flag")),
                    });
                }
                let k = r.count("keys", 1024, 4)?;
                let mut keys = Vec::with_capacity(k);
                for _ in 0..k {
                    keys.push(r.bytes("keys", 4096)?.to_vec());
                }
                Self::LogTiles {
                    checkpoint,
                    tiles,
                    keys,
                }
            }
            R_SUBMITTED => {
                let n = r.count("answers", MAX_SUBMISSIONS, 4)?;
                let mut answers = Vec::with_capacity(n);
                for _ in 0..n {
                    let a = Self::decode(r.bytes("answers", 512 * 1024 + 16)?)?;
                    if !matches!(a, Self::Receipt(_) | Self::Refused(_) | Self::Error { .. }) {
                        return Err(invalid("answers", "not an answer to a submission"));
                    }
                    answers.push(a);
                }
                Self::Submitted(answers)
            }
            _ => return Err(invalid("type", "unknown response type")),
        };
        r.end()?;
        Ok(resp)
    }

    /// A refusal.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips_and_truncations_fail() {
        let reqs = vec![
            Request::Enrol {
                secret: [1; 32],
                master_key: [2; 32],
            },
            Request::Sync {
                feed: 0x0123_4567_89ab_cdef,
                cursor: 9,
                docs: vec![(DocId([3; 16]), vec![0x43, 1, 2])],
            },
            Request::Submit(vec![1, 2, 3]),
            Request::SubmitMany(vec![vec![1, 2, 3], vec![4]]),
            Request::BlobStatus {
                sha256: [4; 32],
                size: 10,
            },
            Request::BlobPut {
                sha256: [4; 32],
                size: 10,
                offset: 0,
                bytes: vec![5; 10],
            },
            Request::BlobGet {
                sha256: [4; 32],
                offset: BLOB_CHUNK as u64,
            },
            Request::MoreNumbers {
                current: 269_000_000_000_000_000_000,
                want: 1000,
            },
            Request::EnrolCustoms { secret: [6; 32] },
            Request::Standing { cursor: 77 },
            Request::LogPage { from: 1_000 },
            Request::Cosigned {
                checkpoint: b"note".to_vec(),
            },
            Request::Usage(vec![vec![1, 2], vec![3]]),
            Request::LogTiles {
                size: 300,
                tiles: vec![
                    TileRef {
                        level: 0,
                        index: 1,
                        width: 44,
                    },
                    TileRef {
                        level: 1,
                        index: 0,
                        width: 256,
                    },
                ],
            },
        ];
        for q in reqs {
            let b = q.encode();
            assert_eq!(Request::decode(&b).unwrap(), q);
            for cut in 0..b.len() {
                assert!(Request::decode(&b[..cut]).is_err(), "{q:?} cut at {cut}");
            }
            let mut longer = b.clone();
            longer.push(0);
            assert!(Request::decode(&longer).is_err());
        }
        let resps = vec![
            Response::Enrolled {
                enterprise_uscc: "913502000728319549".into(),
            },
            Response::Sync {
                feed: 12,
                cursor: 4,
                more: true,
                docs: vec![
                    (DocId([1; 16]), DocReply::Message(vec![1])),
                    (DocId([2; 16]), DocReply::Done),
                    (DocId([3; 16]), DocReply::NotFound),
                ],
            },
            Response::Receipt(vec![9; 100]),
            Response::Refused(vec![8; 100]),
            Response::BlobHave { received: 5 },
            Response::BlobData {
                size: 9,
                offset: 0,
                bytes: vec![1; 9],
            },
            Response::error(ErrorCode::BadSeal, "no"),
            Response::Certified {
                certificate: vec![1],
                revocations: vec![2, 3],
            },
            Response::Revocations(vec![4]),
            Response::Numbers {
                first: 269_000_000_000_000_001_000,
                len: 1000,
            },
            Response::Standing {
                page: vec![7; 40],
                keys: vec![vec![1; 10], vec![2; 12]],
                more: true,
            },
            Response::UsageStored { seq: 12 },
            Response::Submitted(vec![
                Response::Receipt(vec![9; 10]),
                Response::Refused(vec![8; 3]),
                Response::error(ErrorCode::BadSeal, "no"),
            ]),
            Response::LogPage {
                entries: vec![vec![1; 30], vec![2; 5]],
                checkpoint: b"note".to_vec(),
                keys: vec![vec![3; 8]],
                more: false,
            },
            Response::CosignKept,
            Response::LogTiles {
                checkpoint: b"note".to_vec(),
                tiles: vec![Some(vec![5; 64]), None],
                keys: vec![vec![3; 8]],
            },
        ];
        for r in resps {
            let b = r.encode();
            assert_eq!(Response::decode(&b).unwrap(), r);
            for cut in 0..b.len() {
                assert!(Response::decode(&b[..cut]).is_err());
            }
        }
    }

    #[test]
    fn limits_are_checked_before_allocation() {
        let mut w = Writer::new();
        w.u8(T_SYNC).u64(0).u32(u32::MAX);
        assert!(Request::decode(&w.finish()).is_err());
        let mut w = Writer::new();
        w.u8(T_BLOB_PUT)
            .fixed(&[0; 32])
            .u64(1)
            .u64(0)
            .u32((BLOB_CHUNK + 1) as u32);
        assert!(Request::decode(&w.finish()).is_err());
        let mut w = Writer::new();
        w.u8(T_BLOB_GET).fixed(&[0; 32]).u64(5);
        assert!(Request::decode(&w.finish()).is_err());
    }

    #[test]
    fn a_batch_of_submissions_is_bounded_and_holds_only_answers_to_submissions() {
        let mut w = Writer::new();
        w.u8(T_SUBMIT_MANY).count(MAX_SUBMISSIONS + 1);
        assert!(Request::decode(&w.finish()).is_err());
        assert!(Request::decode(&Request::SubmitMany(Vec::new()).encode()).is_err());
        let nested = Response::Submitted(vec![Response::Submitted(Vec::new())]);
        assert!(Response::decode(&nested.encode()).is_err());
        let other = Response::Submitted(vec![Response::CosignKept]);
        assert!(Response::decode(&other.encode()).is_err());
    }
}
