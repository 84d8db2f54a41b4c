//! The whole path across real nodes: seal and report → 初审通过 → 复审通过 → the licence
//! appears on the enterprise node and verifies with `exlic-client` alone once both nodes
//! are stopped; a return for correction and a second submission; a final rejection.

use exlic_client::DocId;
use exlic_client::authority::DecisionInput;
use exlic_client::certificate::Trust;
use exlic_client::client::Client;
use exlic_client::licence::Licence;
use exlic_client::status::ApplicationStatus;
use exlic_tests::*;

fn decision(stage: &str, approve: bool, reason: &str) -> DecisionInput {
    DecisionInput {
        stage: stage.into(),
        approve,
        reason: reason.into(),
    }
}

async fn submit(c: &Client) -> DocId {
    let v = c.create_application(&full_form()).await.unwrap();
    c.upload_attachment(v.id, "合同.pdf", "application/pdf", random_bytes(500))
        .await
        .unwrap();
    c.seal(v.id).await.unwrap();
    c.report(v.id).await.unwrap();
    v.id
}

async fn status_becomes(c: &Client, id: DocId, want: ApplicationStatus) {
    wait_for(
        60,
        &format!("{} on the enterprise", want.code()),
        || async { (c.application(id).await.ok()?.status == want).then_some(()) },
    )
    .await;
}

#[test]
fn review_issue_return_and_reject_across_real_nodes() {
    let root = tempfile::tempdir().unwrap();
    let adir = root.path().join("authority");
    init_authority(&adir, free_port());
    let edir = root.path().join("enterprise");
    init_enrolled(&edir, &invite(&adir, USCC, NAME));
    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (a, c) = (auth.client(), ent.client());
    // 经办人 decides 初审, 处长 decides 复审; the administrator neither.
    let (officer, chief) = (auth.client_as("wang"), auth.client_as("li"));
    let (issued_no, authority_key) = rt.block_on(async {
        // Issued.
        let id = submit(&c).await;
        status_becomes(&c, id, ApplicationStatus::PendingInitial).await;
        let inbox = a.inbox("pending_initial").await.unwrap();
        assert!(inbox.iter().any(|r| r.id == id));
        // Without a session, with a forged one, or with the wrong role: refused.
        let anonymous = Client::with_roots(auth.url.clone(), &auth.tls_cert()).unwrap();
        let e = anonymous.decide(id, &decision("initial", true, "")).await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "unauthenticated", "{e}");
        assert!(anonymous.inbox("pending_initial").await.is_err());
        let mut forged = Client::with_roots(auth.url.clone(), &auth.tls_cert()).unwrap();
        forged.set_session("00".repeat(32));
        assert_eq!(forged.decide(id, &decision("initial", true, "")).await.unwrap_err().api().unwrap().code, "unauthenticated");
        let e = a.decide(id, &decision("initial", true, "")).await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "forbidden", "the administrator may not review: {e}");
        let e = chief.decide(id, &decision("initial", true, "")).await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "forbidden", "初审 is the 经办人's: {e}");
        let mut wrong = Client::with_roots(auth.url.clone(), &auth.tls_cert()).unwrap();
        let e = wrong.login("wang", "not-the-password").await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "wrong_credentials");
        let e = chief.decide(id, &decision("second", true, "")).await.unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("status"), "复审 before 初审: {e}");
        assert_eq!(officer.decide(id, &decision("initial", true, "")).await.unwrap().status, ApplicationStatus::PendingSecond);
        status_becomes(&c, id, ApplicationStatus::PendingSecond).await;
        let r = chief.decide(id, &decision("second", true, "")).await.unwrap();
        let no = r.licence_no.unwrap();
        assert!(exlic_client::licence::valid_licence_no(&no), "{no}");
        status_becomes(&c, id, ApplicationStatus::Issued).await;
        assert_eq!(c.application(id).await.unwrap().licence_no.as_deref(), Some(no.as_str()));
        let listed = c.licences().await.unwrap();
        assert_eq!(listed.iter().map(|l| l.licence_no.as_str()).collect::<Vec<_>>(), vec![no.as_str()]);
        assert_eq!(listed[0].commodity_name, "柠檬酸");

        // Returned for correction, edited, resealed as revision 2, then finally rejected.
        let id2 = submit(&c).await;
        status_becomes(&c, id2, ApplicationStatus::PendingInitial).await;
        let e = officer.decide(id2, &decision("initial", false, "")).await.unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("reason"), "a refusal needs a reason");
        officer.decide(id2, &decision("initial", false, "合同号与合同不符")).await.unwrap();
        status_becomes(&c, id2, ApplicationStatus::Returned).await;
        let v = c.application(id2).await.unwrap();
        assert!(!v.frozen, "a returned application is editable");
        assert!(v.history.iter().any(|h| h.detail.contains("合同号与合同不符")), "{:?}", v.history);
        c.patch_application(id2, &serde_json::json!({"contract_no": "XM-CA-0097", "contract": {"contract_no": "XM-CA-0097"}})).await.unwrap();
        let sealed = c.seal(id2).await.unwrap();
        assert_eq!(sealed.revision, 2);
        c.report(id2).await.unwrap();
        status_becomes(&c, id2, ApplicationStatus::PendingInitial).await;
        assert_eq!(a.case(id2).await.unwrap().revision, 2);
        officer.decide(id2, &decision("initial", true, "")).await.unwrap();
        status_becomes(&c, id2, ApplicationStatus::PendingSecond).await;
        chief.decide(id2, &decision("second", false, "配额不足")).await.unwrap();
        status_becomes(&c, id2, ApplicationStatus::Rejected).await;
        assert!(c.application(id2).await.unwrap().frozen, "a final rejection is final");

        let key = a.authority_info().await.unwrap().public_key;
        (no, key)
    });
    // The network is off: both nodes stopped. The licence file verifies with the client
    // library and the authority's public key alone.
    let file = rt.block_on(c.licence_file(&issued_no)).unwrap();
    drop(ent);
    drop(auth);
    let mut pk = [0u8; 32];
    hex::decode_to_slice(&authority_key, &mut pk).unwrap();
    let l = Licence::verify(&file, &Trust::new(pk)).unwrap();
    assert_eq!(l.licence_no, issued_no);
    assert_eq!(
        l.commodity,
        ["2918140000".to_string(), "柠檬酸".to_string()]
    );
    assert_eq!(l.total[0], "30520.38");
    assert_eq!(l.max_uses, 1);
    assert!(
        l.expiry.starts_with(&this_year()),
        "expiry within the quota year: {}",
        l.expiry
    );
}
