//! Tenant isolation at the authority (THREATS T4, F10): a device enrolled for enterprise B
//! tries every message type against enterprise A's documents, blobs, seals and invite, and
//! an unenrolled device tries them all; every attempt is refused and nothing of A's changes.
//! Real redb file, real Automerge messages, real signatures.

use std::sync::Arc;

use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};
use ed25519_dalek::SigningKey;
use exlic_client::DocId;
use exlic_client::application::ApplicationForm;
use exlic_client::cert_request::{CertRequest, RequestKind};
use exlic_client::invite::Invite;
use exlic_client::protocol::{DocReply, ErrorCode, Request, Response};
use exlic_client::seal::{
    AttachmentDigest, SealPayload, SealedSubmission, canonical_content, sha256,
};

use super::*;
use crate::clock::ManualClock;
use crate::store::StoreOptions;
use crate::store::form_doc;
use exlic_client::certificate::Trust;

const USCC_A: &str = "913502000728319549";
const USCC_B: &str = "91350100M000100Y43";

struct Fx {
    _dir: tempfile::TempDir,
    auth: Authority,
}

/// An authority over the store in `dir` (created or reopened) at clock `now_ms`.
fn authority_at(dir: &std::path::Path, now_ms: i64, attachment_max_bytes: u64) -> Authority {
    let store = Arc::new(Store::open(&dir.join("a.redb"), StoreOptions::default()).unwrap());
    initialise(&store, "AA", &ManualClock::at(now_ms)).unwrap();
    Authority::new(
        store,
        Arc::new(ManualClock::at(now_ms)),
        AuthorityInfo {
            name: "test".into(),
            agency_code: "AA".into(),
            addrs: vec!["/ip4/127.0.0.1/tcp/1".into()],
            attachment_max_bytes,
        },
    )
    .unwrap()
}

/// An authority in a fresh directory (kept alive by the returned guard).
pub(super) fn authority_for_test() -> (Authority, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let auth = authority_at(dir.path(), 1_767_000_000_000, 1 << 20);
    (auth, dir)
}

fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let auth = authority_at(dir.path(), 1_767_000_000_000, 1 << 20);
    Fx { _dir: dir, auth }
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

/// The enterprise master e-key of each test enterprise.
fn master(uscc: &str) -> SigningKey {
    SigningKey::from_bytes(&[if uscc == USCC_A { 41 } else { 42 }; 32])
}

fn cert_request(
    kind: RequestKind,
    uscc: &str,
    device: &SigningKey,
    mobile: &str,
    old: &str,
    nonce: u8,
) -> Vec<u8> {
    CertRequest {
        kind,
        enterprise_uscc: uscc.into(),
        device_key: device.verifying_key().to_bytes(),
        mobile: mobile.into(),
        old_mobile: old.into(),
        requested_at_ms: 0,
        nonce: [nonce; 16],
    }
    .sign(&master(uscc))
}

/// Enrols `device` for `uscc` and has the e-key authorise it (新授权).
fn enrol(a: &Authority, uscc: &str, device: &SigningKey) -> [u8; 32] {
    let token = a.registry.invite(uscc, "企业", 100, 30).unwrap();
    let inv = Invite::from_token(&token).unwrap();
    let p = device.verifying_key().to_bytes();
    let r = a.handle(
        p,
        Request::Enrol {
            secret: inv.secret,
            master_key: master(uscc).verifying_key().to_bytes(),
        },
    );
    assert!(
        matches!(r.response, Response::Enrolled { .. }),
        "{:?}",
        r.response
    );
    let nonce = device.verifying_key().to_bytes()[0];
    let r = a.handle(
        p,
        Request::Certify(cert_request(
            RequestKind::New,
            uscc,
            device,
            "13800138000",
            "",
            nonce,
        )),
    );
    assert!(
        matches!(r.response, Response::Certified { .. }),
        "{:?}",
        r.response
    );
    inv.secret
}

