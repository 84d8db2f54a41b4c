//! Device-certificate policy (手机证书授权): what each request kind — 新授权, 手机变更,
//! 手机号码变更, 续签, 注销 — revokes and whether it issues, given the enterprise's active
//! certificates. At most [`MAX_ACTIVE`] are active at once (S14).

use exlic_client::cert_request::RequestKind;

/// Active device certificates an enterprise may hold at once.
pub const MAX_ACTIVE: usize = 3;

/// One of the enterprise's certificates that is valid and unrevoked now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    /// Its serial.
    pub serial: u64,
    /// The device it certifies.
    pub device_key: [u8; 32],
    /// The mobile number it authorises.
    pub mobile: String,
}

/// What a request does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Serials to revoke now.
    pub revoke: Vec<u64>,
    /// Whether a new certificate is issued for the requesting device.
    pub issue: bool,
}

/// Decides a request of `kind` for `device_key` (and, for 手机号码变更, the `old_mobile`
/// whose certificate it replaces) against the enterprise's `active` certificates;
/// `lapsed` says the device's newest certificate expired without being revoked (续签 is
/// for those too, as the manual says). The refusal is a sentence for the enterprise.
pub fn decide(
    kind: RequestKind,
    device_key: &[u8; 32],
    old_mobile: &str,
    active: &[Active],
    lapsed: bool,
) -> Result<Outcome, String> {
    let device_active: Vec<u64> = active
        .iter()
        .filter(|a| &a.device_key == device_key)
        .map(|a| a.serial)
        .collect();
    let too_many = || format!("the enterprise already holds {MAX_ACTIVE} valid certificates");
    match kind {
        RequestKind::New | RequestKind::DeviceChange => {
            if !device_active.is_empty() {
                return Err(
                    "this device already holds a valid certificate; renew it instead".into(),
                );
            }
            if active.len() >= MAX_ACTIVE {
                return Err(too_many());
            }
            Ok(Outcome {
                revoke: Vec::new(),
                issue: true,
            })
        }
        RequestKind::NumberChange => {
            let mut revoke: Vec<u64> = active
                .iter()
                .filter(|a| a.mobile == old_mobile)
                .map(|a| a.serial)
                .collect();
            if revoke.is_empty() {
                return Err(
                    "old_mobile: no valid certificate is authorised for that number".into(),
                );
            }
            if active.len() - revoke.len() >= MAX_ACTIVE {
                return Err(too_many());
            }
            for s in device_active {
                if !revoke.contains(&s) {
                    revoke.push(s);
                }
            }
            Ok(Outcome {
                revoke,
                issue: true,
            })
        }
        RequestKind::Renew => {
            if device_active.is_empty() {
                if !lapsed {
                    return Err(
                        "this device holds no certificate to renew (valid or expired); use 新授权"
                            .into(),
                    );
                }
                if active.len() >= MAX_ACTIVE {
                    return Err(too_many());
                }
            }
            Ok(Outcome {
                revoke: device_active,
                issue: true,
            })
        }
        RequestKind::Revoke => {
            if device_active.is_empty() {
                return Err("this device holds no valid certificate".into());
            }
            Ok(Outcome {
                revoke: device_active,
                issue: false,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_certificate_is_renewed_but_a_device_that_never_had_one_is_not() {
        let others = [cert(1, 1, "13800000001")];
        let out = decide(RequestKind::Renew, &[2; 32], "", &others, true).unwrap();
        assert_eq!(
            out,
            Outcome {
                revoke: vec![],
                issue: true
            }
        );
        assert!(decide(RequestKind::Renew, &[2; 32], "", &others, false).is_err());
        let full = [
            cert(1, 1, "13800000001"),
            cert(3, 3, "13800000003"),
            cert(4, 4, "13800000004"),
        ];
        assert!(decide(RequestKind::Renew, &[2; 32], "", &full, true).is_err());
    }

    fn cert(serial: u64, device: u8, mobile: &str) -> Active {
        Active {
            serial,
            device_key: [device; 32],
            mobile: mobile.into(),
        }
    }

    #[test]
    fn a_new_device_is_certified_while_fewer_than_three_are_active() {
        let two = [cert(1, 1, "13800000001"), cert(2, 2, "13800000002")];
        let ok = decide(RequestKind::New, &[3; 32], "", &two, false).unwrap();
        assert_eq!(
            ok,
            Outcome {
                revoke: vec![],
                issue: true
            }
        );
        let three = [two[0].clone(), two[1].clone(), cert(3, 3, "13800000003")];
        assert!(decide(RequestKind::DeviceChange, &[4; 32], "", &three, false).is_err());
        assert!(
            decide(RequestKind::New, &[1; 32], "", &two, false).is_err(),
            "already certified"
        );
    }

    #[test]
    fn a_number_change_replaces_the_old_numbers_certificates() {
        let active = [cert(1, 1, "13800000001"), cert(2, 2, "13800000002")];
        let out = decide(
            RequestKind::NumberChange,
            &[2; 32],
            "13800000001",
            &active,
            false,
        )
        .unwrap();
        assert_eq!(
            out.revoke,
            vec![1, 2],
            "the old number's and the device's own"
        );
        assert!(out.issue);
        assert!(
            decide(
                RequestKind::NumberChange,
                &[2; 32],
                "13900000000",
                &active,
                false
            )
            .is_err()
        );
    }

    #[test]
    fn renew_and_revoke_need_the_devices_own_certificate() {
        let active = [cert(7, 1, "13800000001")];
        let renew = decide(RequestKind::Renew, &[1; 32], "", &active, false).unwrap();
        assert_eq!(
            renew,
            Outcome {
                revoke: vec![7],
                issue: true
            }
        );
        let revoke = decide(RequestKind::Revoke, &[1; 32], "", &active, false).unwrap();
        assert_eq!(
            revoke,
            Outcome {
                revoke: vec![7],
                issue: false
            }
        );
        assert!(decide(RequestKind::Renew, &[2; 32], "", &active, false).is_err());
        assert!(decide(RequestKind::Revoke, &[2; 32], "", &active, false).is_err());
    }
}
