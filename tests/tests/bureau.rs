//! The supervising bureau across real nodes: it follows two offices' logs over libp2p,
//! co-signs their checkpoints (a licence then verifies offline with the bureau's
//! co-signature required), and raises an alarm when both offices log the same licence
//! number.

use exlic_tests::*;

/// `exlic init bureau` in `dir`; its public key.
fn init_bureau(dir: &std::path::Path) -> String {
    let out = exlic()
        .args(["init", "bureau", "--name", "bureau", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    edit_config(dir, "poll_seconds = 5", "poll_seconds = 1");
    edit_config(dir, "max_backoff_seconds = 30", "max_backoff_seconds = 1");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn run_ok(args: &[&str], dir: &std::path::Path) {
    let out = exlic()
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const SUPERVISOR_PASSWORD: &str = "bureau-password-1357";

/// Tells the (stopped) bureau in `bdir` to follow the running office `a`.
fn follow(rt: &tokio::runtime::Runtime, bdir: &std::path::Path, a: &Node) {
    let info = rt.block_on(a.client().authority_info()).unwrap();
    let mut args = vec![
        "bureau".to_owned(),
        "add-office".into(),
        "--agency".into(),
        "AA".into(),
        "--root-key".into(),
        info.root_key.clone(),
    ];
    for addr in &info.p2p_addrs {
        args.extend(["--addr".to_owned(), addr.clone()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(&refs, bdir);
}

/// Adds the supervisor `sun` to the (stopped) bureau in `bdir`.
fn add_supervisor(bdir: &std::path::Path) {
    let out = exlic()
        .args([
            "bureau",
            "staff",
            "--login",
            "sun",
            "--name",
            "孙监管",
            "--data-dir",
        ])
        .arg(bdir)
        .env("EXLIC_STAFF_PASSWORD", SUPERVISOR_PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Signs `sun` in at the running bureau; the session token.
async fn sign_in(http: &reqwest::Client, bureau: &Node) -> String {
    let r = http
        .post(format!("{}/api/v1/session", bureau.url))
        .json(&serde_json::json!({"login": "sun", "password": SUPERVISOR_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_owned()
}

/// `GET path` at the bureau as a signed-in supervisor.
async fn get_json(
    http: &reqwest::Client,
    bureau: &Node,
    token: &str,
    path: &str,
) -> serde_json::Value {
    http.get(format!("{}{path}", bureau.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Copies a stopped node's data directory.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn an_office_restored_from_a_copy_that_signs_another_history_is_refused_a_cosignature_and_halted() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let bdir = root.path().join("bureau");
    let bkey = init_bureau(&bdir);
    run_ok(&["authority", "add-bureau", "--key", &bkey], &adir);
    add_supervisor(&bdir);
    let rt = runtime();

    // An application reaches the office; then the office is stopped and copied.
    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let id = rt.block_on(async {
        let c = ent.client();
        let id = submit(&c).await;
        status_becomes(
            &c,
            id,
            exlic_client::status::ApplicationStatus::PendingInitial,
        )
        .await;
        id
    });
    follow(&rt, &bdir, &auth);
    ent.stop();
    auth.stop();
    let copy = root.path().join("authority-copy");
    copy_dir(&adir, &copy);

    // The office issues the licence and the bureau co-signs that history.
    let auth = Node::start(&adir);
    let approve = |a: &Node| {
        let (officer, chief) = (a.client_as("wang"), a.client_as("li"));
        rt.block_on(async {
            officer
                .decide(id, &decision("initial", true, ""))
                .await
                .unwrap();
            chief
                .decide(id, &decision("second", true, ""))
                .await
                .unwrap();
        });
    };
    approve(&auth);
    let bureau = Node::start(&bdir);
    let http = exlic_client::client::http_client(&bureau.tls_cert()).unwrap();
    let token = rt.block_on(sign_in(&http, &bureau));
    let first = rt.block_on(wait_for(
        60,
        "the bureau co-signs the office's log",
        || async {
            let v = get_json(&http, &bureau, &token, "/api/v1/offices").await;
            let o = v.as_array()?.first()?.clone();
            (o["cosigned"].as_u64()? > 0 && o["cosigned"] == o["held"]).then_some(o)
        },
    ));
    auth.stop();

    // The copy, under the same key and address, issues the same licence again (another
    // time, other bytes): a checkpoint of the same size with another root.
    let fork = Node::start(&copy);
    approve(&fork);
    let alarm = rt.block_on(wait_for(60, "a fork alarm at the bureau", || async {
        let v = get_json(&http, &bureau, &token, "/api/v1/alarms").await;
        v.as_array()?.iter().find(|a| a["kind"] == "fork").cloned()
    }));
    let v = rt.block_on(get_json(&http, &bureau, &token, "/api/v1/offices"));
    let o = &v.as_array().unwrap()[0];
    assert_ne!(o["halted"], "", "{o} {alarm}");
    assert_eq!(
        o["cosigned"], first["cosigned"],
        "no co-signature for the other history"
    );
    // The copy's checkpoint carries no co-signature.
    let office = exlic_client::client::http_client(&fork.tls_cert()).unwrap();
    let note = rt.block_on(async {
        let r = office
            .get(format!("{}/log/checkpoint", fork.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.text().await.unwrap()
    });
    assert!(!note.contains("exlic.bureau/"), "{note}");
}

#[test]
fn the_bureau_cosigns_both_offices_and_raises_an_alarm_for_a_duplicate_licence_number() {
    let root = tempfile::tempdir().unwrap();
    let (a1dir, e1dir) = enrolled_pair(&root.path().join("one"));
    let (a2dir, e2dir) = enrolled_pair(&root.path().join("two"));
    let bdir = root.path().join("bureau");
    let bkey = init_bureau(&bdir);
    // A bureau that is not registered, or a wrong key, is refused by `add-bureau`.
    let out = exlic()
        .args(["authority", "add-bureau", "--key", "zz", "--data-dir"])
        .arg(&a1dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key"));
    for a in [&a1dir, &a2dir] {
        run_ok(&["authority", "add-bureau", "--key", &bkey], a);
    }
    let (auth1, auth2) = (Node::start(&a1dir), Node::start(&a2dir));
    let (ent1, ent2) = (Node::start(&e1dir), Node::start(&e2dir));
    let rt = runtime();
    // Follow both offices (the bureau is stopped while it is told).
    for a in [&auth1, &auth2] {
        follow(&rt, &bdir, a);
    }
    add_supervisor(&bdir);
    let bureau = Node::start(&bdir);
    let http = exlic_client::client::http_client(&bureau.tls_cert()).unwrap();
    let token = rt.block_on(async {
        // Only who the bureau is is public; the national view needs a supervisor.
        for path in [
            "/api/v1/offices",
            "/api/v1/alarms",
            "/api/v1/daily",
            "/api/v1/licences/x",
        ] {
            let r = http
                .get(format!("{}{path}", bureau.url))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 401, "{path}");
        }
        let r = http
            .post(format!("{}/api/v1/session", bureau.url))
            .json(&serde_json::json!({"login": "sun", "password": "wrong-password-0"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
        sign_in(&http, &bureau).await
    });
    let get = |path: &str| {
        let url = format!("{}{path}", bureau.url);
        let http = http.clone();
        let token = token.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    rt.block_on(async {
        let node = get("/api/v1/node").await;
        assert_eq!(node["public_key"], bkey.as_str(), "{node}");
        let (c1, c2) = (ent1.client(), ent2.client());
        let no1 = issue(&c1, &auth1.client_as("wang"), &auth1.client_as("li")).await;
        let no2 = issue(&c2, &auth2.client_as("wang"), &auth2.client_as("li")).await;
        assert_eq!(no1, no2, "both offices are AA and number from 1");

        // The bureau sees the same number in both logs and says so.
        let alarms = wait_for(60, "the duplicate-number alarm", || async {
            let a = get("/api/v1/alarms").await;
            a.as_array()
                .unwrap()
                .iter()
                .any(|x| x["kind"] == "duplicate_licence_no")
                .then_some(a)
        })
        .await;
        let dup = alarms
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["kind"] == "duplicate_licence_no")
            .unwrap();
        assert!(dup["detail"].as_str().unwrap().contains(&no1), "{dup}");
        let at = get(&format!("/api/v1/licences/{no1}")).await;
        assert_eq!(at["logged"].as_array().unwrap().len(), 2, "{at}");

        // Each office keeps the bureau's co-signature; a proof into that checkpoint
        // verifies offline with the bureau's co-signature required.
        let office = exlic_client::client::http_client(&auth1.tls_cert()).unwrap();
        let witnessed = wait_for(60, "a co-signed checkpoint at office one", || async {
            let r = office
                .get(format!(
                    "{}/api/v1/log/proof?kind=licence&subject={no1}&witnessed=true",
                    auth1.url
                ))
                .send()
                .await
                .ok()?;
            (r.status().as_u16() == 200).then_some(())?;
            Some(r.bytes().await.ok()?.to_vec())
        })
        .await;
        let info = auth1.client().authority_info().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (lf, pf) = (dir.path().join("l.lic"), dir.path().join("l.proof"));
        std::fs::write(&lf, c1.licence_file(&no1).await.unwrap()).unwrap();
        std::fs::write(&pf, &witnessed).unwrap();
        let verify = |witness: &str| {
            exlic()
                .arg("verify")
                .arg(&lf)
                .args(["--authority-key", &info.root_key, "--proof"])
                .arg(&pf)
                .args(["--witness-key", witness])
                .output()
                .unwrap()
        };
        let out = verify(&bkey);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("co-signed by the bureau"),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Another bureau's key is not the one that co-signed.
        let out = verify(&"ab".repeat(32));
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not co-signed by the bureau"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The bureau holds both logs whole, and nothing is halted.
        let offices = get("/api/v1/offices").await;
        for o in offices.as_array().unwrap() {
            assert_eq!(o["halted"], "", "{o}");
            assert!(o["held"].as_u64().unwrap() >= 3, "{o}");
        }

        // The national view finds the licence in both offices, by number, by the start of
        // the enterprise's USCC and by commodity; a query that is no code is named.
        let found = get(&format!("/api/v1/licences?licence_no={no1}")).await;
        assert_eq!(found["licences"].as_array().unwrap().len(), 2, "{found}");
        let found = get(&format!("/api/v1/licences?enterprise={}", &USCC[..8])).await;
        assert_eq!(found["licences"].as_array().unwrap().len(), 2, "{found}");
        assert_eq!(
            found["licences"][0]["commodity_code"],
            full_form().commodity_code
        );
        let found = get("/api/v1/licences?commodity=0101").await;
        assert_eq!(found["licences"], serde_json::json!([]), "{found}");
        let r = http
            .get(format!("{}/api/v1/licences?enterprise=91%27--", bureau.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["field"], "enterprise", "{body}");

        // The supervisors' screen: the same in Chinese, with the alarm by its name.
        let page = |q: String| {
            let (http, token, url) = (http.clone(), token.clone(), bureau.url.clone());
            async move {
                let r = http
                    .get(format!("{url}/{q}"))
                    .header("cookie", format!("exlic_bureau={token}"))
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let (status, html) = page(format!("?licence_no={no1}")).await;
        assert_eq!(status, 200, "{html}");
        let row = format!("data-label=\"许可证号\">{no1}</td>");
        assert_eq!(html.matches(&row).count(), 2, "one row per office: {html}");
        assert!(html.contains("许可证号重复"), "{html}");
        assert!(!html.contains("duplicate_licence_no"), "{html}");
        assert!(!html.contains("None"), "{html}");
        let (status, html) = page("?enterprise=91%27--".into()).await;
        assert_eq!(status, 422);
        assert!(html.contains("企业统一社会信用代码（开头）："), "{html}");
        // The same screen in Chromium, at both widths and in both languages.
        let state = serde_json::json!({
            "bureau": bureau.url,
            "password": SUPERVISOR_PASSWORD,
            "licence_no": no1,
        });
        phase_with("bureau-national", "", "", "", &state.to_string());
        // No session: the sign-in page.
        let r = http.get(format!("{}/", bureau.url)).send().await.unwrap();
        assert!(
            r.url().path().ends_with("/login") || r.status().as_u16() == 303,
            "{r:?}"
        );
    });
}
