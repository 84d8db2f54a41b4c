//! Crash safety: the real `exlic` binary is SIGKILLed at random moments while two writers
//! create, edit, attach and seal through the API. After every kill the store passes
//! `exlic check` (redb integrity, indexes consistent with documents) and, after restart,
//! every acknowledged write is there, intact; an unacknowledged one is either wholly there
//! or wholly absent. Rounds: `EXLIC_CRASH_ROUNDS` (default 20).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exlic_client::DocId;
use exlic_client::client::Client;
use exlic_client::seal;
use exlic_client::status::ApplicationStatus;
use exlic_tests::*;

#[derive(Debug, Default, Clone)]
struct Expect {
    /// Remarks acknowledged last, and one sent but not acknowledged.
    remarks: String,
    remarks_in_flight: Option<String>,
    /// Attachments acknowledged: sha256 → bytes.
    attachments: HashMap<String, Vec<u8>>,
    /// 申请表号 once a seal was acknowledged.
    sealed: Option<String>,
    seal_in_flight: bool,
}

type Ledger = Arc<Mutex<HashMap<DocId, Expect>>>;

async fn writer(c: Client, ledger: Ledger, seed: u64) {
    let mut n = seed * 1_000_000;
    loop {
        n += 1;
        let mine: Vec<(DocId, Expect)> = {
            let l = ledger.lock().unwrap();
            l.iter()
                .filter(|(id, e)| {
                    id.0[0] % 2 == (seed % 2) as u8 && e.sealed.is_none() && !e.seal_in_flight
                })
                .map(|(id, e)| (*id, e.clone()))
                .collect()
        };
        let roll = random_below(10);
        let result = if mine.is_empty() || roll < 2 {
            let mut form = full_form();
            form.remarks = format!("r{n}");
            match c.create_application(&form).await {
                Ok(v) => {
                    ledger.lock().unwrap().insert(
                        v.id,
                        Expect {
                            remarks: form.remarks,
                            ..Default::default()
                        },
                    );
                    Ok(())
                }
                Err(e) => Err(e),
            }
        } else {
            let (id, e) = &mine[random_below(mine.len() as u64) as usize];
            let id = *id;
            if roll < 6 {
                let value = format!("r{n}");
                ledger
                    .lock()
                    .unwrap()
                    .get_mut(&id)
                    .unwrap()
                    .remarks_in_flight = Some(value.clone());
                match c
                    .patch_application(id, &serde_json::json!({ "remarks": value }))
                    .await
                {
                    Ok(_) => {
                        let mut l = ledger.lock().unwrap();
                        let x = l.get_mut(&id).unwrap();
                        x.remarks = value;
                        x.remarks_in_flight = None;
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            } else if roll < 9 || e.attachments.is_empty() {
                let bytes = random_bytes(1 + random_below(300_000) as usize);
                match c
                    .upload_attachment(
                        id,
                        &format!("f{n}.bin"),
                        "application/octet-stream",
                        bytes.clone(),
                    )
                    .await
                {
                    Ok(a) => {
                        ledger
                            .lock()
                            .unwrap()
                            .get_mut(&id)
                            .unwrap()
                            .attachments
                            .insert(a.sha256, bytes);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            } else {
                ledger.lock().unwrap().get_mut(&id).unwrap().seal_in_flight = true;
                match c.seal(id, EKEY_PIN).await {
                    Ok(r) => {
                        let mut l = ledger.lock().unwrap();
                        let x = l.get_mut(&id).unwrap();
                        x.sealed = Some(r.application_no);
                        x.seal_in_flight = false;
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
        };
        if let Err(e) = result {
            if e.api().is_some() {
                panic!("the node refused a valid write: {e}");
            }
            return; // connection gone: the node was killed
        }
    }
}

async fn verify(c: &Client, ledger: &Ledger, key: &[u8; 32]) {
    let expected: Vec<(DocId, Expect)> = ledger
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    let mut observed = Vec::new();
    for (id, e) in &expected {
        let v = c
            .application(*id)
            .await
            .unwrap_or_else(|err| panic!("acknowledged application {id} lost: {err}"));
        let ok_remarks =
            v.form.remarks == e.remarks || Some(&v.form.remarks) == e.remarks_in_flight.as_ref();
        assert!(
            ok_remarks,
            "{id}: remarks {:?}, acknowledged {:?}",
            v.form.remarks, e.remarks
        );
        let have: BTreeSet<&str> = v.attachments.iter().map(|a| a.sha256.as_str()).collect();
        for (sha, bytes) in &e.attachments {
            assert!(
                have.contains(sha.as_str()),
                "{id}: acknowledged attachment {sha} lost"
            );
            let got = c.download_attachment(*id, sha).await.unwrap();
            assert!(got == *bytes, "{id}: attachment {sha} damaged");
        }
        match &e.sealed {
            Some(no) => {
                assert_eq!(
                    v.status,
                    ApplicationStatus::Sealed,
                    "{id}: acknowledged seal lost"
                );
                assert_eq!(v.application_no.as_ref(), Some(no));
            }
            None if !e.seal_in_flight => assert_eq!(v.status, ApplicationStatus::Draft, "{id}"),
            None => {}
        }
        if v.status == ApplicationStatus::Sealed {
            let sub = c.sealed_submission(*id).await.unwrap();
            let files: Vec<Vec<u8>> = {
                let mut fs = Vec::new();
                for a in &v.attachments {
                    fs.push(c.download_attachment(*id, &a.sha256).await.unwrap());
                }
                fs
            };
            seal::verify(&sub, key, |h| {
                files.iter().find(|f| seal::sha256(f) == *h).cloned()
            })
            .unwrap_or_else(|err| panic!("{id}: seal does not verify after crash: {err}"));
        }
        observed.push((*id, v));
    }
    // Every listed row is a readable application (no dangling index entries).
    for id in all_ids(c).await {
        c.application(id).await.unwrap();
    }
    // In-flight writes are now resolved one way or the other: adopt what the node holds.
    let mut l = ledger.lock().unwrap();
    for (id, v) in observed {
        let e = l.get_mut(&id).unwrap();
        e.remarks = v.form.remarks;
        e.remarks_in_flight = None;
        e.seal_in_flight = false;
        if v.status == ApplicationStatus::Sealed {
            e.sealed = v.application_no;
        }
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_write() {
    let rounds: usize = std::env::var("EXLIC_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    init_enterprise(dir.path());
    let ledger: Ledger = Arc::default();
    let rt = runtime();
    let mut key = [0u8; 32];
    let mut acknowledged_total = 0;
    for round in 0..rounds {
        let node = Node::start(dir.path());
        let c = node.client();
        rt.block_on(async {
            if round == 0 {
                hex::decode_to_slice(c.node_info().await.unwrap().device_public_key, &mut key)
                    .unwrap();
            } else {
                verify(&c, &ledger, &key).await;
            }
        });
        let writers: Vec<_> = (0..2)
            .map(|s| rt.spawn(writer(c.clone(), ledger.clone(), s + 2 * round as u64)))
            .collect();
        std::thread::sleep(Duration::from_millis(150 + random_below(600)));
        node.kill();
        for w in writers {
            rt.block_on(w).expect("writer task panicked");
        }
        check_store(dir.path());
        acknowledged_total = ledger.lock().unwrap().len();
    }
    let node = Node::start(dir.path());
    rt.block_on(verify(&node.client(), &ledger, &key));
    node.stop();
    assert!(
        acknowledged_total >= rounds,
        "too few writes to mean anything: {acknowledged_total}"
    );
    eprintln!("{rounds} kills, {acknowledged_total} applications verified");
}
