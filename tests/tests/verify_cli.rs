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
        expiry: "20991231".into(),
        ..exlic_client::sample::licence()
    }
}

fn verify(
    dir: &std::path::Path,
    file: &[u8],
    key: &SigningKey,
    rollover: Option<&[u8]>,
) -> (bool, String) {
    verify_with(dir, file, key, rollover, None)
}

fn verify_with(
    dir: &std::path::Path,
    file: &[u8],
    key: &SigningKey,
    rollover: Option<&[u8]>,
    standing: Option<&[u8]>,
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
    if let Some(s) = standing {
        let sp = dir.join("licence.standing");
        std::fs::write(&sp, s).unwrap();
        c.arg("--standing").arg(sp);
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

/// Issue 15: `exlic verify` reports each standing but valid with its date and exits
/// non-zero; a statement from another key or about another licence is refused.
#[test]
fn verify_exits_non_zero_for_every_standing_but_valid() {
    use exlic_client::standing::{Standing, State};
    let dir = tempfile::tempdir().unwrap();
    let k = SigningKey::from_bytes(&[1; 32]);
    let file = licence(&k, 10).sign(&k);
    let statement = |state: State, key: &SigningKey, no: &str| {
        Standing {
            licence_no: no.into(),
            state,
            since_ms: 1_764_000_000_000,
            as_of_ms: 1_764_000_600_000,
            authority_key: key.verifying_key().to_bytes(),
        }
        .sign(key)
    };
    let (ok, text) = verify_with(
        dir.path(),
        &file,
        &k,
        None,
        Some(&statement(State::Valid, &k, "26AA000001")),
    );
    assert!(ok && text.contains("standing as of 2025-11-25"), "{text}");
    for (state, word) in [
        (State::Deleted, "deleted (已删证) since 2025-11-25"),
        (State::WrittenOff, "written_off (已核销)"),
        (State::UsedUp, "used_up (已用完)"),
        (State::Expired, "expired (已过期)"),
    ] {
        let (ok, text) = verify_with(
            dir.path(),
            &file,
            &k,
            None,
            Some(&statement(state, &k, "26AA000001")),
        );
        assert!(
            !ok && text.contains(word) && text.contains("standing as of"),
            "{state:?}: {text}"
        );
    }
    // Expired by the verifier's own date, with no statement at all.
    let old = Licence {
        expiry: "20200101".into(),
        ..licence(&k, 10)
    }
    .sign(&k);
    let (ok, text) = verify(dir.path(), &old, &k, None);
    assert!(
        !ok && text.contains("expired") && text.contains("20200101"),
        "{text}"
    );
    // A statement by another key, or about another licence, is no evidence.
    let stranger = SigningKey::from_bytes(&[7; 32]);
    let (ok, text) = verify_with(
        dir.path(),
        &file,
        &k,
        None,
        Some(&statement(State::Valid, &stranger, "26AA000001")),
    );
    assert!(!ok && text.contains("standing statement"), "{text}");
    let (ok, text) = verify_with(
        dir.path(),
        &file,
        &k,
        None,
        Some(&statement(State::Valid, &k, "26AA000002")),
    );
    assert!(!ok && text.contains("26AA000002"), "{text}");
}
