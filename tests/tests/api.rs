//! The enterprise node's JSON API through the real binary: every field survives a round
//! trip and restarts, bad input is refused with a named field and stores nothing, and a
//! seal verifies offline with `exlic-client` alone while any change breaks it.

use exlic_client::application::ApplicationForm;
use exlic_client::query::ApplicationQuery;
use exlic_client::seal::{self, SealError, SealPayload, SealedSubmission};
use exlic_client::status::ApplicationStatus;
use exlic_tests::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn every_field_survives_the_api_a_clean_restart_and_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    init_enterprise(dir.path());
    let node = Node::start(dir.path());
    let form = full_form();
    let (id, before) = rt().block_on(async {
        let c = node.client();
        let v = c.create_application(&form).await.unwrap();
        assert_eq!(v.form, form, "create echoes every field");
        assert_eq!(v.totals.line_amounts, ["28750.00", "1770.38"]);
        assert_eq!(v.totals.total, "30520.38");
        assert_eq!(v.commodity_name.as_deref(), Some("柠檬酸"));
        let got = c.application(v.id).await.unwrap();
        assert_eq!(got.form, form);
        (v.id, got)
    });
    node.stop();
    let node = Node::start(dir.path());
    let after = rt().block_on(node.client().application(id)).unwrap();
    assert_eq!(after, before, "clean restart");
    node.kill();
    let node = Node::start(dir.path());
    let after = rt().block_on(node.client().application(id)).unwrap();
    assert_eq!(after, before, "restart after SIGKILL");
}

#[test]
fn bad_input_is_refused_with_the_field_named_and_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    init_enterprise(dir.path());
    edit_config(
        dir.path(),
        "attachment_max_mb = 20",
        "attachment_max_mb = 1",
    );
    let node = Node::start(dir.path());
    let http = node.http();
    rt().block_on(async {
        let c = node.client();
        let draft = c
            .create_application(&ApplicationForm::default())
            .await
            .unwrap();
        let url = |p: &str| format!("{}/api/v1{p}", node.url);
        let long = format!("{{\"remarks\": \"{}\"}}", "x".repeat(501));
        let post = |path: String, body: String| {
            http.post(path)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let cases: Vec<(&str, &str, u16, &str)> = vec![
            ("malformed JSON", "{\"exporter_name\": ", 400, "body"),
            ("unknown field", "{\"colour\": \"red\"}", 400, "colour"),
            ("wrong type", "{\"exporter_name\": 5}", 400, "exporter_name"),
            (
                "wrong nested type",
                "{\"goods\": [{\"quantity\": 5}]}",
                400,
                "goods[0].quantity",
            ),
            (
                "system field",
                "{\"licence_no\": \"24AA900009\"}",
                400,
                "licence_no",
            ),
            (
                "unknown trade mode",
                "{\"trade_mode\": \"smuggling\"}",
                422,
                "trade_mode",
            ),
            ("unknown country", "{\"country\": \"ATL\"}", 422, "country"),
            (
                "unknown unit",
                "{\"goods\": [{\"unit\": \"bushel\"}]}",
                422,
                "goods[0].unit",
            ),
            ("over-long text", "LONG", 422, "remarks"),
        ];
        for (what, body, status, field) in &cases {
            let body = if *body == "LONG" {
                long.clone()
            } else {
                body.to_string()
            };
            for path in [url("/applications")] {
                let resp = post(path, body.clone()).await.unwrap();
                assert_eq!(resp.status().as_u16(), *status, "{what}");
                let err: exlic_client::error::ApiError = resp.json().await.unwrap();
                assert_eq!(err.field.as_deref(), Some(*field), "{what}: {err}");
                assert!(!err.message.is_empty());
            }
            let resp = http
                .put(url(&format!("/applications/{}", draft.id)))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), *status, "PUT {what}");
        }
        let resp = http
            .post(url("/applications"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 415, "no content type");

        // Attachments: empty, oversized, no name.
        let e = c
            .upload_attachment(draft.id, "a.pdf", "application/pdf", vec![])
            .await
            .unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("body"));
        let e = c
            .upload_attachment(
                draft.id,
                "big.bin",
                "application/octet-stream",
                vec![7; (1 << 20) + 1],
            )
            .await
            .unwrap_err();
        assert_eq!(e.api().unwrap().code, "too_large", "{e}");
        let resp = http
            .post(url(&format!("/applications/{}/attachments", draft.id)))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "missing name");
        let e = c
            .upload_attachment(draft.id, "../../etc/passwd", "text/plain", b"x".to_vec())
            .await
            .unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("name"));

        // Unknown ids answer 404 the same way whether malformed or missing.
        assert_eq!(
            http.get(url("/applications/nope"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            404
        );
        assert_eq!(
            http.get(url(&format!("/applications/{}", "0".repeat(32))))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            404
        );
        // Bad query parameters.
        let e = c
            .query(&ApplicationQuery {
                per_page: Some(0),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("per_page"));
        let resp = http
            .get(url("/applications?status=lost"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);

        // Nothing was stored by any of it.
        let list = c.query(&ApplicationQuery::default()).await.unwrap();
        assert_eq!(list.items.len(), 1);
        let now = c.application(draft.id).await.unwrap();
        assert_eq!(now.form, ApplicationForm::default());
        assert!(now.attachments.is_empty());
        assert_eq!(now.history.len(), 1, "{:?}", now.history);

        // 暂存 keeps what a person typed, however mistyped: an unknown commodity code and a
        // quantity that is not a number are kept as typed, and named at 保存并盖章.
        let typed = "{\"commodity_code\": \"9999999999\", \"goods\": [{\"quantity\": \"many\"}]}";
        let resp = http
            .put(url(&format!("/applications/{}", draft.id)))
            .header("content-type", "application/json")
            .body(typed)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "a mistyped draft is kept");
        let kept = c.application(draft.id).await.unwrap();
        assert_eq!(kept.form.commodity_code, "9999999999");
        assert_eq!(kept.form.goods[0].quantity, "many");
    });
}

