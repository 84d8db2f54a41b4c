//! Enterprises of the benchmarks, made in-process against an office's own handler: each
//! enrolled from an invite, its device certified (新授权), and its application document
//! synced, as the enterprise node would over the network.

#![allow(dead_code)] // each binary uses its own part

use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};
use ed25519_dalek::SigningKey;
use exlic_client::DocId;
use exlic_client::application::ApplicationForm;
use exlic_client::cert_request::{CertRequest, RequestKind};
use exlic_client::invite::Invite;
use exlic_client::protocol::{DocReply, Request, Response};
use exlic_client::seal::{
    AttachmentDigest, SealPayload, SealedSubmission, canonical_content, sha256,
};
use exlic_node::authority::{Authority, AuthorityInfo};
use exlic_node::clock::{Clock, SystemClock};
use exlic_node::store::form_doc;

/// The office every bench runs: its name, agency code and attachment limit.
pub fn office_info() -> AuthorityInfo {
    AuthorityInfo {
        name: "bench".into(),
        agency_code: "AA".into(),
        addrs: vec!["/ip4/127.0.0.1/tcp/1".into()],
        attachment_max_bytes: 20 << 20,
    }
}

/// A valid USCC for enterprise `n` of a bench, `region` its first eight characters
/// (GB 32100 check character computed).
pub fn uscc(region: &str, n: usize) -> String {
    let first17 = format!("{region}{n:09}");
    let c = exlic_client::uscc::check_char(&first17).expect("17 valid characters");
    format!("{first17}{c}")
}

/// A deterministic key: `seed` tells the device key (1) from the master e-key (2).
pub fn key(seed: u64, n: usize) -> SigningKey {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b[8..16].copy_from_slice(&(n as u64).to_le_bytes());
    b[31] = 7;
    SigningKey::from_bytes(&b)
}

/// One enterprise of a bench, enrolled with the office.
#[derive(Debug)]
pub struct Member {
    /// Its USCC.
    pub uscc: String,
    /// Its device key (also its libp2p identity).
    pub device: SigningKey,
    /// Its application document's id.
    pub doc_id: DocId,
    /// The document, as synced to the office.
    pub doc: AutoCommit,
}

impl Member {
    /// The id of the application document of the enterprise `uscc`.
    pub fn doc_id_of(uscc: &str) -> DocId {
        DocId(sha256(uscc.as_bytes())[..16].try_into().expect("16 bytes"))
    }

    /// The device's public key, the office's name for the peer.
    pub fn peer(&self) -> [u8; 32] {
        self.device.verifying_key().to_bytes()
    }
}

/// Enrols enterprise `n` (USCC region `region`), certifies its device and syncs its
/// sample application to `a`.
pub fn enrol(a: &Authority, region: &str, n: usize) -> Member {
    let (u, device, master) = (uscc(region, n), key(1, n), key(2, n));
    let peer = device.verifying_key().to_bytes();
    let inv = Invite::from_token(&a.registry.invite(&u, "企业", 100, 30).expect("invite"))
        .expect("token");
    let r = a.handle(
        peer,
        Request::Enrol {
            secret: inv.secret,
            master_key: master.verifying_key().to_bytes(),
        },
    );
    assert!(
        matches!(r.response, Response::Enrolled { .. }),
        "{:?}",
        r.response
    );
    let req = CertRequest {
        kind: RequestKind::New,
        enterprise_uscc: u.clone(),
        device_key: peer,
        mobile: "13800138000".into(),
        old_mobile: String::new(),
        requested_at_ms: 0,
        nonce: sha256(&peer)[..16].try_into().expect("16 bytes"),
    }
    .sign(&master);
    let r = a.handle(peer, Request::Certify(req));
    assert!(
        matches!(r.response, Response::Certified { .. }),
        "{:?}",
        r.response
    );

    let doc_id = Member::doc_id_of(&u);
    let mut doc = AutoCommit::new();
    // The sample application (it passes the office's own checks at receipt).
    let year = exlic_node::clock::china_date(SystemClock.now_ms()).year();
    let form = ApplicationForm {
        remarks: format!("enterprise {n}"),
        ..exlic_client::sample::application(exlic_client::sample::NAME, &u, year.into())
    };
    form_doc::init(&mut doc, 0, &form).expect("form");
    doc.commit();
    let mut m = Member {
        uscc: u,
        device,
        doc_id,
        doc,
    };
    sync_doc(a, &mut m);
    m
}

/// Syncs `m`'s document with `a` until neither side has anything to send.
pub fn sync_doc(a: &Authority, m: &mut Member) {
    let mut state = sync::State::new();
    let peer = m.peer();
    for _ in 0..10 {
        let Some(msg) = m.doc.sync().generate_sync_message(&mut state) else {
            return;
        };
        let r = a.handle(
            peer,
            Request::Sync {
                feed: 0,
                cursor: 0,
                docs: vec![(m.doc_id, msg.encode())],
            },
        );
        let Response::Sync { docs, .. } = r.response else {
            panic!("sync: {:?}", r.response)
        };
        for (d, reply) in docs {
            if let (true, DocReply::Message(msg)) = (d == m.doc_id, reply) {
                m.doc
                    .sync()
                    .receive_sync_message(&mut state, sync::Message::decode(&msg).expect("msg"))
                    .expect("receive");
            }
        }
    }
    panic!("the document of {} did not settle in 10 rounds", m.uscc);
}

/// Enrols, certifies and syncs enterprise `n`'s device, uploads its contract scan and seals
/// its application; the device's key and the sealed submission.
pub fn sealed_submission(a: &Authority, region: &str, n: usize) -> ([u8; 32], Vec<u8>) {
    let Member {
        uscc: u,
        device,
        doc_id: id,
        mut doc,
    } = enrol(a, region, n);
    let peer = device.verifying_key().to_bytes();
    // The contract scan every sealed application carries (V22), uploaded in setup.
    let contract = format!("%PDF-1.4 contract of enterprise {n}").into_bytes();
    let r = a.handle(
        peer,
        Request::BlobPut {
            sha256: sha256(&contract),
            size: contract.len() as u64,
            offset: 0,
            bytes: contract.clone(),
        },
    );
    assert!(
        matches!(r.response, Response::BlobHave { .. }),
        "upload: {:?}",
        r.response
    );
    let content = canonical_content(&form_doc::read_form(&doc));
    let mut heads: Vec<[u8; 32]> = doc.get_heads().iter().map(|h| h.0).collect();
    heads.sort();
    let p = SealPayload {
        enterprise_uscc: u,
        application_id: id,
        application_no: format!("2699994{n:014}"),
        revision: 1,
        heads,
        content_sha256: sha256(&content),
        attachments: vec![AttachmentDigest {
            sha256: sha256(&contract),
            size: contract.len() as u64,
        }],
        device_key: peer,
        sealed_at_ms: 0,
        certificate_serial: None,
    };
    (peer, SealedSubmission::seal(&p, content, &device).encode())
}
