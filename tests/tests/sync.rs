//! Enterprise and authority nodes syncing over real libp2p connections on 127.0.0.1:
//! offline work delivered later, partitions healed with concurrent edits on two devices,
//! and SIGKILL in the middle of a sync.

use std::collections::HashMap;
use std::path::Path;

use exlic_client::DocId;
use exlic_client::client::Client;
use exlic_client::status::ApplicationStatus;
use exlic_tests::*;

fn rt() -> tokio::runtime::Runtime {
    runtime()
}

struct Net {
    _root: tempfile::TempDir,
    adir: std::path::PathBuf,
    edirs: Vec<std::path::PathBuf>,
}

/// An authority (stopped) and `n` enterprise devices of the demo enterprise, enrolled.
fn net(devices: usize) -> Net {
    let root = tempfile::tempdir().unwrap();
    let adir = root.path().join("authority");
    init_authority(&adir, free_port());
    let mut edirs = Vec::new();
    for i in 0..devices {
        let token = invite(&adir, USCC, NAME);
        let d = root.path().join(format!("device{i}"));
        init_enrolled(&d, &token);
        edirs.push(d);
    }
    Net {
        _root: root,
        adir,
        edirs,
    }
}

async fn heads_on_authority(a: &Client, id: DocId) -> Option<Vec<String>> {
    a.doc_heads(id).await.ok().map(|h| h.heads)
}

#[test]
fn offline_work_arrives_when_the_authority_comes_up() {
    let n = net(1);
    let ent = Node::start(&n.edirs[0]);
    let rt = rt();
    let c = ent.client();
    let ids: Vec<DocId> = rt.block_on(async {
        let mut ids = Vec::new();
        for i in 0..50 {
            let mut f = full_form();
            f.remarks = format!("离线申请 {i}");
            let v = c.create_application(&f).await.unwrap();
            c.patch_application(
                v.id,
                &serde_json::json!({"additional_info": format!("edited offline {i}")}),
            )
            .await
            .unwrap();
            c.upload_attachment(
                v.id,
                "合同.pdf",
                "application/pdf",
                random_bytes(2_000 + i * 100),
            )
            .await
            .unwrap();
            c.upload_attachment(v.id, "批文.pdf", "application/pdf", random_bytes(500))
                .await
                .unwrap();
            c.seal(v.id, EKEY_PIN).await.unwrap();
            let v = c.report(v.id).await.unwrap();
            assert_eq!(v.status, ApplicationStatus::Queued);
            ids.push(v.id);
        }
        let s = c.sync_status().await.unwrap();
        assert!(!s.online, "no authority is running");
        assert_eq!(s.submissions_waiting, 50);
        assert!(s.docs_waiting >= 50);
        assert!(s.bytes_waiting > 50 * 2_000);
        ids
    });
    let auth = Node::start(&n.adir);
    let a = auth.client();
    rt.block_on(async {
        wait_for(90, "all 50 submissions to be received", || async {
            let s = c.sync_status().await.ok()?;
            (s.online && s.submissions_waiting == 0 && s.docs_waiting == 0).then_some(())
        })
        .await;
        for id in &ids {
            let v = c.application(*id).await.unwrap();
            assert_eq!(
                v.status,
                ApplicationStatus::PendingInitial,
                "{id} on the enterprise"
            );
            assert!(
                v.history.iter().any(|h| h.event == "received"),
                "{:?}",
                v.history
            );
            assert_eq!(
                heads_on_authority(&a, *id).await.as_ref(),
                Some(&v.heads),
                "{id}: heads differ"
            );
            let case = a.case(*id).await.unwrap();
            assert_eq!(
                (case.status, case.revision),
                (ApplicationStatus::PendingInitial, 1),
                "{id} at the authority"
            );
        }
        let info = a.authority_info().await.unwrap();
        assert_eq!(info.submissions, 50);
    });
}

#[test]
fn an_attachment_added_on_one_device_reaches_the_other() {
    let n = net(2);
    let _auth = Node::start(&n.adir);
    let d0 = Node::start(&n.edirs[0]);
    let d1 = Node::start(&n.edirs[1]);
    let (c0, c1) = (d0.client(), d1.client());
    let bytes = random_bytes(700 * 1024); // three chunks on the wire
    rt().block_on(async {
        let v = c0.create_application(&full_form()).await.unwrap();
        let a = c0
            .upload_attachment(v.id, "合同扫描件.pdf", "application/pdf", bytes.clone())
            .await
            .unwrap();
        // Not reported: the draft and its attachment travel by sync alone.
        let got = wait_for(60, "device 1 to hold the attachment", || async {
            c1.download_attachment(v.id, &a.sha256).await.ok()
        })
        .await;
        assert_eq!(got, bytes, "the relayed bytes are the attached bytes");
        let listed = c1.application(v.id).await.unwrap().attachments;
        assert!(listed.iter().any(|x| x.sha256 == a.sha256), "{listed:?}");
    });
}

