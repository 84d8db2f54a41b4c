//! Sealed submissions (上报): envelope and payload decoding and full verification.
#![no_main]
use exlic_client::seal::{SealPayload, SealedSubmission, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sub) = SealedSubmission::decode(data) {
        assert_eq!(sub.encode(), data);
        if let Ok(p) = SealPayload::decode(&sub.payload) {
            assert_eq!(p.encode(), sub.payload);
            let key = p.device_key;
            let _ = verify(&sub, &key, |_| None);
        }
    }
});
