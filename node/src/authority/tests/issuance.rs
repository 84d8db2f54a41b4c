//! Numbers and uploads under load: concurrent issuances get distinct licence numbers that
//! survive a restart; licences are numbered by quota year across the year end; a large
//! upload cut short resumes where it stopped.

use super::*;

#[test]
fn a_hundred_concurrent_issuances_get_distinct_numbers_that_survive_a_restart() {
    use crate::domain::review::Stage;
    let dir = tempfile::tempdir().unwrap();
    // 2026-05-17
    let open = |dir: &std::path::Path| Arc::new(authority_at(dir, 1_779_000_000_000, 1 << 20));
    let a = open(dir.path());
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let att = b"contract".to_vec();
    upload(&a, &dev, &att);
    let mut ids = Vec::new();
    for i in 0..101u8 {
        let id = DocId([i; 16]);
        past_initial_review(&a, &dev, &att, id);
        ids.push(id);
    }
    let last = ids.pop().unwrap();
    let numbers: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .iter()
            .map(|id| {
                let a = a.clone();
                let id = *id;
                s.spawn(move || {
                    a.review
                        .decide(id, Stage::Second, true, "", "处长")
                        .unwrap()
                        .1
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: std::collections::BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), 100, "numbers repeat");
    assert!(
        numbers
            .iter()
            .all(|n| exlic_client::licence::valid_licence_no(n) && n.starts_with("26AA")),
        "{numbers:?}"
    );
    assert_eq!(distinct.last().unwrap().as_str(), "26AA000100");
    drop(a);
    let a = open(dir.path());
    let (_, no) = a
        .review
        .decide(last, Stage::Second, true, "", "处长")
        .unwrap();
    assert_eq!(
        no.as_deref(),
        Some("26AA000101"),
        "numbering continues after a restart"
    );
}

#[test]
fn a_20_mib_upload_cut_at_90_percent_resumes_at_90_percent() {
    let dir = tempfile::tempdir().unwrap();
    let a = authority_at(dir.path(), 1_767_000_000_000, 20 << 20);
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let p = dev.verifying_key().to_bytes();
    let blob: Vec<u8> = (0..20u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let h = sha256(&blob);
    let size = blob.len() as u64;
    let chunk = exlic_client::protocol::BLOB_CHUNK;
    let chunks = blob.len() / chunk;
    let cut = chunks * 9 / 10;
    for i in 0..cut {
        let r = a
            .handle(
                p,
                Request::BlobPut {
                    sha256: h,
                    size,
                    offset: (i * chunk) as u64,
                    bytes: blob[i * chunk..(i + 1) * chunk].to_vec(),
                },
            )
            .response;
        assert_eq!(
            r,
            Response::BlobHave {
                received: ((i + 1) * chunk) as u64
            }
        );
    }
    // The link drops; a new session asks where to resume.
    a.replica.disconnected(&p);
    let r = a
        .handle(p, Request::BlobStatus { sha256: h, size })
        .response;
    assert_eq!(
        r,
        Response::BlobHave {
            received: (cut * chunk) as u64
        },
        "resumes at 90 %"
    );
    for i in cut..chunks {
        a.handle(
            p,
            Request::BlobPut {
                sha256: h,
                size,
                offset: (i * chunk) as u64,
                bytes: blob[i * chunk..(i + 1) * chunk].to_vec(),
            },
        );
    }
    assert_eq!(
        a.handle(p, Request::BlobStatus { sha256: h, size })
            .response,
        Response::BlobHave { received: size }
    );
    let r = a
        .handle(
            p,
            Request::BlobGet {
                sha256: h,
                offset: (cut * chunk) as u64,
            },
        )
        .response;
    assert!(
        matches!(r, Response::BlobData { ref bytes, .. } if bytes[..] == blob[cut * chunk..(cut + 1) * chunk])
    );
    // An oversized declaration is refused before any byte is stored.
    let r = a
        .handle(
            p,
            Request::BlobStatus {
                sha256: [1; 32],
                size: (20 << 20) + 1,
            },
        )
        .response;
    assert!(refused(&r, ErrorCode::BadRequest));
}

#[test]
fn licences_are_numbered_by_quota_year_and_a_past_years_case_is_refused_with_a_reason() {
    use crate::domain::review::Stage;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(ms("2026-12-15T10:00:00+08:00"));
    let a = office_on(dir.path(), "AA", &clock, 1 << 20);
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let att = b"contract".to_vec();
    upload(&a, &dev, &att);
    let submit = |n: u8, year: i32| {
        let id = DocId([n; 16]);
        let mut form = exlic_client::sample::application(exlic_client::sample::NAME, USCC_A, year);
        form.remarks = "有效期自1月1日起".into();
        let mut d = form_doc_of(&form);
        sync_doc(&a, &dev, &mut d, id);
        let env = seal(&mut d, id, USCC_A, &dev, &att);
        let r = a.handle(dev.verifying_key().to_bytes(), Request::Submit(env));
        assert!(
            matches!(r.response, Response::Receipt(_)),
            "{:?}",
            r.response
        );
        a.review
            .decide(id, Stage::Initial, true, "", "经办人")
            .unwrap();
        id
    };
    let next_year = submit(1, 2027);
    let this_year = submit(2, 2026);
    let left_over = submit(3, 2026);
    let issue = |id| a.review.decide(id, Stage::Second, true, "", "处长");
    assert_eq!(issue(next_year).unwrap().1.as_deref(), Some("27AA000001"));
    assert_eq!(issue(this_year).unwrap().1.as_deref(), Some("26AA000001"));

    // 2 January: the 2026 case still at 待复审 cannot be issued, and says why.
    clock.set(ms("2027-01-02T09:00:00+08:00"));
    match issue(left_over) {
        Err(AuthorityError::WrongState { field, message }) => {
            assert_eq!(field, "quota_year");
            assert!(message.contains("配额年度 2026 has ended"), "{message}");
            assert!(message.contains("new application for 2027"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let next = submit(4, 2027);
    assert_eq!(issue(next).unwrap().1.as_deref(), Some("27AA000002"));
}

#[test]
fn offices_whose_codes_once_collided_hand_out_disjoint_application_numbers() {
    // `GZ` and `50` both hashed to 91 before the agency registry gave each office its
    // own digits.
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let now = ms("2026-06-01T10:00:00+08:00");
    let gz = office_at(d1.path(), "GZ", now, 1 << 20);
    let cq = office_at(d2.path(), "50", now, 1 << 20);
    let block = |a: &Authority| {
        let inv =
            Invite::from_token(&a.registry.invite(USCC_A, "企业", 1000, 30).unwrap()).unwrap();
        (inv.block_first, inv.block_first + u128::from(inv.block_len))
    };
    let (g, c) = (block(&gz), block(&cq));
    assert!(g.1 <= c.0 || c.1 <= g.0, "{g:?} overlaps {c:?}");
    assert_eq!(format!("{:021}", g.0)[..4], *"2693");
    assert_eq!(format!("{:021}", c.0)[..4], *"2650");
    // The next year's blocks start in the next year's space.
    drop(gz);
    let next = office_at(d1.path(), "GZ", ms("2027-01-05T10:00:00+08:00"), 1 << 20);
    assert_eq!(format!("{:021}", block(&next).0)[..4], *"2793");
}
