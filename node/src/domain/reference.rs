//! Reference data with fast look-ups: code lists, currencies and yearly catalogues.
//!
//! The data ships as versioned JSON files in `node/reference/` (embedded into the binary);
//! a node may be pointed at a directory with newer files instead. [`Reference::from_sources`]
//! checks the data is usable (no duplicate codes, parseable rates) before anything uses it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use exlic_client::reference::{Catalogue, CatalogueEntry, Country, ReferenceData};
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
        for (name, text) in files {
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
            let mut entries = HashMap::new();
            for e in &cat.entries {
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

    /// Everything, as served by the API.
    pub fn data(&self) -> &ReferenceData {
        &self.data
    }
    /// The code lists' version.
    pub fn version(&self) -> &str {
        &self.data.version
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
    /// The catalogue entry for `code` in `year`.
    pub fn commodity(&self, year: u16, code: &str) -> Option<&CatalogueEntry> {
        self.catalogues.get(&year)?.get(code)
    }
    /// Whether a catalogue for `year` is loaded.
    pub fn has_catalogue(&self, year: u16) -> bool {
        self.catalogues.contains_key(&year)
    }
    /// The entry for `code` in the newest catalogue that has it (for drafts without a year).
    pub fn commodity_any_year(&self, code: &str) -> Option<&CatalogueEntry> {
        self.catalogues.values().rev().find_map(|c| c.get(code))
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
    }
}
