//! Certificate policy at the office: a 手机号码变更 leaves one valid certificate and the
//! old device's later seals are refused.

use super::*;

#[test]
fn number_change_leaves_one_valid_certificate_and_the_old_device_is_refused() {
    let f = fx();
    let a = &f.auth;
    let (old_dev, new_dev) = (key(10), key(11));
    let token = a.registry.invite(USCC_A, "企业", 100, 30).unwrap();
    let inv = Invite::from_token(&token).unwrap();
    let m = master(USCC_A).verifying_key().to_bytes();
    a.handle(
        old_dev.verifying_key().to_bytes(),
        Request::Enrol {
            secret: inv.secret,
            master_key: m,
        },
    );
    let token2 = Invite::from_token(&a.registry.invite(USCC_A, "企业", 100, 30).unwrap()).unwrap();
    a.handle(
        new_dev.verifying_key().to_bytes(),
        Request::Enrol {
            secret: token2.secret,
            master_key: m,
        },
    );
    let p_old = old_dev.verifying_key().to_bytes();
    let p_new = new_dev.verifying_key().to_bytes();
    let r = a
        .handle(
            p_old,
            Request::Certify(cert_request(
                RequestKind::New,
                USCC_A,
                &old_dev,
                "13800000001",
                "",
                1,
            )),
        )
        .response;
    assert!(matches!(r, Response::Certified { .. }), "{r:?}");

    // The old device seals an application (its clock says long ago) and it syncs.
    let id = DocId([8; 16]);
    let mut doc = app_doc(USCC_A, "sealed on the old phone");
    sync_doc(a, &old_dev, &mut doc, id);
    let att = b"contract".to_vec();
    upload(a, &old_dev, &att);
    let late_seal = seal(&mut doc, id, USCC_A, &old_dev, &att);

    // 手机号码变更 from the new device: old certificate revoked, new one issued, one step.
    let r = a
        .handle(
            p_new,
            Request::Certify(cert_request(
                RequestKind::NumberChange,
                USCC_A,
                &new_dev,
                "13900000002",
                "13800000001",
                2,
            )),
        )
        .response;
    let Response::Certified {
        certificate,
        revocations,
    } = r
    else {
        panic!("{r:?}")
    };
    let mut trust = Trust::new(a.public_key());
    let now = 1_767_000_000_000;
    let c = trust.certificate(&certificate, now).unwrap();
    assert_eq!((c.mobile.as_str(), c.device_key), ("13900000002", p_new));
    let crl = trust.revocations(&revocations, now).unwrap();
    assert_eq!(
        crl.revoked.len(),
        1,
        "exactly the old certificate is revoked"
    );
    let active = {
        let txn = a.store().read().unwrap();
        crate::store::certs::all(&txn)
            .unwrap()
            .iter()
            .filter(|c| c.revoked_ms.is_none())
            .count()
    };
    assert_eq!(active, 1, "exactly one valid certificate");

    // The old device's seal arriving afterwards is refused, whatever its clock said.
    let r = a.handle(p_old, Request::Submit(late_seal)).response;
    assert!(
        matches!(&r, Response::Error { code: ErrorCode::BadSeal, message } if message.contains("revoked")),
        "{r:?}"
    );

    // Replay, a wrong signer, a third-party enterprise and the cap of three are refused.
    let again = a
        .handle(
            p_new,
            Request::Certify(cert_request(
                RequestKind::NumberChange,
                USCC_A,
                &new_dev,
                "13900000002",
                "13800000001",
                2,
            )),
        )
        .response;
    assert!(
        refused(&again, ErrorCode::BadCertRequest),
        "replay: {again:?}"
    );
    let by_b = CertRequest {
        kind: RequestKind::New,
        enterprise_uscc: USCC_A.into(),
        device_key: [3; 32],
        mobile: "13700000000".into(),
        old_mobile: String::new(),
        requested_at_ms: 0,
        nonce: [9; 16],
    }
    .sign(&master(USCC_B));
    assert!(
        refused(
            &a.handle(p_new, Request::Certify(by_b)).response,
            ErrorCode::BadCertRequest
        ),
        "wrong e-key"
    );
    for (n, d) in [(20u8, key(20)), (21, key(21))] {
        let r = a
            .handle(
                p_new,
                Request::Certify(cert_request(
                    RequestKind::DeviceChange,
                    USCC_A,
                    &d,
                    "13700000000",
                    "",
                    n,
                )),
            )
            .response;
        assert!(matches!(r, Response::Certified { .. }), "{r:?}");
    }
    let fourth = a
        .handle(
            p_new,
            Request::Certify(cert_request(
                RequestKind::DeviceChange,
                USCC_A,
                &key(22),
                "13700000000",
                "",
                23,
            )),
        )
        .response;
    assert!(
        refused(&fourth, ErrorCode::BadCertRequest),
        "a fourth certificate: {fourth:?}"
    );
}

