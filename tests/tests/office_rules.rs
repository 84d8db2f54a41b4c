//! The office decides, across real nodes. The enterprise validates against the office's
//! published reference release (R1 from the office's own data at its first start). While
//! the enterprise is offline with a report in its outbox, the office publishes a new
//! catalogue (R2) that no longer lists the commodity; on reconnecting, the office re-checks
//! the sealed form on R2, refuses it at receipt with a signed refusal naming V11, the
//! enterprise adopts R2, shows the finding, refuses to seal the old code itself, and the
//! clerk corrects the application and reports it again as the next revision under the
//! same 申请表号. An office whose `[reference] dir` changes publishes it as the next
//! release, which the enterprise validates against in turn.

use exlic_client::status::ApplicationStatus;
use exlic_tests::*;

/// Copies the built-in reference data to `dir`, with this year's catalogue edited by `edit`.
fn reference_dir(dir: &std::path::Path, edit: impl FnOnce(&mut Vec<serde_json::Value>)) {
    std::fs::create_dir_all(dir).unwrap();
    let builtin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../node/reference");
    for f in std::fs::read_dir(&builtin).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let catalogue = dir.join(format!("catalogue-{}.json", this_year()));
    let mut cat: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&catalogue).unwrap()).unwrap();
    edit(cat["entries"].as_array_mut().unwrap());
    std::fs::write(&catalogue, cat.to_string()).unwrap();
}

/// Renames 柠檬酸's code from `from` to `to` in a catalogue's entries.
fn recode(from: &'static str, to: &'static str) -> impl FnOnce(&mut Vec<serde_json::Value>) {
    move |entries| {
        let e = entries.iter_mut().find(|e| e["code"] == from).unwrap();
        e["code"] = to.into();
    }
}

async fn release_in_force(c: &exlic_client::client::Client, want: &str) {
    wait_for(60, &format!("release {want} on the enterprise"), || async {
        c.node_info()
            .await
            .ok()
            .filter(|i| i.reference_version.starts_with(want))
    })
    .await;
}

#[test]
fn a_catalogue_published_while_the_enterprise_was_offline_decides_its_report() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let c = ent.client();
    let http = ent.http();
    let v = runtime().block_on(async {
        release_in_force(&c, "R1").await;
        let v = c.create_application(&full_form()).await.unwrap();
        c.upload_attachment(v.id, "合同.pdf", "application/pdf", random_bytes(500))
            .await
            .unwrap();
        c.seal(v.id, EKEY_PIN).await.unwrap();
        v
    });

    // Offline: the report waits in the outbox while the office publishes R2.
    auth.stop();
    runtime().block_on(async { c.report(v.id).await.unwrap() });
    let r2 = root.path().join("r2");
    reference_dir(&r2, recode("2918140000", "2918140099"));
    let out = exlic()
        .args(["authority", "publish-reference", "--data-dir"])
        .arg(&adir)
        .args(["--note", "柠檬酸改列新编码"])
        .arg(r2.join(format!("catalogue-{}.json", this_year())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("R2"));
    let auth = Node::start(&adir);

    runtime().block_on(async {
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
        release_in_force(&c, "R2").await;

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

        // The enterprise now validates against R2 itself.
        let err = c.seal(v.id, EKEY_PIN).await.unwrap_err().to_string();
        assert!(err.contains("V11"), "{err}");

        // Corrected, sealed again (revision 2, same 申请表号) and received.
        c.patch_application(v.id, &serde_json::json!({"commodity_code": "2918140099"}))
            .await
            .unwrap();
        let again = c.seal(v.id, EKEY_PIN).await.unwrap();
        assert_eq!(again.revision, 2);
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

    // The office honours its own `[reference] dir`: when its files change, they become
    // the next release (R3), which lists 柠檬酸 under a third code.
    auth.stop();
    let r3 = root.path().join("r3");
    reference_dir(&r3, recode("2918140000", "2918140098"));
    edit_config(
        &adir,
        "[reference]\n",
        &format!("[reference]\ndir = {:?}\n", r3.display().to_string()),
    );
    let _auth = Node::start(&adir);
    runtime().block_on(async {
        release_in_force(&c, "R3").await;
        let mut form = full_form();
        form.commodity_code = "2918140098".into();
        let id = submit_form(&c, &form).await;
        status_becomes(&c, id, ApplicationStatus::PendingInitial).await;
    });
}
