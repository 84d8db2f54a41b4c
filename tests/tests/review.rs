//! The whole path across real nodes: seal and report → 初审通过 → 复审通过 → the licence
//! appears on the enterprise node and verifies with `exlic-client` alone once both nodes
//! are stopped; a return for correction and a second submission; a final rejection.

use exlic_client::DocId;
use exlic_client::certificate::Trust;
use exlic_client::client::Client;
use exlic_client::licence::Licence;
use exlic_client::licence_request::{
    LicenceDecisionInput, LicenceRequestInput, LicenceRequestView,
};
use exlic_client::status::ApplicationStatus;
use exlic_tests::*;

#[test]
fn review_issue_return_and_reject_across_real_nodes() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let rt = runtime();
    let (a, c) = (auth.client(), ent.client());
    // 经办人 decides 初审, 处长 decides 复审; the administrator neither.
    let (officer, chief) = (auth.client_as("wang"), auth.client_as("li"));
    let (issued_no, authority_key) = rt.block_on(async {
        // Issued.
        let id = submit(&c).await;
        status_becomes(&c, id, ApplicationStatus::PendingInitial).await;
        let inbox = a.inbox("pending_initial", 1).await.unwrap();
        let row = inbox.rows.iter().find(|r| r.id == id).expect("the case in the inbox");
        assert_eq!((inbox.total, inbox.page), (1, 1));
        assert_eq!(
            (row.exporter.as_str(), row.commodity_code.as_str(), row.unit.as_str()),
            (NAME, "2918140000", "t"),
            "the row says who asks for what: {row:?}"
        );
        let e = a.inbox("pending_initial", 0).await.unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("page"), "{e}");
        // Without a session, with a forged one, or with the wrong role: refused.
        let anonymous = Client::with_roots(auth.url.clone(), &auth.tls_cert()).unwrap();
        let e = anonymous.decide(id, &decision("initial", true, "")).await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "unauthenticated", "{e}");
        assert!(anonymous.inbox("pending_initial", 1).await.is_err());
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
        let sealed = c.seal(id2, EKEY_PIN).await.unwrap();
        assert_eq!(sealed.revision, 2);
        c.report(id2).await.unwrap();
        status_becomes(&c, id2, ApplicationStatus::PendingInitial).await;
        assert_eq!(a.case(id2).await.unwrap().revision, 2);
        officer.decide(id2, &decision("initial", true, "")).await.unwrap();
        status_becomes(&c, id2, ApplicationStatus::PendingSecond).await;
        chief.decide(id2, &decision("second", false, "配额不足")).await.unwrap();
        status_becomes(&c, id2, ApplicationStatus::Rejected).await;
        assert!(c.application(id2).await.unwrap().frozen, "a final rejection is final");

        // The office's audit trail as JSON, by who and what; its certificates by standing.
        let (_, total, approvals) = office_api(&auth, "/api/v1/audit?action=review.second.approve").await;
        assert_eq!(total, 1, "{approvals}");
        assert!(approvals[0]["actor"].as_str().unwrap().contains("li"), "{approvals}");
        let (_, total, returns) = office_api(&auth, "/api/v1/audit?actor=WANG&action=review.initial.reject").await;
        assert_eq!(total, 1, "{returns}");
        let (_, total, all) = office_api(&auth, "/api/v1/audit?per_page=500").await;
        assert!(total >= 6 && all.as_array().unwrap().len() as u64 == total, "{total}");
        let (status, _, err) = office_api(&auth, "/api/v1/audit?action=approve").await;
        assert_eq!((status, err["field"].as_str()), (400, Some("action")), "{err}");
        // The inbox filtered by enterprise (start of the USCC, or part of the name) and
        // commodity code.
        let inbox_total = |q: String| {
            let auth = &auth;
            async move { office_api(auth, &format!("/api/v1/cases?{q}")).await.2["total"].as_u64() }
        };
        assert_eq!(inbox_total("status=issued&commodity=2918".into()).await, Some(1));
        assert_eq!(inbox_total("status=issued&commodity=0101".into()).await, Some(0));
        let uscc_start = &exlic_tests::USCC[..8];
        assert_eq!(inbox_total(format!("status=rejected&enterprise={uscc_start}")).await, Some(1));
        let name_part: String = exlic_tests::NAME.chars().skip(2).take(3).collect();
        assert_eq!(inbox_total(format!("status=rejected&enterprise={name_part}")).await, Some(1));
        assert_eq!(inbox_total("status=rejected&enterprise=ZZZ".into()).await, Some(0));
        let (_, total, certs) = office_api(&auth, "/api/v1/certificates").await;
        assert_eq!(certs.as_array().unwrap().len() as u64, total);
        let (_, none, _) = office_api(&auth, "/api/v1/certificates?uscc=ZZZ").await;
        assert_eq!(none, 0);
        let (status, _, err) = office_api(&auth, "/api/v1/certificates?status=lost").await;
        assert_eq!((status, err["field"].as_str()), (400, Some("status")), "{err}");

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

