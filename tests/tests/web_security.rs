//! The web UI's defences (THREATS T10–T12), against a real node: a cross-origin form post,
//! a fetch with a foreign Origin and a request with a foreign Host change nothing and get
//! 403; a forged or missing CSRF token is refused; the same request from the node's own
//! page succeeds (so the refusals are not an accident); the response headers hold.

use exlic_tests::*;
use reqwest::StatusCode;
use reqwest::header::{HOST, ORIGIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origins_hosts_and_forged_forms_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    init_enterprise(dir.path());
    let node = Node::start(dir.path());
    let http = node.http();
    let url = node.url.clone();
    let own_origin = url.clone();

    // A page gives the browser its CSRF cookie; the form carries the same token.
    let page = http
        .get(format!("{url}/applications/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let h = page.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    let set = h["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let token = set
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let cookie = format!("exlic_csrf={token}");
    let count = |c: exlic_client::client::Client| async move { all_ids(&c).await.len() };
    let form = format!("_csrf={token}&contract_no=X-1&action=save");

    // Cross-origin form post (cookie and token would even be right): 403, nothing stored.
    let r = http
        .post(format!("{url}/applications"))
        .header("cookie", &cookie)
        .header(ORIGIN, "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A fetch to the JSON API with a foreign Origin: 403, nothing stored.
    let r = http
        .post(format!("{url}/api/v1/applications"))
        .header(ORIGIN, "http://evil.example")
        .json(&full_form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A foreign Host (DNS rebinding): 403 for reads and writes.
    let r = http
        .get(format!("{url}/applications"))
        .header(HOST, "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(format!("{url}/api/v1/applications"))
        .header(HOST, "rebind.evil.example:80")
        .json(&full_form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Our own origin without the token, with a wrong one, or with no Origin at all: 403.
    for (cookie, body, origin) in [
        (
            cookie.as_str(),
            "contract_no=X-2&action=save".to_owned(),
            Some(own_origin.as_str()),
        ),
        (
            cookie.as_str(),
            format!("_csrf={}&action=save", "0".repeat(64)),
            Some(own_origin.as_str()),
        ),
        ("", form.clone(), Some(own_origin.as_str())),
        (cookie.as_str(), form.clone(), None),
    ] {
        let mut rb = http
            .post(format!("{url}/applications"))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(o) = origin {
            rb = rb.header(ORIGIN, o);
        }
        assert_eq!(rb.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(count(node.client()).await, 0, "nothing was stored");

    // The same form from the node's own page succeeds.
    let r = http
        .post(format!("{url}/applications"))
        .header("cookie", &cookie)
        .header(ORIGIN, &own_origin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.url().path().ends_with("/edit"),
        "redirected to the draft: {}",
        r.url()
    );
    assert_eq!(count(node.client()).await, 1);

    // Attachments are served as downloads with nosniff, whatever their content.
    let c = node.client();
    let id = all_ids(&c).await[0];
    let a = c
        .upload_attachment(
            id,
            "x.html",
            "text/html",
            b"<script>alert(1)</script>".to_vec(),
        )
        .await
        .unwrap();
    let r = http
        .get(format!("{url}/applications/{id}/attachments/{}", a.sha256))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_screens_need_a_session_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    init_authority(dir.path(), free_port());
    let node = Node::start(dir.path());
    assert!(node.url.starts_with("https://"), "{}", node.url);
    // Plain HTTP to the TLS port does not get a page.
    let plain = node.url.replacen("https://", "http://", 1);
    let http = exlic_client::client::http_client(&node.tls_cert()).unwrap();
    assert!(http.get(format!("{plain}/login")).send().await.is_err());
    // An untrusting client refuses the self-signed certificate.
    let untrusting = exlic_client::client::http_client(b"").unwrap();
    assert!(
        untrusting
            .get(format!("{}/login", node.url))
            .send()
            .await
            .is_err()
    );

    // Without a live session every staff screen lands on the sign-in page.
    for cookie in [
        "",
        "exlic_session=forged",
        &format!("exlic_session={}", "ab".repeat(32)),
    ] {
        let r = http
            .get(format!("{}/cases", node.url))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert!(
            r.url().path().ends_with("/login"),
            "{cookie:?} reached {}",
            r.url()
        );
    }
    let api = http
        .get(format!("{}/api/v1/cases?status=pending_initial", node.url))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let signed = node.client_as("wang");
    assert!(
        signed
            .inbox("pending_initial", 1)
            .await
            .unwrap()
            .rows
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_css_and_js_travel_gzipped_over_hsts() {
    let dir = tempfile::tempdir().unwrap();
    init_authority(dir.path(), free_port());
    let node = Node::start(dir.path());
    let http = exlic_client::client::http_client(&node.tls_cert()).unwrap();
    for path in ["/login", "/static/app.css", "/static/app.js"] {
        let plain = http
            .get(format!("{}{path}", node.url))
            .send()
            .await
            .unwrap();
        let h = plain.headers().clone();
        assert!(
            h["strict-transport-security"]
                .to_str()
                .unwrap()
                .contains("max-age="),
            "{path}: HSTS"
        );
        assert!(
            h.get("content-encoding").is_none(),
            "{path}: asked for none"
        );
        let body = plain.bytes().await.unwrap();
        let zipped = http
            .get(format!("{}{path}", node.url))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(zipped.headers()["content-encoding"], "gzip", "{path}");
        let packed = zipped.bytes().await.unwrap();
        // A small page halves less; the stylesheet and script more than halve.
        let factor = if path == "/login" { 1 } else { 2 };
        assert!(
            packed.len() * factor < body.len(),
            "{path}: {} → {} bytes",
            body.len(),
            packed.len()
        );
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&packed[..]),
            &mut unpacked,
        )
        .unwrap();
        if path != "/login" {
            // The sign-in page carries a fresh CSRF token each time; the assets are fixed.
            assert_eq!(unpacked, body, "{path}");
        }
    }
}
