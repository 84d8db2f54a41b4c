//! 发证机构联系方式 and 办事指南: edited by the office's administrator, synced to every
//! enterprise node (including one enrolled afterwards) and readable there with the
//! authority down.

use exlic_client::directory::{Contact, Directory, Guide};
use exlic_tests::*;

#[test]
fn the_directory_reaches_every_enterprise_and_reads_offline() {
    let root = tempfile::tempdir().unwrap();
    let adir = root.path().join("authority");
    init_authority(&adir, free_port());
    let e1 = root.path().join("e1");
    init_enrolled(&e1, &invite(&adir, USCC, NAME));
    let auth = Node::start(&adir);
    let ent = Node::start(&e1);
    let rt = runtime();
    let d = Directory {
        contacts: vec![Contact {
            name: "商务部配额许可证事务局".into(),
            address: "北京市东城区东长安街2号".into(),
            phone: "010-65197414".into(),
            note: "工作日 9:00-17:00".into(),
        }],
        guides: vec![Guide {
            title: "出口许可证申领流程".into(),
            body: "新增 → 暂存 → 保存并盖章 → 上报。\n\n发证机构初审、复审后签发电子许可证。"
                .into(),
        }],
        updated_ms: 0,
    };
    let (admin, officer, c) = (auth.client(), auth.client_as("wang"), ent.client());
    rt.block_on(async {
        let e = officer.put_directory(&d).await.unwrap_err();
        assert_eq!(
            e.api().unwrap().code,
            "forbidden",
            "only the administrator edits: {e}"
        );
        let mut bad = d.clone();
        bad.contacts[0].name.clear();
        let e = admin.put_directory(&bad).await.unwrap_err();
        assert_eq!(
            e.api().unwrap().field.as_deref(),
            Some("contacts[0].name"),
            "{e}"
        );
        admin.put_directory(&d).await.unwrap();
        let got = wait_for(60, "the directory on the enterprise", || async {
            let g = c.directory().await.ok()?;
            (!g.contacts.is_empty()).then_some(g)
        })
        .await;
        assert_eq!(got.contacts, d.contacts);
        assert_eq!(got.guides, d.guides);
    });
    // An enterprise enrolled after the edit receives it too.
    let e2 = root.path().join("e2");
    let token = rt
        .block_on(admin.invite(&exlic_client::authority::InviteRequest {
            uscc: "91350100M000100Y43".into(),
            name: "福州示例贸易有限公司".into(),
            numbers: None,
            valid_days: None,
        }))
        .unwrap()
        .token;
    init_enrolled(&e2, &token);
    let ent2 = Node::start(&e2);
    let c2 = ent2.client();
    rt.block_on(wait_for(
        60,
        "the directory on the later enterprise",
        || async { (c2.directory().await.ok()?.guides == d.guides).then_some(()) },
    ));
    // The authority goes away: both still read it.
    auth.kill();
    rt.block_on(async {
        assert_eq!(c.directory().await.unwrap().contacts, d.contacts);
        assert_eq!(c2.directory().await.unwrap().guides, d.guides);
    });
}
