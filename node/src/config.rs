//! Node settings: `config.toml` in the data directory, written by `exlic init` and
//! overridden by command-line flags and `EXLIC_*` environment variables (see `cli`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::reference::{Reference, ReferenceError};
use crate::domain::rules::TextLimits;
use crate::enterprise::{Identity, Settings};
use crate::store::StoreOptions;

/// The config file's name inside the data directory.
pub const FILE: &str = "config.toml";
/// The store file's name inside the data directory.
pub const STORE_FILE: &str = "node.redb";
/// Default listen address of the local UI and API.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8640";

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A setting has a value it cannot have.
    #[error("setting `{key}`: {message}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Reference data could not be loaded.
    #[error("reference data: {0}")]
    Reference(#[from] ReferenceError),
}

/// The whole config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `enterprise`, `authority`, `customs` or `bureau`.
    pub role: String,
    /// Who an enterprise node belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<EnterpriseSection>,
    /// The authority an enterprise node syncs with (from its enrolment token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamSection>,
    /// The other offices an enterprise node is enrolled with (`[[office]]`, each added
    /// by `exlic enterprise add-office`), to which applications go by commodity (see
    /// `enterprise::offices`).
    #[serde(default, rename = "office", skip_serializing_if = "Vec::is_empty")]
    pub offices: Vec<UpstreamSection>,
    /// An authority node's identity and listen addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<AuthoritySection>,
    /// An authority node as one replica of several (`[cluster]`); absent, the office is
    /// one process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterSection>,
    /// A customs node's UI and sync (its district and office come from its invite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customs: Option<CustomsSection>,
    /// A bureau node's UI and sync with the offices it follows (the same settings as a
    /// customs node's: TLS, poll, backoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bureau: Option<CustomsSection>,
    /// The local web UI and API.
    #[serde(default)]
    pub http: HttpSection,
    /// Input limits.
    #[serde(default)]
    pub limits: LimitsSection,
    /// Storage tuning.
    #[serde(default)]
    pub store: StoreSection,
    /// Reference data.
    #[serde(default)]
    pub reference: ReferenceSection,
}

/// `[enterprise]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseSection {
    /// 企业名称.
    pub name: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// The issuing agency code.
    pub agency_code: String,
}

/// `[upstream]` (the home office), or one `[[office]]` (another office).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// The office's agency code: required in `[[office]]`, absent in `[upstream]` (the
    /// home office's is `[enterprise] agency_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency_code: Option<String>,
    /// The authority's public key, hex.
    pub authority_key: String,
    /// Its libp2p addresses.
    pub addrs: Vec<String>,
    /// Seconds between polls for the authority's changes when nothing happens locally.
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
    /// Longest wait between reconnection attempts, seconds.
    #[serde(default = "default_backoff")]
    pub max_backoff_seconds: u64,
}

impl UpstreamSection {
    /// Checks the key and the addresses, naming the settings `key` and `addrs`.
    fn validate(&self, key: &'static str, addrs: &'static str) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, message: &str| ConfigError::Invalid {
            key,
            message: message.into(),
        };
        let mut k = [0u8; 32];
        hex::decode_to_slice(&self.authority_key, &mut k)
            .map_err(|_| invalid(key, "must be 64 hex characters"))?;
        if self.addrs.is_empty() {
            return Err(invalid(addrs, "at least one address is required"));
        }
        for a in &self.addrs {
            a.parse::<libp2p::Multiaddr>()
                .map_err(|_| invalid(addrs, &format!("{a:?} is not a multiaddress")))?;
        }
        Ok(())
    }
}

fn default_poll() -> u64 {
    5
}

fn default_backoff() -> u64 {
    30
}

