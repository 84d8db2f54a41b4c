//! The enterprise master key (电子钥匙, e-key): an ed25519 seed encrypted at rest under a
//! PIN or passphrase (Argon2id → ChaCha20-Poly1305), with a wrong-PIN counter persisted in
//! the store. Six consecutive wrong PINs lock the key; only an unlock authorised by the
//! authority (a signed `exlic/ekey-unlock/v1` object naming this key) resets the counter.
//!
//! The public half is kept in clear (`master_pub`) so enrolment and sync never need the PIN.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ed25519_dalek::SigningKey;
use exlic_client::encoding::{Reader, Writer};

use crate::store::{Store, StoreError, meta_get, meta_put};

const META_SEALED: &str = "ekey.sealed";
const META_PUBLIC: &str = "ekey.public";
const META_FAILURES: &str = "ekey.failures";
/// Wrong PINs in a row that lock the key.
pub const MAX_FAILURES: u32 = 6;
/// Signature tag of the authority's unlock.
pub const UNLOCK_TAG: &[u8] = b"exlic/ekey-unlock/v1";
const AAD: &[u8] = b"exlic/ekey/v1";

/// Argon2id cost parameters (stored with the key, so they can be raised later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: above the OWASP minimum (19 MiB, t=2) for a key that
    /// guards a signing credential.
    fn default() -> Self {
        Self {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }
}

/// Why the e-key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EkeyError {
    /// The PIN is wrong; `remaining` tries are left before the key locks.
    #[error("wrong PIN; {remaining} attempt(s) left before the e-key locks")]
    WrongPin {
        /// Tries left.
        remaining: u32,
    },
    /// Too many wrong PINs: the authority must authorise an unlock.
    #[error(
        "the e-key is locked after {MAX_FAILURES} wrong PINs; ask the issuing agency to unlock it"
    )]
    Locked,
    /// The PIN does not meet the policy.
    #[error("pin: {0}")]
    WeakPin(&'static str),
    /// No e-key in this store.
    #[error("this node holds no e-key")]
    Missing,
    /// The unlock object is not valid for this key.
    #[error("unlock refused: {0}")]
    BadUnlock(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored key is damaged.
    #[error("the stored e-key is damaged")]
    Damaged,
}

/// A PIN is 6–12 digits; a passphrase is at least 10 characters.
pub fn check_policy(pin: &str) -> Result<(), EkeyError> {
    let n = pin.chars().count();
    if pin.chars().all(|c| c.is_ascii_digit()) {
        if !(6..=12).contains(&n) {
            return Err(EkeyError::WeakPin("a numeric PIN has 6 to 12 digits"));
        }
        if pin.chars().all(|c| pin.starts_with(c))
            || "0123456789012".contains(pin)
            || "9876543210987".contains(pin)
        {
            return Err(EkeyError::WeakPin(
                "a PIN may not be all one digit or a run like 123456",
            ));
        }
        Ok(())
    } else if n >= 10 {
        Ok(())
    } else {
        Err(EkeyError::WeakPin(
            "a passphrase has at least 10 characters",
        ))
    }
}

fn derive(pin: &str, salt: &[u8; 16], p: KdfParams) -> Result<[u8; 32], EkeyError> {
    let params = Params::new(p.m_kib, p.t, p.p, Some(32)).map_err(|_| EkeyError::Damaged)?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pin.as_bytes(), salt, &mut out)
        .map_err(|_| EkeyError::Damaged)?;
    Ok(out)
}

/// Encrypts `seed` under `pin`.
pub fn seal(seed: &[u8; 32], pin: &str, p: KdfParams) -> Result<Vec<u8>, EkeyError> {
    let salt: [u8; 16] = crate::random::bytes();
    let nonce: [u8; 12] = crate::random::bytes();
    let k = derive(pin, &salt, p)?;
    let cipher = ChaCha20Poly1305::new(&Key::from(k));
    let ct = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: seed,
                aad: AAD,
            },
        )
        .map_err(|_| EkeyError::Damaged)?;
    let mut w = Writer::new();
    w.u8(1)
        .u32(p.m_kib)
        .u32(p.t)
        .u32(p.p)
        .fixed(&salt)
        .fixed(&nonce)
        .bytes(&ct);
    Ok(w.finish())
}