#[test]
fn two_devices_converge_through_twenty_partitions() {
    let n = net(2);
    let auth = Node::start(&n.adir);
    let d0 = Node::start(&n.edirs[0]);
    let d1 = Node::start(&n.edirs[1]);
    let rt = rt();
    let (c0, c1) = (d0.client(), d1.client());
    let id = rt.block_on(async {
        let v = c0.create_application(&full_form()).await.unwrap();
        wait_for(30, "device 1 to receive the draft", || async {
            c1.application(v.id).await.ok().map(|_| ())
        })
        .await;
        v.id
    });
    let mut auth = Some(auth);
    let mut acked: HashMap<&str, String> = HashMap::new();
    for round in 0..20 {
        // Partition: the authority process is gone (SIGKILL or SIGTERM, alternately).
        let a = auth.take().unwrap();
        if round % 2 == 0 {
            a.kill()
        } else {
            a.stop()
        }
        rt.block_on(async {
            // Concurrent offline edits: each device its own field, both the same field.
            let r0 = format!("device 0 round {round}");
            let r1 = format!("device 1 round {round}");
            c0.patch_application(id, &serde_json::json!({"remarks": r0, "goods": [{"spec": "s0", "unit": "t", "quantity": format!("{}", round + 1), "unit_price": "100"}]})).await.unwrap();
            c1.patch_application(id, &serde_json::json!({"additional_info": r1, "contract": {"notes": format!("n{round}")}})).await.unwrap();
            c0.patch_application(id, &serde_json::json!({"contract": {"signed_at": format!("厦门 {round}")}})).await.unwrap();
            c1.patch_application(id, &serde_json::json!({"contract": {"signed_at": format!("福州 {round}")}})).await.unwrap();
            acked.insert("remarks", r0);
            acked.insert("additional_info", r1);
            acked.insert("notes", format!("n{round}"));
            acked.insert("quantity", format!("{}", round + 1));
        });
        // Heal.
        let a = Node::start(&n.adir);
        let ac = a.client();
        rt.block_on(async {
            let heads = wait_for(
                60,
                "identical heads on both devices and the authority",
                || async {
                    let h0 = c0.application(id).await.ok()?.heads;
                    let h1 = c1.application(id).await.ok()?.heads;
                    let ha = heads_on_authority(&ac, id).await?;
                    (h0 == h1 && h1 == ha).then_some(h0)
                },
            )
            .await;
            let v0 = c0.application(id).await.unwrap();
            let v1 = c1.application(id).await.unwrap();
            assert_eq!(
                v0.form, v1.form,
                "round {round}: same heads, different content"
            );
            assert_eq!(v0.form.remarks, acked["remarks"], "round {round}");
            assert_eq!(
                v0.form.additional_info, acked["additional_info"],
                "round {round}"
            );
            assert_eq!(v0.form.contract.notes, acked["notes"], "round {round}");
            assert_eq!(
                v0.form.goods[0].quantity, acked["quantity"],
                "round {round}"
            );
            assert!(
                v0.form.contract.signed_at.ends_with(&format!(" {round}")),
                "round {round}: {:?}",
                v0.form.contract.signed_at
            );
            assert!(!heads.is_empty());
        });
        auth = Some(a);
    }
}

fn kill_mid_sync(kill_authority: bool) {
    let n = net(1);
    let ent = Node::start(&n.edirs[0]);
    let rt = rt();
    let c = ent.client();
    let ids: Vec<DocId> = rt.block_on(async {
        let mut ids = Vec::new();
        for i in 0..30 {
            let v = c.create_application(&full_form()).await.unwrap();
            c.upload_attachment(
                v.id,
                "scan.bin",
                "application/octet-stream",
                random_bytes(200_000 + i * 1_000),
            )
            .await
            .unwrap();
            c.seal(v.id, EKEY_PIN).await.unwrap();
            c.report(v.id).await.unwrap();
            ids.push(v.id);
        }
        ids
    });
    let mut auth = Node::start(&n.adir);
    let mut ent = Some(ent);
    std::thread::sleep(std::time::Duration::from_millis(300 + random_below(700)));
    if kill_authority {
        auth.kill();
        auth = Node::start(&n.adir);
    } else {
        ent.take().unwrap().kill();
        ent = Some(Node::start(&n.edirs[0]));
    }
    let c = ent.as_ref().unwrap().client();
    let a = auth.client();
    rt.block_on(async {
        wait_for(120, "the interrupted sync to complete", || async {
            let s = c.sync_status().await.ok()?;
            (s.submissions_waiting == 0 && s.docs_waiting == 0).then_some(())
        })
        .await;
        assert_eq!(
            a.authority_info().await.unwrap().submissions,
            30,
            "no duplicate or missing submission"
        );
        for id in &ids {
            assert_eq!(
                c.application(*id).await.unwrap().status,
                ApplicationStatus::PendingInitial
            );
            assert_eq!(a.case(*id).await.unwrap().revision, 1);
        }
        assert_eq!(all_ids(&c).await.len(), 30);
    });
    let d = n.edirs[0].clone();
    ent.take().unwrap().stop();
    auth.stop();
    check_store(&d);
    check_store(Path::new(&n.adir));
}