/// Runs the sync protocol for one document until quiescent; returns the last reply kinds.
fn sync_doc(a: &Authority, peer: &SigningKey, doc: &mut AutoCommit, id: DocId) -> Vec<DocReply> {
    let mut state = sync::State::new();
    let mut replies = Vec::new();
    for _ in 0..10 {
        let Some(msg) = doc.sync().generate_sync_message(&mut state) else {
            break;
        };
        let r = a.handle(
            peer.verifying_key().to_bytes(),
            Request::Sync {
                cursor: 0,
                docs: vec![(id, msg.encode())],
            },
        );
        let Response::Sync { docs, .. } = r.response else {
            panic!("{:?}", r.response)
        };
        for (d, reply) in docs {
            if d != id {
                continue;
            }
            if let DocReply::Message(m) = &reply {
                doc.sync()
                    .receive_sync_message(&mut state, sync::Message::decode(m).unwrap())
                    .unwrap();
            }
            replies.push(reply);
        }
        if matches!(replies.last(), Some(DocReply::NotFound)) {
            break;
        }
    }
    replies
}

fn app_doc(remarks: &str) -> AutoCommit {
    let mut d = AutoCommit::new();
    let form = ApplicationForm {
        remarks: remarks.into(),
        ..Default::default()
    };
    form_doc::init(&mut d, 0, &form).unwrap();
    d.commit();
    d
}

fn upload(a: &Authority, peer: &SigningKey, bytes: &[u8]) -> Response {
    a.handle(
        peer.verifying_key().to_bytes(),
        Request::BlobPut {
            sha256: sha256(bytes),
            size: bytes.len() as u64,
            offset: 0,
            bytes: bytes.to_vec(),
        },
    )
    .response
}

fn seal(doc: &mut AutoCommit, id: DocId, uscc: &str, device: &SigningKey, att: &[u8]) -> Vec<u8> {
    let form = form_doc::read_form(doc);
    let content = canonical_content(&form);
    let mut heads: Vec<[u8; 32]> = doc.get_heads().iter().map(|h| h.0).collect();
    heads.sort();
    let p = SealPayload {
        enterprise_uscc: uscc.into(),
        application_id: id,
        application_no: "269999400000560600000".into(),
        revision: 1,
        heads,
        content_sha256: sha256(&content),
        attachments: vec![AttachmentDigest {
            sha256: sha256(att),
            size: att.len() as u64,
        }],
        device_key: device.verifying_key().to_bytes(),
        sealed_at_ms: 0,
    };
    SealedSubmission::seal(&p, content, device).encode()
}

fn refused(r: &Response, code: ErrorCode) -> bool {
    matches!(r, Response::Error { code: c, .. } if *c == code)
}

