//! Tenant isolation (THREATS T4, F10): a device enrolled for enterprise B tries every
//! message type against enterprise A's documents, blobs, seals and invite, and an
//! unenrolled device tries them all; every attempt is refused and nothing of A's changes.
//! Malformed sync messages store nothing and drop the session.

use super::*;

#[test]
fn enterprise_b_can_neither_read_nor_write_enterprise_a() {
    let f = fx();
    let a = &f.auth;
    let (dev_a, dev_b, stranger) = (key(10), key(20), key(30));
    let secret_a = enrol(a, USCC_A, &dev_a);
    enrol(a, USCC_B, &dev_b);

    // A syncs a document, uploads an attachment and submits a sealed application.
    let id = DocId([7; 16]);
    let mut doc_a = app_doc(USCC_A, "A's secret remarks");
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
                feed: 0,
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
                    feed: 0,
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
            &a.handle(b, Request::Submit(forged.clone())).response,
            ErrorCode::BadSeal
        ),
        "seal in A's name"
    );
    let as_b = seal(&mut doc_a, id, USCC_B, &dev_b, &att);
    assert!(
        refused(
            &a.handle(b, Request::Submit(as_b.clone())).response,
            ErrorCode::NotFound
        ),
        "B's seal over A's document"
    );
    // The same three in one batch: each refused as when sent alone.
    let batch = vec![env_a.clone(), forged, as_b];
    let r = a.handle(b, Request::SubmitMany(batch)).response;
    let Response::Submitted(answers) = r else {
        panic!("{r:?}")
    };
    let codes: Vec<bool> = answers
        .iter()
        .zip([ErrorCode::BadSeal, ErrorCode::BadSeal, ErrorCode::NotFound])
        .map(|(r, c)| refused(r, c))
        .collect();
    assert_eq!(codes, [true; 3], "a batch: {answers:?}");
    // A batch with an envelope that is not one breaks the protocol, as alone.
    let h = a.handle(b, Request::SubmitMany(vec![vec![0xff; 8]]));
    assert!(
        h.drop_peer,
        "a malformed envelope in a batch: {:?}",
        h.response
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
            feed: 0,
            cursor: 0,
            docs: vec![],
        },
        Request::Submit(env_a.clone()),
        Request::SubmitMany(vec![env_a]),
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
fn sync_states_are_not_kept_for_a_peer_that_disconnected_during_its_request() {
    let f = fx();
    let a = &f.auth;
    let dev = key(10);
    enrol(a, USCC_A, &dev);
    let p = dev.verifying_key().to_bytes();
    let mut doc = app_doc(USCC_A, "x");
    sync_doc(a, &dev, &mut doc, DocId([1; 16]));
    assert_eq!(
        a.replica.sessions_held(),
        1,
        "a connected peer's session is kept"
    );
    // A request in progress when the link drops: its answer must not bring the session
    // back for a connection that is gone.
    let states = a.replica.take_session(p);
    a.replica.disconnected(&p);
    a.replica.keep_session(p, states);
    assert_eq!(a.replica.sessions_held(), 0);
    // A request that breaks the protocol forgets it too.
    sync_doc(a, &dev, &mut doc, DocId([1; 16]));
    let h = a.handle(
        p,
        Request::Sync {
            feed: 0,
            cursor: 0,
            docs: vec![(DocId([2; 16]), vec![0xff; 8])],
        },
    );
    assert!(h.drop_peer);
    assert_eq!(a.replica.sessions_held(), 0);
}

/// A sync message that decodes but whose one change is not a change: found only when
/// applied, inside the writer.
fn unappliable_change() -> Vec<u8> {
    message_of(vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 3, 1, 2, 3])
}

