//! Every response an enterprise node reads from its authority.
#![no_main]
use exlic_client::protocol::Response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Response::decode(data) {
        assert_eq!(r.encode(), data);
    }
});