#[test]
fn enterprise_b_can_neither_read_nor_write_enterprise_a() {
    let f = fx();
    let a = &f.auth;
    let (dev_a, dev_b, stranger) = (key(10), key(20), key(30));
    let secret_a = enrol(a, USCC_A, &dev_a);
    enrol(a, USCC_B, &dev_b);

    // A syncs a document, uploads an attachment and submits a sealed application.
    let id = DocId([7; 16]);
    let mut doc_a = app_doc("A's secret remarks");
    let replies = sync_doc(a, &dev_a, &mut doc_a, id);
    assert!(
        !replies.iter().any(|r| matches!(r, DocReply::NotFound)),
        "{replies:?}"
    );
    let heads_before = a.replica.heads(id).unwrap().unwrap();
    let att = b"A's contract".to_vec();
    assert!(
        matches!(upload(a, &dev_a, &att), Response::BlobHave { received } if received == att.len() as u64)
    );
    let env_a = seal(&mut doc_a, id, USCC_A, &dev_a, &att);
    let r = a
        .handle(
            dev_a.verifying_key().to_bytes(),
            Request::Submit(env_a.clone()),
        )
        .response;
    assert!(
        matches!(r, Response::Receipt(_)),
        "A's own submission: {r:?}"
    );
    let submissions = a.ingest.submission_count().unwrap();
    let b = dev_b.verifying_key().to_bytes();

    // 1. Sync, reading: B's empty replica of A's id.
    let mut empty = AutoCommit::new();
    let replies = sync_doc(a, &dev_b, &mut empty, id);
    assert_eq!(replies.last(), Some(&DocReply::NotFound), "read");
    assert!(empty.get_heads().is_empty(), "B received A's changes");
    // B's feed never lists A's documents.
    let r = a
        .handle(
            b,
            Request::Sync {
                cursor: 0,
                docs: vec![],
            },
        )
        .response;
    let Response::Sync { docs, .. } = r else {
        panic!("{r:?}")
    };
    assert!(
        docs.iter().all(|(d, _)| *d != id),
        "B's feed lists A's document"
    );

    // 2. Sync, writing: B holds a copy of A's document and pushes a change to it.
    let mut copy = AutoCommit::load(&doc_a.save()).unwrap();
    let mut form = form_doc::read_form(&copy);
    form.remarks = "B was here".into();
    form_doc::write_form(&mut copy, &form).unwrap();
    copy.commit();
    let mut st = sync::State::new();
    for _ in 0..4 {
        let Some(m) = copy.sync().generate_sync_message(&mut st) else {
            break;
        };
        let r = a
            .handle(
                b,
                Request::Sync {
                    cursor: 0,
                    docs: vec![(id, m.encode())],
                },
            )
            .response;
        let Response::Sync { docs, .. } = r else {
            panic!("{r:?}")
        };
        assert_eq!(
            docs.iter().find(|(d, _)| *d == id).map(|x| &x.1),
            Some(&DocReply::NotFound),
            "write"
        );
    }
    assert_eq!(
        a.replica.heads(id).unwrap().unwrap(),
        heads_before,
        "A's document changed"
    );

    // 3. Submit: A's envelope from B's device, and B sealing A's document as A.
    assert!(
        refused(
            &a.handle(b, Request::Submit(env_a.clone())).response,
            ErrorCode::BadSeal
        ),
        "replayed envelope"
    );
    let forged = seal(&mut doc_a, id, USCC_A, &dev_b, &att);
    assert!(
        refused(
            &a.handle(b, Request::Submit(forged)).response,
            ErrorCode::BadSeal
        ),
        "seal in A's name"
    );
    let as_b = seal(&mut doc_a, id, USCC_B, &dev_b, &att);
    assert!(
        refused(
            &a.handle(b, Request::Submit(as_b)).response,
            ErrorCode::NotFound
        ),
        "B's seal over A's document"
    );
    assert_eq!(a.ingest.submission_count().unwrap(), submissions);

    // 4–6. Blobs: status reveals nothing, fetch is refused, a wrong upload cannot claim it.
    let h = sha256(&att);
    let r = a
        .handle(
            b,
            Request::BlobStatus {
                sha256: h,
                size: att.len() as u64,
            },
        )
        .response;
    assert_eq!(r, Response::BlobHave { received: 0 }, "status");
    assert!(
        refused(
            &a.handle(
                b,
                Request::BlobGet {
                    sha256: h,
                    offset: 0
                }
            )
            .response,
            ErrorCode::NotFound
        ),
        "get"
    );
    let wrong = vec![0u8; att.len()];
    let r = a
        .handle(
            b,
            Request::BlobPut {
                sha256: h,
                size: att.len() as u64,
                offset: 0,
                bytes: wrong,
            },
        )
        .response;
    assert!(refused(&r, ErrorCode::BlobMismatch), "put {r:?}");
    assert!(
        refused(
            &a.handle(
                b,
                Request::BlobGet {
                    sha256: h,
                    offset: 0
                }
            )
            .response,
            ErrorCode::NotFound
        ),
        "get after put"
    );
    // A still reads its blob.
    let r = a
        .handle(
            dev_a.verifying_key().to_bytes(),
            Request::BlobGet {
                sha256: h,
                offset: 0,
            },
        )
        .response;
    assert!(
        matches!(r, Response::BlobData { ref bytes, .. } if *bytes == att),
        "{r:?}"
    );

    // 7. Enrol with A's spent invite.
    let r = a
        .handle(
            b,
            Request::Enrol {
                secret: secret_a,
                master_key: [2; 32],
            },
        )
        .response;
    assert!(refused(&r, ErrorCode::BadInvite), "{r:?}");

    // 8. An unenrolled device is refused everything but Enrol.
    let s = stranger.verifying_key().to_bytes();
    for req in [
        Request::Sync {
            cursor: 0,
            docs: vec![],
        },
        Request::Submit(env_a),
        Request::BlobStatus { sha256: h, size: 1 },
        Request::BlobPut {
            sha256: h,
            size: 1,
            offset: 0,
            bytes: vec![1],
        },
        Request::BlobGet {
            sha256: h,
            offset: 0,
        },
    ] {
        assert!(refused(&a.handle(s, req).response, ErrorCode::NotEnrolled));
    }
    assert!(refused(
        &a.handle(
            s,
            Request::Enrol {
                secret: [0; 32],
                master_key: [0; 32]
            }
        )
        .response,
        ErrorCode::BadInvite
    ));
}

