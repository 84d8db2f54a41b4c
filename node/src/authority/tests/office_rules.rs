//! The office decides: forms that break a rule, sealed directly with the client library
//! past the enterprise's own checks, are refused at receipt with a signed refusal naming
//! each rule and field, judged on the office's own reference data, clock and agency; a
//! refused submission stores nothing and opens no case.

use exlic_client::error::Severity;
use exlic_client::refusal::Refusal;

use super::*;

type Breaks = fn(&mut ApplicationForm);

#[test]
fn every_broken_rule_is_refused_at_receipt_by_rule_and_field_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    // An office that is not 商务部配额许可证事务局: some commodities are not its to issue.
    let a = office_at(dir.path(), "XM", 1_767_000_000_000, 1 << 20);
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let peer = dev.verifying_key().to_bytes();
    let att = b"contract".to_vec();
    upload(&a, &dev, &att);
    let cases: [(&str, &str, Breaks); 8] = [
        ("V05", "trade_mode", |f| f.trade_mode = "smuggling".into()),
        ("V07", "customs_district", |f| {
            f.customs_district = "0000".into()
        }),
        ("V11", "commodity_code", |f| {
            f.commodity_code = "9999999999".into()
        }),
        ("V14", "goods[0].unit", |f| {
            f.goods[0].unit = "bushel".into()
        }),
        ("V17", "batch_mode", |f| f.batch_mode = "triple".into()),
        ("V18", "quota_year", |f| f.quota_year = "20x5".into()),
        // 小麦 is issued only by the bureau (AA).
        ("V20", "commodity_code", |f| {
            f.commodity_code = "1001990000".into()
        }),
        ("V21", "contract.buyer_country", |f| {
            f.contract.buyer_country = "ATL".into()
        }),
    ];
    for (n, (rule, field, breaks)) in cases.iter().enumerate() {
        let mut form = sample_form(USCC_A);
        breaks(&mut form);
        let id = DocId([100 + n as u8; 16]);
        let mut doc = form_doc_of(&form);
        sync_doc(&a, &dev, &mut doc, id);
        let r = a
            .handle(
                peer,
                Request::Submit(seal(&mut doc, id, USCC_A, &dev, &att)),
            )
            .response;
        let Response::Refused(signed) = r else {
            panic!("{rule}: {r:?}")
        };
        let refusal = Refusal::verify_trusted(&signed, &a.trust()).expect("signed by the office");
        assert_eq!((refusal.application_id, refusal.revision), (id, 1));
        assert!(
            refusal
                .findings
                .iter()
                .any(|f| f.rule == *rule && f.field == *field && f.severity == Severity::Error),
            "{rule} on {field}: {:?}",
            refusal.findings
        );
        assert!(
            crate::store::cases::get(&a.store().read().unwrap(), id)
                .unwrap()
                .is_none(),
            "{rule}: no case is opened"
        );
    }
    assert_eq!(a.ingest.submission_count().unwrap(), 0, "nothing stored");

    // The sample itself passes the same office's checks and is received.
    let id = DocId([99; 16]);
    let mut doc = app_doc(USCC_A, "");
    sync_doc(&a, &dev, &mut doc, id);
    let r = a
        .handle(
            peer,
            Request::Submit(seal(&mut doc, id, USCC_A, &dev, &att)),
        )
        .response;
    assert!(matches!(r, Response::Receipt(_)), "{r:?}");
}

#[test]
fn a_warning_does_not_block_receipt_and_is_shown_on_the_case() {
    let f = fx();
    let a = &f.auth;
    let dev = key(10);
    enrol(a, USCC_A, &dev);
    let att = b"contract".to_vec();
    upload(a, &dev, &att);
    // Frozen beef to Japan by rail: V10 warns.
    let mut form = sample_form(USCC_A);
    form.commodity_code = "0202300090".into();
    form.transport_mode = "rail".into();
    let id = DocId([7; 16]);
    let mut doc = form_doc_of(&form);
    sync_doc(a, &dev, &mut doc, id);
    let r = a
        .handle(
            dev.verifying_key().to_bytes(),
            Request::Submit(seal(&mut doc, id, USCC_A, &dev, &att)),
        )
        .response;
    assert!(matches!(r, Response::Receipt(_)), "{r:?}");
    let file = a.cases.case_file(id).unwrap().unwrap();
    assert!(
        file.findings.iter().any(|x| x.rule == "V10"
            && x.field == "transport_mode"
            && x.severity == Severity::Warning),
        "{:?}",
        file.findings
    );
    assert!(
        file.findings
            .iter()
            .all(|x| x.severity == Severity::Warning)
    );
}
