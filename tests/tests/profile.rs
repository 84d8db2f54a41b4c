//! 企业信息维护: the enterprise proposes its §6.1 profile (every field validated, each error
//! naming its field); the issuing office's administrator accepts it; the acceptance reaches
//! the enterprise; a later change waits again for acceptance.

use exlic_client::profile::EnterpriseProfile;
use exlic_tests::*;

fn profile() -> EnterpriseProfile {
    EnterpriseProfile {
        enterprise_name: NAME.into(),
        enterprise_code: "3502960012345".into(),
        uscc: USCC.into(),
        registered_address: "厦门市思明区湖滨南路1号".into(),
        applicant_name: "张鑫".into(),
        applicant_sex: "男".into(),
        id_type: "身份证".into(),
        id_number: "350203199001011234".into(),
        login_name: "zhangxin@example.com".into(),
        email: "zhangxin@example.com".into(),
        contact_address: "厦门市思明区湖滨南路1号".into(),
        mobile: "13800138000".into(),
        landline: "0592-1234567".into(),
        department: "外贸部".into(),
        title: "经理".into(),
        work_address: "厦门市思明区湖滨南路1号".into(),
        postcode: "361000".into(),
    }
}

#[test]
fn a_profile_change_is_proposed_accepted_and_synced() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let rt = runtime();
    let (admin, officer, c) = (auth.client(), auth.client_as("wang"), ent.client());
    rt.block_on(async {
        // Each rule names its field; nothing is saved.
        for (field, bad) in [
            (
                "uscc",
                EnterpriseProfile {
                    uscc: "913502000728319548".into(),
                    ..profile()
                },
            ),
            (
                "mobile",
                EnterpriseProfile {
                    mobile: "1380013800".into(),
                    ..profile()
                },
            ),
            (
                "email",
                EnterpriseProfile {
                    email: "zhangxin".into(),
                    ..profile()
                },
            ),
            (
                "postcode",
                EnterpriseProfile {
                    postcode: "3610".into(),
                    ..profile()
                },
            ),
            (
                "title",
                EnterpriseProfile {
                    title: String::new(),
                    ..profile()
                },
            ),
        ] {
            let e = c.propose_profile(&bad).await.unwrap_err();
            assert_eq!(e.api().unwrap().field.as_deref(), Some(field), "{e}");
        }
        assert_eq!(c.profile().await.unwrap().status, "none");

        assert_eq!(
            c.propose_profile(&profile()).await.unwrap().status,
            "pending"
        );
        let row = wait_for(60, "the proposal at the office", || async {
            admin
                .profiles()
                .await
                .ok()?
                .into_iter()
                .find(|r| r.uscc == USCC && r.profile.status == "pending")
        })
        .await;
        assert_eq!(
            row.profile.proposed.as_ref().unwrap().applicant_name,
            "张鑫"
        );
        let e = officer.accept_profile(USCC).await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "forbidden", "{e}");
        admin.accept_profile(USCC).await.unwrap();
        let v = wait_for(60, "the acceptance on the enterprise", || async {
            let v = c.profile().await.ok()?;
            (v.status == "accepted").then_some(v)
        })
        .await;
        assert_eq!(v.accepted, Some(profile()));

        // A change waits for acceptance again, with the accepted version kept.
        let moved = EnterpriseProfile {
            mobile: "13900139000".into(),
            enterprise_name: RENAMED.into(),
            ..profile()
        };
        let v = c.propose_profile(&moved).await.unwrap();
        assert_eq!(v.status, "pending");
        assert_eq!(v.accepted, Some(profile()));
        wait_for(60, "the change at the office", || async {
            admin.profiles().await.ok()?.into_iter().find(|r| {
                r.uscc == USCC
                    && r.profile
                        .proposed
                        .as_ref()
                        .is_some_and(|p| p.mobile == "13900139000")
            })
        })
        .await;

        // Accepted, the new 企业名称 is the office's registry name and what a new
        // application on the enterprise is pre-filled with.
        admin.accept_profile(USCC).await.unwrap();
        let row = admin
            .profiles()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.uscc == USCC)
            .unwrap();
        assert_eq!(row.name, RENAMED);
        let http = ent.http();
        wait_for(60, "the new name in a new application", || async {
            let page = http
                .get(format!("{}/applications/new", ent.url))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            page.contains(RENAMED).then_some(())
        })
        .await;
    });
}

/// The name the enterprise changes to.
const RENAMED: &str = "厦门示例化工进出口股份有限公司";