/// A sync message of about 250 KiB whose one compressed change inflates to 256 MiB.
fn inflate_bomb() -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![0; 256 << 20]).unwrap();
    let body = e.finish().unwrap();
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    let mut n = body.len();
    while n >= 0x80 {
        chunk.push((n as u8) | 0x80);
        n >>= 7;
    }
    chunk.push(n as u8);
    chunk.extend(body);
    sync::Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: vec![chunk].into(),
        flags: None,
        version: sync::MessageVersion::V1,
    }
    .encode()
}

#[test]
fn malformed_sync_messages_store_nothing_and_drop_the_session() {
    let f = fx();
    let a = &f.auth;
    let dev = key(10);
    enrol(a, USCC_A, &dev);
    let p = dev.verifying_key().to_bytes();
    let docs_before = a.replica.doc_count().unwrap();
    let good = {
        let mut d = app_doc("x");
        let mut st = sync::State::new();
        d.sync().generate_sync_message(&mut st).unwrap().encode()
    };
    for bad in [
        vec![],
        vec![0x43],
        vec![0xff; 100],
        good[..good.len() / 2].to_vec(),
        inflate_bomb(),
    ] {
        // A good message for one document and garbage for another: nothing of it is kept.
        let h = a.handle(
            p,
            Request::Sync {
                cursor: 0,
                docs: vec![(DocId([1; 16]), good.clone()), (DocId([2; 16]), bad)],
            },
        );
        assert!(h.drop_peer, "{:?}", h.response);
        assert!(refused(&h.response, ErrorCode::BadRequest));
        assert_eq!(a.replica.doc_count().unwrap(), docs_before);
    }
    let h = a.handle(
        p,
        Request::Sync {
            cursor: 0,
            docs: vec![(DocId([1; 16]), good.clone()), (DocId([1; 16]), good)],
        },
    );
    assert!(h.drop_peer, "duplicate document ids");
    let h = a.handle(p, Request::Submit(vec![1, 2, 3]));
    assert!(h.drop_peer, "malformed envelope");
}