#[test]
fn a_seal_verifies_offline_and_any_change_breaks_it() {
    let dir = tempfile::tempdir().unwrap();
    init_enterprise(dir.path());
    let node = Node::start(dir.path());
    let (sub, key, files) = rt().block_on(async {
        let c = node.client();
        let v = c.create_application(&full_form()).await.unwrap();
        let contract = random_bytes(300_000);
        let approval = random_bytes(1_000);
        c.upload_attachment(v.id, "合同.pdf", "application/pdf", contract.clone())
            .await
            .unwrap();
        c.upload_attachment(v.id, "批文.pdf", "application/pdf", approval.clone())
            .await
            .unwrap();
        let r = c.seal(v.id, EKEY_PIN).await.unwrap();
        assert_eq!(r.application_no.len(), 21);
        assert_eq!(r.revision, 1);
        let view = c.application(v.id).await.unwrap();
        assert_eq!(view.status, ApplicationStatus::Sealed);
        assert!(view.frozen);
        let e = c
            .patch_application(v.id, &serde_json::json!({"remarks": "late edit"}))
            .await
            .unwrap_err();
        assert_eq!(e.api().unwrap().code, "not_allowed_in_this_state");
        let key = c.node_info().await.unwrap().device_public_key;
        (
            c.sealed_submission(v.id).await.unwrap(),
            key,
            vec![contract, approval],
        )
    });
    node.stop();
    let mut pk = [0u8; 32];
    hex::decode_to_slice(&key, &mut pk).unwrap();
    let lookup = |files: &Vec<Vec<u8>>| {
        let files = files.clone();
        move |h: &[u8; 32]| files.iter().find(|f| seal::sha256(f) == *h).cloned()
    };
    // Valid with the key and files alone (the node is stopped).
    let payload = seal::verify(&sub, &pk, lookup(&files)).unwrap();
    assert_eq!(payload.attachments.len(), 2);

    // Any byte of the content.
    for i in 0..sub.content.len() {
        let mut bad = sub.clone();
        bad.content[i] ^= 0x01;
        assert!(
            matches!(
                seal::verify(&bad, &pk, lookup(&files)),
                Err(SealError::ContentMismatch)
            ),
            "content byte {i}"
        );
    }
    // Any byte of either attachment (sampled every 997 bytes plus the ends).
    for (n, f) in files.iter().enumerate() {
        let mut positions: Vec<usize> = (0..f.len()).step_by(997).collect();
        positions.push(f.len() - 1);
        for i in positions {
            let mut changed = files.clone();
            changed[n][i] ^= 0x80;
            let r = seal::verify(&sub, &pk, lookup(&changed));
            assert!(
                matches!(r, Err(SealError::AttachmentMissing(_))),
                "attachment {n} byte {i}: {r:?}"
            );
        }
    }
    // Any byte of the signed payload or the signature.
    for i in 0..sub.payload.len() {
        let mut bad = sub.clone();
        bad.payload[i] ^= 0x01;
        assert!(
            seal::verify(&bad, &pk, lookup(&files)).is_err(),
            "payload byte {i}"
        );
    }
    for i in 0..64 {
        let mut bad = sub.clone();
        bad.signature[i] ^= 0x01;
        assert_eq!(
            seal::verify(&bad, &pk, lookup(&files)),
            Err(SealError::BadSignature),
            "signature byte {i}"
        );
    }
    // The exact canonical content is what a verifier re-derives.
    assert_eq!(
        SealPayload::decode(&sub.payload).unwrap().content_sha256,
        seal::sha256(&sub.content)
    );
    assert_eq!(SealedSubmission::decode(&sub.encode()).unwrap(), sub);

    // The CLI verifies the downloaded file the same way.
    let seal_file = dir.path().join("app.seal");
    std::fs::write(&seal_file, sub.encode()).unwrap();
    let mut args = vec![
        "verify-seal".to_string(),
        seal_file.display().to_string(),
        "--key".into(),
        key.clone(),
    ];
    for (i, f) in files.iter().enumerate() {
        let p = dir.path().join(format!("att{i}"));
        std::fs::write(&p, f).unwrap();
        args.push("--attachment".into());
        args.push(p.display().to_string());
    }
    let ok = std::process::Command::new(exlic_bin())
        .args(&args)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    std::fs::write(dir.path().join("att0"), b"tampered").unwrap();
    let bad = std::process::Command::new(exlic_bin())
        .args(&args)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("missing"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn list_search_and_query_filters() {
    let dir = tempfile::tempdir().unwrap();
    init_enterprise(dir.path());
    let node = Node::start(dir.path());
    rt().block_on(async {
        let c = node.client();
        let mut ids = Vec::new();
        for i in 0..5 {
            let mut f = full_form();
            if i % 2 == 1 {
                f.commodity_code = "2936270000".into();
                f.goods.iter_mut().for_each(|g| g.unit = "kg".into());
                f.trade_mode = "processing_imported".into();
            }
            let v = c.create_application(&f).await.unwrap();
            ids.push(v.id);
        }
        for id in &ids[..3] {
            c.upload_attachment(*id, "a.pdf", "application/pdf", random_bytes(10))
                .await
                .unwrap();
            c.seal(*id, EKEY_PIN).await.unwrap();
        }
        c.report(ids[0]).await.unwrap();
        let q = |q: ApplicationQuery| {
            let c = c.clone();
            async move { c.query(&q).await.unwrap() }
        };
        let all = q(ApplicationQuery::default()).await;
        assert_eq!(all.items.len(), 5);
        assert_eq!(all.items[0].id, ids[4], "newest first");
        let no = c.application(ids[1]).await.unwrap().application_no.unwrap();
        let found = q(ApplicationQuery {
            application_no: Some(no[15..21].into()),
            ..Default::default()
        })
        .await;
        assert_eq!(
            found.items.iter().map(|s| s.id).collect::<Vec<_>>(),
            vec![ids[1]]
        );
        assert_eq!(
            q(ApplicationQuery {
                status: Some(ApplicationStatus::Queued),
                ..Default::default()
            })
            .await
            .items
            .len(),
            1
        );
        assert_eq!(
            q(ApplicationQuery {
                status: Some(ApplicationStatus::Sealed),
                ..Default::default()
            })
            .await
            .items
            .len(),
            2
        );
        assert_eq!(
            q(ApplicationQuery {
                commodity_code: Some("2936270000".into()),
                ..Default::default()
            })
            .await
            .items
            .len(),
            2
        );
        assert_eq!(
            q(ApplicationQuery {
                trade_mode: Some("general".into()),
                ..Default::default()
            })
            .await
            .items
            .len(),
            3
        );
        let today = this_year();
        assert_eq!(
            q(ApplicationQuery {
                year: Some(today.parse().unwrap()),
                licence_type: Some("export".into()),
                ..Default::default()
            })
            .await
            .items
            .len(),
            5
        );
        let page = q(ApplicationQuery {
            per_page: Some(2),
            page: Some(3),
            ..Default::default()
        })
        .await;
        assert_eq!((page.items.len(), page.has_more), (1, false));
    });
}

/// Issue 14: who may act. Without a session nothing answers but sign-in; a 制单员
/// (drafter) drafts but may not seal or report; 保存并盖章 asks for the e-key's PIN (not
/// the operator's password), a wrong one is refused, changes nothing and counts toward
/// the e-key's lockout; the audit trail names who did what; signing out ends the session.
#[test]
fn operators_sign_in_and_the_e_key_pin_confirms_every_seal() {
    const PIN: &str = "739164";
    let root = tempfile::tempdir().unwrap();
    let adir = root.path().join("authority");
    init_authority(&adir, free_port());
    let edir = root.path().join("enterprise");
    let out = exlic()
        .args(["init", "enterprise", "--data-dir"])
        .arg(&edir)
        .args(["--token", &invite(&adir, USCC, NAME), "--pin", PIN])
        .args(["--mobile", "13800138000", "--operator", "zhang"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    add_operator(&edir, "zhao", "drafter");
    let node = Node::start(&edir);
    rt().block_on(async {
        // No session: the API answers 401 with the JSON error, naming how to sign in.
        let anonymous = exlic_client::client::Client::new(node.url.clone());
        let e = anonymous.node_info().await.unwrap_err();
        let body = e.api().expect("a JSON error body");
        assert_eq!(body.code, "unauthenticated", "{e}");
        let mut wrong = exlic_client::client::Client::new(node.url.clone());
        let e = wrong.login("zhang", "not-the-password").await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "wrong_credentials");

        // The drafter drafts, and may not seal or report.
        let drafter = node.client_as("zhao");
        let v = drafter.create_application(&full_form()).await.unwrap();
        drafter
            .upload_attachment(v.id, "合同.pdf", "application/pdf", random_bytes(500))
            .await
            .unwrap();
        let e = drafter.seal(v.id, PIN).await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "forbidden", "{e}");
        let e = drafter.report(v.id).await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "forbidden", "{e}");
        assert_eq!(drafter.application(v.id).await.unwrap().revision, 0);

        // The sealer: the password is not the PIN; a wrong PIN is counted and seals nothing.
        let sealer = node.client_as("zhang");
        for (attempt, wrong) in [OPERATOR_PASSWORD, "000000"].into_iter().enumerate() {
            let e = sealer.seal(v.id, wrong).await.unwrap_err();
            let body = e.api().unwrap();
            assert_eq!(body.field.as_deref(), Some("pin"), "{e}");
            assert_eq!(sealer.ekey().await.unwrap().failures, attempt as u32 + 1);
        }
        assert_eq!(sealer.application(v.id).await.unwrap().revision, 0);
        let sealed = sealer.seal(v.id, PIN).await.unwrap();
        assert_eq!(sealed.revision, 1);
        assert_eq!(
            sealer.ekey().await.unwrap().failures,
            0,
            "a right PIN resets the count"
        );
        sealer.report(v.id).await.unwrap();

        // The audit trail says who did what.
        let http = exlic_client::client::http_client(b"").unwrap();
        let token = sealer.session().unwrap().to_owned();
        let r = http
            .get(format!("{}/api/v1/audit", node.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let total: usize = r.headers()["x-total-count"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let trail: serde_json::Value = r.json().await.unwrap();
        assert_eq!(trail.as_array().unwrap().len(), total.min(100));
        // A page at a time: the second line alone, newest first; a bad size is named.
        let second: serde_json::Value = http
            .get(format!("{}/api/v1/audit?page=2&per_page=1", node.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(second.as_array().unwrap().len(), 1);
        assert_eq!(second[0]["seq"], trail[1]["seq"]);
        let bad = http
            .get(format!("{}/api/v1/audit?per_page=0", node.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status().as_u16(), 400);
        let err: serde_json::Value = bad.json().await.unwrap();
        assert_eq!(err["field"], "per_page", "{err}");
        let lines: Vec<String> = trail
            .as_array()
            .unwrap()
            .iter()
            .map(|l| format!("{} | {} | {}", l["actor"], l["action"], l["detail"]))
            .collect();
        let has = |actor: &str, action: &str, detail: &str| {
            lines
                .iter()
                .any(|l| l.contains(actor) && l.contains(action) && l.contains(detail))
        };
        // Actions and outcomes are codes (the UI names them in the reader's language).
        assert!(has("制单员", "create", "outcome=done"), "{lines:#?}");
        assert!(has("制单员", "refused", "action=seal"), "{lines:#?}");
        assert!(
            has("盖章员", "\"seal\"", "outcome=refused;status=400"),
            "{lines:#?}"
        );
        assert!(has("盖章员", "\"seal\"", "outcome=done"), "{lines:#?}");
        assert!(has("盖章员", "report", "outcome=done"), "{lines:#?}");
        assert!(has("zhang", "login", "result=wrong"), "{lines:#?}");

        // Filtered by who and what: only the drafter's refusals; a bad date is named.
        let filtered = http
            .get(format!(
                "{}/api/v1/audit?actor=ZHAO&action=refused&from=2000-01-01",
                node.url
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let count = filtered.headers()["x-total-count"]
            .to_str()
            .unwrap()
            .to_owned();
        let refusals: Vec<serde_json::Value> = filtered.json().await.unwrap();
        assert_eq!(count, refusals.len().to_string());
        assert!(
            refusals.len() >= 2
                && refusals
                    .iter()
                    .all(|l| l["action"] == "refused"
                        && l["actor"].as_str().unwrap().contains("zhao")),
            "{refusals:#?}"
        );
        let bad = http
            .get(format!("{}/api/v1/audit?to=31/12/2026", node.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status().as_u16(), 400);
        let err: serde_json::Value = bad.json().await.unwrap();
        assert_eq!(err["field"], "to", "{err}");

        // Signing out ends the session.
        let r = http
            .delete(format!("{}/api/v1/session", node.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 204);
        let e = sealer.node_info().await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "unauthenticated");
    });
}
