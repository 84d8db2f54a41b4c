//! The README's first command: `exlic demo` starts an authority, an enterprise and a
//! customs node on this machine, and an issued licence is there to click through: the
//! demo's first reported application passes both reviews at the office and its licence
//! reaches the enterprise node.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use exlic_tests::*;

#[test]
fn the_demo_starts_three_nodes_with_a_licence_to_click_through() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(exlic_bin())
        .args(["demo", "--data-dir"])
        .arg(dir.path().join("demo"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let (mut enterprise, mut issued, mut seen) = (None, None, Vec::new());
    while enterprise.is_none() || issued.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("the demo went quiet; it said:\n{}", seen.join("\n")));
        if let Some(u) = line.strip_prefix("enterprise: ") {
            enterprise = Some(u.to_owned());
        }
        if line.starts_with("demo: licence issued on") {
            issued = Some(line.clone());
        }
        assert!(!line.contains("no licence issued"), "{line}");
        seen.push(line);
    }
    let url = enterprise.unwrap();
    let rt = runtime();
    rt.block_on(async {
        let mut c = exlic_client::client::Client::new(url.clone());
        c.login("zhang", "demo-password-2468").await.unwrap();
        let licences = wait_for(60, "the demo's licence on the enterprise node", || async {
            let l = c.licences().await.ok()?;
            (!l.is_empty()).then_some(l)
        })
        .await;
        assert_eq!(licences.len(), 1, "{licences:?}");
    });
    child.kill().ok();
    child.wait().ok();
}
