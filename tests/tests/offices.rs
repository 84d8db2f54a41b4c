//! An enterprise enrolled with two offices, across real nodes: its home office (江苏,
//! `32`) and the bureau's office (`AA`, added with `exlic add-office`). 柠檬酸 (which the
//! 分级发证目录 leaves to any office) goes to the home office and wheat (which it gives
//! to `AA` alone) to `AA`; each office sees only its own application, and each licence
//! verifies offline under its own office's key and not under the other's.

use exlic_tests::*;

#[test]
fn each_commodity_goes_to_the_office_the_catalogue_names_and_its_licence_verifies_under_that_office()
 {
    let root = tempfile::tempdir().unwrap();
    let home_dir = root.path().join("jiangsu");
    let other_dir = root.path().join("bureau-office");
    init_authority_as(&home_dir, free_port(), "32", "江苏省商务厅");
    init_authority(&other_dir, free_port());
    let edir = root.path().join("enterprise");
    init_enrolled(&edir, &invite(&home_dir, USCC, NAME));

    // A token for another enterprise is refused, naming it, and changes nothing.
    let before = std::fs::read_to_string(edir.join("config.toml")).unwrap();
    let out = exlic()
        .args(["add-office", "--data-dir"])
        .arg(&edir)
        .args([
            "--token",
            &invite(&other_dir, "91350200MA2Y0QJ07W", "另一家"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(edir.join("config.toml")).unwrap(),
        before
    );

    let out = exlic()
        .args(["add-office", "--data-dir"])
        .arg(&edir)
        .args(["--token", &invite(&other_dir, USCC, NAME)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let home = Node::start(&home_dir);
    let other = Node::start(&other_dir);
    let ent = Node::start(&edir);
    let rt = runtime();
    let c = ent.client();
    rt.block_on(async {
        let (h, o) = (home.client(), other.client());
        let citric = full_form();
        let mut wheat = full_form();
        wheat.commodity_code = "1001990000".into();
        let lemon_no =
            issue_form(&c, &home.client_as("wang"), &home.client_as("li"), &citric).await;
        let wheat_no =
            issue_form(&c, &other.client_as("wang"), &other.client_as("li"), &wheat).await;
        assert!(lemon_no.contains("32"), "{lemon_no}");
        assert!(wheat_no.contains("AA"), "{wheat_no}");

        // The node reports each link: the home office's at the top, the other's listed.
        let st = c.sync_status().await.unwrap();
        assert!(st.enrolled);
        assert_eq!(st.offices.len(), 1, "{st:?}");
        assert_eq!(st.offices[0].agency_code, "AA");
        assert!(st.offices[0].enrolled, "{st:?}");
        let bar = String::from_utf8(ent.get_ok("/applications").await).unwrap();
        assert!(
            bar.contains("发证机构 AA: "),
            "the status bar names the other office"
        );

        // Each office holds only the application that is its own.
        let ids = all_ids(&c).await;
        assert_eq!(ids.len(), 2);
        for id in ids {
            let app = c.application(id).await.unwrap();
            let no = app.licence_no.unwrap_or_default();
            let (mine, theirs) = if no == lemon_no { (&h, &o) } else { (&o, &h) };
            let office = if no == lemon_no { "32" } else { "AA" };
            assert_eq!(app.office, office, "the application says where it goes");
            let page = String::from_utf8(ent.get_ok(&format!("/applications/{id}")).await).unwrap();
            assert!(
                page.contains(&format!(r#"id="app-office">{office}<"#)),
                "its page says so too: {page}"
            );
            assert!(mine.case(id).await.is_ok(), "{no} at its office");
            assert!(
                theirs.case(id).await.is_err(),
                "{no} must not reach the other office"
            );
        }

        // Each licence verifies offline under its own office's key, with the proof that
        // office sent, and not under the other's.
        let dir = tempfile::tempdir().unwrap();
        let home_root = h.authority_info().await.unwrap().root_key;
        let other_root = o.authority_info().await.unwrap().root_key;
        for (no, own, foreign) in [
            (&lemon_no, &home_root, &other_root),
            (&wheat_no, &other_root, &home_root),
        ] {
            let licence = c.licence_file(no).await.unwrap();
            let proof = ent.get_ok(&format!("/api/v1/licences/{no}/proof")).await;
            let (ok, text) = verify_with_proof(dir.path(), own, &licence, &proof);
            assert!(ok, "{no} under its own office's key: {text}");
            let (ok, text) = verify_with_proof(dir.path(), foreign, &licence, &proof);
            assert!(
                !ok,
                "{no} must not verify under the other office's key: {text}"
            );
        }

        // 删证 of the wheat licence goes to the office that issued it, which decides it;
        // the home office never sees it.
        delete_licence(&c, &o, &other.client_as("wang"), &wheat_no).await;
        assert!(h.licence_requests(None).await.unwrap().is_empty());
        assert_eq!(c.licence_status(&lemon_no).await.unwrap().status, "valid");

        // The enterprise's own page of each licence checks it against its issuer's keys.
        for (no, shown) in [(&lemon_no, "flash ok"), (&wheat_no, "errors")] {
            let page = String::from_utf8(ent.get_ok(&format!("/licences/{no}")).await).unwrap();
            // Both verify; the deleted one is shown as no longer valid, by its office's
            // signed statement.
            assert!(
                page.contains(&format!(
                    r#"class="{shown}" role="status" id="licence-check""#
                )),
                "{no}'s page: {page}"
            );
            if shown == "errors" {
                assert!(page.contains("已删证"), "{page}");
            }
        }
    });
}
