//! The web UI in a real browser (Debian's Chromium driven by playwright-core, see
//! `tests/browser/e2e.mjs`), across real nodes: a new application → 暂存 → every field →
//! two attachments → 保存并盖章 with one error, fixed → 上报 while the authority is down →
//! the authority starts → 初审 and 复审 in the staff UI → the licence shows on the
//! enterprise node and verifies; a deletion request (删证申请) filled from the held licence,
//! approved by the office, shown on both sides; a certificate renewal to 已完成; at customs,
//! the licence checked, reserved and cancelled.
//! Screenshots of every screen at 375 and 1280 px land in `target/screenshots/`.

use std::path::Path;
use std::process::Command;

use exlic_client::status::ApplicationStatus;
use exlic_tests::*;

#[test]
fn a_user_walks_the_whole_path_in_chromium() {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is required: apt-get install -y chromium (.ci/run does this)"
    );
    assert!(
        browser_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is required: (cd tests/browser && npm ci) (.ci/run does this)"
    );
    let root = tempfile::tempdir().unwrap();
    let (adir, edir) = enrolled_pair(root.path());
    let cdir = root.path().join("customs");
    init_customs(&cdir, &adir, "3700");
    let rt = runtime();

    // The authority is down: the enterprise works offline.
    let ent = Node::start(&edir);
    let drafted = phase("enterprise-draft", &ent.url, "", "{}");
    let v: serde_json::Value = serde_json::from_str(&drafted).unwrap();
    let id: exlic_client::DocId = v["app_id"].as_str().unwrap().parse().unwrap();
    let c = ent.client();
    assert_eq!(
        rt.block_on(c.application(id)).unwrap().status,
        ApplicationStatus::Queued,
        "reported while offline: waiting for the receipt"
    );

    // The authority starts; the report arrives and becomes 待初审 on both sides.
    let auth = Node::start(&adir);
    rt.block_on(wait_for(60, "待初审 on the enterprise", || async {
        (c.application(id).await.ok()?.status == ApplicationStatus::PendingInitial).then_some(())
    }));
    let reviewed = phase("authority-review", &ent.url, &auth.url, &drafted);
    rt.block_on(wait_for(60, "the licence on the enterprise", || async {
        (c.application(id).await.ok()?.status == ApplicationStatus::Issued).then_some(())
    }));
    let requested = phase("enterprise-licence", &ent.url, &auth.url, &reviewed);
    let r: serde_json::Value = serde_json::from_str(&requested).unwrap();
    let no = r["licence_no"].as_str().unwrap();
    node_pdf_holds_the_licence(r["licence_pdf"].as_str().unwrap(), no, "有效");
    assert_eq!(
        pdf_info(r["printed_pdf"].as_str().unwrap())["Pages"],
        "1",
        "the licence page prints on one A4 page"
    );
    let customs = Node::start(&cdir);
    phase_with(
        "customs-check",
        &ent.url,
        &auth.url,
        &customs.url,
        &requested,
    );
    let a = auth.client();
    rt.block_on(wait_for(
        60,
        "the deletion in the authority's 待审核",
        || async { (!a.licence_requests(Some("pending")).await.ok()?.is_empty()).then_some(()) },
    ));
    phase("authority-deletion", &ent.url, &auth.url, &requested);
    rt.block_on(wait_for(60, "审核通过 on the enterprise", || async {
        let r = c.licence_requests(None).await.ok()?;
        r.iter().any(|r| r.status == "approved").then_some(())
    }));
    let deleted = phase("enterprise-deleted", &ent.url, &auth.url, &requested);
    let d: serde_json::Value = serde_json::from_str(&deleted).unwrap();
    node_pdf_holds_the_licence(d["deleted_pdf"].as_str().unwrap(), no, "已删证");
}

/// `pdfinfo`'s fields of a PDF (poppler-utils; .ci/run installs it).
fn pdf_info(path: &str) -> std::collections::HashMap<String, String> {
    let out = Command::new("pdfinfo")
        .arg(path)
        .output()
        .expect("pdfinfo (poppler-utils) is required: apt-get install -y poppler-utils");
    assert!(out.status.success(), "{path} does not open: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The node's PDF of licence `no` opens as one A4 page made by the node, its text holds
/// the number, the commodity in Chinese and the `standing`, and its QR code, read back from
/// the page rendered by poppler, is this licence.
fn node_pdf_holds_the_licence(path: &str, no: &str, standing: &str) {
    let info = pdf_info(path);
    assert_eq!(info["Pages"], "1", "{info:?}");
    assert_eq!(
        info["Producer"], "exlic",
        "made by the node, not a browser: {info:?}"
    );
    assert!(info["Page size"].contains("(A4)"), "{info:?}");
    let text = Command::new("pdftotext")
        .args([path, "-"])
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout);
    for want in [no, "柠檬酸", "中华人民共和国出口许可证", standing] {
        assert!(text.contains(want), "{want} in the PDF's text:\n{text}");
    }
    let png = format!("{path}.png");
    let out = Command::new("pdftoppm")
        // The right half of the page's lower part, where box 20 holds the code, at 300 dpi
        // (a whole page at that resolution would be scaled down before decoding).
        .args([
            "-r", "300", "-x", "1240", "-y", "1000", "-W", "1240", "-H", "2000",
        ])
        .args(["-png", "-singlefile", path, png.trim_end_matches(".png")])
        .output()
        .expect("pdftoppm");
    assert!(out.status.success(), "{out:?}");
    let qr = exlic_node::ui::qr_scan::read(&std::fs::read(&png).unwrap())
        .expect("the QR code on the PDF reads back");
    let payload = exlic_client::licence_qr::QrPayload::parse(&qr).expect("an e-licence QR text");
    let named = match payload {
        exlic_client::licence_qr::QrPayload::Full(file) => {
            exlic_node::ui::enterprise::claimed_no(&file).unwrap_or_default()
        }
        exlic_client::licence_qr::QrPayload::Ref { licence_no, .. } => licence_no,
    };
    assert_eq!(named, no, "the QR code is this licence's");
}
