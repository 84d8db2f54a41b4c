//! The office decides, across real nodes: an enterprise whose own reference data lists a
//! commodity the office's catalogue does not seals and reports an application for it; the
//! office re-checks the sealed form on its own data, refuses it at receipt with a signed
//! refusal naming V11, and the enterprise shows the finding and lets the clerk correct
//! the application and report it again as the next revision under the same 申请表号. An
//! office given the same catalogue in its `[reference] dir` receives it.

use exlic_client::status::ApplicationStatus;
use exlic_tests::*;

#[test]
fn a_form_the_office_refuses_at_receipt_comes_back_editable_with_the_rule_named() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    // The enterprise validates against a copy of the reference data that lists one more
    // commodity this year than the office's.
    let refdir = edir.join("reference");
    std::fs::create_dir_all(&refdir).unwrap();
    let builtin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../node/reference");
    for f in std::fs::read_dir(&builtin).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, refdir.join(f.file_name().unwrap())).unwrap();
    }
    let catalogue = refdir.join(format!("catalogue-{}.json", this_year()));
    let mut cat: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&catalogue).unwrap()).unwrap();
    let entries = cat["entries"].as_array_mut().unwrap();
    let mut extra = entries
        .iter()
        .find(|e| e["code"] == "2918140000")
        .unwrap()
        .clone();
    extra["code"] = "2918140099".into();
    entries.push(extra);
    std::fs::write(&catalogue, cat.to_string()).unwrap();
    edit_config(
        &edir,
        "[reference]\n",
        &format!("[reference]\ndir = {:?}\n", refdir.display().to_string()),
    );

    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let c = ent.client();
    let http = exlic_client::client::http_client(b"").unwrap();
    runtime().block_on(async {
        let mut form = full_form();
        form.commodity_code = "2918140099".into();
        let v = c.create_application(&form).await.unwrap();
        c.upload_attachment(v.id, "合同.pdf", "application/pdf", random_bytes(500))
            .await
            .unwrap();
        let sealed = c.seal(v.id).await.unwrap();
        c.report(v.id).await.unwrap();

        let refused = wait_for(60, "the office's refusal on the enterprise", || async {
            c.application(v.id).await.ok()?.refused_at_receipt
        })
        .await;
        assert_eq!(refused.revision, 1);
        assert!(
            refused
                .findings
                .iter()
                .any(|f| f.rule == "V11" && f.field == "commodity_code"),
            "{:?}",
            refused.findings
        );
        let view = c.application(v.id).await.unwrap();
        assert_eq!(view.status, ApplicationStatus::Draft);
        assert!(!view.frozen, "a refused application is editable again");
        assert!(
            auth.client().case(v.id).await.is_err(),
            "no case at the office"
        );

        // The clerk sees it on the application page, in Chinese, the rule named.
        let page = http
            .get(format!("{}/applications/{}", ent.url, v.id))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("发证机构收件时退回"), "{page}");
        assert!(page.contains("V11"), "{page}");

        // Corrected, sealed again (revision 2, same 申请表号) and received.
        c.patch_application(v.id, &serde_json::json!({"commodity_code": "2918140000"}))
            .await
            .unwrap();
        let again = c.seal(v.id).await.unwrap();
        assert_eq!(
            (again.revision, &again.application_no),
            (2, &sealed.application_no)
        );
        c.report(v.id).await.unwrap();
        status_becomes(&c, v.id, ApplicationStatus::PendingInitial).await;
        assert!(
            c.application(v.id)
                .await
                .unwrap()
                .refused_at_receipt
                .is_none()
        );
    });

    // The office honours its own `[reference] dir`: given the same catalogue, it
    // receives the commodity it refused before.
    auth.stop();
    edit_config(
        &adir,
        "[reference]\n",
        &format!("[reference]\ndir = {:?}\n", refdir.display().to_string()),
    );
    let _auth = Node::start(&adir);
    runtime().block_on(async {
        let mut form = full_form();
        form.commodity_code = "2918140099".into();
        let v = c.create_application(&form).await.unwrap();
        c.upload_attachment(v.id, "合同.pdf", "application/pdf", random_bytes(500))
            .await
            .unwrap();
        c.seal(v.id).await.unwrap();
        c.report(v.id).await.unwrap();
        status_becomes(&c, v.id, ApplicationStatus::PendingInitial).await;
    });
}
