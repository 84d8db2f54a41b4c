//! Holes found by probing both nodes as an attacker would, each closed and kept closed:
//! the staff API takes a session cookie only with the CSRF token; the guard's refusals of
//! API calls are JSON error bodies; the office sends HSTS; an invite's validity is bounded;
//! staff stay signed in across an office restart; a stranger's wrong passwords from one
//! address neither lock out an officer signing in from another nor tell which names exist;
//! an enrolled enterprise node says it is enrolled while offline after a restart; PATCH
//! takes `application/merge-patch+json`; a body over the limit gets a 413 over TLS; an
//! office whose p2p port is taken says which address and why, not "channel closed".

use exlic_tests::*;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, HOST};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_closes_the_holes_found_by_probing() {
    let dir = tempfile::tempdir().unwrap();
    init_authority(dir.path(), free_port());
    let node = Node::start(dir.path());
    let url = node.url.clone();
    let http = exlic_client::client::http_client(&node.tls_cert()).unwrap();

    // HSTS on every answer over TLS.
    let login_page = http.get(format!("{url}/login")).send().await.unwrap();
    assert_eq!(
        login_page.headers()["strict-transport-security"],
        "max-age=31536000"
    );

    // The office describes its API, generated from the handlers, like the enterprise.
    let doc: Value = http
        .get(format!("{url}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/session",
        "/api/v1/cases",
        "/api/v1/cases/{id}/decisions",
        "/api/v1/invites",
        "/api/v1/licence-requests/{id}/decision",
        "/api/v1/audit",
        "/api/v1/certificates",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} in {doc}");
    }
    assert!(
        doc["components"]["schemas"].get("DecisionInput").is_some(),
        "the request shapes are described"
    );

    // The guard's refusal of an API call is the API's JSON error body.
    let r = http
        .get(format!("{url}/api/v1/node"))
        .header(HOST, "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "forbidden", "{body}");

    // A staff session token.
    let signin = |login: &'static str, password: &'static str| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.post(format!("{url}/api/v1/session"))
                .json(&json!({"login": login, "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    let r = signin("admin", STAFF_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let invite = json!({"uscc": USCC, "name": NAME});

    // The same token as a browser's cookie writes nothing without the CSRF token.
    let r = http
        .post(format!("{url}/api/v1/invites"))
        .header(COOKIE, format!("exlic_session={token}"))
        .json(&invite)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "forbidden");
    // As a bearer token (an API client) it may.
    let r = http
        .post(format!("{url}/api/v1/invites"))
        .bearer_auth(&token)
        .json(&invite)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);

    // An invite's validity is bounded, by field.
    let r = http
        .post(format!("{url}/api/v1/invites"))
        .bearer_auth(&token)
        .json(&json!({"uscc": USCC, "name": NAME, "valid_days": i64::MAX}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "valid_days");

    // Wrong passwords: known and unknown names get the same answers, and the fifth makes
    // this address wait, for the name it tried.
    for name in ["wang", "nobody"] {
        for _ in 0..4 {
            let r = signin(name, "wrong-password-123").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{name}");
            assert_eq!(
                r.json::<Value>().await.unwrap()["code"],
                "wrong_credentials"
            );
        }
        let r = signin(name, "wrong-password-123").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{name}");
    }
    // This address waits for that name even with the right password, while other names
    // sign in from it (the unit tests of `authority::staff` show the officer signing in
    // from another address).
    assert_eq!(
        signin("wang", STAFF_PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(signin("li", STAFF_PASSWORD).await.status(), StatusCode::OK);

    // A body over the limit gets a 413 with the JSON error, not a dropped connection
    // (which happened at random when the office answered while the client still sent).
    for _ in 0..4 {
        let r = http
            .post(format!("{url}/api/v1/invites"))
            .bearer_auth(&token)
            .header(CONTENT_TYPE, "application/json")
            .body(vec![b' '; 40 << 20])
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "too_large");
    }

    // Staff stay signed in across a restart of the office.
    node.stop();
    let node = Node::start(dir.path());
    let r = http
        .get(format!("{}/api/v1/cases?status=pending_initial", node.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[test]
fn an_enrolled_node_says_so_offline_and_patch_takes_merge_patch() {
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let auth = Node::start(&adir);
    let ent = Node::start(&edir);
    let c = ent.client();
    runtime().block_on(async {
        wait_for(60, "enrolment", || async {
            c.sync_status().await.ok().filter(|s| s.enrolled)
        })
        .await;
    });
    auth.stop();
    ent.stop();
    let ent = Node::start(&edir);
    let c = ent.client();
    let http = ent.http();
    runtime().block_on(async {
        let s = c.sync_status().await.unwrap();
        assert!(s.enrolled && !s.online, "{s:?}");

        let v = c.create_application(&full_form()).await.unwrap();
        let r = http
            .patch(format!("{}/api/v1/applications/{}", ent.url, v.id))
            .header(CONTENT_TYPE, "application/merge-patch+json")
            .body(r#"{"remarks":"合并补丁"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(c.application(v.id).await.unwrap().form.remarks, "合并补丁");
    });
}

#[test]
fn an_office_whose_p2p_port_is_taken_says_which_address_and_why() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("office");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    init_authority(&dir, taken.local_addr().unwrap().port());
    let out = exlic()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("EXLIC_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let port = taken.local_addr().unwrap().port();
    assert!(
        err.contains(&format!("/ip4/127.0.0.1/tcp/{port}")) && err.contains("in use"),
        "{err}"
    );
}
