//! The enterprise role over a real redb file in a temporary directory.

use std::sync::Arc;

use exlic_client::application::ApplicationForm;
use exlic_client::query::ApplicationQuery;
use exlic_client::seal::{self, SealPayload, canonical_content};
use exlic_client::status::ApplicationStatus;

use super::*;
use crate::clock::ManualClock;
use crate::domain::rules::tests_support::{USCC, seed_form};
use crate::store::{StoreOptions, docs, form_doc};

/// 2024-12-11 10:00 China time.
pub(crate) const SEED_DAY_MS: i64 = 1_733_882_400_000;

pub(crate) struct Fx {
    pub dir: tempfile::TempDir,
    pub ent: Enterprise,
}

pub(crate) fn open(dir: &std::path::Path) -> Enterprise {
    open_as(dir, "AA", &[])
}

/// [`open`] for an enterprise whose home office is `home`, enrolled with `others` too.
pub(crate) fn open_as(dir: &std::path::Path, home: &str, others: &[&str]) -> Enterprise {
    let store = Arc::new(Store::open(&dir.join("node.redb"), StoreOptions::default()).unwrap());
    initialise(
        &store,
        NumberBlock::parse("249999400000560600095:3").unwrap(),
    )
    .unwrap();
    Enterprise::new(
        store,
        Arc::new(Reference::embedded()),
        Arc::new(ManualClock::at(SEED_DAY_MS)),
        Identity {
            enterprise_name: "厦门示例化工进出口有限公司".into(),
            enterprise_uscc: USCC.into(),
            agency_code: home.into(),
            other_agencies: others.iter().map(|a| a.to_string()).collect(),
        },
        Settings::default(),
    )
    .unwrap()
}

pub(crate) fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let ent = open(dir.path());
    Fx { dir, ent }
}

#[test]
fn create_save_seal_report() {
    let f = fx();
    let v = f
        .ent
        .applications
        .create(&ApplicationForm::default())
        .unwrap();
    assert_eq!(v.status, ApplicationStatus::Draft);
    assert_eq!(v.application_date, "20241211");
    let v = f.ent.applications.save(v.id, &seed_form()).unwrap();
    assert_eq!(v.commodity_name.as_deref(), Some("柠檬酸"));
    assert_eq!(v.totals.total, "28750.00");

    // V22: no attachment yet.
    match f.ent.sealing.seal(v.id) {
        Err(EnterpriseError::Invalid(errs)) => {
            assert!(errs.iter().any(|e| e.rule == "V22"), "{errs:?}")
        }
        other => panic!("{other:?}"),
    }
    let a = f
        .ent
        .attachments
        .add(v.id, "合同.pdf", "application/pdf", b"%PDF-1.4 contract")
        .unwrap();
    let sealed = f.ent.sealing.seal(v.id).unwrap();
    assert_eq!(sealed.application_no, "249999400000560600095");
    assert_eq!(sealed.revision, 1);

    // Frozen now.
    assert!(matches!(
        f.ent.applications.save(v.id, &seed_form()),
        Err(EnterpriseError::Refused(_))
    ));
    assert!(matches!(
        f.ent.attachments.add(v.id, "x.txt", "", b"x"),
        Err(EnterpriseError::Refused(_))
    ));

    // The seal verifies with the public key and the attachment alone.
    let sub = f.ent.sealing.sealed_submission(v.id).unwrap();
    let (_, bytes) = f.ent.attachments.get(v.id, &a.sha256).unwrap();
    let payload = seal::verify(&sub, &f.ent.device_public_key(), |_| Some(bytes.clone())).unwrap();
    assert_eq!(payload.application_no, "249999400000560600095");
    assert_eq!(
        serde_json::from_slice::<ApplicationForm>(&sub.content).unwrap(),
        seed_form()
    );

    let v = f.ent.sealing.report(v.id).unwrap();
    assert_eq!(v.status, ApplicationStatus::Queued);
    assert_eq!(f.ent.sealing.outbox().unwrap().len(), 1);
    assert!(matches!(
        f.ent.sealing.report(v.id),
        Err(EnterpriseError::Refused(_))
    ));
    assert!(f.ent.applications.check_consistency().unwrap().is_empty());
}

