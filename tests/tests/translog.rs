//! The office's transparency log across real nodes: every licence, standing statement and
//! device certificate of the run is in the log; the proof the enterprise holds verifies
//! offline with `exlic verify`, and a changed byte of licence, proof or checkpoint is
//! refused; the checkpoint and hash tiles are public and cacheable, the entries are not;
//! checkpoints of one history are consistent.

use exlic_client::certificate::Trust;
use exlic_client::translog::{
    self, Entry, EntryKind, InclusionProof, TreeHead, check_consistency, open_checkpoint,
};
use exlic_tests::*;

#[test]
fn every_licence_and_certificate_is_in_the_log_and_its_proof_verifies_offline() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let rt = runtime();
    let (a, c) = (auth.client(), ent.client());
    let (officer, chief) = (auth.client_as("wang"), auth.client_as("li"));
    let office = exlic_client::client::http_client(&auth.tls_cert()).unwrap();
    rt.block_on(async {
        let public = |path: String| {
            let office = office.clone();
            let url = format!("{}{path}", auth.url);
            async move { office.get(url).send().await.unwrap() }
        };
        let first = issue(&c, &officer, &chief).await;
        let early = public("/log/checkpoint".into()).await;
        assert_eq!(early.status().as_u16(), 200, "the checkpoint is public");
        assert_eq!(
            early.headers()["cache-control"],
            "no-cache",
            "a checkpoint is revalidated"
        );
        let early = early.bytes().await.unwrap().to_vec();
        let second = issue(&c, &officer, &chief).await;
        // 删证 of the first: a standing statement, logged too.
        delete_licence(&c, &a, &officer, &first).await;

        let info = a.authority_info().await.unwrap();
        let mut rk = [0u8; 32];
        hex::decode_to_slice(&info.root_key, &mut rk).unwrap();
        let trust = Trust::new(rk);
        let origin = translog::origin("AA");
        let latest = public("/log/checkpoint".into())
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec();
        let head = open_checkpoint(&latest, &origin, &trust, None)
            .unwrap()
            .head;
        let early_head = open_checkpoint(&early, &origin, &trust, None).unwrap().head;
        // Two licences, three standing statements (valid, valid, deleted), one device
        // certificate: six entries.
        assert_eq!(head.size, 6, "{head:?}");

        // Each licence as the enterprise holds it, with the proof the office sent with
        // it, verifies offline; so does the office's proof into its newest checkpoint.
        let dir = tempfile::tempdir().unwrap();
        for no in [&first, &second] {
            let licence = c.licence_file(no).await.unwrap();
            let held = ent.get_ok(&format!("/api/v1/licences/{no}/proof")).await;
            let (ok, text) = verify_with_proof(dir.path(), &info.root_key, &licence, &held);
            assert!(
                ok && text.contains("in the log exlic.office/AA as entry"),
                "{text}"
            );
            let r = public(format!("/api/v1/log/proof?kind=licence&subject={no}")).await;
            assert_eq!(r.status().as_u16(), 200);
            let fresh = InclusionProof::decode(&r.bytes().await.unwrap()).unwrap();
            assert_eq!(fresh.tree_size, 6);
            fresh
                .verify(
                    &Entry::new(EntryKind::Licence, &licence),
                    &origin,
                    &trust,
                    None,
                )
                .unwrap();
            let (ok, text) =
                verify_with_proof(dir.path(), &info.root_key, &licence, &fresh.encode());
            assert!(ok, "{text}");
        }
        // The deleted licence's newest statement is its deletion, and it is logged.
        let statement = ent
            .get_ok(&format!("/api/v1/licences/{first}/standing"))
            .await;
        let r = public(format!("/api/v1/log/proof?kind=standing&subject={first}")).await;
        InclusionProof::decode(&r.bytes().await.unwrap())
            .unwrap()
            .verify(
                &Entry::new(EntryKind::Standing, &statement),
                &origin,
                &trust,
                None,
            )
            .unwrap();
        // The enterprise's device certificate is logged under its serial.
        let cert = ent.get_ok("/api/v1/certificate/file").await;
        let serial = exlic_client::certificate::DeviceCertificate::decode(
            exlic_client::signed::peek(&cert).unwrap(),
        )
        .unwrap()
        .serial;
        let r = public(format!(
            "/api/v1/log/proof?kind=certificate&subject={serial}"
        ))
        .await;
        InclusionProof::decode(&r.bytes().await.unwrap())
            .unwrap()
            .verify(
                &Entry::new(EntryKind::Certificate, &cert),
                &origin,
                &trust,
                None,
            )
            .unwrap();
        // A bad kind is named; an unknown subject is not found.
        let r = public("/api/v1/log/proof?kind=seal&subject=1".into()).await;
        assert_eq!(r.status().as_u16(), 400);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["field"], "kind", "{body}");
        let r = public("/api/v1/log/proof?kind=licence&subject=26AA999999".into()).await;
        assert_eq!(r.status().as_u16(), 404);

        // Any changed byte of licence, proof or checkpoint is refused by `exlic verify`.
        let licence = c.licence_file(&second).await.unwrap();
        let held = ent
            .get_ok(&format!("/api/v1/licences/{second}/proof"))
            .await;
        let p = InclusionProof::decode(&held).unwrap();
        let note_at = held.len() - p.checkpoint.len();
        let step = |len: usize| (len / 12).max(1);
        for i in (0..licence.len()).step_by(step(licence.len())) {
            let mut l = licence.clone();
            l[i] ^= 0x01;
            let (ok, text) = verify_with_proof(dir.path(), &info.root_key, &l, &held);
            assert!(!ok, "licence byte {i} changed and verified: {text}");
        }
        for i in (0..held.len())
            .step_by(step(note_at))
            .chain(note_at..held.len())
        {
            let mut h = held.clone();
            h[i] ^= 0x01;
            let (ok, text) = verify_with_proof(dir.path(), &info.root_key, &licence, &h);
            assert!(!ok, "proof byte {i} changed and verified: {text}");
            if i >= note_at + 20 {
                break; // the checkpoint's text: origin, size, root hash
            }
        }

        // Hash tiles are public and immutable; entries (licences) need a staff session.
        let t = public(format!("/log/tile/0/000.p/{}", head.size)).await;
        assert_eq!(t.status().as_u16(), 200);
        assert!(
            t.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let tile = t.bytes().await.unwrap();
        assert_eq!(tile.len(), 6 * 32);
        let leaf = Entry::new(EntryKind::Licence, &licence).leaf_hash();
        assert!(
            tile.chunks(32).any(|h| h == leaf),
            "the licence's leaf is in the tile"
        );
        let t = public(format!("/log/tile/entries/000.p/{}", head.size)).await;
        assert_eq!(t.status().as_u16(), 401, "entries are not public");
        let t = public("/log/tile/0/000.p/7".into()).await;
        assert_eq!(t.status().as_u16(), 404, "a tile past the tree");
        let t = public("/log/tile/0/000.p/0".into()).await;
        assert_eq!(t.status().as_u16(), 404, "not a tile path");

        // The early checkpoint and the newest are one history.
        let r: serde_json::Value = public(format!(
            "/api/v1/log/consistency?old={}&new={}",
            early_head.size, head.size
        ))
        .await
        .json()
        .await
        .unwrap();
        let proof: Vec<[u8; 32]> = r["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let mut b = [0u8; 32];
                hex::decode_to_slice(h.as_str().unwrap(), &mut b).unwrap();
                b
            })
            .collect();
        check_consistency(early_head, head, &proof).unwrap();
        let forged = TreeHead {
            size: early_head.size,
            hash: [0; 32],
        };
        assert!(check_consistency(forged, head, &proof).is_err());
    });
}