/// `[authority]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthoritySection {
    /// 发证机构 name.
    pub name: String,
    /// Agency code.
    pub agency_code: String,
    /// libp2p listen addresses, e.g. `/ip4/0.0.0.0/tcp/7300`.
    pub p2p_listen: Vec<String>,
    /// Addresses written into enrolment tokens; default: the listen addresses.
    #[serde(default)]
    pub advertise: Vec<String>,
    /// The staff UI's TLS certificate (PEM), relative to the data directory; a
    /// self-signed one is made at init when it does not exist.
    #[serde(default = "default_tls_cert")]
    pub tls_cert: String,
    /// Its private key (PEM).
    #[serde(default = "default_tls_key")]
    pub tls_key: String,
    /// Names the self-signed certificate is made for.
    #[serde(default = "default_tls_names")]
    pub tls_names: Vec<String>,
    /// Peers (enterprise devices, customs and bureau nodes) connected at once; the
    /// process's open-file limit is raised at start to hold them.
    #[serde(default = "default_max_peers")]
    pub max_peers: u32,
}

/// `[cluster]`: this office as one replica of three or five (ARCHITECTURE.md, "The
/// replicated office"). Every replica lists the same voters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// This replica's id: one of `replica`.
    pub id: u64,
    /// Where this replica listens for the others (a multiaddress); default: its own
    /// address in `replica`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// The replicas this one knows at start, `[[cluster.replica]]`: each one's id and
    /// where the others reach it. For a founding replica, the voters the office started
    /// with; for one that joined later, the replicas it was copied among and itself. From
    /// then on the office's membership (changed through the staff API) is what counts.
    #[serde(rename = "replica")]
    pub replicas: Vec<ReplicaEntry>,
    /// This replica joined a running office (`exlic init authority --replica-of` a
    /// replica that had run): it never starts a cluster, and votes once the office has
    /// made it a voter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub joined: bool,
    /// How often the leader tells the others it is alive, in milliseconds.
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: u64,
    /// How long a replica hears nothing from the leader before it stands for election,
    /// in milliseconds (each waits a random time from this to twice this).
    #[serde(default = "default_election_ms")]
    pub election_ms: u64,
}

/// One voter of `[cluster]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaEntry {
    /// Its id, 1 or more.
    pub id: u64,
    /// Where the others reach it, e.g. `/ip4/10.0.0.2/tcp/7400`.
    pub addr: String,
}

fn default_heartbeat_ms() -> u64 {
    150
}

fn default_election_ms() -> u64 {
    750
}

impl ClusterSection {
    /// The address this replica listens on.
    pub fn listen_addr(&self) -> Option<&str> {
        self.listen.as_deref().or_else(|| {
            self.replicas
                .iter()
                .find(|r| r.id == self.id)
                .map(|r| r.addr.as_str())
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, message: String| ConfigError::Invalid { key, message };
        let n = self.replicas.len();
        if !self.joined && n != 3 && n != 5 {
            return Err(invalid(
                "cluster.replica",
                format!("lists {n} replicas; an office runs three or five"),
            ));
        }
        let mut ids = std::collections::BTreeSet::new();
        for r in &self.replicas {
            if r.id == 0 || !ids.insert(r.id) {
                return Err(invalid(
                    "cluster.replica",
                    format!(
                        "id {} is 0 or listed twice; ids are 1 or more, each once",
                        r.id
                    ),
                ));
            }
            let m: libp2p::Multiaddr = r.addr.parse().map_err(|_| {
                invalid(
                    "cluster.replica",
                    format!("{:?} (replica {}) is not a multiaddress", r.addr, r.id),
                )
            })?;
            if m.iter()
                .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
            {
                return Err(invalid(
                    "cluster.replica",
                    format!(
                        "{:?} (replica {}) names a peer id; a replica's is derived from the office's key and its id",
                        r.addr, r.id
                    ),
                ));
            }
        }
        if !ids.contains(&self.id) {
            return Err(invalid(
                "cluster.id",
                format!("{} is not one of the replicas listed", self.id),
            ));
        }
        if let Some(l) = &self.listen {
            l.parse::<libp2p::Multiaddr>()
                .map_err(|_| invalid("cluster.listen", format!("{l:?} is not a multiaddress")))?;
        }
        if self.heartbeat_ms == 0 || self.election_ms < 3 * self.heartbeat_ms {
            return Err(invalid(
                "cluster.election_ms",
                format!(
                    "must be at least three heartbeats ({} ms), and the heartbeat at least 1 ms",
                    3 * self.heartbeat_ms
                ),
            ));
        }
        Ok(())
    }
}

/// `[customs]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomsSection {
    /// The officer UI's TLS certificate (PEM), relative to the data directory; a
    /// self-signed one is made at init when it does not exist.
    #[serde(default = "default_tls_cert")]
    pub tls_cert: String,
    /// Its private key (PEM).
    #[serde(default = "default_tls_key")]
    pub tls_key: String,
    /// Names the self-signed certificate is made for.
    #[serde(default = "default_tls_names")]
    pub tls_names: Vec<String>,
    /// Seconds between rounds with the office when nothing happens locally.
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
    /// Longest wait between reconnection attempts, seconds.
    #[serde(default = "default_backoff")]
    pub max_backoff_seconds: u64,
}

fn default_tls_cert() -> String {
    "tls/cert.pem".into()
}

fn default_tls_key() -> String {
    "tls/key.pem".into()
}

fn default_tls_names() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into()]
}

