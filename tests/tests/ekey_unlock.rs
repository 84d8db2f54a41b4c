//! A locked e-key is unlocked only through the issuing office: six wrong PINs lock it, it
//! stays locked across a restart and refuses the right PIN; the node's unlock request
//! reaches the office, only the administrator approves it, and the signed unlock coming
//! back resets the counter.

use exlic_client::node::CertRequestInput;
use exlic_tests::*;

fn renew(pin: &str) -> CertRequestInput {
    CertRequestInput {
        kind: "renew".into(),
        mobile: "13800138000".into(),
        old_mobile: String::new(),
        pin: pin.into(),
        device_key: None,
    }
}

#[test]
fn only_the_office_unlocks_a_locked_ekey() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let rt = runtime();
    let c = ent.client();
    rt.block_on(async {
        // The enrolment's 新授权 is carried out first.
        wait_for(60, "the device certificate", || async {
            let done = c
                .certificate_requests()
                .await
                .ok()?
                .iter()
                .all(|r| r.status != "submitted");
            (c.certificate().await.is_ok() && done).then_some(())
        })
        .await;
        let e = c.request_unlock().await.unwrap_err();
        assert_eq!(
            e.api().unwrap().field.as_deref(),
            Some("ekey"),
            "not locked: {e}"
        );
        for _ in 0..6 {
            let e = c.request_certificate(&renew("999999")).await.unwrap_err();
            assert_eq!(e.api().unwrap().field.as_deref(), Some("pin"), "{e}");
        }
        assert!(c.ekey().await.unwrap().locked);
    });
    // Still locked after a restart, even for the right PIN.
    ent.kill();
    let ent = Node::start(&edir);
    let c = ent.client();
    let (admin, officer) = (auth.client(), auth.client_as("wang"));
    rt.block_on(async {
        assert!(c.ekey().await.unwrap().locked);
        let e = c.request_certificate(&renew(EKEY_PIN)).await.unwrap_err();
        assert!(e.to_string().contains("lock"), "{e}");

        assert!(c.request_unlock().await.unwrap().unlock_requested);
        wait_for(60, "the unlock request at the office", || async {
            admin
                .unlock_requests()
                .await
                .ok()?
                .contains(&USCC.to_string())
                .then_some(())
        })
        .await;
        let e = officer.approve_unlock(USCC).await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "forbidden", "{e}");
        admin.approve_unlock(USCC).await.unwrap();
        wait_for(60, "the unlock on the enterprise", || async {
            (!c.ekey().await.ok()?.locked).then_some(())
        })
        .await;
        assert_eq!(c.ekey().await.unwrap().failures, 0);
        c.request_certificate(&renew(EKEY_PIN)).await.unwrap();
    });
}
