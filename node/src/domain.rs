//! The licence domain: reference data, validation rules, totals, numbering and the
//! application lifecycle.
//!
//! **Architecture invariant:** nothing under `domain` does I/O. No redb, tokio, axum or
//! file access, and no reading of the system clock: the current time comes in as an
//! argument. The `domain_does_no_io` test below enforces the imports.

pub mod certificates;
pub mod customs;
pub mod field_paths;
pub mod issuing;
pub mod licence_request;
pub mod lifecycle;
pub mod numbering;
pub mod reference;
pub mod replication;
pub mod review;
pub mod rules;
pub mod totals;

#[cfg(test)]
mod tests {
    #[test]
    fn domain_does_no_io() {
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/domain"
        ))];
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        assert!(files.len() >= 5);
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            for banned in [
                "redb::",
                "tokio::",
                "axum::",
                "std::fs",
                "std::net",
                "SystemTime::now",
                "Timestamp::now",
                "Zoned::now",
            ] {
                let code: String = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                assert!(!code.contains(banned), "{} uses {banned}", path.display());
            }
        }
    }
}
