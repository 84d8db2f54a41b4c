//! Reference data with fast look-ups: code lists, currencies, issuing agencies and yearly
//! catalogues, and the cell that holds the data in force.
//!
//! The data ships as versioned JSON files in `node/reference/` (embedded into the binary);
//! a node may be pointed at a directory with newer files instead, and an office publishes
//! its data as signed releases (`exlic_client::reference_release`) that enrolled
//! enterprises validate against. [`Reference::from_sources`] checks the data is usable (no
//! duplicate codes, parseable rates, unique agency blocks) before anything uses it.
//!
//! A yearly catalogue stays in force until the next year's is published: a quota year
//! without a catalogue of its own uses the newest earlier one ([`Reference::catalogue_year`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use std::sync::{Arc, RwLock};

use exlic_client::reference::{Catalogue, CatalogueEntry, Country, ReferenceData};
use exlic_client::reference_release::ReferenceRelease;
use rust_decimal::Decimal;

/// The files built into the binary: `(file name, contents)`.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("codes.json", include_str!("../../reference/codes.json")),
    (
        "catalogue-2024.json",
        include_str!("../../reference/catalogue-2024.json"),
    ),
    (
        "catalogue-2025.json",
        include_str!("../../reference/catalogue-2025.json"),
    ),
    (
        "catalogue-2026.json",
        include_str!("../../reference/catalogue-2026.json"),
    ),
    (
        "catalogue-2027.json",
        include_str!("../../reference/catalogue-2027.json"),
    ),
];

/// Why reference data could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// A file is not valid JSON of the expected shape.
    #[error("{file}: {source}")]
    Parse {
        /// The file.
        file: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// `codes.json` is missing.
    #[error("codes.json is missing")]
    MissingCodes,
    /// The data is inconsistent.
    #[error("{file}: {problem}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
    },
}

/// Loaded reference data with indexes.
#[derive(Debug)]
pub struct Reference {
    data: ReferenceData,
    /// The files it was loaded from, sorted by name.
    sources: Vec<(String, String)>,
    /// The office release it came from: number and publication time (Unix ms).
    release: Option<(u32, i64)>,
    agency_blocks: HashMap<String, u8>,
    trade_modes: HashSet<String>,
    payment_modes: HashSet<String>,
    transport_modes: HashSet<String>,
    districts: HashSet<String>,
    units: HashSet<String>,
    countries: HashMap<String, Country>,
    usd_rates: HashMap<String, Decimal>,
    catalogues: BTreeMap<u16, HashMap<String, CatalogueEntry>>,
}

fn unique(
    file: &str,
    what: &str,
    codes: impl Iterator<Item = String>,
) -> Result<HashSet<String>, ReferenceError> {
    let mut set = HashSet::new();
    for c in codes {
        if !set.insert(c.clone()) {
            return Err(ReferenceError::Invalid {
                file: file.into(),
                problem: format!("duplicate {what} code {c}"),
            });
        }
    }
    Ok(set)
}

impl Reference {
    /// The data built into the binary, parsed once per process and shared.
    pub fn embedded_shared() -> std::sync::Arc<Self> {
        static EMBEDDED_ONCE: std::sync::OnceLock<std::sync::Arc<Reference>> =
            std::sync::OnceLock::new();
        EMBEDDED_ONCE
            .get_or_init(|| std::sync::Arc::new(Self::embedded()))
            .clone()
    }

    /// The data built into the binary.
    pub fn embedded() -> Self {
        Self::from_sources(EMBEDDED.iter().map(|(n, t)| (n.to_string(), t.to_string())))
            .expect("embedded reference data is valid")
    }

