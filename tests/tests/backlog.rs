//! A backlog drains over a real libp2p connection: an enterprise that sealed and reported
//! hundreds of applications offline delivers them all once its office is up, in batches,
//! none lost and none twice, while a second enterprise's single submission is received
//! beside it. (How fast it drains against the office's ingest rate is measured by
//! `scripts/bench-authority --backlog`.)

use std::collections::HashSet;

use exlic_client::query::ApplicationQuery;
use exlic_client::status::ApplicationStatus;
use exlic_tests::*;

/// More than two batches of `MAX_SUBMISSIONS`.
const BACKLOG: usize = 600;

/// A second enterprise, enrolled with the same office.
const OTHER_USCC_17: &str = "91310000MA1FL8XQ3";
const OTHER_NAME: &str = "上海示例贸易有限公司";

#[test]
fn an_offline_backlog_drains_whole_and_once_while_another_enterprise_is_served() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let other_uscc = format!(
        "{OTHER_USCC_17}{}",
        exlic_client::uscc::check_char(OTHER_USCC_17).unwrap()
    );
    let bdir = root.path().join("other");
    init_enrolled(&bdir, &invite(&adir, &other_uscc, OTHER_NAME));

    // Offline: every fifth application with an attachment of its own, the others all
    // with the same bytes (one blob, many seals).
    let shared = random_bytes(700);
    let ids = seal_offline(&edir, BACKLOG, |i| {
        Some(if i % 5 == 0 {
            random_bytes(300 + i)
        } else {
            shared.clone()
        })
    });
    assert_eq!(ids.len(), BACKLOG);

    let authority = Node::start(&adir);
    let ent = Node::start(&edir);
    let other = Node::start(&bdir);
    let rt = runtime();
    let (c, b) = (ent.client(), other.client());
    let officer = authority.client_as("wang");
    rt.block_on(async {
        let waiting = c.sync_status().await.unwrap().submissions_waiting;
        assert!(
            waiting > 0,
            "the backlog was delivered before the test could look"
        );
        // The other enterprise reports one application while the backlog drains.
        let mut form = full_form();
        form.exporter_name = OTHER_NAME.into();
        form.exporter_uscc = other_uscc.clone();
        form.consignor_name = OTHER_NAME.into();
        form.consignor_uscc = other_uscc.clone();
        let single = submit_form(&b, &form).await;
        status_becomes(&b, single, ApplicationStatus::PendingInitial).await;

        wait_for(180, "the whole backlog to be received", || async {
            let s = c.sync_status().await.ok()?;
            (s.submissions_waiting == 0).then_some(())
        })
        .await;

        // Every one is 待初审 at the enterprise, with its receipt.
        let mut received = HashSet::new();
        for page in 1.. {
            let p = c
                .query(&ApplicationQuery {
                    status: Some(ApplicationStatus::PendingInitial),
                    page: Some(page),
                    ..Default::default()
                })
                .await
                .unwrap();
            received.extend(p.items.iter().map(|r| r.id));
            if !p.has_more {
                break;
            }
        }
        let missing = ids.iter().filter(|id| !received.contains(id)).count();
        assert_eq!(missing, 0, "{missing} of the backlog are not 待初审");

        // The office holds each exactly once, and the other enterprise's beside them.
        let inbox = officer.inbox("pending_initial", 1).await.unwrap();
        assert_eq!(
            inbox.total,
            BACKLOG as u64 + 1,
            "cases in 待初审 at the office"
        );
        let mut seen = HashSet::new();
        let mut page = 1;
        loop {
            let p = officer.inbox("pending_initial", page).await.unwrap();
            for r in &p.rows {
                assert!(seen.insert(r.id), "case {} listed twice", r.id);
            }
            if p.rows.is_empty() || seen.len() as u64 >= p.total {
                break;
            }
            page += 1;
        }
        assert!(seen.contains(&single));
        assert!(ids.iter().all(|id| seen.contains(id)));
    });
}
