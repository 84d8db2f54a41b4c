//! The authority's unit tests over a real redb file, real Automerge messages and real
//! signatures: the shared fixtures here, the tests by concern in the child modules.

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
    office_at(dir, "AA", now_ms, attachment_max_bytes)
}

/// The same for the office with agency code `agency`.
fn office_at(
    dir: &std::path::Path,
    agency: &str,
    now_ms: i64,
    attachment_max_bytes: u64,
) -> Authority {
    office_on(dir, agency, &ManualClock::at(now_ms), attachment_max_bytes)
}

/// The same on `clock`, which the test may move.
fn office_on(
    dir: &std::path::Path,
    agency: &str,
    clock: &ManualClock,
    attachment_max_bytes: u64,
) -> Authority {
    let store = Arc::new(Store::open(&dir.join("a.redb"), StoreOptions::default()).unwrap());
    initialise(&store).unwrap();
    Authority::new(
        store,
        Arc::new(clock.clone()),
        AuthorityInfo {
            name: "test".into(),
            agency_code: agency.into(),
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
                feed: 0,
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

/// The sample application of `uscc` for the fixture clock's year (2025), as a document.
fn app_doc(uscc: &str, remarks: &str) -> AutoCommit {
    form_doc_of(&ApplicationForm {
        remarks: remarks.into(),
        ..sample_form(uscc)
    })
}

/// The sample application of `uscc` for the fixture clock's year (2025).
fn sample_form(uscc: &str) -> ApplicationForm {
    exlic_client::sample::application(exlic_client::sample::NAME, uscc, 2025)
}

/// Unix ms of an RFC 3339 time.
fn ms(t: &str) -> i64 {
    t.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// `form` as an application document.
fn form_doc_of(form: &ApplicationForm) -> AutoCommit {
    let mut d = AutoCommit::new();
    form_doc::init(&mut d, 0, form).unwrap();
    d.commit();
    d
}

/// The seed form for quota year 2026, as document `id` of [`USCC_A`] synced by `dev` and
/// sealed with attachment `att` (uploaded already): the document and its envelope.
fn sealed_2026(a: &Authority, dev: &SigningKey, att: &[u8], id: DocId) -> (AutoCommit, Vec<u8>) {
    let mut form = crate::domain::rules::tests_support::seed_form();
    form.quota_year = "2026".into();
    let mut d = form_doc_of(&form);
    sync_doc(a, dev, &mut d, id);
    let env = seal(&mut d, id, USCC_A, dev, att);
    (d, env)
}

/// [`sealed_2026`], submitted (a receipt) and approved at 初审: waiting for 复审.
fn past_initial_review(a: &Authority, dev: &SigningKey, att: &[u8], id: DocId) {
    let (_, env) = sealed_2026(a, dev, att, id);
    assert!(matches!(
        a.handle(dev.verifying_key().to_bytes(), Request::Submit(env))
            .response,
        Response::Receipt(_)
    ));
    a.review
        .decide(
            id,
            crate::domain::review::Stage::Initial,
            true,
            "",
            "经办人",
        )
        .unwrap();
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
    seal_under(doc, id, uscc, device, att, None)
}

/// A seal that names certificate `serial` (payload version 2), or none (version 1).
fn seal_under(
    doc: &mut AutoCommit,
    id: DocId,
    uscc: &str,
    device: &SigningKey,
    att: &[u8],
    serial: Option<u64>,
) -> Vec<u8> {
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
        certificate_serial: serial,
    };
    SealedSubmission::seal(&p, content, device).encode()
}

fn refused(r: &Response, code: ErrorCode) -> bool {
    matches!(r, Response::Error { code: c, .. } if *c == code)
}

mod certificates;
mod customs;
mod isolation;
mod issuance;
mod keys;
mod office_rules;
mod replicated;
mod translog;

#[test]
fn a_public_document_kept_under_the_old_shared_id_moves_to_the_offices_own_id_on_open() {
    use crate::store::directory_doc;
    use exlic_client::directory::{Contact, Directory};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("a.redb"), StoreOptions::default()).unwrap());
    initialise(&store).unwrap();
    let old = Directory {
        contacts: vec![Contact {
            name: "江苏省商务厅".into(),
            phone: "025-57710000".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    {
        let mut w = store.write().unwrap();
        let id = directory_doc::legacy_id();
        w.create_doc(id, crate::store::kind::OTHER).unwrap();
        let d = w.doc(id).unwrap().unwrap();
        directory_doc::write(d, &old).unwrap();
        d.commit();
        w.save_doc(id).unwrap();
        w.commit().unwrap();
    }
    drop(store);
    let auth = authority_at(dir.path(), 1_767_000_000_000, 1 << 20);
    assert_eq!(auth.directory.get().unwrap().contacts, old.contacts);
    let id = directory_doc::id(&auth.root_key());
    assert_ne!(id, directory_doc::legacy_id());
    // Opening again finds it in place and changes nothing.
    drop(auth);
    let auth = authority_at(dir.path(), 1_767_000_000_000, 1 << 20);
    assert_eq!(auth.directory.get().unwrap().contacts, old.contacts);
}
