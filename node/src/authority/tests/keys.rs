//! Key rollover as a command: a receipt signed by the key a rollover retired while the
//! submission was in flight is not stored (no verifier would accept it); the device's
//! resend gets one signed by the key in force.

use super::*;

#[test]
fn a_receipt_signed_by_a_key_retired_in_flight_is_not_kept_and_the_resend_gets_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_779_000_000_000);
    let a = office_on(dir.path(), "AA", &clock, 1 << 20);
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let att = b"contract".to_vec();
    upload(&a, &dev, &att);
    let id = DocId([0xC0; 16]);
    let (_, env) = sealed_2026(&a, &dev, &att, id);
    let old = a.public_key();
    clock.advance(1_000);

    // Checked and receipted under the old key; the key rolls over, effective at the
    // receipt's time (as a rollover taken on another replica at that moment is), before
    // the submission is stored.
    let answer = a
        .ingest
        .submit_with_pause(USCC_A, &env, || {
            a.keys.roll("admin").unwrap();
        })
        .unwrap();
    let Response::Error { code, message } = answer.response else {
        panic!("kept: {:?}", answer.response)
    };
    assert_eq!(code, ErrorCode::Unavailable, "{message}");
    assert!(message.contains("signing key changed"), "{message}");
    assert_eq!(a.ingest.submission_count().unwrap(), 0, "nothing stored");

    // Sent again: a receipt signed by the new key, which verifies under the chain.
    let Response::Receipt(r) = a
        .handle(dev.verifying_key().to_bytes(), Request::Submit(env))
        .response
    else {
        panic!("no receipt on the resend")
    };
    let receipt = exlic_client::receipt::Receipt::verify_trusted(&r, &a.office.trust()).unwrap();
    assert_ne!(receipt.authority_key, old);
    assert_eq!(receipt.authority_key, a.public_key());
    assert_eq!(a.ingest.submission_count().unwrap(), 1);
}
