//! A replicated office in three `exlic` processes on 127.0.0.1, Raft between them over
//! libp2p: an enterprise submits to whichever replica answers and officers decide on the
//! followers; the leader is killed (-9) and the survivors elect another and go on issuing;
//! the killed replica restarts from its redb file and catches up. A chief's account made
//! through a follower (`POST /api/v1/staff`) decides after the kill. Afterwards every replica
//! holds the same office: each submission once, each licence serial once and gap-free, the
//! same log. A fourth replica joins the running office and the leader leaves it.

use exlic_tests::cluster::*;
use exlic_tests::*;

#[test]
fn an_office_of_three_replicas_goes_on_issuing_when_its_leader_is_killed() {
    let root = tempfile::tempdir().unwrap();
    let rt = runtime();
    let Prepared {
        dirs, enterprise, ..
    } = rt.block_on(prepare(root.path(), false));
    // Offline writes to a replica are refused: its store changes only through the log.
    let refused = exlic()
        .args(["authority", "invite", "--data-dir"])
        .arg(&dirs[0])
        .args(["--uscc", USCC, "--name", NAME])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("replica 1"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let mut nodes: Vec<Option<Node>> = dirs.iter().map(|d| Some(Node::start(d))).collect();
    let ent = Node::start(&enterprise);
    let c = ent.client();
    let mut numbers = Vec::new();
    let t0 = std::time::Instant::now();
    let phase = |what: &str| eprintln!("{:6.1} s  {what}", t0.elapsed().as_secs_f64());
    let killed = rt.block_on(async {
        let all: Vec<&Node> = nodes.iter().flatten().collect();
        let l = leader(&all, None).await as usize;
        // 初审 on one follower, 复审 on the other: each forwards its decision to the leader.
        let followers: Vec<&Node> = (1..=3).filter(|i| *i != l).map(|i| all[i - 1]).collect();
        let (officer, chief) = (followers[0].client_as("wang"), followers[1].client_as("li"));
        numbers.push(issue(&c, &officer, &chief).await);
        // A chief's account made on a follower: a command every replica applies.
        followers[0]
            .client_as("admin")
            .put_staff("zhao", "赵", "chief", STAFF_PASSWORD)
            .await
            .expect("the follower takes the account");
        l
    });

    // kill -9 of the leader: the other two elect a new one and go on.
    phase("first licence issued");
    nodes[killed - 1].take().unwrap().kill();
    rt.block_on(async {
        let up: Vec<&Node> = nodes.iter().flatten().collect();
        let started = std::time::Instant::now();
        leader(&up, Some(killed as u64)).await;
        eprintln!(
            "a new leader {:.1} s after the kill",
            started.elapsed().as_secs_f64()
        );
        // 复审 by the chief whose account was made through a follower before the kill.
        let (officer, chief) = (up[0].client_as("wang"), up[1].client_as("zhao"));
        numbers.push(issue(&c, &officer, &chief).await);
        // The new leader shows the killed replica unheard from and behind.
        let l = leader(&up, Some(killed as u64)).await;
        let on_leader = up.iter().find(|n| n.dir == dirs[l as usize - 1]).unwrap();
        let s = status(on_leader).await.expect("the leader answers");
        assert_eq!(s.role, "leader");
        let gone = s.replicas.iter().find(|r| r.id == killed as u64).unwrap();
        assert_eq!(gone.matched, None, "{s:?}");
        assert!(gone.lag.unwrap() > 0, "{s:?}");
    });

    // The killed replica restarts from its redb file and catches up.
    phase("second licence issued after the kill");
    nodes[killed - 1] = Some(Node::start(&dirs[killed - 1]));
    rt.block_on(async {
        let all: Vec<&Node> = nodes.iter().flatten().collect();
        applied_alike(&all, 30).await;
    });
    drop(c);
    phase("the restarted replica caught up");
    ent.stop();
    for n in nodes.into_iter().flatten() {
        n.stop();
    }

    // Serials once each and gap-free; the same office on every replica.
    let serials: Vec<&str> = numbers.iter().map(|n| &n[n.len() - 6..]).collect();
    assert_eq!(serials, ["000001", "000002"], "{numbers:?}");
    phase("all stopped");
    let first = same_office(&dirs);
    let licences = &first.iter().find(|(t, _)| t == "licences").unwrap().1;
    assert_eq!(licences.len(), 2, "each licence once");
    let cases = &first.iter().find(|(t, _)| t == "cases").unwrap().1;
    assert_eq!(cases.len(), 2, "each submission once");
}

/// A replica whose Raft address is taken stops at start, naming the address and why,
/// rather than running with no listener while the others cannot reach it.
#[test]
fn a_replica_whose_raft_port_is_taken_says_which_address_and_why() {
    let root = tempfile::tempdir().unwrap();
    let rt = runtime();
    let Prepared { dirs, .. } = rt.block_on(prepare(root.path(), false));
    let config = exlic_node::config::Config::load(&dirs[1]).unwrap();
    let addr = config
        .cluster
        .as_ref()
        .and_then(|c| c.listen_addr())
        .expect("replica 2's Raft address")
        .to_owned();
    let port: u16 = addr.rsplit('/').next().unwrap().parse().unwrap();
    let _taken = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let out = exlic()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dirs[1])
        .env("EXLIC_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&addr) && err.contains("in use"), "{err}");
}

/// A fourth replica joins the running office and a founding one, the leader, leaves: the
/// new one is copied from a stopped follower (`init authority --replica-of … --raft`),
/// added by the administrator on a follower's overview page in Chromium (the form answers
/// once the new replica has caught up), and issues; the leader is then removed (`DELETE
/// /api/v1/cluster/replicas/{id}`) and the three left elect another and go on. A change
/// that breaks a rule is refused, naming the field and the rule, and changes nothing.
#[test]
fn a_replica_joins_the_running_office_and_the_leader_leaves_it() {
    let root = tempfile::tempdir().unwrap();
    let rt = runtime();
    let Prepared {
        mut dirs,
        enterprise,
        ..
    } = rt.block_on(prepare(root.path(), false));
    let mut nodes: Vec<Option<Node>> = dirs.iter().map(|d| Some(Node::start(d))).collect();
    let ent = Node::start(&enterprise);
    let c = ent.client();
    let mut numbers = Vec::new();
    let (first_leader, follower) = rt.block_on(async {
        let all: Vec<&Node> = nodes.iter().flatten().collect();
        let l = leader(&all, None).await;
        let f = (1..=3).find(|i| *i != l).unwrap();
        let on = all[f as usize - 1];
        numbers.push(issue(&c, &on.client_as("wang"), &on.client_as("li")).await);
        // Three voters are the fewest: removing one first is refused, naming the rule.
        let admin = on.client_as("admin");
        let err = admin.remove_replica(l).await.unwrap_err().to_string();
        assert!(err.contains("id") && err.contains("at least 3"), "{err}");
        let err = admin
            .add_replica(2, "/ip4/127.0.0.1/tcp/1")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("voter already"), "{err}");
        let err = admin
            .add_replica(4, "127.0.0.1:7400")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("addr") && err.contains("multiaddress"),
            "{err}"
        );
        let s = status(on).await.unwrap();
        assert_eq!(s.replicas.len(), 3, "nothing changed: {s:?}");
        (l, f)
    });

    // Replica 4: a copy of a stopped follower, which then starts again.
    nodes[follower as usize - 1].take().unwrap().stop();
    let r4 = root.path().join("r4");
    let raft4 = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let p2p4 = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let d = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    // A new replica needs where the others reach it.
    let out = exlic()
        .args(["init", "authority", "--replica-of"])
        .arg(&dirs[follower as usize - 1])
        .args(["--id", "4", "--data-dir"])
        .arg(&r4)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--raft"), "{err}");
    let said = exlic_ok(
        &[
            "init",
            "authority",
            "--replica-of",
            &d(&dirs[follower as usize - 1]),
            "--id",
            "4",
            "--data-dir",
            &d(&r4),
            "--p2p-listen",
            &p2p4,
            "--raft",
            &raft4,
        ],
        "exlic init authority --replica-of a replica",
    );
    assert!(said.contains("/api/v1/cluster/replicas"), "{said}");
    // Replica 4's own reference files differ from the office's release in force: a replica
    // never publishes them on its own (the others would not have that release).
    let own = root.path().join("r4-reference");
    std::fs::create_dir_all(&own).unwrap();
    for (name, text) in exlic_node::domain::reference::Reference::embedded().sources() {
        let text = if name == "codes.json" {
            format!("{text}\n")
        } else {
            text.clone()
        };
        std::fs::write(own.join(name), text).unwrap();
    }
    let mut config = exlic_node::config::Config::load(&r4).unwrap();
    config.reference.dir = Some(own);
    config.save(&r4).unwrap();
    nodes[follower as usize - 1] = Some(Node::start(&dirs[follower as usize - 1]));
    nodes.push(Some(Node::start(&r4)));
    dirs.push(r4);
    rt.block_on(async {
        let all: Vec<&Node> = nodes.iter().flatten().collect();
        let new = all[3];
        let s = status(new).await.expect("replica 4 answers");
        assert_eq!(s.role, "learner", "not a voter before it is added: {s:?}");
        // Added in the staff UI of a follower, which forwards the change to the leader.
        let l = leader(&all[..3], None).await;
        let via = all[(1..=3).find(|i| *i != l).unwrap() as usize - 1];
        let state = serde_json::json!({
            "via": via.url, "leader": all[l as usize - 1].url, "id": 4, "addr": raft4,
        });
        let (state, raft4) = (state.to_string(), raft4.clone());
        tokio::task::spawn_blocking(move || phase("authority-replicas", "", "", &state))
            .await
            .unwrap();
        let s = status(all[l as usize - 1]).await.unwrap();
        let four = s.replicas.iter().find(|r| r.id == 4).expect("4 is listed");
        assert!(four.voter && four.addr == raft4, "{s:?}");
        // The new replica decides, forwarding to the leader.
        numbers.push(issue(&c, &new.client_as("wang"), &new.client_as("li")).await);
        // The leader is removed; the three left elect another and go on.
        let voters = new
            .client_as("admin")
            .remove_replica(first_leader)
            .await
            .expect("the leader is removed");
        assert_eq!(voters.len(), 3);
        assert!(!voters.contains(&first_leader), "{voters:?}");
    });
    nodes[first_leader as usize - 1].take().unwrap().stop();
    let left: Vec<std::path::PathBuf> = (1..=4)
        .filter(|i| *i != first_leader)
        .map(|i| dirs[i as usize - 1].clone())
        .collect();
    rt.block_on(async {
        let up: Vec<&Node> = nodes.iter().flatten().collect();
        let l = leader(&up, Some(first_leader)).await;
        let on = up.iter().find(|n| n.dir == dirs[l as usize - 1]).unwrap();
        numbers.push(issue(&c, &on.client_as("wang"), &on.client_as("li")).await);
        applied_alike(&up, 30).await;
    });
    drop(c);
    ent.stop();
    for n in nodes.into_iter().flatten() {
        n.stop();
    }
    let serials: Vec<&str> = numbers.iter().map(|n| &n[n.len() - 6..]).collect();
    assert_eq!(serials, ["000001", "000002", "000003"], "{numbers:?}");
    let first = same_office(&left);
    let licences = &first.iter().find(|(t, _)| t == "licences").unwrap().1;
    assert_eq!(licences.len(), 3, "each licence once");
}
