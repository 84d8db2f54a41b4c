//! The README's first command: `exlic demo` starts an authority, an enterprise and a
//! customs node on this machine, and an issued licence is there to click through: the
//! demo's first reported application passes both reviews at the office and its licence
//! reaches the enterprise node. With `--offices 3`: three offices, two enterprises, and a
//! bureau that co-signs every office's log.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use exlic_tests::*;

/// A running `exlic demo` with its output lines as they come.
struct Demo {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Demo {
    fn start(dir: &std::path::Path, extra: &[&str]) -> Self {
        let mut child = std::process::Command::new(exlic_bin())
            .args(["demo", "--data-dir"])
            .arg(dir)
            .args(extra)
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
        Self {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Reads lines until every prefix in `wanted` has been seen (a prefix given twice
    /// needs two lines); the rest of each such line, in `wanted`'s order. A demo that says it issued no licence fails the test.
    fn wait_for(&mut self, wanted: &[&str]) -> Vec<String> {
        let mut found: Vec<Option<String>> = vec![None; wanted.len()];
        while found.iter().any(Option::is_none) {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| {
                    panic!("the demo went quiet; it said:\n{}", self.seen.join("\n"))
                });
            assert!(!line.contains("no licence issued"), "{line}");
            for (w, f) in wanted.iter().zip(found.iter_mut()) {
                if f.is_none()
                    && let Some(rest) = line.strip_prefix(w)
                {
                    *f = Some(rest.to_owned());
                    break;
                }
            }
            self.seen.push(line);
        }
        found.into_iter().map(Option::unwrap).collect()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[test]
fn the_demo_starts_three_nodes_with_a_licence_to_click_through() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Demo::start(&dir.path().join("demo"), &[]);
    let found = demo.wait_for(&["enterprise: ", "demo: licence issued on"]);
    let url = found[0].clone();
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
}

#[test]
fn the_demo_with_three_offices_has_two_enterprises_and_a_bureau_witnessing_every_log() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    let mut demo = Demo::start(&root, &["--offices", "3"]);
    let found = demo.wait_for(&[
        "authority: ",
        "office XM: ",
        "office SH: ",
        "enterprise: ",
        "enterprise 2: ",
        "customs: ",
        "bureau: ",
    ]);
    let issued = demo.wait_for(&["demo: licence issued on", "demo: licence issued on"]);
    assert!(issued.iter().any(|l| l.contains(" at AA ")), "{issued:?}");
    assert!(issued.iter().any(|l| l.contains(" at SH ")), "{issued:?}");
    let bureau = found[6].clone();
    let rt = runtime();
    rt.block_on(async {
        // The second enterprise's licence comes from the Shanghai office.
        let mut c = exlic_client::client::Client::new(found[4].clone());
        c.login("zhang", "demo-password-2468").await.unwrap();
        let licences = wait_for(60, "the second enterprise's licence", || async {
            let l = c.licences().await.ok()?;
            (!l.is_empty()).then_some(l)
        })
        .await;
        assert!(licences[0].licence_no.contains("SH"), "{licences:?}");
        // It is enrolled with 许可证局 too, for the commodities only that office issues.
        let st = wait_for(60, "the second enterprise enrolled with AA", || async {
            let st = c.sync_status().await.ok()?;
            st.offices
                .iter()
                .any(|o| o.agency_code == "AA" && o.enrolled)
                .then_some(st)
        })
        .await;
        assert_eq!(st.offices.len(), 1, "{st:?}");

        // The customs district follows every office: each has enrolled it.
        let customs = found[5].clone();
        let http = exlic_client::client::http_client(
            &std::fs::read(root.join("customs/tls/cert.pem")).unwrap(),
        )
        .unwrap();
        let followed = wait_for(60, "customs enrolled with all three offices", || async {
            let v: serde_json::Value = http
                .get(format!("{customs}/api/v1/node"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let o = v["offices"].as_array()?.clone();
            o.iter()
                .all(|o| o["online"] == true && o["standing_as_of_ms"].as_i64() > Some(0))
                .then_some(o)
        })
        .await;
        let codes: Vec<&str> = followed
            .iter()
            .map(|o| o["agency_code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["AA", "XM", "SH"]);

        // The bureau follows all three offices and co-signs each one's log.
        let http = exlic_client::client::http_client(
            &std::fs::read(root.join("bureau/tls/cert.pem")).unwrap(),
        )
        .unwrap();
        let r = http
            .post(format!("{bureau}/api/v1/session"))
            .json(&serde_json::json!({"login": "sun", "password": "demo-password-2468"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let token = r.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let offices = wait_for(
            90,
            "every office's log read, the two with licences co-signed",
            || async {
                let v: serde_json::Value = http
                    .get(format!("{bureau}/api/v1/offices"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                // XM has no enterprise and so an empty log: read, nothing to co-sign.
                let all = v.as_array()?;
                (all.len() == 3
                    && all.iter().all(|o| {
                        o["halted"] == ""
                            && o["last_read_ms"].as_i64() > Some(0)
                            && (o["agency"] == "XM" || o["cosigned"].as_u64() > Some(0))
                    }))
                .then_some(v)
            },
        )
        .await;
        let agencies: Vec<&str> = offices
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["agency"].as_str().unwrap())
            .collect();
        assert_eq!(agencies, ["AA", "XM", "SH"]);
        let alarms: serde_json::Value = http
            .get(format!("{bureau}/api/v1/alarms"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(alarms, serde_json::json!([]));
    });
    drop(demo);
    // A demo directory made with three offices is not restarted as one.
    let out = std::process::Command::new(exlic_bin())
        .args(["demo", "--data-dir"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--offices 3"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
