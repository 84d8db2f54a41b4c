//! A generated corpus of forged and tampered artefacts (THREATS F8): every one rejected
//! with its named error, no valid artefact rejected, and the key rollover drill.

use ed25519_dalek::SigningKey;

use super::*;
use crate::application::ApplicationForm;
use crate::ids::DocId;
use crate::seal::{SealPayload, SealedSubmission, canonical_content};

const A: &str = "913502000728319549";
const B: &str = "91350100M000100Y43";

struct World {
    root: SigningKey,
    k2: SigningKey,
    rollover: Vec<u8>,
}

fn world() -> World {
    let root = SigningKey::from_bytes(&[1; 32]);
    let k2 = SigningKey::from_bytes(&[2; 32]);
    let rollover = KeyRecord {
        new_key: k2.verifying_key().to_bytes(),
        effective_ms: 1_000,
        key_id: key_id(&root.verifying_key().to_bytes()),
    }
    .sign(&root);
    World { root, k2, rollover }
}

fn trust(w: &World) -> Trust {
    let mut t = Trust::new(w.root.verifying_key().to_bytes());
    t.roll_over(&w.rollover).unwrap();
    t
}

fn id_of(k: &SigningKey) -> [u8; 8] {
    key_id(&k.verifying_key().to_bytes())
}

fn cert(
    serial: u64,
    uscc: &str,
    device: &SigningKey,
    nb: i64,
    na: i64,
    by: &SigningKey,
) -> Vec<u8> {
    DeviceCertificate {
        serial,
        enterprise_uscc: uscc.into(),
        device_key: device.verifying_key().to_bytes(),
        mobile: "13800138000".into(),
        not_before_ms: nb,
        not_after_ms: na,
        key_id: id_of(by),
    }
    .sign(by)
}

fn crl(version: u64, issued: i64, next: i64, revoked: Vec<(u64, i64)>, by: &SigningKey) -> Vec<u8> {
    RevocationList {
        version,
        issued_at_ms: issued,
        next_update_ms: next,
        revoked,
        key_id: id_of(by),
    }
    .sign(by)
}

fn seal(device: &SigningKey, uscc: &str) -> SealedSubmission {
    let content = canonical_content(&ApplicationForm {
        remarks: "x".into(),
        ..Default::default()
    });
    SealedSubmission::seal(
        &SealPayload {
            enterprise_uscc: uscc.into(),
            application_id: DocId([4; 16]),
            application_no: "269999400000560600000".into(),
            revision: 1,
            heads: vec![[5; 32]],
            content_sha256: sha256(&content),
            attachments: vec![],
            device_key: device.verifying_key().to_bytes(),
            sealed_at_ms: 0,
            certificate_serial: None,
        },
        content,
        device,
    )
}

const NOW: i64 = 6_000;

