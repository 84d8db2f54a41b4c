//! Receipts, refusals, reference releases and enrolment tokens as they arrive from the
//! authority.
#![no_main]
use exlic_client::invite::Invite;
use exlic_client::receipt::Receipt;
use exlic_client::reference_release::ReferenceRelease;
use exlic_client::refusal::Refusal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Receipt::verify(data, &[7u8; 32]);
    let trust = exlic_client::certificate::Trust::new([7u8; 32]);
    let _ = Refusal::verify_trusted(data, &trust);
    let _ = ReferenceRelease::verify_trusted(data, &trust);
    if let Ok(p) = exlic_client::signed::peek(data) {
        let _ = Receipt::decode(p);
        let _ = Refusal::decode(p);
        let _ = ReferenceRelease::decode(p);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = Invite::from_token(s);
    }
});
