//! An enterprise enrolled with two offices, across real nodes: its home office (江苏,
//! `32`) and the bureau's office (`AA`, added with `exlic add-office`). 柠檬酸 (which the
//! 分级发证目录 leaves to any office) goes to the home office and wheat (which it gives
//! to `AA` alone) to `AA`; each office sees only its own application, and each licence
//! verifies offline under its own office's key and not under the other's.
//!
//! A customs district enrolled with both (home `32`, then `exlic add-office` with `AA`'s
//! customs invite) checks each licence under its own office's key, hears each office's
//! standing (the `AA` licence's 删证 from `AA`), and reports its ledger to both.

use exlic_client::usage::DeclarationInput;
use exlic_tests::*;

/// `exlic add-office` on the stopped node `dir`: whether it succeeded, and its stderr.
fn add_office(dir: &std::path::Path, token: &str) -> (bool, String) {
    let out = exlic()
        .args(["add-office", "--data-dir"])
        .arg(dir)
        .args(["--token", token])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

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
    let (ok, err) = add_office(&edir, &invite(&other_dir, "91350200MA2Y0QJ07W", "另一家"));
    assert!(!ok);
    assert!(err.contains("--token"), "{err}");
    assert_eq!(
        std::fs::read_to_string(edir.join("config.toml")).unwrap(),
        before
    );
    let (ok, err) = add_office(&edir, &invite(&other_dir, USCC, NAME));
    assert!(ok, "{err}");

    // Customs district 3700, enrolled from the home office, follows AA too; AA's invite
    // for another district is refused, naming the token.
    let cdir = root.path().join("customs");
    init_customs(&cdir, &home_dir, "3700");
    let (ok, err) = add_office(&cdir, &customs_invite(&other_dir, "2200"));
    assert!(!ok);
    assert!(err.contains("--token") && err.contains("2200"), "{err}");
    let (ok, err) = add_office(&cdir, &customs_invite(&other_dir, "3700"));
    assert!(ok, "{err}");

    let home = Node::start(&home_dir);
    let other = Node::start(&other_dir);
    let ent = Node::start(&edir);
    let customs = Node::start(&cdir);
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

        // A draft's form says where it will go once saved with its commodity.
        let draft = c.create_application(&wheat).await.unwrap().id;
        let form =
            String::from_utf8(ent.get_ok(&format!("/applications/{draft}/edit")).await).unwrap();
        assert!(form.contains(r#"id="form-office">AA<"#), "{form}");
        c.delete_application(draft).await.unwrap();

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

        // Customs checks each licence under the key of the office that issued it, and
        // hears each office's standing from that office: the wheat licence's 删证 from
        // AA, while the 32 licence stays valid and is used.
        let k = customs.client_as(OFFICER);
        let declare = |no: &str, n: u32, code: &str, check_only: bool| {
            let (k, c) = (k.clone(), c.clone());
            let (no, code) = (no.to_owned(), code.to_owned());
            async move {
                let file = c.licence_file(&no).await.unwrap();
                k.declare(&DeclarationInput {
                    declaration_no: format!("3700202610{n:08}"),
                    item: 1,
                    licence: hex::encode(file),
                    licence_no: String::new(),
                    exporter: USCC.into(),
                    commodity_code: code,
                    quantity: "1".into(),
                    check_only,
                })
                .await
                .unwrap()
            }
        };
        let o = wait_for(30, "customs to hear AA's 删证", || async {
            let o = declare(&wheat_no, 1, "1001990000", true).await;
            (o.standing == "deleted").then_some(o)
        })
        .await;
        assert_eq!(
            o.reasons
                .iter()
                .map(|r| r.code.as_str())
                .collect::<Vec<_>>(),
            ["standing"],
            "verified under AA's key, refused only for its standing: {o:?}"
        );
        let o = declare(&lemon_no, 2, "2918140000", false).await;
        assert!(o.passed, "{o:?}");
        assert_eq!(o.standing, "valid");

        // Both offices hold the ledger, and the status bar names the other office with
        // its log head.
        let node = wait_for(30, "both offices to hold the customs ledger", || async {
            let v: serde_json::Value =
                serde_json::from_str(&customs_page(&customs, "/api/v1/node").await).ok()?;
            let offices = v["offices"].as_array()?.clone();
            offices
                .iter()
                .all(|o| o["reported"].as_u64() == Some(1) && o["log_size"].as_u64() > Some(0))
                .then_some(offices)
        })
        .await;
        assert_eq!(node[0]["agency_code"], "32");
        assert_eq!(node[1]["agency_code"], "AA");
        assert_eq!(node[1]["authority_key"].as_str(), Some(other_root.as_str()));
        let usage = wait_for(30, "the usage at the enterprise", || async {
            c.licence_usage(&lemon_no)
                .await
                .ok()
                .filter(|u| u.uses == 1)
        })
        .await;
        assert_eq!(usage.lines[0].state, "reserved");
        let page = customs_page(&customs, "/").await;
        assert!(page.contains(r#"id="office-AA""#), "{page}");
        assert!(!page.contains("log-alarm"), "{page}");
    });
}
