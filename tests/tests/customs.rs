//! Customs across real nodes (office, enterprise, customs): a licence checked, reserved and
//! released at customs, its usage reaching the office (used up) and the enterprise (which
//! may then no longer ask for 删证); 非一批一证 to twelve uses and the overfill; 一证一关;
//! expiry by customs' clock; a deleted licence refused once the standing has synced; a customs node offline during a deletion accepting the licence, showing how old
//! its standing is, and the office flagging the use when it arrives; reservations that
//! survive SIGKILL without a double deduction; a seal checked by a third party to the
//! office key with the key chain, certificate and revocations the enterprise serves.

use exlic_client::application::{ApplicationForm, GoodsLine};
use exlic_client::client::Client;
use exlic_client::licence_request::{LicenceDecisionInput, LicenceRequestInput};
use exlic_client::usage::{CheckOutcome, DeclarationInput};
use exlic_tests::*;

fn declaration(file: &[u8], n: u32, quantity: &str) -> DeclarationInput {
    DeclarationInput {
        declaration_no: format!("3700202610{n:08}"),
        item: 1,
        licence: hex::encode(file),
        licence_no: String::new(),
        exporter: USCC.into(),
        commodity_code: "2918140000".into(),
        quantity: quantity.into(),
        check_only: false,
    }
}

fn codes(o: &CheckOutcome) -> Vec<&str> {
    o.reasons.iter().map(|r| r.code.as_str()).collect()
}

/// Asks for 删证 of `no` at the enterprise and has the office approve it.
async fn delete(c: &Client, officer: &Client, no: &str) {
    c.request_licence_change(&LicenceRequestInput {
        kind: "delete".into(),
        licence_no: no.into(),
    })
    .await
    .unwrap();
    let pending = wait_for(30, "the 删证 request at the office", || async {
        let p = officer.licence_requests(Some("pending")).await.ok()?;
        p.into_iter().find(|r| r.licence_no == no)
    })
    .await;
    officer
        .decide_licence_request(
            pending.id,
            &LicenceDecisionInput {
                approve: true,
                reason: String::new(),
            },
        )
        .await
        .unwrap();
}

/// Waits until customs has heard the office's standing of `no` as `state`.
async fn customs_hears(k: &Client, file: &[u8], n: u32, state: &str) {
    wait_for(30, &format!("customs to hear {state}"), || async {
        let o = k
            .declare(&DeclarationInput {
                check_only: true,
                ..declaration(file, n, "1")
            })
            .await
            .ok()?;
        (o.standing == state && o.standing_as_of_ms > 0).then_some(())
    })
    .await;
}

