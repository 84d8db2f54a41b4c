//! The office's side of customs: invites and enrolment, the standing feed, and usage
//! folded into standing, case and flags.

use exlic_client::invite::CustomsInvite;
use exlic_client::standing::{FeedPage, State};
use exlic_client::usage::{Step, UsageEntry};

use super::*;

/// Issues the sample application's licence (一批一证, 23 t) and returns its number.
fn issued(a: &Authority, dev: &SigningKey) -> String {
    use crate::domain::review::Stage;
    let att = b"contract".to_vec();
    upload(a, dev, &att);
    let id = DocId([9; 16]);
    let form = exlic_client::sample::application(exlic_client::sample::NAME, USCC_A, 2026);
    let mut d = form_doc_of(&form);
    sync_doc(a, dev, &mut d, id);
    let env = seal(&mut d, id, USCC_A, dev, &att);
    let r = a.handle(dev.verifying_key().to_bytes(), Request::Submit(env));
    assert!(
        matches!(r.response, Response::Receipt(_)),
        "{:?}",
        r.response
    );
    a.review
        .decide(id, Stage::Initial, true, "", "经办人")
        .unwrap();
    a.review
        .decide(id, Stage::Second, true, "", "处长")
        .unwrap()
        .1
        .unwrap()
}

pub(super) fn feed(a: &Authority, customs: &SigningKey, cursor: u64) -> FeedPage {
    match a
        .handle(
            customs.verifying_key().to_bytes(),
            Request::Standing { cursor },
        )
        .response
    {
        Response::Standing { page, .. } => FeedPage::verify_trusted(&page, &a.trust()).unwrap(),
        other => panic!("{other:?}"),
    }
}

pub(super) fn entry(
    k: &SigningKey,
    district: &str,
    seq: u64,
    no: &str,
    step: Step,
    q: &str,
) -> Vec<u8> {
    UsageEntry {
        customs_key: k.verifying_key().to_bytes(),
        district: district.into(),
        seq,
        licence_no: no.into(),
        declaration_no: "370020261000000001".into(),
        item: 1,
        step,
        quantity: q.into(),
        at_ms: 1_796_000_000_000,
    }
    .sign(k)
}

#[test]
fn a_customs_node_enrols_once_follows_the_feed_and_its_usage_makes_the_licence_used_up() {
    let clock = ManualClock::at(ms("2026-12-01T10:00:00+08:00"));
    let dir = tempfile::tempdir().unwrap();
    let a = office_on(dir.path(), "AA", &clock, 1 << 20);
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let no = issued(&a, &dev);
    let l = crate::store::licences::get(&a.store().read().unwrap(), &no)
        .unwrap()
        .unwrap();
    let district = l.customs_district.clone();

    // Not enrolled: refused.
    let customs = key(60);
    let pk = customs.verifying_key().to_bytes();
    assert!(refused(
        &a.handle(pk, Request::Standing { cursor: 0 }).response,
        ErrorCode::NotEnrolled
    ));
    assert!(matches!(
        a.customs.invite("9999", 7),
        Err(AuthorityError::BadInput { ref field, .. }) if field == "district"
    ));
    let token = a.customs.invite(&district, 7).unwrap();
    let inv = CustomsInvite::from_token(&token).unwrap();
    assert_eq!(inv.authority_key, a.root_key());
    let enrolled = a
        .handle(pk, Request::EnrolCustoms { secret: inv.secret })
        .response;
    assert_eq!(
        enrolled,
        Response::Enrolled {
            enterprise_uscc: district.clone()
        }
    );
    // Spent: another node cannot use it; the same node may ask again.
    assert!(refused(
        &a.handle(
            key(61).verifying_key().to_bytes(),
            Request::EnrolCustoms { secret: inv.secret }
        )
        .response,
        ErrorCode::BadInvite
    ));
    assert_eq!(
        a.handle(pk, Request::EnrolCustoms { secret: inv.secret })
            .response,
        enrolled
    );

    // The feed: the issued licence, valid; from its end, nothing.
    let p = feed(&a, &customs, 0);
    assert_eq!(p.entries.len(), 1);
    assert_eq!(
        (p.entries[0].licence_no.as_str(), p.entries[0].state),
        (no.as_str(), State::Valid)
    );
    assert!(feed(&a, &customs, p.to).entries.is_empty());

    // Usage: a gap is refused, a wrong district drops the peer, the right run is stored
    // and a retry is answered with the same position.
    let gap = a.handle(
        pk,
        Request::Usage(vec![entry(
            &customs,
            &district,
            2,
            &no,
            Step::Reserve,
            "23",
        )]),
    );
    assert!(refused(&gap.response, ErrorCode::BadRequest));
    let other_district = a.handle(
        pk,
        Request::Usage(vec![entry(&customs, "0100", 1, &no, Step::Reserve, "23")]),
    );
    assert!(other_district.drop_peer);
    let run = vec![
        entry(&customs, &district, 1, &no, Step::Reserve, "23"),
        entry(&customs, &district, 2, &no, Step::Confirm, "23"),
    ];
    for _ in 0..2 {
        let r = a.handle(pk, Request::Usage(run.clone())).response;
        assert_eq!(r, Response::UsageStored { seq: 2 });
    }
    let (view, flags) = a.customs.usage_of(&no).unwrap().unwrap();
    assert_eq!(
        (
            view.uses,
            view.used_quantity.as_str(),
            view.remaining_quantity.as_str()
        ),
        (1, "23", "0")
    );
    assert!(flags.is_empty());
    // Used up: the feed says so, signed.
    let p2 = feed(&a, &customs, p.to);
    assert_eq!(p2.entries.len(), 1);
    assert_eq!(p2.entries[0].state, State::UsedUp);
    // The case document carries the usage to the enterprise.
    let case = {
        let mut w = a.store().write().unwrap();
        let c = w
            .doc(crate::store::case_doc::case_id(l.application_id))
            .unwrap()
            .and_then(|d| crate::store::case_doc::read(d))
            .unwrap();
        drop(w);
        c
    };
    let told: exlic_client::usage::UsageView = serde_json::from_str(&case.usage).unwrap();
    assert_eq!(told, view);
}

#[test]
fn usage_of_a_licence_deleted_meanwhile_is_flagged() {
    let clock = ManualClock::at(ms("2026-12-01T10:00:00+08:00"));
    let dir = tempfile::tempdir().unwrap();
    let a = office_on(dir.path(), "AA", &clock, 1 << 20);
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let no = issued(&a, &dev);
    let district = crate::store::licences::get(&a.store().read().unwrap(), &no)
        .unwrap()
        .unwrap()
        .customs_district;
    let customs = key(60);
    let pk = customs.verifying_key().to_bytes();
    let inv = CustomsInvite::from_token(&a.customs.invite(&district, 7).unwrap()).unwrap();
    a.handle(pk, Request::EnrolCustoms { secret: inv.secret });
    // The office deletes the licence (its standing, as an approved 删证 leaves it).
    {
        let w = a.store().write().unwrap();
        crate::store::licences::set_standing(
            &w,
            &no,
            crate::domain::licence_request::Standing::Deleted,
        )
        .unwrap();
        w.commit().unwrap();
    }
    let r = a.handle(
        pk,
        Request::Usage(vec![entry(&customs, &district, 1, &no, Step::Reserve, "5")]),
    );
    assert_eq!(r.response, Response::UsageStored { seq: 1 });
    let flags = a.customs.flags().unwrap();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0].0, no);
    assert!(flags[0].3.starts_with("deleted|"), "{flags:?}");
}