/// A sync message carrying `chunk` as its one change.
fn message_of(chunk: Vec<u8>) -> Vec<u8> {
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
fn a_request_refused_inside_a_batch_leaves_nothing_and_the_others_are_answered() {
    use crate::authority::replica::SyncJob;
    use crate::replica::docsync::PeerStates;
    let f = fx();
    let a = &f.auth;
    let (da, db) = (key(10), key(11));
    enrol(a, USCC_A, &da);
    enrol(a, USCC_B, &db);
    let docs_before = a.replica.doc_count().unwrap();
    let (ida, idb) = (DocId([1; 16]), DocId([2; 16]));
    let mut doc = app_doc(USCC_A, "x");
    let mut st = sync::State::new();
    // A first round alone: the office learns the document and asks for its changes.
    let hello = doc.sync().generate_sync_message(&mut st).unwrap().encode();
    let h = a.handle(
        da.verifying_key().to_bytes(),
        Request::Sync {
            feed: 0,
            cursor: 0,
            docs: vec![(ida, hello)],
        },
    );
    let Response::Sync { docs, .. } = h.response else {
        panic!("{:?}", h.response)
    };
    for (_, reply) in docs {
        if let DocReply::Message(m) = reply {
            doc.sync()
                .receive_sync_message(&mut st, sync::Message::decode(&m).unwrap())
                .unwrap();
        }
    }
    let changes = doc.sync().generate_sync_message(&mut st).unwrap();
    assert!(!changes.changes.is_empty());
    let states_a = a.replica.take_session(da.verifying_key().to_bytes());
    let job = |dev: &SigningKey, e: &str, docs, states: Option<PeerStates>| {
        let states = states.unwrap_or_else(|| PeerStates::new(dev.verifying_key().to_bytes()));
        SyncJob::decode(e, (0, 0), docs, states).unwrap()
    };
    // A's request runs first and writes; B's creates its document, then is refused: the
    // transaction with both is aborted and A's is run again.
    let mut out = a.replica.sync_batch(vec![
        job(&da, USCC_A, vec![(ida, changes.encode())], Some(states_a)),
        job(&db, USCC_B, vec![(idb, unappliable_change())], None),
    ]);
    let (_, b) = out.pop().unwrap();
    let b = b.unwrap();
    assert!(b.drop_peer, "{:?}", b.response);
    assert!(refused(&b.response, ErrorCode::BadRequest));
    assert!(
        a.replica.heads(idb).unwrap().is_none(),
        "B's document is gone"
    );
    assert!(a.replica.batches.paused(a.office.clock.now_ms()));
    let (states, answer) = out.pop().unwrap();
    let Response::Sync { docs, .. } = answer.unwrap().response else {
        panic!("A is answered")
    };
    assert_eq!(a.replica.doc_count().unwrap(), docs_before + 1);
    assert_eq!(
        a.replica.heads(ida).unwrap().unwrap(),
        doc.get_heads().iter().map(|h| h.0).collect::<Vec<_>>(),
        "A's change is stored"
    );
    // A's session goes on from the states the batch handed back, to the end.
    a.replica
        .keep_session(da.verifying_key().to_bytes(), states);
    let mut replies = docs;
    for _ in 0..10 {
        for (_, reply) in replies.drain(..) {
            if let DocReply::Message(m) = reply {
                doc.sync()
                    .receive_sync_message(&mut st, sync::Message::decode(&m).unwrap())
                    .unwrap();
            }
        }
        let Some(msg) = doc.sync().generate_sync_message(&mut st) else {
            break;
        };
        let h = a.handle(
            da.verifying_key().to_bytes(),
            Request::Sync {
                feed: 0,
                cursor: 0,
                docs: vec![(ida, msg.encode())],
            },
        );
        assert!(!h.drop_peer, "{:?}", h.response);
        let Response::Sync { docs, .. } = h.response else {
            panic!("{:?}", h.response)
        };
        replies = docs;
    }
    assert!(
        doc.sync().generate_sync_message(&mut st).is_none(),
        "in sync"
    );
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
    message_of(chunk)
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
        let mut d = app_doc(USCC_A, "x");
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
                feed: 0,
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
            feed: 0,
            cursor: 0,
            docs: vec![(DocId([1; 16]), good.clone()), (DocId([1; 16]), good)],
        },
    );
    assert!(h.drop_peer, "duplicate document ids");
    let h = a.handle(p, Request::Submit(vec![1, 2, 3]));
    assert!(h.drop_peer, "malformed envelope");
}
