//! `exlic-bench-ekey`: the cost of one PIN guess against the e-key's Argon2id parameters on
//! this machine, and what it means for brute force. One JSON line.

use std::time::Instant;

use exlic_node::ekey::{self, KdfParams};

fn main() {
    let p = KdfParams::default();
    let sealed = ekey::seal(&[7; 32], "246810", p).expect("seal");
    let mut ms = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let _ = ekey::open(&sealed, "135790");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let per_guess_ms = ms[ms.len() / 2];
    let core_seconds = |space: f64| space * per_guess_ms / 1000.0;
    let years = |s: f64| s / (365.25 * 86400.0);
    println!(
        "{}",
        serde_json::json!({
            "bench": "ekey",
            "argon2id": {"m_kib": p.m_kib, "t": p.t, "p": p.p},
            "ms_per_guess_median": (per_guess_ms * 10.0).round() / 10.0,
            "pin6_space": 1e6,
            "pin6_core_days_to_exhaust": (core_seconds(1e6) / 86400.0 * 10.0).round() / 10.0,
            "passphrase_4_words_of_7776_core_years": years(core_seconds(7776f64.powi(4))).round(),
            "online_guesses_before_lock": ekey::MAX_FAILURES,
        })
    );
}