/// Decrypts a sealed seed; `WrongPin { remaining: 0 }` stands for "wrong" here.
pub fn open(sealed: &[u8], pin: &str) -> Result<[u8; 32], EkeyError> {
    let mut r = Reader::new(sealed);
    if r.u8("version").map_err(|_| EkeyError::Damaged)? != 1 {
        return Err(EkeyError::Damaged);
    }
    let p = KdfParams {
        m_kib: r.u32("m").map_err(|_| EkeyError::Damaged)?,
        t: r.u32("t").map_err(|_| EkeyError::Damaged)?,
        p: r.u32("p").map_err(|_| EkeyError::Damaged)?,
    };
    let salt: [u8; 16] = r.fixed("salt").map_err(|_| EkeyError::Damaged)?;
    let nonce: [u8; 12] = r.fixed("nonce").map_err(|_| EkeyError::Damaged)?;
    let ct = r.bytes("ciphertext", 64).map_err(|_| EkeyError::Damaged)?;
    r.end().map_err(|_| EkeyError::Damaged)?;
    let k = derive(pin, &salt, p)?;
    let cipher = ChaCha20Poly1305::new(&Key::from(k));
    let pt = cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad: AAD })
        .map_err(|_| EkeyError::WrongPin { remaining: 0 })?;
    pt.try_into().map_err(|_| EkeyError::Damaged)
}

fn failures(store: &Store) -> Result<u32, EkeyError> {
    Ok(meta_get(&store.read()?, META_FAILURES)?
        .and_then(|v| v.try_into().ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0))
}

fn set_failures(store: &Store, n: u32) -> Result<(), EkeyError> {
    let w = store.write()?;
    meta_put(&w, META_FAILURES, &n.to_be_bytes())?;
    w.commit()?;
    Ok(())
}

/// Creates a new master key protected by `pin`; returns its public key. Refuses to replace
/// an existing one.
pub fn create(store: &Store, pin: &str, p: KdfParams) -> Result<[u8; 32], EkeyError> {
    check_policy(pin)?;
    let w = store.write()?;
    if let Some(pk) = meta_get(&w, META_PUBLIC)? {
        return pk.try_into().map_err(|_| EkeyError::Damaged);
    }
    let seed: [u8; 32] = crate::random::bytes();
    let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    meta_put(&w, META_SEALED, &seal(&seed, pin, p)?)?;
    meta_put(&w, META_PUBLIC, &public)?;
    meta_put(&w, META_FAILURES, &0u32.to_be_bytes())?;
    w.commit()?;
    Ok(public)
}

/// The master public key, if this node holds an e-key.
pub fn public_key(store: &Store) -> Result<Option<[u8; 32]>, EkeyError> {
    Ok(meta_get(&store.read()?, META_PUBLIC)?.and_then(|v| v.try_into().ok()))
}

/// Wrong PINs so far, and whether the key is locked.
pub fn status(store: &Store) -> Result<(u32, bool), EkeyError> {
    let f = failures(store)?;
    Ok((f, f >= MAX_FAILURES))
}

/// Opens the e-key with `pin`. A wrong PIN is counted durably *before* the answer is given,
/// so killing the process cannot win extra guesses.
pub fn unlock(store: &Store, pin: &str) -> Result<SigningKey, EkeyError> {
    let sealed = meta_get(&store.read()?, META_SEALED)?.ok_or(EkeyError::Missing)?;
    let before = failures(store)?;
    if before >= MAX_FAILURES {
        return Err(EkeyError::Locked);
    }
    // Count the attempt first; a correct PIN resets it afterwards.
    set_failures(store, before + 1)?;
    match open(&sealed, pin) {
        Ok(seed) => {
            set_failures(store, 0)?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(EkeyError::WrongPin { .. }) => {
            let now = before + 1;
            if now >= MAX_FAILURES {
                Err(EkeyError::Locked)
            } else {
                Err(EkeyError::WrongPin {
                    remaining: MAX_FAILURES - now,
                })
            }
        }
        Err(e) => Err(e),
    }
}

/// The authority's unlock: `{version 1, master public key, issued at ms}`, signed.
pub fn unlock_object(master_key: &[u8; 32], issued_at_ms: i64, authority: &SigningKey) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(1).fixed(master_key).i64(issued_at_ms);
    exlic_client::signed::sign(UNLOCK_TAG, &w.finish(), authority)
}