/// Room for every enterprise of a large office online at once (the national figure is
/// ~3,000 enterprises per office; 5,000 connections measured in `scripts/bench-office-scale`).
fn default_max_peers() -> u32 {
    10_000
}

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// Address to listen on (loopback only on an enterprise node).
    pub listen: String,
    /// More `host:port` names the UI answers to (the loopback names of the bound port are
    /// always allowed); anything else in `Host` is refused (DNS rebinding).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.into(),
            allowed_hosts: Vec::new(),
        }
    }
}

/// `[limits]` (V24 and attachments). The defaults are this project's choice where
/// domain.md says \[unknown\].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Largest attachment in MiB.
    pub attachment_max_mb: u64,
    /// Most attachments per application.
    pub attachments_per_application: usize,
    /// Names of parties.
    pub name_chars: usize,
    /// Addresses.
    pub address_chars: usize,
    /// 规格、等级.
    pub spec_chars: usize,
    /// 备注.
    pub remarks_chars: usize,
    /// 附加说明信息.
    pub additional_info_chars: usize,
    /// Most goods rows.
    pub goods_lines: usize,
}

impl Default for LimitsSection {
    fn default() -> Self {
        let t = TextLimits::default();
        Self {
            attachment_max_mb: 20,
            attachments_per_application: 50,
            name_chars: t.name,
            address_chars: t.address,
            spec_chars: t.spec,
            remarks_chars: t.remarks,
            additional_info_chars: t.additional_info,
            goods_lines: t.goods_lines,
        }
    }
}

/// Documents an office keeps in memory by default: it serves thousands of enterprises at
/// once, each syncing its own documents, and a cache smaller than the documents in use
/// loads each from disk at every sync (about 40% fewer changes a second at 5,000
/// connections with 512, measured by `scripts/bench-office-scale`); about 350 MiB at
/// 5,000 connections.
pub const AUTHORITY_DOC_CACHE: usize = 8192;

/// The memory an office's document cache may hold, MiB (an estimate, see
/// `store::doc_cache::weight`): 8,192 freshly enrolled enterprises' documents take about
/// 180 MiB, and a document grows with every change it takes, so without a bound in bytes
/// an office whose enterprises keep syncing into the same documents grows for as long as
/// it runs.
pub const AUTHORITY_DOC_CACHE_MB: usize = 256;

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// Documents kept in memory, at most.
    pub doc_cache: usize,
    /// The memory they may hold, MiB (estimated from each document's operations and
    /// changes); the least recently used are dropped first.
    pub doc_cache_mb: usize,
    /// redb page cache in MiB.
    pub page_cache_mb: usize,
    /// Change chunks before a document is compacted.
    pub compact_after_chunks: u32,
}

impl Default for StoreSection {
    fn default() -> Self {
        let o = StoreOptions::default();
        Self {
            doc_cache: o.doc_cache,
            doc_cache_mb: o.doc_cache_bytes >> 20,
            page_cache_mb: o.page_cache_bytes >> 20,
            compact_after_chunks: o.compact_after_chunks,
        }
    }
}

