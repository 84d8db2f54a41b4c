//! What the benchmark binaries share: their command-line numbers, and the raw baselines
//! each figure is reported against, measured in the same run (ed25519 verification on one
//! core, redb durable commits) with the process's CPU time.

#![allow(dead_code)] // each binary uses its own part

use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};

/// The number after `--name` on the command line, else `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Raw ed25519 `verify_strict` per second on one core, over ~`dur`.
pub fn verify_rate(dur: Duration) -> f64 {
    let k = SigningKey::from_bytes(&[9; 32]);
    let msg = [7u8; 200];
    let sig = k.sign(&msg);
    let vk = k.verifying_key();
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < dur {
        for _ in 0..256 {
            vk.verify_strict(&msg, &sig).expect("valid");
        }
        n += 256;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// CPU time this process has used so far (user + system), seconds, from /proc (Linux);
/// zero elsewhere.
pub fn cpu_seconds() -> f64 {
    cpu_seconds_of("self")
}

/// CPU time the process `pid` (a number or `self`) has used so far, as [`cpu_seconds`].
pub fn cpu_seconds_of(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// A figure in KiB from `/proc/<pid>/status` (`pid` a number or `self`), such as
/// `VmRSS:` or `VmHWM:`; `None` where there is no such file or line (not Linux).
pub fn status_kib(pid: &str, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Raw redb durable commits per second of one small row each.
pub fn commit_rate(dir: &std::path::Path, n: usize) -> f64 {
    let db = redb::Database::create(dir.join("baseline.redb")).expect("redb");
    const T: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("t");
    let row = [5u8; 600];
    let t = Instant::now();
    for i in 0..n as u64 {
        let w = db.begin_write().expect("write");
        w.open_table(T)
            .expect("table")
            .insert(i, row.as_slice())
            .expect("insert");
        w.commit().expect("commit");
    }
    n as f64 / t.elapsed().as_secs_f64()
}