#[test]
fn customs_uses_licences_and_their_usage_and_standing_reach_everyone() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let cdir = root.path().join("customs");
    init_customs(&cdir, &adir, "3700");
    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let mut customs = Node::start(&cdir);
    let rt = runtime();
    let (c, officer, chief) = (ent.client(), auth.client_as("wang"), auth.client_as("li"));
    let mut k = customs.client_as(OFFICER);
    let (used, deleted, offline) = rt.block_on(async {
        // A third party checks a seal all the way to the office key with what the
        // enterprise node serves: the key chain, the device certificate, the revocations.
        let sealed = submit(&c).await;
        let sub = c.sealed_submission(sealed).await.unwrap();
        let http = ent.http();
        let get = |path: &str| http.get(format!("{}/api/v1/{path}", ent.url)).send();
        let keys: serde_json::Value = get("keys").await.unwrap().json().await.unwrap();
        let cert = get("certificate/file")
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let crl = get("revocations").await.unwrap().bytes().await.unwrap();
        let mut root = [0u8; 32];
        hex::decode_to_slice(keys["root_key"].as_str().unwrap(), &mut root).unwrap();
        let records: Vec<Vec<u8>> = keys["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| hex::decode(r.as_str().unwrap()).unwrap())
            .collect();
        let mut trust = exlic_client::certificate::Trust::new(root);
        trust.follow(&records);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let payload = trust.verify_seal(&sub, &cert, &crl, now).unwrap();
        assert_eq!(payload.application_id, sealed);

        let used = issue(&c, &officer, &chief).await;
        let file = c.licence_file(&used).await.unwrap();
        customs_hears(&k, &file, 1, "valid").await;
        // The office's log head reached customs over sync (the licence and its standing
        // are in it); the status line says how far it is checked, and raises no alarm.
        let first_head = log_checked(&customs, 2).await;

        // 一批一证: one declaration; a retry deducts nothing; the second is refused.
        let first = declaration(&file, 1, "24.5");
        let o = k.declare(&first).await.unwrap();
        assert!(o.passed, "{o:?}");
        assert_eq!((o.state.as_str(), o.uses, o.max_uses), ("reserved", 1, 1));
        assert_eq!(
            k.declare(&first).await.unwrap(),
            o,
            "a retry is answered the same"
        );
        let second = k.declare(&declaration(&file, 2, "1")).await.unwrap();
        assert_eq!(codes(&second), ["uses", "quantity"]);
        // Without a session: refused.
        let anonymous = Client::with_roots(customs.url.clone(), &customs.tls_cert()).unwrap();
        let e = anonymous.declare(&first).await.unwrap_err();
        assert_eq!(e.api().unwrap().code, "unauthenticated", "{e}");
        // Bad input names its field.
        let e = k
            .declare(&DeclarationInput {
                quantity: "lots".into(),
                ..declaration(&file, 3, "1")
            })
            .await
            .unwrap_err();
        assert_eq!(e.api().unwrap().field.as_deref(), Some("quantity"), "{e}");
        // 实核注.
        let released = k
            .declaration_step(&first.declaration_no, 1, "confirm", "24.5")
            .await
            .unwrap();
        assert_eq!(released.state, "confirmed");

        // The usage reaches the office (used up) and the enterprise, where 删证 is now
        // refused.
        let seen = wait_for(30, "the usage at the enterprise", || async {
            c.licence_usage(&used)
                .await
                .ok()
                .filter(|u| u.lines.first().is_some_and(|l| l.state == "confirmed"))
        })
        .await;
        assert_eq!((seen.uses, seen.used_quantity.as_str()), (1, "24.5"));
        assert_eq!(seen.lines[0].declaration_no, first.declaration_no);
        let e = c
            .request_licence_change(&LicenceRequestInput {
                kind: "delete".into(),
                licence_no: used.clone(),
            })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("used at customs"), "{e}");
        customs_hears(&k, &file, 4, "used_up").await;

        // A deleted licence is refused at customs once the standing has synced.
        let deleted = issue(&c, &officer, &chief).await;
        let dfile = c.licence_file(&deleted).await.unwrap();
        customs_hears(&k, &dfile, 10, "valid").await;
        delete(&c, &officer, &deleted).await;
        customs_hears(&k, &dfile, 11, "deleted").await;
        let refused = k.declare(&declaration(&dfile, 12, "1")).await.unwrap();
        assert_eq!(codes(&refused), ["standing"]);
        // Two more licences and their standings later, customs took the newer head only
        // after proving it extends the one it held, from the office's hash tiles.
        log_checked(&customs, first_head + 4).await;

        // 非一批一证 (尿素, bulk goods, 5% overfill): twelve declarations, the overfill
        // accepted and no more; the thirteenth refused with quantity left.
        let multi = issue_form(&c, &officer, &chief, &multi_batch_form()).await;
        let mfile = c.licence_file(&multi).await.unwrap();
        customs_hears(&k, &mfile, 30, "valid").await;
        let urea = |n: u32, q: &str| DeclarationInput {
            commodity_code: "3102100010".into(),
            ..declaration(&mfile, n, q)
        };
        for n in 31..41 {
            let o = k.declare(&urea(n, "5")).await.unwrap();
            assert!(o.passed, "{o:?}");
        }
        let o = k.declare(&urea(41, "52")).await.unwrap();
        assert!(o.passed, "102 of 100 t is inside the overfill: {o:?}");
        let over = k.declare(&urea(42, "4")).await.unwrap();
        assert_eq!(codes(&over), ["quantity"], "106 of 100 t is beyond it");
        let o = k.declare(&urea(43, "2")).await.unwrap();
        assert_eq!((o.passed, o.uses, o.max_uses), (true, 12, 12), "{o:?}");
        let thirteenth = k.declare(&urea(44, "0.5")).await.unwrap();
        assert_eq!(codes(&thirteenth), ["uses"], "{thirteenth:?}");
        assert_eq!(thirteenth.remaining_quantity, "1", "quantity is left");
        // 一证一关: a licence for another district's port is refused here.
        let elsewhere = issue_form(
            &c,
            &officer,
            &chief,
            &ApplicationForm {
                customs_district: "5300".into(),
                ..full_form()
            },
        )
        .await;
        let efile = c.licence_file(&elsewhere).await.unwrap();
        customs_hears(&k, &efile, 45, "valid").await;
        let there = k.declare(&declaration(&efile, 46, "1")).await.unwrap();
        assert_eq!(codes(&there), ["district"], "{there:?}");

        // A licence customs knows valid, deleted while customs is cut off.
        let offline = issue(&c, &officer, &chief).await;
        let ofile = c.licence_file(&offline).await.unwrap();
        customs_hears(&k, &ofile, 20, "valid").await;
        (used, deleted, (offline, ofile))
    });
    // Customs stops; the office deletes; the office stops; customs starts alone.
    customs.stop();
    let (offline, ofile) = offline;
    rt.block_on(delete(&c, &officer, &offline));
    rt.block_on(async {
        wait_for(30, "the deletion at the enterprise", || async {
            let s = c.licence_status(&offline).await.ok()?;
            (s.status == "deleted").then_some(())
        })
        .await;
    });
    auth.stop();
    customs = Node::start(&cdir);
    k = customs.client_as(OFFICER);
    let (kept_seq, declared) = rt.block_on(async {
        let o = k.declare(&declaration(&ofile, 21, "3")).await.unwrap();
        assert!(
            o.passed,
            "offline, customs still holds the licence valid: {o:?}"
        );
        assert_eq!(o.standing, "valid");
        assert!(
            o.standing_as_of_ms > 0,
            "the outcome says how old the standing is"
        );
        // The officer's screen says so too.
        let page = customs_page(&customs, "/").await;
        assert!(page.contains("状态截至") && page.contains("距今"), "{page}");
        (o.uses, declaration(&ofile, 21, "3"))
    });
    assert_eq!(kept_seq, 1);
    // The office comes back: the usage arrives and is flagged.
    let auth = Node::start(&adir);
    let a = auth.client();
    rt.block_on(async {
        let http = auth_http(&auth, &a);
        let flagged: serde_json::Value = wait_for(60, "the flag at the office", || async {
            let v: serde_json::Value = http
                .get(format!("{}/api/v1/licences/{offline}/usage", auth.url))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (!v["flags"].as_array()?.is_empty()).then_some(v)
        })
        .await;
        assert!(
            flagged["flags"][0]["why"]
                .as_str()
                .unwrap()
                .starts_with("deleted|"),
            "{flagged}"
        );
        assert_eq!(
            flagged["flags"][0]["declaration_no"],
            declared.declaration_no
        );
        let _ = (&used, &deleted);
    });

    // SIGKILL in the middle of a burst of reservations: after a restart every retry is
    // answered with the first answer, nothing is counted twice, and the store checks clean.
    let burst = rt.block_on(async {
        let fresh = issue(&c, &auth.client_as("wang"), &auth.client_as("li")).await;
        c.licence_file(&fresh).await.unwrap()
    });
    let k2 = k;
    let burst2 = burst.clone();
    let flood = std::thread::spawn(move || {
        let rt = runtime();
        rt.block_on(async {
            for n in 100..140 {
                let _ = k2.declare(&declaration(&burst2, n, "0.5")).await;
            }
        })
    });
    std::thread::sleep(std::time::Duration::from_millis(150));
    customs.kill();
    let _ = flood.join();
    let customs = Node::start(&cdir);
    let k = customs.client_as(OFFICER);
    rt.block_on(async {
        let mut reserved = 0;
        for n in 100..140 {
            let o = k.declare(&declaration(&burst, n, "0.5")).await.unwrap();
            if o.passed && o.state == "reserved" {
                reserved += 1;
            } else {
                assert_eq!(codes(&o), ["uses"], "{o:?}");
            }
        }
        assert_eq!(
            reserved, 1,
            "一批一证: exactly one declaration holds the licence"
        );
        let no = {
            let l = exlic_client::signed::peek(&burst).unwrap();
            exlic_client::licence::Licence::decode(l)
                .unwrap()
                .licence_no
        };
        let u = k.licence_usage(&no).await.unwrap();
        assert_eq!((u.uses, u.used_quantity.as_str()), (1, "0.5"));
        // Cancel restores the quantity and the use.
        let held = u.lines.iter().find(|l| l.state == "reserved").unwrap();
        let back = k
            .declaration_step(&held.declaration_no, 1, "cancel", "")
            .await
            .unwrap();
        assert_eq!((back.uses, back.used_quantity.as_str()), (0, "0"));
    });
    customs.stop();
    let out = check_store(&cdir);
    assert!(out.contains("ledger consistent"), "{out}");

    // By customs' own clock, past the licence's validity: expired, whatever the standing
    // it last heard says.
    set_node_clock(Some("2099-06-01T09:00:00+08:00"));
    let customs = Node::start(&cdir);
    set_node_clock(None);
    let k = customs.client_as(OFFICER);
    rt.block_on(async {
        let late = k
            .declare(&DeclarationInput {
                check_only: true,
                ..declaration(&burst, 200, "0.5")
            })
            .await
            .unwrap();
        assert!(codes(&late).contains(&"expired"), "{late:?}");
    });
}