/// Resets the wrong-PIN counter on an unlock signed by the authority for this very key.
pub fn apply_unlock(
    store: &Store,
    unlock: &[u8],
    trust: &exlic_client::certificate::Trust,
) -> Result<(), EkeyError> {
    // Signed by one of the authority's keys, issued within that key's span.
    let (span, payload) = trust
        .keys()
        .iter()
        .find_map(|k| {
            exlic_client::signed::open(UNLOCK_TAG, unlock, &k.key)
                .ok()
                .map(|p| ((k.from_ms, k.until_ms), p))
        })
        .ok_or_else(|| EkeyError::BadUnlock("not signed by the authority".into()))?;
    let mut r = Reader::new(payload);
    let ok = r.u8("version").ok() == Some(1);
    let key: [u8; 32] = r
        .fixed("master_key")
        .map_err(|e| EkeyError::BadUnlock(e.to_string()))?;
    let issued = r
        .i64("issued_at_ms")
        .map_err(|e| EkeyError::BadUnlock(e.to_string()))?;
    r.end().map_err(|e| EkeyError::BadUnlock(e.to_string()))?;
    if issued < span.0 || issued >= span.1 {
        return Err(EkeyError::BadUnlock(
            "signed by an authority key retired before it was issued".into(),
        ));
    }
    if !ok || Some(key) != public_key(store)? {
        return Err(EkeyError::BadUnlock("it is for another e-key".into()));
    }
    set_failures(store, 0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::StoreOptions;
    use exlic_client::certificate::Trust;

    /// Cheap parameters for tests; production uses `KdfParams::default()`.
    const FAST: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    fn store(dir: &std::path::Path) -> Arc<Store> {
        Arc::new(Store::open(&dir.join("n.redb"), StoreOptions::default()).unwrap())
    }

    #[test]
    fn seal_open_round_trip_and_wrong_pin() {
        let s = seal(&[9; 32], "246810", FAST).unwrap();
        assert_eq!(open(&s, "246810").unwrap(), [9; 32]);
        assert!(matches!(
            open(&s, "246811"),
            Err(EkeyError::WrongPin { .. })
        ));
        let mut bad = s;
        let n = bad.len() - 1;
        bad[n] ^= 1;
        assert!(open(&bad, "246810").is_err());
    }

    #[test]
    fn pin_policy() {
        for bad in ["12345", "000000", "123456", "654321", "shortpass"] {
            assert!(check_policy(bad).is_err(), "{bad}");
        }
        for good in ["246810", "739164", "a long passphrase"] {
            assert!(check_policy(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn six_wrong_pins_lock_the_key_across_restarts_and_only_the_authority_unlocks() {
        let dir = tempfile::tempdir().unwrap();
        let public = {
            let s = store(dir.path());
            let public = create(&s, "246810", FAST).unwrap();
            assert_eq!(
                unlock(&s, "246810").unwrap().verifying_key().to_bytes(),
                public
            );
            for i in 1..MAX_FAILURES {
                match unlock(&s, "111112") {
                    Err(EkeyError::WrongPin { remaining }) => {
                        assert_eq!(remaining, MAX_FAILURES - i)
                    }
                    other => panic!("{other:?}"),
                }
            }
            public
        };
        // Restart between the fifth and sixth wrong PIN: the count survives.
        let s = store(dir.path());
        assert_eq!(status(&s).unwrap(), (MAX_FAILURES - 1, false));
        assert!(matches!(unlock(&s, "111112"), Err(EkeyError::Locked)));
        drop(s);
        let s = store(dir.path());
        assert!(
            matches!(unlock(&s, "246810"), Err(EkeyError::Locked)),
            "the right PIN does not open a locked key"
        );

        // Unlocks that are not the authority's, or not for this key, are refused.
        let authority = SigningKey::from_bytes(&[5; 32]);
        let other = SigningKey::from_bytes(&[6; 32]);
        let apk = authority.verifying_key().to_bytes();
        assert!(apply_unlock(&s, &unlock_object(&public, 1, &other), &Trust::new(apk)).is_err());
        assert!(
            apply_unlock(
                &s,
                &unlock_object(&[1; 32], 1, &authority),
                &Trust::new(apk)
            )
            .is_err()
        );
        let cross = exlic_client::signed::sign(b"exlic/receipt/v1", &[1], &authority);
        assert!(apply_unlock(&s, &cross, &Trust::new(apk)).is_err());
        assert!(matches!(unlock(&s, "246810"), Err(EkeyError::Locked)));

        apply_unlock(&s, &unlock_object(&public, 1, &authority), &Trust::new(apk)).unwrap();
        assert_eq!(
            unlock(&s, "246810").unwrap().verifying_key().to_bytes(),
            public
        );
        assert_eq!(status(&s).unwrap(), (0, false));
    }
}
