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
use exlic_client::invite::Invite;
use exlic_client::protocol::{DocReply, ErrorCode, Request, Response};
use exlic_client::seal::{
    AttachmentDigest, SealPayload, SealedSubmission, canonical_content, sha256,
};

use super::*;
use crate::clock::ManualClock;
use crate::store::StoreOptions;

const USCC_A: &str = "913502000728319549";
const USCC_B: &str = "91350100M000100Y43";

struct Fx {
    _dir: tempfile::TempDir,
    auth: Authority,
}

fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("a.redb"), StoreOptions::default()).unwrap());
    initialise(&store, "AA").unwrap();
    let auth = Authority::new(
        store,
        Arc::new(ManualClock::at(1_767_000_000_000)),
        AuthorityInfo {
            name: "test".into(),
            agency_code: "AA".into(),
            addrs: vec!["/ip4/127.0.0.1/tcp/1".into()],
            attachment_max_bytes: 1 << 20,
        },
    )
    .unwrap();
    Fx { _dir: dir, auth }
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn enrol(a: &Authority, uscc: &str, device: &SigningKey) -> [u8; 32] {
    let token = a.invite(uscc, "企业", 100, 30).unwrap();
    let inv = Invite::from_token(&token).unwrap();
    let r = a.handle(
        device.verifying_key().to_bytes(),
        Request::Enrol {
            secret: inv.secret,
            master_key: [1; 32],
        },
    );
    assert!(
        matches!(r.response, Response::Enrolled { .. }),
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
    let heads_before = a.heads(id).unwrap().unwrap();
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
    let submissions = a.submission_count().unwrap();
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
        a.heads(id).unwrap().unwrap(),
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
    assert_eq!(a.submission_count().unwrap(), submissions);

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

#[test]
fn malformed_sync_messages_store_nothing_and_drop_the_session() {
    let f = fx();
    let a = &f.auth;
    let dev = key(10);
    enrol(a, USCC_A, &dev);
    let p = dev.verifying_key().to_bytes();
    let docs_before = a.doc_count().unwrap();
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
        assert_eq!(a.doc_count().unwrap(), docs_before);
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
