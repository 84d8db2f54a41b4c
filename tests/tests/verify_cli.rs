//! `exlic verify FILE`: exit code 0 only for a valid licence, and a distinct message for a
//! tampered licence, one from an unknown key and one from a retired or revoked key.

use std::process::Command;

use ed25519_dalek::SigningKey;
use exlic_client::certificate::{KeyRecord, key_id};
use exlic_client::licence::Licence;
use exlic_tests::exlic_bin;

fn licence(key: &SigningKey, at: i64) -> Licence {
    Licence {
        issued_at_ms: at,
        key_id: key_id(&key.verifying_key().to_bytes()),
        ..exlic_client::sample::licence()
    }
}

fn verify(
    dir: &std::path::Path,
    file: &[u8],
    key: &SigningKey,
    rollover: Option<&[u8]>,
) -> (bool, String) {
    let p = dir.join("licence.bin");
    std::fs::write(&p, file).unwrap();
    let mut c = Command::new(exlic_bin());
    c.arg("verify").arg(&p).args([
        "--authority-key",
        &hex::encode(key.verifying_key().to_bytes()),
    ]);
    if let Some(r) = rollover {
        let rp = dir.join("rollover.bin");
        std::fs::write(&rp, r).unwrap();
        c.arg("--rollover").arg(rp);
    }
    let out = c.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn verify_accepts_only_valid_licences_and_names_each_failure() {
    let dir = tempfile::tempdir().unwrap();
    let k = SigningKey::from_bytes(&[1; 32]);
    let good = licence(&k, 10).sign(&k);
    let (ok, text) = verify(dir.path(), &good, &k, None);
    assert!(
        ok && text.contains("26AA000001") && text.contains("柠檬酸"),
        "{text}"
    );

    let mut tampered = good.clone();
    let i = tampered.len() / 2;
    tampered[i] ^= 0x01;
    let (ok, text) = verify(dir.path(), &tampered, &k, None);
    assert!(
        !ok && (text.contains("altered") || text.contains("not a valid licence")),
        "{text}"
    );

    let stranger = SigningKey::from_bytes(&[7; 32]);
    let (ok, text) = verify(
        dir.path(),
        &licence(&stranger, 10).sign(&stranger),
        &k,
        None,
    );
    assert!(!ok && text.contains("unknown authority key"), "{text}");

    let next = SigningKey::from_bytes(&[2; 32]);
    let record = KeyRecord {
        new_key: next.verifying_key().to_bytes(),
        effective_ms: 100,
        key_id: key_id(&k.verifying_key().to_bytes()),
    }
    .sign(&k);
    let (ok, _) = verify(dir.path(), &good, &k, Some(&record));
    assert!(ok, "a licence signed before the rollover still verifies");
    let (ok, text) = verify(dir.path(), &licence(&k, 500).sign(&k), &k, Some(&record));
    assert!(!ok && text.contains("retired or revoked"), "{text}");
}