#[test]
fn number_change_leaves_one_valid_certificate_and_the_old_device_is_refused() {
    let f = fx();
    let a = &f.auth;
    let (old_dev, new_dev) = (key(10), key(11));
    let token = a.registry.invite(USCC_A, "企业", 100, 30).unwrap();
    let inv = Invite::from_token(&token).unwrap();
    let m = master(USCC_A).verifying_key().to_bytes();
    a.handle(
        old_dev.verifying_key().to_bytes(),
        Request::Enrol {
            secret: inv.secret,
            master_key: m,
        },
    );
    let token2 = Invite::from_token(&a.registry.invite(USCC_A, "企业", 100, 30).unwrap()).unwrap();
    a.handle(
        new_dev.verifying_key().to_bytes(),
        Request::Enrol {
            secret: token2.secret,
            master_key: m,
        },
    );
    let p_old = old_dev.verifying_key().to_bytes();
    let p_new = new_dev.verifying_key().to_bytes();
    let r = a
        .handle(
            p_old,
            Request::Certify(cert_request(
                RequestKind::New,
                USCC_A,
                &old_dev,
                "13800000001",
                "",
                1,
            )),
        )
        .response;
    assert!(matches!(r, Response::Certified { .. }), "{r:?}");

    // The old device seals an application (its clock says long ago) and it syncs.
    let id = DocId([8; 16]);
    let mut doc = app_doc("sealed on the old phone");
    sync_doc(a, &old_dev, &mut doc, id);
    let att = b"contract".to_vec();
    upload(a, &old_dev, &att);
    let late_seal = seal(&mut doc, id, USCC_A, &old_dev, &att);

    // 手机号码变更 from the new device: old certificate revoked, new one issued, one step.
    let r = a
        .handle(
            p_new,
            Request::Certify(cert_request(
                RequestKind::NumberChange,
                USCC_A,
                &new_dev,
                "13900000002",
                "13800000001",
                2,
            )),
        )
        .response;
    let Response::Certified {
        certificate,
        revocations,
    } = r
    else {
        panic!("{r:?}")
    };
    let mut trust = Trust::new(a.public_key());
    let now = 1_767_000_000_000;
    let c = trust.certificate(&certificate, now).unwrap();
    assert_eq!((c.mobile.as_str(), c.device_key), ("13900000002", p_new));
    let crl = trust.revocations(&revocations, now).unwrap();
    assert_eq!(
        crl.revoked.len(),
        1,
        "exactly the old certificate is revoked"
    );
    let active = {
        let txn = a.store().read().unwrap();
        crate::store::certs::all(&txn)
            .unwrap()
            .iter()
            .filter(|c| c.revoked_ms.is_none())
            .count()
    };
    assert_eq!(active, 1, "exactly one valid certificate");

    // The old device's seal arriving afterwards is refused, whatever its clock said.
    let r = a.handle(p_old, Request::Submit(late_seal)).response;
    assert!(
        matches!(&r, Response::Error { code: ErrorCode::BadSeal, message } if message.contains("revoked")),
        "{r:?}"
    );

    // Replay, a wrong signer, a third-party enterprise and the cap of three are refused.
    let again = a
        .handle(
            p_new,
            Request::Certify(cert_request(
                RequestKind::NumberChange,
                USCC_A,
                &new_dev,
                "13900000002",
                "13800000001",
                2,
            )),
        )
        .response;
    assert!(
        refused(&again, ErrorCode::BadCertRequest),
        "replay: {again:?}"
    );
    let by_b = CertRequest {
        kind: RequestKind::New,
        enterprise_uscc: USCC_A.into(),
        device_key: [3; 32],
        mobile: "13700000000".into(),
        old_mobile: String::new(),
        requested_at_ms: 0,
        nonce: [9; 16],
    }
    .sign(&master(USCC_B));
    assert!(
        refused(
            &a.handle(p_new, Request::Certify(by_b)).response,
            ErrorCode::BadCertRequest
        ),
        "wrong e-key"
    );
    for (n, d) in [(20u8, key(20)), (21, key(21))] {
        let r = a
            .handle(
                p_new,
                Request::Certify(cert_request(
                    RequestKind::DeviceChange,
                    USCC_A,
                    &d,
                    "13700000000",
                    "",
                    n,
                )),
            )
            .response;
        assert!(matches!(r, Response::Certified { .. }), "{r:?}");
    }
    let fourth = a
        .handle(
            p_new,
            Request::Certify(cert_request(
                RequestKind::DeviceChange,
                USCC_A,
                &key(22),
                "13700000000",
                "",
                23,
            )),
        )
        .response;
    assert!(
        refused(&fourth, ErrorCode::BadCertRequest),
        "a fourth certificate: {fourth:?}"
    );
}