#[test]
fn a_thousand_forgeries_are_each_refused_with_a_named_error_and_valid_ones_pass() {
    let w = world();
    let d1 = SigningKey::from_bytes(&[11; 32]);
    let d2 = SigningKey::from_bytes(&[12; 32]);
    let good_cert = cert(1, A, &d1, 2_000, 1_000_000, &w.k2);
    let good_crl = crl(5, 3_000, 1_000_000, vec![(2, 5_000)], &w.k2);
    let good_seal = seal(&d1, A);
    let check = |c: &[u8], l: &[u8], s: &SealedSubmission| trust(&w).verify_seal(s, c, l, NOW);
    assert!(check(&good_cert, &good_crl, &good_seal).is_ok());

    let mut refused = 0usize;
    let mut expect = |r: Result<SealPayload, TrustError>,
                      ok: &dyn Fn(&TrustError) -> bool,
                      what: &str| {
        match r {
            Err(e) if ok(&e) => refused += 1,
            other => panic!("{what}: {other:?}"),
        }
    };

    // Every bit of the certificate: payload flips fail decoding, key lookup or signature;
    // signature flips fail the signature.
    let sig_start = good_cert.len() - 64;
    for bit in 0..good_cert.len() * 8 {
        let mut c = good_cert.clone();
        c[bit / 8] ^= 1 << (bit % 8);
        let in_sig = bit / 8 >= sig_start;
        expect(
            check(&c, &good_crl, &good_seal),
            &|e| {
                if in_sig {
                    *e == TrustError::CertSignature
                } else {
                    matches!(
                        e,
                        TrustError::CertMalformed(_)
                            | TrustError::CertUnknownKey
                            | TrustError::CertSignature
                    )
                }
            },
            &format!("cert bit {bit}"),
        );
    }
    // Every bit of the revocation list.
    for bit in 0..good_crl.len() * 8 {
        let mut l = good_crl.clone();
        l[bit / 8] ^= 1 << (bit % 8);
        expect(
            check(&good_cert, &l, &good_seal),
            &|e| {
                matches!(
                    e,
                    TrustError::CrlMalformed(_)
                        | TrustError::CrlUnknownKey
                        | TrustError::CrlSignature
                )
            },
            &format!("crl bit {bit}"),
        );
    }
    // Every byte of the seal envelope.
    let env = good_seal.encode();
    for byte in 0..env.len() {
        let mut b = env.clone();
        b[byte] ^= 0x20;
        let r = SealedSubmission::decode(&b)
            .map_err(TrustError::Seal)
            .and_then(|s| check(&good_cert, &good_crl, &s));
        expect(
            r,
            &|e| matches!(e, TrustError::Seal(_) | TrustError::CertWrongDevice),
            &format!("seal byte {byte}"),
        );
    }
    // Named cases.
    let x = SigningKey::from_bytes(&[99; 32]);
    expect(
        check(
            &cert(1, A, &d1, 2_000, 1_000_000, &x),
            &good_crl,
            &good_seal,
        ),
        &|e| *e == TrustError::CertUnknownKey,
        "unknown authority key",
    );
    let swapped = DeviceCertificate {
        serial: 1,
        enterprise_uscc: A.into(),
        device_key: d1.verifying_key().to_bytes(),
        mobile: "1".into(),
        not_before_ms: 2_000,
        not_after_ms: 1_000_000,
        key_id: id_of(&w.root),
    }
    .sign(&w.k2);
    expect(
        check(&swapped, &good_crl, &good_seal),
        &|e| *e == TrustError::CertSignature,
        "swapped key id",
    );
    expect(
        check(
            &cert(1, A, &d1, 2_000, 1_000_000, &w.root),
            &good_crl,
            &good_seal,
        ),
        &|e| *e == TrustError::CertKeyRetired,
        "retired key after retirement",
    );
    expect(
        check(&cert(1, A, &d1, 2_000, 5_999, &w.k2), &good_crl, &good_seal),
        &|e| *e == TrustError::CertExpired,
        "expired",
    );
    expect(
        check(&cert(1, A, &d1, 7_000, 9_000, &w.k2), &good_crl, &good_seal),
        &|e| *e == TrustError::CertNotYetValid,
        "not yet valid",
    );
    expect(
        check(
            &cert(2, A, &d1, 2_000, 1_000_000, &w.k2),
            &good_crl,
            &good_seal,
        ),
        &|e| *e == TrustError::Revoked(2),
        "revoked",
    );
    expect(
        check(
            &cert(1, B, &d1, 2_000, 1_000_000, &w.k2),
            &good_crl,
            &good_seal,
        ),
        &|e| *e == TrustError::CertWrongEnterprise,
        "other enterprise",
    );
    expect(
        check(
            &cert(1, A, &d2, 2_000, 1_000_000, &w.k2),
            &good_crl,
            &good_seal,
        ),
        &|e| *e == TrustError::CertWrongDevice,
        "other device",
    );
    expect(
        check(&good_cert, &crl(5, 3_000, 5_000, vec![], &w.k2), &good_seal),
        &|e| *e == TrustError::CrlExpired,
        "crl expired",
    );
    expect(
        check(
            &good_cert,
            &crl(5, 3_000, 1_000_000, vec![], &x),
            &good_seal,
        ),
        &|e| *e == TrustError::CrlUnknownKey,
        "crl by unknown key",
    );
    // Cross-type reuse: a list presented as a certificate and the reverse, a receipt-tagged
    // signature over a certificate payload.
    expect(
        check(&good_crl, &good_crl, &good_seal),
        &|e| matches!(e, TrustError::CertMalformed(_)),
        "crl as cert",
    );
    expect(
        check(&good_cert, &good_cert, &good_seal),
        &|e| matches!(e, TrustError::CrlMalformed(_)),
        "cert as crl",
    );
    let payload = signed::peek(&good_cert).unwrap().to_vec();
    let cross = signed::sign(b"exlic/receipt/v1", &payload, &w.k2);
    expect(
        check(&cross, &good_crl, &good_seal),
        &|e| *e == TrustError::CertSignature,
        "receipt signature as cert",
    );
    // Replayed older revocation list after a newer one.
    let mut t = trust(&w);
    t.verify_seal(&good_seal, &good_cert, &good_crl, NOW)
        .unwrap();
    expect(
        t.verify_seal(
            &good_seal,
            &good_cert,
            &crl(4, 2_500, 1_000_000, vec![], &w.k2),
            NOW,
        ),
        &|e| *e == TrustError::CrlRolledBack(5),
        "rolled back crl",
    );

    assert!(refused >= 1000, "only {refused} forgeries generated");

    // No valid artefact is rejected: 200 devices, certificates from both keys in their time.
    for n in 0..200u64 {
        let d = SigningKey::from_bytes(&[(n % 250) as u8 + 3; 32]);
        let (by, nb) = if n % 2 == 0 {
            (&w.k2, 1_000 + n as i64)
        } else {
            (&w.root, n as i64 - 500)
        };
        let c = cert(100 + n, A, &d, nb, 1_000_000, by);
        check(&c, &good_crl, &seal(&d, A))
            .unwrap_or_else(|e| panic!("valid certificate {n} refused: {e}"));
    }
}

#[test]
fn key_rollover_drill() {
    let w = world();
    let d = SigningKey::from_bytes(&[11; 32]);
    let l = crl(1, 3_000, 1_000_000, vec![], &w.k2);
    // Signed by the root before the rollover: still verifies afterwards.
    let before = cert(1, A, &d, 500, 1_000_000, &w.root);
    trust(&w)
        .verify_seal(&seal(&d, A), &before, &l, NOW)
        .unwrap();
    // Signed by the retired root after its retirement: refused.
    let after = cert(2, A, &d, 1_500, 1_000_000, &w.root);
    assert_eq!(
        trust(&w).verify_seal(&seal(&d, A), &after, &l, NOW),
        Err(TrustError::CertKeyRetired)
    );
    // A rollover record not signed by the current key is refused.
    let mut t = Trust::new(w.root.verifying_key().to_bytes());
    let forged = KeyRecord {
        new_key: [9; 32],
        effective_ms: 1_000,
        key_id: id_of(&w.root),
    }
    .sign(&w.k2);
    assert_eq!(t.roll_over(&forged), Err(TrustError::KeyRecord));
}