#[test]
fn sigkill_the_authority_mid_sync_then_resume() {
    kill_mid_sync(true);
}

#[test]
fn sigkill_the_enterprise_mid_sync_then_resume() {
    kill_mid_sync(false);
}

#[test]
fn number_change_revokes_the_old_device_and_its_later_seal_is_refused() {
    use exlic_client::node::CertRequestInput;
    let n = net(2);
    let auth = Node::start(&n.adir);
    let pc = Node::start(&n.edirs[0]);
    let rt = rt();
    let (c0, a) = (pc.client(), auth.client());
    // The PC enrols first: its e-key becomes the enterprise's, and its 新授权 is issued.
    let cert0 = rt.block_on(wait_for(30, "the PC's certificate", || async {
        c0.certificate().await.ok()
    }));
    assert_eq!(
        (cert0.status.as_str(), cert0.mobile.as_str()),
        ("valid", "13800138000")
    );
    let phone = Node::start(&n.edirs[1]);
    let c1 = phone.client();
    rt.block_on(async {
        // The phone's own e-key is not the enterprise's: its 新授权 is refused.
        let refused = wait_for(30, "the phone's own request to be refused", || async {
            c1.certificate_requests()
                .await
                .ok()?
                .into_iter()
                .find(|r| r.status == "refused")
        })
        .await;
        assert!(refused.outcome.contains("e-key"), "{refused:?}");
        assert!(c1.certificate().await.is_err());

        // 手机变更 from the PC's e-key authorises the phone; a wrong PIN first is counted.
        let phone_key = c1.node_info().await.unwrap().device_public_key;
        let mut req = CertRequestInput {
            kind: "device_change".into(),
            mobile: "13900000000".into(),
            old_mobile: String::new(),
            pin: "999999".into(),
            device_key: Some(phone_key),
        };
        let e = c0.request_certificate(&req).await.unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("pin"), "{e}");
        assert!(e.api().unwrap().message.contains("5 attempt"), "{e}");
        req.pin = EKEY_PIN.into();
        assert_eq!(
            c0.request_certificate(&req).await.unwrap().kind_zh,
            "手机变更"
        );
        // 制作证书 on the phone.
        let cert1 = wait_for(30, "the phone to install its certificate", || async {
            c1.certificate().await.ok()
        })
        .await;
        assert_eq!(
            (cert1.status.as_str(), cert1.mobile.as_str()),
            ("valid", "13900000000")
        );

        // 手机号码变更 of the phone's number to the PC: the phone's certificate is revoked in
        // the same step as the new one is issued.
        let change = CertRequestInput {
            kind: "number_change".into(),
            mobile: "13700000000".into(),
            old_mobile: "13900000000".into(),
            pin: EKEY_PIN.into(),
            device_key: None,
        };
        let row = c0.request_certificate(&change).await.unwrap();
        wait_for(30, "the number change", || async {
            c0.certificate_requests()
                .await
                .ok()?
                .into_iter()
                .any(|r| r.seq == row.seq && r.status == "issued")
                .then_some(())
        })
        .await;
        assert_eq!(c0.certificate().await.unwrap().mobile, "13700000000");

        // The phone still believes its certificate is valid, seals and reports: refused at
        // receipt time, with the reason in its history.
        let v = c1.create_application(&full_form()).await.unwrap();
        c1.upload_attachment(v.id, "a.pdf", "application/pdf", random_bytes(100))
            .await
            .unwrap();
        c1.seal(v.id, EKEY_PIN).await.unwrap();
        c1.report(v.id).await.unwrap();
        let h = wait_for(30, "the authority to refuse the phone's seal", || async {
            c1.application(v.id)
                .await
                .ok()?
                .history
                .into_iter()
                .find(|h| h.event == "refused")
        })
        .await;
        assert!(h.detail.contains("revoked"), "{h:?}");
        assert_eq!(
            c1.application(v.id).await.unwrap().status,
            ApplicationStatus::Sealed
        );
        assert!(a.case(v.id).await.is_err(), "no case for a refused seal");
    });
}
