//! Every request an authority accepts from a peer: decode must never panic, and whatever
//! decodes must re-encode to the same bytes (one encoding per value).
#![no_main]
use exlic_client::protocol::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Request::decode(data) {
        assert_eq!(r.encode(), data);
    }
});