/// A 非一批一证 application for 100 t of urea (3102100010), a bulk good.
fn multi_batch_form() -> ApplicationForm {
    let mut form = full_form();
    form.commodity_code = "3102100010".into();
    form.batch_mode = "multi".into();
    form.remarks = "非一批一证".into();
    form.goods = vec![GoodsLine {
        spec: "农用尿素 N46%".into(),
        unit: "t".into(),
        quantity: "100".into(),
        unit_price: "300".into(),
    }];
    form.contract.total_amount = "30000".into();
    form
}

/// The officer UI page at `path`, signed in.
/// Waits until customs' status line says it has checked at least `least` entries of the
/// office's log (and shows no alarm); returns how many.
async fn log_checked(customs: &Node, least: u64) -> u64 {
    wait_for(30, "customs to check the office's log", || async {
        let page = customs_page(customs, "/").await;
        assert!(!page.contains("log-alarm"), "{page}");
        let (_, rest) = page.split_once("id=\"log-head\">发证机构日志已核对条数: ")?;
        let n: u64 = rest.split('<').next()?.trim().parse().ok()?;
        (n >= least).then_some(n)
    })
    .await
}

fn auth_http(auth: &Node, a: &Client) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", a.session().unwrap()).parse().unwrap(),
    );
    exlic_client::client::http_builder(&auth.tls_cert())
        .unwrap()
        .default_headers(h)
        .build()
        .unwrap()
}
