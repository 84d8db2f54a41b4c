//! Two devices of one enterprise change the same field while the office is down (so they
//! cannot sync): once it is back, both see the field in conflict with both values and who
//! wrote each, the page shows both in words, and the history records each device's
//! value. Keeping one value on one device resolves it on both; a request to keep a value
//! that is not in conflict is refused and changes nothing.
//! The resolution is made in Chromium (the `enterprise-conflict` phase of `e2e.mjs`).

use exlic_client::application::ApplicationView;
use exlic_tests::*;

fn contract_conflict(v: &ApplicationView) -> Option<Vec<(String, bool)>> {
    let c = v.conflicts.iter().find(|c| c.field == "contract_no")?;
    let mut values: Vec<(String, bool)> =
        c.values.iter().map(|x| (x.value.clone(), x.mine)).collect();
    values.sort();
    Some(values)
}

#[test]
fn a_field_changed_on_two_devices_apart_shows_both_values_until_one_is_kept() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let second = root.path().join("second");
    init_joined(&second, &invite(&adir, USCC, NAME));
    let auth = Node::start(&adir);
    let first = Node::start(&edir);
    let c1 = first.client();
    let rt = runtime();
    rt.block_on(wait_for(60, "the first device's certificate", || async {
        c1.certificate().await.ok()
    }));
    let dev2 = Node::start(&second);
    let c2 = dev2.client();
    let id = rt.block_on(async {
        wait_for(60, "the second device's enrolment", || async {
            c2.sync_status().await.ok().filter(|s| s.enrolled)
        })
        .await;
        let v = c1.create_application(&full_form()).await.unwrap();
        wait_for(60, "the draft on the second device", || async {
            c2.application(v.id).await.ok()
        })
        .await;
        v.id
    });

    // The office goes down: each device changes 合同号 on its own.
    auth.stop();
    rt.block_on(async {
        let patch = |no: &str| serde_json::json!({ "contract_no": no });
        let a = c1.patch_application(id, &patch("XM-A-0001")).await.unwrap();
        let b = c2.patch_application(id, &patch("XM-B-0002")).await.unwrap();
        assert!(
            a.conflicts.is_empty() && b.conflicts.is_empty(),
            "no conflict alone"
        );
    });

    // Back online: both devices hold both values, each knowing which one it wrote.
    let auth = Node::start(&adir);
    let both = |mine: &str| {
        let mut v = vec![
            ("XM-A-0001".to_owned(), mine == "XM-A-0001"),
            ("XM-B-0002".to_owned(), mine == "XM-B-0002"),
        ];
        v.sort();
        v
    };
    rt.block_on(async {
        let seen1 = wait_for(90, "the conflict on the first device", || async {
            contract_conflict(&c1.application(id).await.ok()?)
        })
        .await;
        assert_eq!(seen1, both("XM-A-0001"));
        let seen2 = wait_for(90, "the conflict on the second device", || async {
            contract_conflict(&c2.application(id).await.ok()?)
        })
        .await;
        assert_eq!(seen2, both("XM-B-0002"));
        // The history says what each device wrote.
        let h = c2.application(id).await.unwrap().history;
        let conflict = h.iter().find(|e| e.event == "conflict").expect("logged");
        assert!(
            conflict.detail.contains("XM-A-0001") && conflict.detail.contains("XM-B-0002"),
            "{conflict:?}"
        );

        // The page shows both values by the field's label, in words.
        let page = first
            .http()
            .get(format!("{}/applications/{id}", first.url))
            .send()
            .await
            .unwrap();
        assert!(
            page.url().path().ends_with(&id.to_string()),
            "{}",
            page.url()
        );
        let html = page.text().await.unwrap();
        assert!(html.contains("id=\"conflicts\""), "{html}");
        assert!(html.contains("XM-A-0001") && html.contains("XM-B-0002"));
        assert!(html.contains("本机") && html.contains("另一台设备"));
        assert!(html.contains("合同号") && !html.contains(">contract_no<"));

        // Keeping a value of a field that is not in conflict: refused, nothing changes.
        let before = c1.application(id).await.unwrap();
        let e = c1.resolve_conflict(id, "country", "JPN").await.unwrap_err();
        assert!(e.to_string().contains("field"), "{e}");
        let e = c1
            .resolve_conflict(id, "contract_no", "XM-C-0003")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("value"), "{e}");
        assert_eq!(c1.application(id).await.unwrap().heads, before.heads);

        // In the browser, the first device keeps the second's value (保留此值): resolved
        // here at once, and on the second device after sync, with one value and no
        // conflict.
        let state =
            serde_json::json!({"id": id.to_string(), "mine": "XM-A-0001", "theirs": "XM-B-0002"});
        let url = first.url.clone();
        tokio::task::spawn_blocking(move || {
            phase("enterprise-conflict", &url, "", &state.to_string())
        })
        .await
        .unwrap();
        let kept = c1.application(id).await.unwrap();
        assert!(kept.conflicts.is_empty(), "{:?}", kept.conflicts);
        assert_eq!(kept.form.contract_no, "XM-B-0002");
        assert!(kept.history.iter().any(|e| e.event == "resolved"));
        wait_for(90, "the resolution on the second device", || async {
            let v = c2.application(id).await.ok()?;
            (v.conflicts.is_empty() && v.form.contract_no == "XM-B-0002").then_some(())
        })
        .await;
    });
    drop(auth);
}