/// `[reference]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferenceSection {
    /// A directory with `codes.json` and `catalogue-YYYY.json` replacing the built-in data.
    pub dir: Option<PathBuf>,
    /// USCCs accepted although they fail the checksum.
    pub uscc_allow_list: Vec<String>,
}

impl Config {
    /// A new authority config.
    pub fn authority(name: &str, agency_code: &str, p2p_listen: &str) -> Self {
        Self {
            role: "authority".into(),
            enterprise: None,
            upstream: None,
            offices: Vec::new(),
            cluster: None,
            customs: None,
            bureau: None,
            authority: Some(AuthoritySection {
                name: name.into(),
                agency_code: agency_code.into(),
                p2p_listen: vec![p2p_listen.into()],
                advertise: Vec::new(),
                tls_cert: default_tls_cert(),
                tls_key: default_tls_key(),
                tls_names: default_tls_names(),
                max_peers: default_max_peers(),
            }),
            http: HttpSection {
                listen: "127.0.0.1:8650".into(),
                ..HttpSection::default()
            },
            limits: LimitsSection::default(),
            store: StoreSection {
                doc_cache: AUTHORITY_DOC_CACHE,
                doc_cache_mb: AUTHORITY_DOC_CACHE_MB,
                ..StoreSection::default()
            },
            reference: ReferenceSection::default(),
        }
    }

    /// Whether this is an authority node.
    pub fn is_authority(&self) -> bool {
        self.role == "authority"
    }

    /// Whether this is a customs node.
    pub fn is_customs(&self) -> bool {
        self.role == "customs"
    }

    /// Whether this is a bureau node.
    pub fn is_bureau(&self) -> bool {
        self.role == "bureau"
    }

    /// A new bureau config.
    pub fn bureau(listen: &str) -> Self {
        let mut c = Self::customs(listen);
        c.role = "bureau".into();
        c.bureau = c.customs.take();
        c
    }

    /// A new customs config.
    pub fn customs(listen: &str) -> Self {
        Self {
            role: "customs".into(),
            enterprise: None,
            upstream: None,
            offices: Vec::new(),
            authority: None,
            bureau: None,
            cluster: None,
            customs: Some(CustomsSection {
                tls_cert: default_tls_cert(),
                tls_key: default_tls_key(),
                tls_names: default_tls_names(),
                poll_seconds: default_poll(),
                max_backoff_seconds: default_backoff(),
            }),
            http: HttpSection {
                listen: listen.into(),
                ..HttpSection::default()
            },
            limits: LimitsSection::default(),
            store: StoreSection::default(),
            reference: ReferenceSection::default(),
        }
    }

    /// A new enterprise config.
    pub fn enterprise(name: &str, uscc: &str, agency_code: &str) -> Self {
        Self {
            role: "enterprise".into(),
            enterprise: Some(EnterpriseSection {
                name: name.into(),
                uscc: uscc.into(),
                agency_code: agency_code.into(),
            }),
            upstream: None,
            offices: Vec::new(),
            authority: None,
            cluster: None,
            customs: None,
            bureau: None,
            http: HttpSection::default(),
            limits: LimitsSection::default(),
            store: StoreSection::default(),
            reference: ReferenceSection::default(),
        }
    }