    /// Loads `codes.json` and any `catalogue-YYYY.json` from `(file name, contents)` pairs.
    pub fn from_sources(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ReferenceError> {
        let mut codes: Option<ReferenceData> = None;
        let mut catalogues = Vec::new();
        let mut sources: Vec<(String, String)> = files.into_iter().collect();
        sources.sort();
        for (name, text) in sources.iter().cloned() {
            if name == "codes.json" {
                codes =
                    Some(
                        serde_json::from_str(&text).map_err(|source| ReferenceError::Parse {
                            file: name.clone(),
                            source,
                        })?,
                    );
            } else if name.starts_with("catalogue-") && name.ends_with(".json") {
                let c: Catalogue =
                    serde_json::from_str(&text).map_err(|source| ReferenceError::Parse {
                        file: name.clone(),
                        source,
                    })?;
                catalogues.push((name, c));
            }
        }
        let mut data = codes.ok_or(ReferenceError::MissingCodes)?;
        let f = "codes.json";
        let trade_modes = unique(
            f,
            "trade mode",
            data.trade_modes.iter().map(|c| c.code.clone()),
        )?;
        let payment_modes = unique(
            f,
            "payment mode",
            data.payment_modes.iter().map(|c| c.code.clone()),
        )?;
        let transport_modes = unique(
            f,
            "transport mode",
            data.transport_modes.iter().map(|c| c.code.clone()),
        )?;
        let districts = unique(
            f,
            "customs district",
            data.customs_districts.iter().map(|c| c.code.clone()),
        )?;
        let units = unique(f, "unit", data.units.iter().map(|c| c.code.clone()))?;
        unique(f, "country", data.countries.iter().map(|c| c.code.clone()))?;
        unique(f, "agency", data.agencies.iter().map(|c| c.code.clone()))?;
        unique(
            f,
            "agency block",
            data.agencies.iter().map(|a| format!("{:02}", a.block)),
        )?;
        if let Some(a) = data.agencies.iter().find(|a| a.block > 99) {
            return Err(ReferenceError::Invalid {
                file: f.into(),
                problem: format!("agency {} has block {}, above 99", a.code, a.block),
            });
        }
        let agency_blocks = data
            .agencies
            .iter()
            .map(|a| (a.code.clone(), a.block))
            .collect();
        let countries = data
            .countries
            .iter()
            .map(|c| (c.code.clone(), c.clone()))
            .collect();
        let mut usd_rates = HashMap::new();
        for c in &data.currencies {
            let rate = Decimal::from_str(&c.usd_rate)
                .ok()
                .filter(|r| *r > Decimal::ZERO)
                .ok_or_else(|| ReferenceError::Invalid {
                    file: f.into(),
                    problem: format!("currency {} has no positive usd_rate", c.code),
                })?;
            if usd_rates.insert(c.code.clone(), rate).is_some() {
                return Err(ReferenceError::Invalid {
                    file: f.into(),
                    problem: format!("duplicate currency {}", c.code),
                });
            }
        }
        let mut by_year = BTreeMap::new();
        catalogues.sort_by_key(|(_, c)| c.year);
        for (file, cat) in &catalogues {
            if *file != format!("catalogue-{}.json", cat.year) {
                return Err(ReferenceError::Invalid {
                    file: file.clone(),
                    problem: format!("holds the catalogue of {}", cat.year),
                });
            }
            let mut entries = HashMap::new();
            for e in &cat.entries {
                if e.validity_months.is_some_and(|m| !(1..=12).contains(&m)) {
                    return Err(ReferenceError::Invalid {
                        file: file.clone(),
                        problem: format!("commodity {} has validity_months outside 1–12", e.code),
                    });
                }
                if e.code.len() != 10 || !e.code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ReferenceError::Invalid {
                        file: file.clone(),
                        problem: format!("commodity code {} is not 10 digits", e.code),
                    });
                }
                if !units.contains(&e.unit) {
                    return Err(ReferenceError::Invalid {
                        file: file.clone(),
                        problem: format!("commodity {} uses unknown unit {}", e.code, e.unit),
                    });
                }
                if entries.insert(e.code.clone(), e.clone()).is_some() {
                    return Err(ReferenceError::Invalid {
                        file: file.clone(),
                        problem: format!("duplicate commodity {}", e.code),
                    });
                }
            }
            if by_year.insert(cat.year, entries).is_some() {
                return Err(ReferenceError::Invalid {
                    file: file.clone(),
                    problem: format!("second catalogue for {}", cat.year),
                });
            }
        }
        data.catalogues = catalogues.into_iter().map(|(_, c)| c).collect();
        Ok(Self {
            data,
            sources,
            release: None,
            agency_blocks,
            trade_modes,
            payment_modes,
            transport_modes,
            districts,
            units,
            countries,
            usd_rates,
            catalogues: by_year,
        })
    }

    /// The data of a signed office release (already verified by the caller).
    pub fn from_release(r: &ReferenceRelease) -> Result<Self, ReferenceError> {
        let mut out = Self::from_sources(r.files.iter().cloned())?;
        out.release = Some((r.number, r.published_at_ms));
        Ok(out)
    }

    /// Everything, as served by the API.
    pub fn data(&self) -> &ReferenceData {
        &self.data
    }
    /// The files it was loaded from, sorted by name.
    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }
    /// SHA-256 over the files, to tell whether two loads hold the same data.
    pub fn digest(&self) -> [u8; 32] {
        let mut all = Vec::new();
        for (n, t) in &self.sources {
            for part in [n.as_bytes(), t.as_bytes()] {
                all.extend_from_slice(&(part.len() as u64).to_be_bytes());
                all.extend_from_slice(part);
            }
        }
        exlic_client::seal::sha256(&all)
    }
    /// The office release it came from (number, publication time in Unix ms), or `None`
    /// for data loaded from files.
    pub fn release(&self) -> Option<(u32, i64)> {
        self.release
    }
    /// The code lists' version.
    pub fn version(&self) -> &str {
        &self.data.version
    }
    /// What to show as the version in force: the release and the code lists' version.
    pub fn label(&self) -> String {
        let years: Vec<String> = self.catalogues.keys().map(|y| y.to_string()).collect();
        let years = years.join(", ");
        match self.release {
            Some((n, at)) => format!(
                "R{n} ({}; {}; {years})",
                crate::clock::china_date(at),
                self.data.version
            ),
            None => format!("{} ({years})", self.data.version),
        }
    }
    /// The two digits of `agency`'s 申请表号 blocks, if it is a known agency.
    pub fn agency_block(&self, agency: &str) -> Option<u8> {
        self.agency_blocks.get(agency).copied()
    }
    /// Is `code` a known 贸易方式?
    pub fn is_trade_mode(&self, code: &str) -> bool {
        self.trade_modes.contains(code)
    }
    /// Is `code` a known 付款方式?
    pub fn is_payment_mode(&self, code: &str) -> bool {
        self.payment_modes.contains(code)
    }
    /// Is `code` a known 运输方式?
    pub fn is_transport_mode(&self, code: &str) -> bool {
        self.transport_modes.contains(code)
    }
    /// Is `code` a known customs district?
    pub fn is_district(&self, code: &str) -> bool {
        self.districts.contains(code)
    }
    /// Is `code` a known unit?
    pub fn is_unit(&self, code: &str) -> bool {
        self.units.contains(code)
    }
    /// The country or region with this code.
    pub fn country(&self, code: &str) -> Option<&Country> {
        self.countries.get(code)
    }
    /// US dollars per unit of `currency`.
    pub fn usd_rate(&self, currency: &str) -> Option<Decimal> {
        self.usd_rates.get(currency).copied()
    }
    /// The year of the catalogue in force for quota year `year`: its own, else the newest
    /// earlier one (a catalogue stays in force until the next is published).
    pub fn catalogue_year(&self, year: u16) -> Option<u16> {
        self.catalogues.range(..=year).next_back().map(|(y, _)| *y)
    }
    /// The catalogue entry for `code` in force for quota year `year`.
    pub fn commodity(&self, year: u16, code: &str) -> Option<&CatalogueEntry> {
        self.catalogues.get(&self.catalogue_year(year)?)?.get(code)
    }
    /// Whether a catalogue is in force for quota year `year`.
    pub fn has_catalogue(&self, year: u16) -> bool {
        self.catalogue_year(year).is_some()
    }
    /// The overfill tolerance customs allow on licences of `code` for quota year `year`,
    /// percent (0 for a commodity the catalogue does not list).
    pub fn overfill(&self, year: u16, code: &str) -> u8 {
        self.commodity(year, code)
            .map_or(0, CatalogueEntry::overfill)
    }
    /// The entry for `code` in the newest catalogue that has it (for drafts without a year).
    pub fn commodity_any_year(&self, code: &str) -> Option<&CatalogueEntry> {
        self.catalogues.values().rev().find_map(|c| c.get(code))
    }
}