/// A 删证/核销 decision.
fn verdict(approve: bool, reason: &str) -> LicenceDecisionInput {
    LicenceDecisionInput {
        approve,
        reason: reason.into(),
    }
}

/// Waits until request `id` is in the office's 待审核 inbox.
async fn pending_at_office(a: &Client, id: DocId, what: &str) -> LicenceRequestView {
    wait_for(60, what, || async {
        a.licence_requests(Some("pending"))
            .await
            .ok()?
            .into_iter()
            .find(|r| r.id == id)
    })
    .await
}

/// A JSON list of the office's API as 经办人 `wang`: status, `X-Total-Count`, body.
async fn office_api(auth: &Node, path: &str) -> (u16, u64, serde_json::Value) {
    let token = auth.client_as("wang").session().unwrap().to_owned();
    let r = exlic_client::client::http_client(&auth.tls_cert())
        .unwrap()
        .get(format!("{}{path}", auth.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let total = r
        .headers()
        .get("x-total-count")
        .map(|v| v.to_str().unwrap().parse().unwrap())
        .unwrap_or(0);
    (r.status().as_u16(), total, r.json().await.unwrap())
}

/// A staff page of the office, signed in as 经办人 `wang`.
async fn officer_page(auth: &Node, path: &str) -> String {
    let token = auth.client_as("wang").session().unwrap().to_owned();
    exlic_client::client::http_client(&auth.tls_cert())
        .unwrap()
        .get(format!("{}{path}", auth.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn request_settles(c: &Client, id: DocId, want: &str) -> LicenceRequestView {
    wait_for(
        60,
        &format!("the request {want} on the enterprise"),
        || async {
            c.licence_requests(None)
                .await
                .ok()?
                .into_iter()
                .find(|r| r.id == id && r.status == want)
        },
    )
    .await
}

#[test]
fn deletion_and_write_off_change_the_licence_on_both_sides() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let rt = runtime();
    let (a, c) = (auth.client(), ent.client());
    let (officer, chief) = (auth.client_as("wang"), auth.client_as("li"));
    let req = |kind: &str, no: &str| LicenceRequestInput {
        kind: kind.into(),
        licence_no: no.into(),
    };
    rt.block_on(async {
        let deleted = issue(&c, &officer, &chief).await;
        let written = issue(&c, &officer, &chief).await;

        // Guards, checked offline on the enterprise node, each with its reason.
        let e = c
            .request_licence_change(&req("delete", "26AA999999"))
            .await
            .unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("licence_no"), "{e}");
        let e = c
            .request_licence_change(&req("cancel", &deleted))
            .await
            .unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("kind"), "{e}");

        // 删证: 待审核 → 审核通过 → the licence is deleted on both sides.
        let d = c
            .request_licence_change(&req("delete", &deleted))
            .await
            .unwrap();
        assert_eq!(d.status, "pending");
        let e = c
            .request_licence_change(&req("write_off", &deleted))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("open"),
            "one open request per licence: {e}"
        );
        let pending = wait_for(
            60,
            "the request in the authority's 待审核 inbox",
            || async {
                let p = a.licence_requests(Some("pending")).await.ok()?;
                (!p.is_empty()).then_some(p)
            },
        )
        .await;
        assert_eq!(pending[0].licence_no, deleted);
        let e = a
            .decide_licence_request(pending[0].id, &verdict(true, ""))
            .await
            .unwrap_err();
        assert_eq!(
            e.api().unwrap().code,
            "forbidden",
            "the administrator does not decide: {e}"
        );
        officer
            .decide_licence_request(pending[0].id, &verdict(true, ""))
            .await
            .unwrap();
        assert_eq!(a.licence_status(&deleted).await.unwrap().status, "deleted");
        request_settles(&c, d.id, "approved").await;
        assert_eq!(c.licence_status(&deleted).await.unwrap().status, "deleted");

        // The office's signed standing reached the enterprise: it verifies under the
        // office's key, says deleted, and everything that shows the licence says so too.
        let root = a.authority_info().await.unwrap().root_key;
        let mut rk = [0u8; 32];
        hex::decode_to_slice(&root, &mut rk).unwrap();
        let http = ent.http();
        let get = |path: String| {
            let http = http.clone();
            async move { http.get(path).send().await.unwrap() }
        };
        let r = get(format!("{}/api/v1/licences/{deleted}/standing", ent.url)).await;
        assert_eq!(r.status().as_u16(), 200);
        let statement = r.bytes().await.unwrap().to_vec();
        let st =
            exlic_client::standing::Standing::verify_trusted(&statement, &Trust::new(rk)).unwrap();
        assert_eq!(st.state, exlic_client::standing::State::Deleted);
        assert_eq!(st.licence_no, deleted);
        let page = get(format!("{}/licences/{deleted}", ent.url))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("已删证") && !page.contains("验证通过"),
            "{page}"
        );
        assert!(
            page.contains("状态截至"),
            "the standing's age is shown: {page}"
        );
        let written_page = get(format!("{}/licences/{written}", ent.url))
            .await
            .text()
            .await
            .unwrap();
        assert!(written_page.contains("验证通过"), "{written_page}");
        // `exlic verify` with the statement: not valid, with the reason, non-zero.
        let dir = tempfile::tempdir().unwrap();
        let (lf, sf) = (dir.path().join("l.bin"), dir.path().join("l.standing"));
        std::fs::write(&lf, c.licence_file(&deleted).await.unwrap()).unwrap();
        std::fs::write(&sf, &statement).unwrap();
        let out = exlic()
            .arg("verify")
            .arg(&lf)
            .args(["--authority-key", &root, "--standing"])
            .arg(&sf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && text.contains("deleted") && text.contains("standing as of"),
            "{text}"
        );
        // The office's own list says it too.
        let list = officer_page(&auth, "/licences").await;
        assert!(list.contains("已删证"), "{list}");
        let e = c
            .request_licence_change(&req("write_off", &deleted))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("already deleted"), "{e}");

        // 核销: refused once with a reason, then approved → written off on both sides.
        let w1 = c
            .request_licence_change(&req("write_off", &written))
            .await
            .unwrap();
        let p = pending_at_office(&a, w1.id, "the write-off in 待审核").await;
        let e = chief
            .decide_licence_request(p.id, &verdict(false, ""))
            .await
            .unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("reason"), "{e}");
        chief
            .decide_licence_request(p.id, &verdict(false, "报关数据未到"))
            .await
            .unwrap();
        let r = request_settles(&c, w1.id, "rejected").await;
        assert_eq!(r.reason, "报关数据未到");
        assert_eq!(c.licence_status(&written).await.unwrap().status, "valid");
        let w2 = c
            .request_licence_change(&req("write_off", &written))
            .await
            .unwrap();
        let p = pending_at_office(&a, w2.id, "the second write-off in 待审核").await;
        officer
            .decide_licence_request(p.id, &verdict(true, ""))
            .await
            .unwrap();
        request_settles(&c, w2.id, "approved").await;
        assert_eq!(
            c.licence_status(&written).await.unwrap().status,
            "written_off"
        );
        assert_eq!(
            a.licence_status(&written).await.unwrap().status,
            "written_off"
        );
    });
}