#[test]
fn an_expired_certificate_is_renewed_and_注销_retires_one_without_a_mobile_number() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_767_000_000_000);
    let a = office_on(dir.path(), "AA", &clock, 1 << 20);
    let dev = key(10);
    enrol(&a, USCC_A, &dev);
    let p = dev.verifying_key().to_bytes();
    let certify = |kind, mobile: &str, nonce| {
        a.handle(
            p,
            Request::Certify(cert_request(kind, USCC_A, &dev, mobile, "", nonce)),
        )
        .response
    };
    // The certificate lapses; 续签 is for exactly that.
    clock.advance(crate::authority::CERT_VALIDITY_MS + 86_400_000);
    let r = certify(RequestKind::Renew, "13800138000", 200);
    let Response::Certified { certificate, .. } = r else {
        panic!("续签 of an expired certificate refused: {r:?}")
    };
    let renewed = a
        .trust()
        .certificate(&certificate, clock.now_ms())
        .expect("a valid certificate");
    assert_eq!(renewed.device_key, p);

    // 注销 asks for no mobile number, and leaves nothing to renew.
    let Response::Certified { certificate, .. } = certify(RequestKind::Revoke, "", 201) else {
        panic!("注销 refused")
    };
    assert!(certificate.is_empty());
    assert!(matches!(
        certify(RequestKind::Revoke, "", 202),
        Response::Error {
            code: ErrorCode::BadCertRequest,
            ..
        }
    ));
    assert!(
        matches!(
            certify(RequestKind::Renew, "13800138000", 203),
            Response::Error {
                code: ErrorCode::BadCertRequest,
                ..
            }
        ),
        "a retired certificate is not renewed"
    );
}

#[test]
fn a_seal_names_its_certificate_and_one_revoked_before_receipt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_767_000_000_000);
    let auth = office_on(dir.path(), "AA", &clock, 1 << 20);
    let a = &auth;
    let dev = key(10);
    enrol(a, USCC_A, &dev);
    let p = dev.verifying_key().to_bytes();
    let att = b"contract".to_vec();
    upload(a, &dev, &att);
    let serial_of = |a: &Authority| {
        let Response::Certified { certificate, .. } = a.handle(p, Request::MyCertificate).response
        else {
            panic!("no certificate")
        };
        a.trust()
            .certificate(&certificate, a.now_ms())
            .unwrap()
            .serial
    };
    let first = serial_of(a);

    // Sealed under the first certificate and received; then 手机号码变更 on this device.
    let received = DocId([21; 16]);
    let mut doc = app_doc(USCC_A, "received before the change");
    sync_doc(a, &dev, &mut doc, received);
    let r = a
        .handle(
            p,
            Request::Submit(seal_under(
                &mut doc,
                received,
                USCC_A,
                &dev,
                &att,
                Some(first),
            )),
        )
        .response;
    assert!(matches!(r, Response::Receipt(_)), "{r:?}");
    let late = DocId([22; 16]);
    let mut late_doc = app_doc(USCC_A, "sealed before the change, reported after");
    sync_doc(a, &dev, &mut late_doc, late);
    let late_seal = seal_under(&mut late_doc, late, USCC_A, &dev, &att, Some(first));
    clock.advance(60_000);
    let r = a
        .handle(
            p,
            Request::Certify(cert_request(
                RequestKind::NumberChange,
                USCC_A,
                &dev,
                "13900000009",
                "13800138000",
                77,
            )),
        )
        .response;
    assert!(matches!(r, Response::Certified { .. }), "{r:?}");
    let second = serial_of(a);
    assert_ne!(first, second);
    clock.advance(60_000);

    // The case page names the certificate in force at sealing, valid at receipt.
    let file = a.cases.case_file(received).unwrap().unwrap();
    assert!(file.seal.ok, "{}", file.seal.detail);
    assert!(
        file.seal.certificate.starts_with(&format!("#{first} ")),
        "{}",
        file.seal.certificate
    );
    assert!(file.seal.certificate.contains("13800138000"));

    // A seal whose certificate was revoked before receipt is refused: the enterprise seals
    // it again under its current certificate.
    let r = a.handle(p, Request::Submit(late_seal)).response;
    assert!(refused(&r, ErrorCode::BadSeal), "{r:?}");
    let again = seal_under(&mut late_doc, late, USCC_A, &dev, &att, Some(second));
    let r = a.handle(p, Request::Submit(again)).response;
    assert!(matches!(r, Response::Receipt(_)), "{r:?}");
}