#[test]
fn a_hundred_concurrent_issuances_get_distinct_numbers_that_survive_a_restart() {
    use crate::domain::review::Stage;
    let dir = tempfile::tempdir().unwrap();
    // 2026-05-17
    let open = |dir: &std::path::Path| Arc::new(authority_at(dir, 1_779_000_000_000, 1 << 20));
    let a = open(dir.path());
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let att = b"contract".to_vec();
    upload(&a, &dev, &att);
    let mut ids = Vec::new();
    for i in 0..101u8 {
        let id = DocId([i; 16]);
        let mut form = crate::domain::rules::tests_support::seed_form();
        form.quota_year = "2026".into();
        let mut d = AutoCommit::new();
        form_doc::init(&mut d, 0, &form).unwrap();
        d.commit();
        sync_doc(&a, &dev, &mut d, id);
        let env = seal(&mut d, id, USCC_A, &dev, &att);
        assert!(matches!(
            a.handle(dev.verifying_key().to_bytes(), Request::Submit(env))
                .response,
            Response::Receipt(_)
        ));
        a.review
            .decide(id, Stage::Initial, true, "", "经办人")
            .unwrap();
        ids.push(id);
    }
    let last = ids.pop().unwrap();
    let numbers: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .iter()
            .map(|id| {
                let a = a.clone();
                let id = *id;
                s.spawn(move || {
                    a.review
                        .decide(id, Stage::Second, true, "", "处长")
                        .unwrap()
                        .1
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: std::collections::BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), 100, "numbers repeat");
    assert!(
        numbers
            .iter()
            .all(|n| exlic_client::licence::valid_licence_no(n) && n.starts_with("26AA")),
        "{numbers:?}"
    );
    assert_eq!(distinct.last().unwrap().as_str(), "26AA000100");
    drop(a);
    let a = open(dir.path());
    let (_, no) = a
        .review
        .decide(last, Stage::Second, true, "", "处长")
        .unwrap();
    assert_eq!(
        no.as_deref(),
        Some("26AA000101"),
        "numbering continues after a restart"
    );
}

#[test]
fn a_20_mib_upload_cut_at_90_percent_resumes_at_90_percent() {
    let dir = tempfile::tempdir().unwrap();
    let a = authority_at(dir.path(), 1_767_000_000_000, 20 << 20);
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let p = dev.verifying_key().to_bytes();
    let blob: Vec<u8> = (0..20u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let h = sha256(&blob);
    let size = blob.len() as u64;
    let chunk = exlic_client::protocol::BLOB_CHUNK;
    let chunks = blob.len() / chunk;
    let cut = chunks * 9 / 10;
    for i in 0..cut {
        let r = a
            .handle(
                p,
                Request::BlobPut {
                    sha256: h,
                    size,
                    offset: (i * chunk) as u64,
                    bytes: blob[i * chunk..(i + 1) * chunk].to_vec(),
                },
            )
            .response;
        assert_eq!(
            r,
            Response::BlobHave {
                received: ((i + 1) * chunk) as u64
            }
        );
    }
    // The link drops; a new session asks where to resume.
    a.replica.disconnected(&p);
    let r = a
        .handle(p, Request::BlobStatus { sha256: h, size })
        .response;
    assert_eq!(
        r,
        Response::BlobHave {
            received: (cut * chunk) as u64
        },
        "resumes at 90 %"
    );
    for i in cut..chunks {
        a.handle(
            p,
            Request::BlobPut {
                sha256: h,
                size,
                offset: (i * chunk) as u64,
                bytes: blob[i * chunk..(i + 1) * chunk].to_vec(),
            },
        );
    }
    assert_eq!(
        a.handle(p, Request::BlobStatus { sha256: h, size })
            .response,
        Response::BlobHave { received: size }
    );
    let r = a
        .handle(
            p,
            Request::BlobGet {
                sha256: h,
                offset: (cut * chunk) as u64,
            },
        )
        .response;
    assert!(
        matches!(r, Response::BlobData { ref bytes, .. } if bytes[..] == blob[cut * chunk..(cut + 1) * chunk])
    );
    // An oversized declaration is refused before any byte is stored.
    let r = a
        .handle(
            p,
            Request::BlobStatus {
                sha256: [1; 32],
                size: (20 << 20) + 1,
            },
        )
        .response;
    assert!(refused(&r, ErrorCode::BadRequest));
}