/// The reference data in force on a node, replaced whole when a newer release arrives;
/// readers take the `Arc` of the moment and keep it for the work at hand.
#[derive(Debug)]
pub struct Current(RwLock<Arc<Reference>>);

impl Current {
    /// Holds `r`.
    pub fn new(r: Arc<Reference>) -> Self {
        Self(RwLock::new(r))
    }
    /// The data in force now.
    pub fn get(&self) -> Arc<Reference> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
    /// Puts `r` in force.
    pub fn set(&self, r: Arc<Reference>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = r;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_loads_and_has_citric_acid() {
        let r = Reference::embedded();
        let e = r.commodity(2026, "2918140000").expect("柠檬酸 in 2026");
        assert_eq!(e.name, "柠檬酸");
        assert!(r.country("EUN").unwrap().grouping);
        assert_eq!(r.usd_rate("USD"), Some(Decimal::ONE));
    }

    #[test]
    fn duplicates_and_bad_rates_are_refused() {
        let mut codes: serde_json::Value = serde_json::from_str(EMBEDDED[0].1).unwrap();
        codes["units"][1]["code"] = "kg".into();
        let err = Reference::from_sources([("codes.json".into(), codes.to_string())]).unwrap_err();
        assert!(err.to_string().contains("duplicate unit code kg"), "{err}");

        let mut codes: serde_json::Value = serde_json::from_str(EMBEDDED[0].1).unwrap();
        codes["currencies"][0]["usd_rate"] = "-1".into();
        assert!(Reference::from_sources([("codes.json".into(), codes.to_string())]).is_err());
        assert!(matches!(
            Reference::from_sources(Vec::<(String, String)>::new()),
            Err(ReferenceError::MissingCodes)
        ));

        let mut codes: serde_json::Value = serde_json::from_str(EMBEDDED[0].1).unwrap();
        codes["agencies"][1]["block"] = codes["agencies"][0]["block"].clone();
        let err = Reference::from_sources([("codes.json".into(), codes.to_string())]).unwrap_err();
        assert!(err.to_string().contains("duplicate agency block"), "{err}");
    }

    #[test]
    fn a_catalogue_stays_in_force_until_the_next_years_is_published() {
        let r = Reference::embedded();
        let newest = r.data().catalogues.last().unwrap().year;
        assert_eq!(r.catalogue_year(newest + 4), Some(newest));
        assert!(r.commodity(newest + 4, "2918140000").is_some());
        assert_eq!(r.catalogue_year(2026), Some(2026));
        assert_eq!(r.catalogue_year(2000), None);
        assert!(!r.has_catalogue(2000));
    }

    #[test]
    fn agencies_have_distinct_blocks_and_formerly_colliding_codes_differ() {
        let r = Reference::embedded();
        assert_ne!(r.agency_block("GZ"), r.agency_block("50"));
        assert_eq!(r.agency_block("50"), Some(50));
        assert_eq!(r.agency_block("ZZ"), None);
    }
}
