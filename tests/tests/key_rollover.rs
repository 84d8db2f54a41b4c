//! The key rollover drill across real nodes: the administrator rolls the running
//! authority's signing key over; licences issued before and after both verify through the
//! chain (on the enterprise node, which learnt it by sync, with `exlic-client` alone, and
//! with `exlic verify --rollover`); the new key keeps signing after a restart; only the
//! administrator may roll.

use std::process::Command;

use exlic_client::certificate::{Trust, key_id};
use exlic_client::licence::{Licence, LicenceError};
use exlic_tests::*;

fn key(hex_key: &str) -> [u8; 32] {
    let mut k = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut k).unwrap();
    k
}

#[test]
fn a_rollover_keeps_earlier_licences_valid_and_reaches_the_enterprise() {
    let root_dir = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root_dir.path());
    let mut auth = Node::start(&adir);
    let mut ent = Node::start(&edir);
    let rt = runtime();
    let (a, officer, chief) = (auth.client(), auth.client_as("wang"), auth.client_as("li"));
    let (root, before) = rt.block_on(async {
        let root = key(&a.authority_info().await.unwrap().public_key);
        (root, issue(&ent.client(), &officer, &chief).await)
    });
    // The enterprise is offline while the key rolls over: on reconnecting it meets a
    // revocation list and receipts signed by a key it has not learnt yet.
    ent.stop();
    let records = rt.block_on(async {
        // Only the administrator rolls the key.
        let e = officer.roll_key().await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "forbidden", "{e}");
        let new_key = key(&a.roll_key().await.unwrap());
        assert_ne!(new_key, root);
        let chain = a.keys().await.unwrap();
        assert_eq!(key(&chain.root), root);
        assert_eq!(chain.keys.len(), 2);
        assert!(chain.keys[0].until_ms.is_some() && chain.keys[1].until_ms.is_none());
        assert_eq!(key(&chain.keys[1].key), new_key);
        assert_eq!(chain.records.len(), 1);
        let info = a.authority_info().await.unwrap();
        assert_eq!(
            (key(&info.root_key), key(&info.public_key)),
            (root, new_key)
        );
        chain.records
    });
    ent = Node::start(&edir);
    let c = ent.client();
    let after = rt.block_on(async {
        // A submission after the rollover: the receipt (signed by the new key) is accepted
        // by the enterprise, which learnt the chain by sync, and the licence follows.
        issue(&c, &officer, &chief).await
    });
    let records: Vec<Vec<u8>> = records.iter().map(|r| hex::decode(r).unwrap()).collect();

    // The staff screen lists both keys and serves the record for `exlic verify --rollover`.
    let (page, served) = rt.block_on(async {
        let http = exlic_client::client::http_client(&auth.tls_cert()).unwrap();
        let cookie = format!("exlic_session={}", a.session().unwrap());
        let get = |path: &str| {
            http.get(format!("{}{path}", auth.url))
                .header("cookie", cookie.clone())
                .send()
        };
        let page = get("/keys").await.unwrap().text().await.unwrap();
        let served = get("/keys/records/1").await.unwrap().bytes().await.unwrap();
        (page, served.to_vec())
    });
    assert!(page.contains(&hex::encode(key_id(&root))), "{page}");
    assert!(page.contains("rollover-1.key"), "{page}");
    assert_eq!(served, records[0]);
    let file_before = rt.block_on(c.licence_file(&before)).unwrap();
    let file_after = rt.block_on(c.licence_file(&after)).unwrap();

    // Offline, with the client library: the root alone verifies the earlier licence and
    // does not know the new key; the root plus the chain verifies both.
    let only_root = Trust::new(root);
    assert!(Licence::verify(&file_before, &only_root).is_ok());
    assert!(matches!(
        Licence::verify(&file_after, &only_root),
        Err(LicenceError::UnknownKey)
    ));
    let mut chain = Trust::new(root);
    assert_eq!(chain.follow(&records), 1);
    let l1 = Licence::verify(&file_before, &chain).unwrap();
    let l2 = Licence::verify(&file_after, &chain).unwrap();
    assert_eq!(l1.key_id, key_id(&root));
    assert_eq!(l2.key_id, key_id(&chain.current()));

    // The enterprise node's own licence view verifies the new licence through the chain.
    let page = rt.block_on(async {
        ent.http()
            .get(format!("{}/licences/{after}", ent.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(
        page.contains(&hex::encode(key_id(&chain.current()))),
        "the enterprise shows the licence as valid under the new key"
    );

    // `exlic verify` with the rollover record, and without it.
    let dir = tempfile::tempdir().unwrap();
    let (lic, rec) = (dir.path().join("after.licence"), dir.path().join("r1.key"));
    std::fs::write(&lic, &file_after).unwrap();
    std::fs::write(&rec, &records[0]).unwrap();
    let run = |with_record: bool| {
        let mut cmd = Command::new(exlic_bin());
        cmd.arg("verify")
            .arg(&lic)
            .arg("--authority-key")
            .arg(hex::encode(root));
        if with_record {
            cmd.arg("--rollover").arg(&rec);
        }
        cmd.output().unwrap()
    };
    assert!(run(true).status.success(), "{:?}", run(true));
    assert!(!run(false).status.success());

    // After a restart the authority still signs with the new key.
    auth.stop();
    auth = Node::start(&adir);
    let third =
        rt.block_on(async { issue(&c, &auth.client_as("wang"), &auth.client_as("li")).await });
    let l3 = Licence::verify(&rt.block_on(c.licence_file(&third)).unwrap(), &chain).unwrap();
    assert_eq!(l3.key_id, key_id(&chain.current()));
}