    /// Reads `config.toml` from `data_dir`.
    pub fn load(data_dir: &Path) -> Result<Self, ConfigError> {
        let path = data_dir.join(FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            path: path.clone(),
            source,
        })?;
        let c: Self = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        c.validate()?;
        Ok(c)
    }

    /// Writes `config.toml` into `data_dir` (atomically: temp file, fsync, rename).
    pub fn save(&self, data_dir: &Path) -> Result<(), ConfigError> {
        let path = data_dir.join(FILE);
        let tmp = data_dir.join(".config.toml.tmp");
        let text = toml::to_string(self).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let io = |source| ConfigError::Io {
            path: path.clone(),
            source,
        };
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(())
    }

    /// Checks values that the types do not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, message: &str| ConfigError::Invalid {
            key,
            message: message.into(),
        };
        let agency_ok = crate::domain::issuing::valid_agency_code;
        if self.cluster.is_some() && self.role != "authority" {
            return Err(invalid(
                "cluster",
                "only an authority node (an issuing office) runs as replicas",
            ));
        }
        match self.role.as_str() {
            "enterprise" => {
                let e = self.enterprise.as_ref().ok_or_else(|| {
                    invalid(
                        "enterprise",
                        "an enterprise node needs an [enterprise] section",
                    )
                })?;
                if e.name.trim().is_empty() {
                    return Err(invalid("enterprise.name", "is required"));
                }
                exlic_client::uscc::validate(&e.uscc)
                    .map_err(|err| invalid("enterprise.uscc", &err.to_string()))?;
                if !agency_ok(&e.agency_code) {
                    return Err(invalid(
                        "enterprise.agency_code",
                        "must be two characters A-Z or 0-9",
                    ));
                }
                if let Some(u) = &self.upstream {
                    if u.agency_code.is_some() {
                        return Err(invalid(
                            "upstream.agency_code",
                            "the home office's code is [enterprise] agency_code",
                        ));
                    }
                    u.validate("upstream.authority_key", "upstream.addrs")?;
                }
                let mut seen = vec![e.agency_code.as_str()];
                for o in &self.offices {
                    let code = o.agency_code.as_deref().unwrap_or_default();
                    if !agency_ok(code) {
                        return Err(invalid(
                            "office.agency_code",
                            "must be two characters A-Z or 0-9",
                        ));
                    }
                    if seen.contains(&code) {
                        return Err(invalid(
                            "office.agency_code",
                            &format!("{code} is listed twice (or is the home office)"),
                        ));
                    }
                    seen.push(code);
                    o.validate("office.authority_key", "office.addrs")?;
                }
            }
            "authority" => {
                let a = self.authority.as_ref().ok_or_else(|| {
                    invalid(
                        "authority",
                        "an authority node needs an [authority] section",
                    )
                })?;
                if a.name.trim().is_empty() {
                    return Err(invalid("authority.name", "is required"));
                }
                if !agency_ok(&a.agency_code) {
                    return Err(invalid(
                        "authority.agency_code",
                        "must be two characters A-Z or 0-9",
                    ));
                }
                if a.p2p_listen.is_empty() {
                    return Err(invalid(
                        "authority.p2p_listen",
                        "at least one address is required",
                    ));
                }
                if a.max_peers == 0 {
                    return Err(invalid("authority.max_peers", "must be at least 1"));
                }
                for m in a.p2p_listen.iter().chain(&a.advertise) {
                    m.parse::<libp2p::Multiaddr>().map_err(|_| {
                        invalid(
                            "authority.p2p_listen",
                            &format!("{m:?} is not a multiaddress"),
                        )
                    })?;
                }
                if let Some(c) = &self.cluster {
                    c.validate()?;
                }
            }
            "customs" => {
                if self.customs.is_none() {
                    return Err(invalid(
                        "customs",
                        "a customs node needs a [customs] section",
                    ));
                }
            }
            "bureau" => {
                if self.bureau.is_none() {
                    return Err(invalid("bureau", "a bureau node needs a [bureau] section"));
                }
            }
            other => {
                return Err(invalid(
                    "role",
                    &format!(
                        "unknown role {other:?} (expected \"enterprise\", \"authority\", \"customs\" or \"bureau\")"
                    ),
                ));
            }
        }
        self.listen_addr()?;
        if self.limits.attachment_max_mb == 0 || self.limits.attachment_max_mb > 1024 {
            return Err(ConfigError::Invalid {
                key: "limits.attachment_max_mb",
                message: "must be 1–1024".into(),
            });
        }
        if self.store.doc_cache == 0 {
            return Err(invalid("store.doc_cache", "must be at least 1"));
        }
        if self.store.doc_cache_mb == 0 {
            return Err(invalid("store.doc_cache_mb", "must be at least 1"));
        }
        Ok(())
    }

    /// The listen address, refused unless it is a loopback address.
    pub fn listen_addr(&self) -> Result<std::net::SocketAddr, ConfigError> {
        let addr: std::net::SocketAddr =
            self.http.listen.parse().map_err(|_| ConfigError::Invalid {
                key: "http.listen",
                message: format!(
                    "{:?} is not an address such as 127.0.0.1:8640",
                    self.http.listen
                ),
            })?;
        // The enterprise UI has no login: it is for this machine only. The authority's
        // staff UI has TLS and sign-in and may listen on the office network.
        if !addr.ip().is_loopback() && !self.is_authority() && !self.is_customs() {
            return Err(ConfigError::Invalid {
                key: "http.listen",
                message: "an enterprise node serves its UI and API on a loopback address only"
                    .into(),
            });
        }
        Ok(addr)
    }

    /// The enterprise node's identity (empty for an authority config).
    pub fn identity(&self) -> Identity {
        let e = self.enterprise.clone().unwrap_or(EnterpriseSection {
            name: String::new(),
            uscc: String::new(),
            agency_code: String::new(),
        });
        Identity {
            enterprise_name: e.name,
            enterprise_uscc: e.uscc,
            agency_code: e.agency_code,
            other_agencies: self
                .offices
                .iter()
                .filter_map(|o| o.agency_code.clone())
                .collect(),
        }
    }

    /// Enterprise-role settings.
    pub fn settings(&self) -> Settings {
        let l = &self.limits;
        Settings {
            limits: TextLimits {
                name: l.name_chars,
                code: TextLimits::default().code,
                address: l.address_chars,
                spec: l.spec_chars,
                remarks: l.remarks_chars,
                additional_info: l.additional_info_chars,
                goods_lines: l.goods_lines,
            },
            uscc_allow_list: self.reference.uscc_allow_list.clone(),
            attachment_max_bytes: l.attachment_max_mb << 20,
            attachments_per_application: l.attachments_per_application,
        }
    }

    /// Store options.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            doc_cache: self.store.doc_cache,
            doc_cache_bytes: self.store.doc_cache_mb << 20,
            page_cache_bytes: self.store.page_cache_mb << 20,
            compact_after_chunks: self.store.compact_after_chunks.max(2),
            durable: true,
        }
    }

    /// Loads reference data: the configured directory, or the built-in files.
    pub fn reference(&self) -> Result<Reference, ConfigError> {
        let Some(dir) = &self.reference.dir else {
            return Ok(Reference::embedded());
        };
        let mut files = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Io {
            path: dir.clone(),
            source,
        })?;
        for e in entries {
            let e = e.map_err(|source| ConfigError::Io {
                path: dir.clone(),
                source,
            })?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                let text = std::fs::read_to_string(e.path()).map_err(|source| ConfigError::Io {
                    path: e.path(),
                    source,
                })?;
                files.push((name, text));
            }
        }
        Ok(Reference::from_sources(files)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::enterprise("甲", "913502000728319549", "AA");
        c.save(dir.path()).unwrap();
        assert_eq!(Config::load(dir.path()).unwrap(), c);
        let mut bad = c.clone();
        bad.http.listen = "0.0.0.0:80".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("http.listen")
        );
        for (key, set) in [
            (
                "store.doc_cache",
                (|s| s.doc_cache = 0) as fn(&mut StoreSection),
            ),
            ("store.doc_cache_mb", |s| s.doc_cache_mb = 0),
        ] {
            let mut bad = c.clone();
            set(&mut bad.store);
            let e = bad.validate().unwrap_err().to_string();
            assert!(e.contains(key) && e.contains("at least 1"), "{e}");
        }
        let office = Config::authority("o", "AA", "/ip4/127.0.0.1/tcp/0");
        assert_eq!(
            office.store_options().doc_cache_bytes,
            AUTHORITY_DOC_CACHE_MB << 20
        );
        let mut bad = c;
        bad.enterprise.as_mut().unwrap().uscc = "913502000728319548".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("enterprise.uscc")
        );
        std::fs::write(dir.path().join(FILE), "role = \"enterprise\"\nbogus = 1\n").unwrap();
        assert!(Config::load(dir.path()).is_err());
    }
}
