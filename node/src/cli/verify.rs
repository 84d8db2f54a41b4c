//! `exlic check`, `exlic verify`, `exlic verify-seal`: the data directory's health, and
//! a licence's or a seal's verification offline.

use super::*;

pub(super) fn check(data_dir: &Path) -> anyhow::Result<()> {
    let config = Config::load(data_dir)?;
    let path = data_dir.join(STORE_FILE);
    if !Store::check_integrity(&path)? {
        bail!("{}: redb integrity check repaired damage", path.display());
    }
    if config.is_authority() {
        println!("ok: store intact");
        return Ok(());
    }
    let problems = if config.is_customs() {
        open_customs(data_dir, &config)?.check_consistency()?
    } else {
        open_enterprise(data_dir, &config, clock()?)?
            .applications
            .check_consistency()?
    };
    if problems.is_empty() {
        println!("ok: store intact, indexes and ledger consistent");
        Ok(())
    } else {
        for p in &problems {
            println!("problem: {p}");
        }
        bail!("{} consistency problem(s)", problems.len())
    }
}

/// `exlic verify`: the signature and key chain, the inclusion proof in the office's log
/// when given (co-signed by the bureau when its key is given), then the standing on this
/// machine's date (China): the statement's when given, else expiry alone. Exit 0 only for
/// a valid licence.
pub(super) fn verify_licence(
    file: &Path,
    key: &str,
    rollovers: &[PathBuf],
    standing: Option<&Path>,
    proof: Option<(&Path, Option<&str>, &str)>,
) -> anyhow::Result<()> {
    use exlic_client::standing::{Standing, State, judge};
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut pk = [0u8; 32];
    hex::decode_to_slice(key, &mut pk).context("--authority-key must be 64 hex characters")?;
    let mut trust = exlic_client::certificate::Trust::new(pk);
    for r in rollovers {
        let rec = std::fs::read(r).with_context(|| format!("reading {}", r.display()))?;
        trust
            .roll_over(&rec)
            .with_context(|| format!("{}", r.display()))?;
    }
    let l = exlic_client::licence::Licence::verify(&bytes, &trust)?;
    let logged = match proof {
        Some((p, witness, name)) => Some(check_logged(&bytes, &l, &trust, p, witness, name)?),
        None => None,
    };
    let statement = match standing {
        Some(p) => {
            let b = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            Some(
                Standing::verify_trusted(&b, &trust)
                    .with_context(|| format!("{}: the standing statement", p.display()))?,
            )
        }
        None => None,
    };
    let now = clock()?.now_ms();
    let today = china_date(now).strftime("%Y%m%d").to_string();
    let state = judge(&l, statement.as_ref(), &today)?;
    let as_of = match &statement {
        Some(s) => format!(
            "standing as of {} ({} minutes old)",
            crate::ui::when(s.as_of_ms),
            (now - s.as_of_ms).max(0) / 60_000
        ),
        None => "no standing statement given: judged by its expiry only".to_owned(),
    };
    let what = format!(
        "出口许可证 {} for {} ({}), {} {}, expires {}, issued {} by {}",
        l.licence_no,
        l.exporter[0],
        l.exporter[2],
        l.commodity[0],
        l.commodity[1],
        l.expiry,
        l.issue_date,
        l.agency[1]
    );
    if state != State::Valid {
        let since = statement
            .as_ref()
            .filter(|s| s.state == state)
            .map(|s| format!(" since {}", crate::ui::when(s.since_ms)))
            .unwrap_or_else(|| format!(" (expiry {}, today {today})", l.expiry));
        bail!(
            "not valid: {} ({}){since}; {as_of}; the signature is good: {what}",
            state.code(),
            state.zh()
        );
    }
    match logged {
        Some(line) => println!("valid: {what}; {as_of}; {line}"),
        None => println!("valid: {what}; {as_of}; no log proof given"),
    }
    Ok(())
}

/// Checks that licence file `bytes` is in its office's log by the proof in `path`: the
/// checkpoint signed by the office's chain (and co-signed by `witness` when given), the
/// audit path to its root. Returns what to print.
fn check_logged(
    bytes: &[u8],
    l: &exlic_client::licence::Licence,
    trust: &exlic_client::certificate::Trust,
    path: &Path,
    witness: Option<&str>,
    witness_name: &str,
) -> anyhow::Result<String> {
    use exlic_client::translog::{self, Entry, EntryKind, InclusionProof, Witness};
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let proof = InclusionProof::decode(&raw)
        .with_context(|| format!("{}: not an inclusion proof", path.display()))?;
    let witness = match witness {
        Some(hexkey) => {
            let mut k = [0u8; 32];
            hex::decode_to_slice(hexkey, &mut k)
                .context("--witness-key must be 64 hex characters")?;
            Some(Witness {
                name: translog::witness_name(witness_name),
                key: k,
            })
        }
        None => None,
    };
    let origin = translog::origin(&l.agency[0]);
    let cp = proof
        .verify(
            &Entry::new(EntryKind::Licence, bytes),
            &origin,
            trust,
            witness.as_ref(),
        )
        .with_context(|| format!("{}: the log proof", path.display()))?;
    Ok(format!(
        "in the log {origin} as entry {} of {} (checkpoint of {}{})",
        proof.index + 1,
        cp.head.size,
        crate::ui::when(cp.at_ms),
        if cp.witnessed {
            ", co-signed by the bureau"
        } else {
            ""
        }
    ))
}

pub(super) fn verify_seal(file: &Path, key: &str, attachments: &[PathBuf]) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut pk = [0u8; 32];
    hex::decode_to_slice(key, &mut pk).context("--key must be 64 hex characters")?;
    let mut files = Vec::new();
    for p in attachments {
        files.push(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?);
    }
    let sub = exlic_client::seal::SealedSubmission::decode(&bytes)?;
    let payload = exlic_client::seal::verify(&sub, &pk, |h| {
        files
            .iter()
            .find(|f| exlic_client::seal::sha256(f) == *h)
            .cloned()
    })?;
    println!(
        "valid: 申请表号 {} revision {} sealed by {} for {}",
        payload.application_no,
        payload.revision,
        hex::encode(payload.device_key),
        payload.enterprise_uscc
    );
    Ok(())
}
