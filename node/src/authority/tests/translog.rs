//! The office's log as its parts see it: every certificate and revocation is in the log
//! under a checkpoint signed before the transaction committed; the supervising bureau may
//! read the log and co-sign checkpoints, and can write nothing.

use super::*;
use exlic_client::translog::{self, Witness};

#[test]
fn certificates_and_revocations_are_logged_under_a_signed_checkpoint() {
    let Fx { auth: a, _dir } = fx();
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    // 注销 of the device's certificate: a revocation.
    let r = a.handle(
        dev.verifying_key().to_bytes(),
        Request::Certify(cert_request(
            RequestKind::Revoke,
            USCC_A,
            &dev,
            "13800138000",
            "",
            77,
        )),
    );
    assert!(
        matches!(r.response, Response::Certified { .. }),
        "{:?}",
        r.response
    );
    // Enrolment's certificate and the revocation: two entries, one checkpoint of both.
    assert_eq!(a.log.size().unwrap(), 2);
    let note = a.log.checkpoint().unwrap().unwrap();
    let cp = translog::open_checkpoint(&note, &a.log.origin(), &a.trust(), None).unwrap();
    assert_eq!(cp.head.size, 2, "the checkpoint covers every entry");
    let p = a
        .log
        .proof(translog::EntryKind::Revocation, "1")
        .unwrap()
        .unwrap();
    assert_eq!(p.index, 1);
}

#[test]
fn the_bureau_reads_and_cosigns_and_every_write_of_its_is_refused() {
    let Fx { auth: a, _dir } = fx();
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let bureau = key(50);
    let bpeer = bureau.verifying_key().to_bytes();
    // Before it is registered, the bureau reads nothing.
    let r = a.handle(bpeer, Request::LogPage { from: 0 });
    assert!(
        refused(&r.response, ErrorCode::NotEnrolled),
        "{:?}",
        r.response
    );
    assert!(a.log.set_bureau(bpeer, "bad name").is_err());
    a.log.set_bureau(bpeer, "bureau").unwrap();
    // An enterprise device does not read the log over sync.
    let r = a.handle(dev.verifying_key().to_bytes(), Request::LogPage { from: 0 });
    assert!(
        refused(&r.response, ErrorCode::NotEnrolled),
        "{:?}",
        r.response
    );
    // The bureau reads it.
    let r = a.handle(bpeer, Request::LogPage { from: 0 });
    let Response::LogPage {
        entries,
        checkpoint,
        more,
        ..
    } = r.response
    else {
        panic!("{:?}", r.response);
    };
    assert_eq!((entries.len(), more), (1, false));
    // Every write the bureau might try is refused and changes nothing.
    let before = a.log.size().unwrap();
    for req in [
        Request::Submit(vec![1, 2, 3]),
        Request::Sync {
            feed: 0,
            cursor: 0,
            docs: Vec::new(),
        },
        Request::Certify(vec![0; 8]),
        Request::MoreNumbers {
            current: 0,
            want: 10,
        },
        Request::Usage(vec![vec![1]]),
    ] {
        let r = a.handle(bpeer, req);
        assert!(
            matches!(r.response, Response::Error { .. }),
            "{:?}",
            r.response
        );
    }
    assert_eq!(a.log.size().unwrap(), before);
    // A co-signature by another key is refused; the bureau's is kept and proofs into
    // that checkpoint verify with the bureau required.
    let name = translog::witness_name("bureau");
    let forged = translog::cosign(&checkpoint, &name, &key(51)).unwrap();
    let r = a.handle(bpeer, Request::Cosigned { checkpoint: forged });
    assert!(
        refused(&r.response, ErrorCode::BadRequest),
        "{:?}",
        r.response
    );
    assert_eq!(a.log.cosigned_size().unwrap(), 0);
    let cosigned = translog::cosign(&checkpoint, &name, &bureau).unwrap();
    let r = a.handle(
        bpeer,
        Request::Cosigned {
            checkpoint: cosigned,
        },
    );
    assert!(
        matches!(r.response, Response::CosignKept),
        "{:?}",
        r.response
    );
    assert_eq!(a.log.cosigned_size().unwrap(), 1);
    let p = a
        .log
        .witnessed_proof(translog::EntryKind::Certificate, "1")
        .unwrap()
        .unwrap();
    let w = Witness { name, key: bpeer };
    let cp =
        translog::open_checkpoint(&p.checkpoint, &a.log.origin(), &a.trust(), Some(&w)).unwrap();
    assert!(cp.witnessed);
}

#[test]
fn hash_tiles_go_to_enrolled_peers_over_sync_and_to_no_one_else() {
    use exlic_client::protocol::TileRef;
    let Fx { auth: a, _dir } = fx();
    let dev = key(10);
    let ask = |peer: [u8; 32], size: u64| {
        a.handle(
            peer,
            Request::LogTiles {
                size,
                tiles: vec![
                    TileRef {
                        level: 0,
                        index: 0,
                        width: 1,
                    },
                    TileRef {
                        level: 0,
                        index: 0,
                        width: 2,
                    },
                ],
            },
        )
        .response
    };
    // A stranger is refused.
    let r = ask(key(60).verifying_key().to_bytes(), 0);
    assert!(refused(&r, ErrorCode::NotEnrolled), "{r:?}");
    // An enrolled device gets the newest checkpoint (one entry: its certificate) and the
    // tile of width 1; the tile of width 2 is not in that tree.
    enrol(&a, USCC_A, &dev);
    let r = ask(dev.verifying_key().to_bytes(), 0);
    let Response::LogTiles {
        checkpoint, tiles, ..
    } = r
    else {
        panic!("{r:?}");
    };
    let cp = translog::open_checkpoint(&checkpoint, &a.log.origin(), &a.trust(), None).unwrap();
    assert_eq!(cp.head.size, 1);
    let leaf = tiles[0].as_ref().expect("the tile of the one entry");
    assert_eq!(
        leaf.as_slice(),
        cp.head.hash.as_slice(),
        "a tree of one is its leaf"
    );
    assert_eq!(tiles[1], None);
    // A size the office never signed a checkpoint at is refused.
    let r = ask(dev.verifying_key().to_bytes(), 7);
    assert!(refused(&r, ErrorCode::BadRequest), "{r:?}");
}
