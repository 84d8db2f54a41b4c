//! `exlic-node`: the exlic node — storage, domain rules, roles and the HTTP API.
//!
//! * [`domain`] — the licence domain, free of I/O (reference data, rules V01–V24,
//!   totals, numbering, lifecycle);
//! * [`store`] — the redb file: Automerge documents, attachment blobs, index tables,
//!   the change sequence, seals and the outbox;
//! * [`enterprise`] — the enterprise role: what a user can do, as transactions;
//! * [`authority`] — the authority role: registry, invites, replicas, submissions;
//! * [`replica`] — Automerge's per-document sync step, below the roles that use it;
//! * [`sync`] — libp2p transport and the drivers that run the roles' sync over it;
//! * [`accounts`] — who signs in to a node: passwords, throttle, sessions, audit;
//! * [`ekey`] — the PIN-protected enterprise master key (e-key) and its lockout;
//! * [`api`] — the axum router for `/api/v1/` and its OpenAPI document;
//! * [`config`], [`clock`], [`cli`] — the shell around them.

/// jemalloc for every program built on the node (the `exlic` binary, the benches, the
/// tests). With glibc's allocator, loading Automerge documents fragments the heap badly:
/// 1,000 documents holding 26 MB live kept 137 MB resident, and 1.1 GB after saving each
/// once; jemalloc keeps them at 37 MB and makes a first sync's loading faster.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod accounts;
pub mod api;
pub mod authority;
pub mod bureau;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod customs;
pub mod domain;
pub mod ekey;
pub mod enterprise;
pub mod par;
pub mod random;
pub mod replica;
#[cfg(test)]
mod simulation;
pub mod store;
pub mod sync;
pub mod tls;
pub mod ui;
pub mod upstream;

#[cfg(test)]
mod tests {
    //! Architecture invariant: layers only point down. Each top-level module has a rank; a
    //! module may name (`crate::…`) only modules of a lower rank, so no role imports the
    //! UI, the API or the network drivers, and the two roles never import each other.

    /// Lowest first. Modules on one line share a rank and may not import each other.
    const LAYERS: &[&[&str]] = &[
        &["clock", "par", "random", "tls"],
        &["domain"],
        &["store"],
        &["replica", "ekey", "accounts", "upstream", "cluster"],
        &["authority", "enterprise", "customs", "bureau"],
        &["sync", "simulation"],
        &["api"],
        &["ui"],
        &["config"],
        &["cli"],
    ];

    fn rank(module: &str) -> usize {
        LAYERS
            .iter()
            .position(|l| l.contains(&module))
            .unwrap_or_else(|| panic!("module {module} has no layer in LAYERS"))
    }

    /// Every `.rs` file of top-level module `m`: `src/m.rs` and everything under `src/m/`.
    fn files_of(src: &std::path::Path, m: &str) -> Vec<std::path::PathBuf> {
        let mut files = vec![src.join(format!("{m}.rs"))];
        let mut dirs = vec![src.join(m)];
        while let Some(dir) = dirs.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in rd {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        files
    }

    #[test]
    fn layers_only_point_down() {
        let src = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
        let mut checked = 0;
        for entry in std::fs::read_dir(src).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let Some(m) = name.strip_suffix(".rs") else {
                continue;
            };
            if matches!(m, "lib" | "main") {
                continue;
            }
            let own = rank(m);
            for path in files_of(src, m) {
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                    for (i, _) in line.match_indices("crate::") {
                        let used: String = line[i + 7..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        assert!(
                            !used.is_empty(),
                            "{}: name each crate path in full (not `crate::{{…}}`) so this scan sees it",
                            path.display()
                        );
                        if used == m {
                            continue;
                        }
                        assert!(
                            rank(&used) < own,
                            "{} ({m}, layer {own}) imports crate::{used} (layer {})",
                            path.display(),
                            rank(&used)
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(
            checked > 100,
            "only {checked} imports seen: is the scan broken?"
        );
    }
}
