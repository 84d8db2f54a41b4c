//! A second device added the documented way (README): it is initialised from its own
//! token with `--join` (no e-key), shows its key, and the first device — which holds the
//! enterprise's e-key — authorises it (新授权 naming that key, with the PIN). The second
//! device then installs its certificate, seals and reports. Retired by the first device
//! (注销 naming its key), its later seal never opens a case at the office. A `--join`
//! device cannot be an enterprise's first: the office refuses to register it.

use exlic_client::node::CertRequestInput;
use exlic_client::status::ApplicationStatus;
use exlic_tests::*;

fn ask(kind: &str, mobile: &str, device_key: &str) -> CertRequestInput {
    CertRequestInput {
        kind: kind.into(),
        mobile: mobile.into(),
        old_mobile: String::new(),
        pin: EKEY_PIN.into(),
        device_key: Some(device_key.into()),
    }
}

async fn request_done(c: &exlic_client::client::Client, seq: u64) {
    wait_for(60, "the office to carry out the request", || async {
        let r = c.certificate_requests().await.ok()?;
        let row = r.into_iter().find(|r| r.seq == seq)?;
        assert_ne!(row.status, "refused", "{}", row.outcome);
        (row.status == "issued").then_some(())
    })
    .await;
}

#[test]
fn a_second_device_joins_seals_and_once_retired_cannot_report() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let second = root.path().join("second");
    let key = init_joined(&second, &invite(&adir, USCC, NAME));
    assert_eq!(key.len(), 64);
    let auth = Node::start(&adir);
    let first = Node::start(&edir);
    let (c1, officer) = (first.client(), auth.client_as("wang"));
    runtime().block_on(async {
        // The first device enrols (and registers the e-key) before the second joins.
        wait_for(60, "the first device's certificate", || async {
            c1.certificate().await.ok()
        })
        .await;
    });
    let dev2 = Node::start(&second);
    let c2 = dev2.client();
    runtime().block_on(async {
        let info = c2.node_info().await.unwrap();
        assert_eq!(info.device_public_key, key);
        wait_for(60, "the second device's enrolment", || async {
            c2.sync_status().await.ok().filter(|s| s.enrolled)
        })
        .await;
        assert!(
            c2.certificate().await.is_err(),
            "no certificate before it is authorised"
        );

        // 授权其他设备 on the first device.
        let row = c1
            .request_certificate(&ask("new", "13900139000", &key))
            .await
            .unwrap();
        request_done(&c1, row.seq).await;
        let cert = wait_for(60, "the second device's certificate", || async {
            c2.certificate().await.ok()
        })
        .await;
        assert_eq!(cert.mobile, "13900139000");
        assert_eq!(cert.status, "valid");

        // It seals and reports; the office opens a case.
        let id = submit(&c2).await;
        status_becomes(&c2, id, ApplicationStatus::PendingInitial).await;
        assert!(officer.case(id).await.is_ok());

        // Retired from the first device.
        let row = c1
            .request_certificate(&ask("revoke", "", &key))
            .await
            .unwrap();
        request_done(&c1, row.seq).await;
        let v = c2.create_application(&full_form()).await.unwrap();
        c2.upload_attachment(v.id, "合同.pdf", "application/pdf", random_bytes(500))
            .await
            .unwrap();
        match c2.seal(v.id, EKEY_PIN).await {
            // It knows it was retired: it refuses to seal itself.
            Err(e) => assert!(e.to_string().contains("V04"), "{e}"),
            // It does not know yet: the office refuses the report.
            Ok(_) => {
                c2.report(v.id).await.unwrap();
                wait_for(60, "the office's refusal", || async {
                    let a = c2.application(v.id).await.ok()?;
                    (a.status == ApplicationStatus::Sealed
                        && a.history.iter().any(|h| h.event == "refused"))
                    .then_some(())
                })
                .await;
            }
        }
        assert!(
            officer.case(v.id).await.is_err(),
            "no case for a retired device"
        );
    });
}

#[test]
fn a_joining_device_cannot_be_an_enterprises_first() {
    let root = tempfile::tempdir().unwrap();
    let adir = root.path().join("authority");
    init_authority(&adir, free_port());
    let dev = root.path().join("device");
    init_joined(&dev, &invite(&adir, USCC, NAME));
    let _auth = Node::start(&adir);
    let node = Node::start(&dev);
    let c = node.client();
    runtime().block_on(async {
        let s = wait_for(60, "the office's answer", || async {
            c.sync_status()
                .await
                .ok()
                .filter(|s| s.last_error.is_some())
        })
        .await;
        assert!(!s.enrolled);
        assert!(
            s.last_error.as_deref().unwrap().contains("e-key"),
            "{:?}",
            s.last_error
        );
    });
}