#[test]
fn sealed_heads_reproduce_the_sealed_content() {
    let f = fx();
    let v = f.ent.applications.create(&seed_form()).unwrap();
    f.ent
        .attachments
        .add(v.id, "a.txt", "text/plain", b"hello")
        .unwrap();
    f.ent.sealing.seal(v.id).unwrap();
    let sub = f.ent.sealing.sealed_submission(v.id).unwrap();
    let payload = SealPayload::decode(&sub.payload).unwrap();
    let heads: Vec<automerge::ChangeHash> = payload
        .heads
        .iter()
        .map(|h| automerge::ChangeHash(*h))
        .collect();
    let at_heads = f
        .ent
        .store()
        .with_doc(v.id, |d| form_doc::read_form_at(d, &heads).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(canonical_content(&at_heads), sub.content);
}

#[test]
fn numbers_run_out_with_a_clear_error() {
    let f = fx();
    for _ in 0..3 {
        let v = f.ent.applications.create(&seed_form()).unwrap();
        f.ent
            .attachments
            .add(v.id, "a.txt", "text/plain", b"a")
            .unwrap();
        f.ent.sealing.seal(v.id).unwrap();
    }
    let v = f.ent.applications.create(&seed_form()).unwrap();
    f.ent
        .attachments
        .add(v.id, "a.txt", "text/plain", b"a")
        .unwrap();
    let err = f.ent.sealing.seal(v.id).unwrap_err();
    assert!(
        matches!(err, EnterpriseError::Numbers(NumberError::Exhausted)),
        "{err}"
    );
    // Nothing changed: still a draft.
    assert_eq!(
        f.ent.applications.get(v.id).unwrap().status,
        ApplicationStatus::Draft
    );
}

#[test]
fn everything_survives_reopening_the_file() {
    let f = fx();
    let v = f.ent.applications.create(&seed_form()).unwrap();
    f.ent
        .attachments
        .add(v.id, "a.txt", "text/plain", b"abc")
        .unwrap();
    f.ent.sealing.seal(v.id).unwrap();
    let before = f.ent.applications.get(v.id).unwrap();
    let dir = f.dir;
    drop(f.ent);
    let ent = open(dir.path());
    assert_eq!(ent.applications.get(v.id).unwrap(), before);
    assert!(ent.applications.check_consistency().unwrap().is_empty());
}

#[test]
fn patch_edits_fields_and_names_bad_ones() {
    let f = fx();
    let v = f
        .ent
        .applications
        .create(&ApplicationForm::default())
        .unwrap();
    let v = f
        .ent
        .applications
        .patch(
            v.id,
            &serde_json::json!({"remarks": "说明", "contract": {"buyer_name": "X"}}),
        )
        .unwrap();
    assert_eq!(v.form.remarks, "说明");
    assert_eq!(v.form.contract.buyer_name, "X");
    match f
        .ent
        .applications
        .patch(v.id, &serde_json::json!({"goods": [{"quantity": 5}]}))
    {
        Err(EnterpriseError::BadInput { field, .. }) => assert_eq!(field, "goods[0].quantity"),
        other => panic!("{other:?}"),
    }
    match f
        .ent
        .applications
        .patch(v.id, &serde_json::json!({"colour": "red"}))
    {
        Err(EnterpriseError::BadInput { message, .. }) => {
            assert!(message.contains("colour"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(f.ent.applications.get(v.id).unwrap().form.remarks, "说明");
}

#[test]
fn queries_use_the_indexes() {
    let f = fx();
    let a = f.ent.applications.create(&seed_form()).unwrap();
    let mut other = seed_form();
    other.commodity_code = "2936270000".into();
    other.trade_mode = "processing_imported".into();
    f.ent.applications.create(&other).unwrap();
    f.ent
        .attachments
        .add(a.id, "a.txt", "text/plain", b"a")
        .unwrap();
    f.ent.sealing.seal(a.id).unwrap();
    let q = |q: ApplicationQuery| f.ent.applications.query(&q).unwrap().items.len();
    assert_eq!(q(ApplicationQuery::default()), 2);
    assert_eq!(
        q(ApplicationQuery {
            application_no: Some("0600095".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        q(ApplicationQuery {
            application_no: Some("0600096".into()),
            ..Default::default()
        }),
        0
    );
    assert_eq!(
        q(ApplicationQuery {
            status: Some(ApplicationStatus::Sealed),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        q(ApplicationQuery {
            commodity_code: Some("2936".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        q(ApplicationQuery {
            commodity_code: Some("2918140000".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        q(ApplicationQuery {
            trade_mode: Some("general".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        q(ApplicationQuery {
            year: Some(2024),
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        q(ApplicationQuery {
            year: Some(2025),
            ..Default::default()
        }),
        0
    );
    assert_eq!(
        q(ApplicationQuery {
            from: Some("2024-12-12".into()),
            ..Default::default()
        }),
        0
    );
    assert_eq!(
        q(ApplicationQuery {
            from: Some("20241211".into()),
            to: Some("2024-12-11".into()),
            ..Default::default()
        }),
        2
    );
    let page = f
        .ent
        .applications
        .query(&ApplicationQuery {
            per_page: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert!(page.has_more);
    let page2 = f
        .ent
        .applications
        .query(&ApplicationQuery {
            per_page: Some(1),
            page: Some(2),
            ..Default::default()
        })
        .unwrap();
    assert!(!page2.has_more);
    assert_ne!(page.items[0].id, page2.items[0].id);
    assert!(matches!(
        f.ent.applications.query(&ApplicationQuery { from: Some("2024-13-01".into()), ..Default::default() }),
        Err(EnterpriseError::BadInput { field, .. }) if field == "from"
    ));
}

#[test]
fn delete_removes_from_lists_and_refuses_after_report() {
    let f = fx();
    let v = f.ent.applications.create(&seed_form()).unwrap();
    f.ent.applications.delete(v.id).unwrap();
    assert!(matches!(
        f.ent.applications.get(v.id),
        Err(EnterpriseError::NotFound(_))
    ));
    assert_eq!(
        f.ent
            .applications
            .query(&ApplicationQuery::default())
            .unwrap()
            .items
            .len(),
        0
    );
    let v = f.ent.applications.create(&seed_form()).unwrap();
    f.ent
        .attachments
        .add(v.id, "a.txt", "text/plain", b"a")
        .unwrap();
    f.ent.sealing.seal(v.id).unwrap();
    f.ent.sealing.report(v.id).unwrap();
    assert!(matches!(
        f.ent.applications.delete(v.id),
        Err(EnterpriseError::Refused(_))
    ));
}

#[test]
fn many_edits_are_compacted_without_changing_the_document() {
    let f = fx();
    let v = f.ent.applications.create(&seed_form()).unwrap();
    for i in 0..40 {
        f.ent
            .applications
            .patch(v.id, &serde_json::json!({"remarks": format!("edit {i}")}))
            .unwrap();
    }
    let before = f.ent.applications.get(v.id).unwrap();
    assert!(f.ent.store().compaction_backlog() >= 1);
    assert_eq!(f.ent.store().compact_pending().unwrap(), 1);
    assert_eq!(
        docs::chunk_count(&f.ent.store().read().unwrap(), v.id).unwrap(),
        0
    );
    let dir = f.dir;
    drop(f.ent);
    let ent = open(dir.path());
    assert_eq!(ent.applications.get(v.id).unwrap(), before);
}

#[test]
fn saving_an_unchanged_form_returns_and_leaves_the_store_usable() {
    let f = fx();
    let v = f.ent.applications.create(&seed_form()).unwrap();
    // The same content again changes nothing; it must still answer (and not hold the
    // write or the document cache), and later edits must go through.
    let again = f.ent.applications.save(v.id, &seed_form()).unwrap();
    assert_eq!(again.heads, v.heads);
    let mut form = seed_form();
    form.remarks = "changed".into();
    assert_eq!(
        f.ent.applications.save(v.id, &form).unwrap().form.remarks,
        "changed"
    );
}

#[test]
fn a_refusal_at_receipt_makes_the_application_editable_with_its_findings() {
    use exlic_client::error::FieldError;
    use exlic_client::refusal::Refusal;

    let f = fx();
    let v = f.ent.applications.create(&seed_form()).unwrap();
    f.ent
        .attachments
        .add(v.id, "a.txt", "text/plain", b"hello")
        .unwrap();
    let sealed = f.ent.sealing.seal(v.id).unwrap();
    f.ent.sealing.report(v.id).unwrap();
    let out = f
        .ent
        .delivery
        .outgoing(&crate::upstream::Link::Home, None, 1)
        .unwrap()
        .0
        .remove(0);
    let office = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let refusal = |revision| Refusal {
        seal_hash: [0; 32],
        application_id: v.id,
        application_no: sealed.application_no.clone(),
        revision,
        enterprise_uscc: USCC.into(),
        refused_at_ms: SEED_DAY_MS,
        findings: vec![FieldError {
            field: "customs_district".into(),
            rule: "V07".into(),
            message: "not a designated port".into(),
            severity: Severity::Error,
        }],
        authority_key: office.verifying_key().to_bytes(),
    };
    let root = office.verifying_key().to_bytes();

    // Not the office's key, or another revision: refused, nothing changes.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[8; 32]);
    assert!(
        f.ent
            .delivery
            .refused_at_receipt(&out, &refusal(1).sign(&stranger), &root)
            .is_err()
    );
    assert!(
        f.ent
            .delivery
            .refused_at_receipt(&out, &refusal(2).sign(&office), &root)
            .is_err()
    );
    assert_eq!(
        f.ent.applications.get(v.id).unwrap().status,
        ApplicationStatus::Queued
    );

    f.ent
        .delivery
        .refused_at_receipt(&out, &refusal(1).sign(&office), &root)
        .unwrap();
    let view = f.ent.applications.get(v.id).unwrap();
    assert_eq!(view.status, ApplicationStatus::Draft);
    assert!(!view.frozen);
    let shown = view.refused_at_receipt.expect("the findings are shown");
    assert_eq!(
        (shown.revision, shown.findings[0].rule.as_str()),
        (1, "V07")
    );
    assert!(f.ent.sealing.outbox().unwrap().is_empty());
    assert!(f.ent.applications.check_consistency().unwrap().is_empty());

    // Corrected and sealed again: a new revision under the same 申请表号, and the
    // refusal of the earlier revision is no longer shown.
    f.ent
        .applications
        .patch(v.id, &serde_json::json!({"remarks": "corrected"}))
        .unwrap();
    let again = f.ent.sealing.seal(v.id).unwrap();
    assert_eq!(
        (again.revision, again.application_no),
        (2, sealed.application_no)
    );
    assert!(
        f.ent
            .applications
            .get(v.id)
            .unwrap()
            .refused_at_receipt
            .is_none()
    );
}

#[test]
fn a_sealed_application_goes_back_to_draft_before_it_is_reported() {
    let f = fx();
    let v = f.ent.applications.create(&seed_form()).unwrap();
    f.ent
        .attachments
        .add(v.id, "a.txt", "text/plain", b"hello")
        .unwrap();
    let first = f.ent.sealing.seal(v.id).unwrap();
    let back = f.ent.sealing.unseal(v.id).unwrap();
    assert_eq!(
        (back.status, back.frozen),
        (ApplicationStatus::Draft, false)
    );
    assert!(f.ent.sealing.outbox().unwrap().is_empty());
    f.ent
        .applications
        .patch(
            v.id,
            &serde_json::json!({"remarks": "corrected before 上报"}),
        )
        .unwrap();
    let second = f.ent.sealing.seal(v.id).unwrap();
    assert_eq!(
        (second.revision, second.application_no),
        (2, first.application_no)
    );
    assert!(f.ent.applications.check_consistency().unwrap().is_empty());
    // Once reported it is the office's: no going back.
    f.ent.sealing.report(v.id).unwrap();
    assert!(matches!(
        f.ent.sealing.unseal(v.id),
        Err(EnterpriseError::Refused(_))
    ));
    // A draft has nothing to take back.
    let d = f.ent.applications.create(&seed_form()).unwrap();
    assert!(matches!(
        f.ent.sealing.unseal(d.id),
        Err(EnterpriseError::Refused(_))
    ));
}

#[test]
fn a_copy_is_a_new_draft_for_this_year_with_the_attachments() {
    let f = fx();
    let mut last_year = seed_form();
    last_year.quota_year = "2023".into();
    let v = f.ent.applications.create(&last_year).unwrap();
    f.ent
        .attachments
        .add(v.id, "合同.pdf", "application/pdf", b"%PDF-1.4 contract")
        .unwrap();
    let copy = f.ent.applications.copy(v.id).unwrap();
    assert_ne!(copy.id, v.id);
    assert_eq!(copy.status, ApplicationStatus::Draft);
    assert_eq!(copy.form.quota_year, "2024", "moved to the clock's year");
    assert_eq!(copy.form.contract_no, last_year.contract_no);
    assert_eq!(copy.attachments.len(), 1);
    assert!(
        copy.history
            .iter()
            .any(|h| h.event == "created" && h.detail.starts_with("@from="))
    );
    // The copy seals (its attachment is here) and takes the next number; the original is
    // untouched.
    assert_eq!(
        f.ent.sealing.seal(copy.id).unwrap().application_no,
        "249999400000560600095"
    );
    assert_eq!(
        f.ent.applications.get(v.id).unwrap().form.quota_year,
        "2023"
    );
    assert!(matches!(
        f.ent.applications.copy(DocId([9; 16])),
        Err(EnterpriseError::NotFound(_))
    ));
}
