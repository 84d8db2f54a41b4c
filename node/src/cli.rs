//! The `exlic` command line: `init`, `serve`, `demo`, `authority`, `operator`, `customs`,
//! `check`, `verify`, `verify-seal`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

use crate::api::{self, AppState};
use crate::authority::{self, Authority, AuthorityInfo};
use crate::clock::{Clock, china_date};
use crate::config::UpstreamSection;
use crate::config::{Config, STORE_FILE};
use crate::domain::numbering::NumberBlock;
use crate::enterprise::operators::OperatorRole;
use crate::enterprise::{self, Enterprise};
use crate::store::Store;
use crate::sync::{self, client::SyncStatus, client::Upstream};
use exlic_client::invite::Invite;

/// exlic — offline-first export-licence node.
#[derive(Debug, Parser)]
#[command(name = "exlic", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a node's data directory (config, keys, store).
    Init {
        /// The role of the node.
        #[command(subcommand)]
        role: InitRole,
    },
    /// Run a node: an enterprise node's local UI, API and sync; an authority node's API and
    /// sync endpoint.
    Serve {
        /// The node's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// HTTP listen address (overrides config.toml), loopback only.
        #[arg(long, env = "EXLIC_LISTEN")]
        listen: Option<String>,
    },
    /// Start an authority node and an enterprise node enrolled with it, with sample
    /// applications, and print both URLs.
    Demo {
        /// Use this directory (created and filled if empty); default: a fresh one.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// The enterprise node's HTTP address; default 127.0.0.1 with a free port.
        #[arg(long, env = "EXLIC_LISTEN")]
        listen: Option<String>,
    },
    /// Authority administration on a stopped authority node.
    Authority {
        /// What to do.
        #[command(subcommand)]
        command: AuthorityCommand,
    },
    /// Create or reset an operator account on a stopped enterprise node (the password
    /// comes from EXLIC_OPERATOR_PASSWORD or the first line of standard input; it is never
    /// taken from the command line).
    Operator {
        /// The enterprise node's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// Login name.
        #[arg(long)]
        login: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// `drafter` (制单员: drafts) or `sealer` (盖章员: also seals and reports).
        #[arg(long)]
        role: String,
    },
    /// Create or reset a customs officer account on a stopped customs node (the password
    /// comes from EXLIC_OFFICER_PASSWORD or the first line of standard input).
    Officer {
        /// The customs node's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// Login name.
        #[arg(long)]
        login: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Check a stopped node's store: redb integrity and index consistency.
    Check {
        /// The node's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Verify an e-licence file offline (exit code 0 only when valid, the reason otherwise).
    Verify {
        /// The licence file.
        file: PathBuf,
        /// The issuing authority's public key, 64 hex characters.
        #[arg(long)]
        authority_key: String,
        /// Key rollover records, oldest first (each signed by the key before it).
        #[arg(long = "rollover")]
        rollovers: Vec<PathBuf>,
        /// The office's signed standing statement of the licence (`.standing`, from the
        /// enterprise node's licence page or `/api/v1/licences/{no}/standing`).
        #[arg(long)]
        standing: Option<PathBuf>,
    },
    /// Verify a sealed submission file offline (exit code 0 only when valid).
    VerifySeal {
        /// The `.seal` file (as downloaded from `/api/v1/applications/{id}/seal`).
        file: PathBuf,
        /// The device public key, 64 hex characters.
        #[arg(long)]
        key: String,
        /// The attachment files the seal covers.
        #[arg(long = "attachment")]
        attachments: Vec<PathBuf>,
    },
}

/// `exlic init <role>`.
#[derive(Debug, Subcommand)]
pub enum InitRole {
    /// An enterprise node, enrolled with an authority by its token, or standalone.
    Enterprise {
        /// The data directory to create.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// The enrolment token from the authority (`EXLIC1-…`); sets name, USCC, agency,
        /// number block and the authority's key and addresses.
        #[arg(long, conflicts_with_all = ["name", "uscc", "number_block"])]
        token: Option<String>,
        /// 企业名称 (standalone node only).
        #[arg(long, required_unless_present = "token")]
        name: Option<String>,
        /// 统一社会信用代码 (standalone node only).
        #[arg(long, required_unless_present = "token")]
        uscc: Option<String>,
        /// Issuing agency (发证机构) code (standalone node only).
        #[arg(long, default_value = "AA")]
        agency: String,
        /// Block of 申请表号 this node may assign offline, FIRST:COUNT (standalone only).
        #[arg(long)]
        number_block: Option<String>,
        /// Listen address of the local UI and API.
        #[arg(long, default_value = crate::config::DEFAULT_LISTEN)]
        listen: String,
        /// PIN (6–12 digits) or passphrase (≥ 10 characters) protecting the enterprise's
        /// master e-key; required with --token.
        #[arg(long, env = "EXLIC_PIN", hide_env_values = true)]
        pin: Option<String>,
        /// The mobile number to authorise this device for (新授权); required with --token.
        #[arg(long)]
        mobile: Option<String>,
        /// Another device of an enterprise whose e-key is on its first device: enrol with
        /// the token, create no e-key, and wait to be authorised from the first device
        /// (手机证书授权 → 授权其他设备, with this device's key).
        #[arg(long, requires = "token", conflicts_with_all = ["pin", "mobile"])]
        join: bool,
        /// Login of the node's first operator, a 盖章员 (sealer). Its password comes from
        /// EXLIC_OPERATOR_PASSWORD; without it one is generated and printed once.
        #[arg(long, default_value = "operator")]
        operator: String,
    },
    /// A customs (海关) node of one customs district, enrolled with an office by its customs
    /// invite (`EXLICC1-…`, from `exlic authority invite-customs`).
    Customs {
        /// The data directory to create.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// The customs invite.
        #[arg(long)]
        token: String,
        /// HTTPS listen address of the officer UI and API.
        #[arg(long, default_value = "127.0.0.1:8660")]
        listen: String,
        /// Login of the first officer. Its password comes from EXLIC_OFFICER_PASSWORD;
        /// without it one is generated and printed once.
        #[arg(long, default_value = "officer")]
        officer: String,
    },
    /// An authority (发证机构) node.
    Authority {
        /// The data directory to create.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// 发证机构 name.
        #[arg(long)]
        name: String,
        /// Agency code (two characters).
        #[arg(long, default_value = "AA")]
        agency: String,
        /// libp2p listen address for enterprise nodes.
        #[arg(long, default_value = "/ip4/127.0.0.1/tcp/7300")]
        p2p_listen: String,
        /// HTTP listen address of its API.
        #[arg(long, default_value = "127.0.0.1:8650")]
        listen: String,
    },
}

/// `exlic authority …`.
#[derive(Debug, Subcommand)]
pub enum AuthorityCommand {
    /// Create or reset a staff account (the password comes from EXLIC_STAFF_PASSWORD or
    /// the first line of standard input; it is never taken from the command line).
    Staff {
        /// The authority's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// Login name.
        #[arg(long)]
        login: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// `officer` (经办人, 初审), `chief` (处长, 复审) or `admin`.
        #[arg(long)]
        role: String,
    },
    /// Issue an enrolment token for one device of an enterprise (prints it).
    Invite {
        /// The authority's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// The enterprise's USCC.
        #[arg(long)]
        uscc: String,
        /// 企业名称.
        #[arg(long)]
        name: String,
        /// 申请表号 to grant.
        #[arg(long, default_value_t = 100_000)]
        numbers: u64,
        /// Days the token stays valid.
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// Issue an enrolment token for a customs node of one customs district (prints it).
    InviteCustoms {
        /// The authority's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// The customs district (关区) code, 4 digits.
        #[arg(long)]
        district: String,
        /// Days the token stays valid.
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// Publish reference data to every enrolled enterprise as the office's next signed
    /// release: each file (`codes.json` or `catalogue-YYYY.json`) replaces or adds the
    /// file of that name. Run with the node stopped, or use the 参考数据 staff screen.
    PublishReference {
        /// The authority's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// What changed and where it comes from (e.g. the announcement).
        #[arg(long, default_value = "")]
        note: String,
        /// The files to publish.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs a parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init {
            role:
                InitRole::Enterprise {
                    data_dir,
                    token,
                    name,
                    uscc,
                    agency,
                    number_block,
                    listen,
                    pin,
                    mobile,
                    join,
                    operator,
                },
        } => {
            match token {
                Some(t) if join => {
                    let key = init_joined(&data_dir, &t, &listen)?;
                    println!("this device's key: {key}");
                    println!(
                        "authorise it on the device that holds the e-key: 手机证书授权 → 授权其他设备, or\n  POST /api/v1/certificate/requests {{\"kind\":\"new\",\"mobile\":…,\"pin\":…,\"device_key\":\"{key}\"}}"
                    );
                }
                Some(t) => {
                    let pin =
                        pin.context("--pin (or EXLIC_PIN) is required to create the e-key")?;
                    let mobile = mobile.context(
                        "--mobile is required: the number this device is authorised for",
                    )?;
                    init_enrolled(
                        &data_dir,
                        &t,
                        &listen,
                        &pin,
                        &mobile,
                        crate::ekey::KdfParams::default(),
                    )?
                }
                None => {
                    let mut config = Config::enterprise(
                        &name.unwrap_or_default(),
                        &uscc.unwrap_or_default(),
                        &agency,
                    );
                    config.http.listen = listen;
                    let block = match number_block {
                        Some(b) => b,
                        None => standalone_block()?,
                    };
                    init_enterprise(&data_dir, &config, &block)?;
                }
            }
            let config = Config::load(&data_dir)?;
            let ent = open_enterprise(&data_dir, &config, clock()?)?;
            let password = match std::env::var("EXLIC_OPERATOR_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let p = hex::encode(crate::random::bytes::<8>());
                    println!("operator {operator}'s password (shown once): {p}");
                    p
                }
            };
            ent.operators
                .put(&operator, "", OperatorRole::Sealer, &password)?;
            println!("operator {operator} (盖章员) can sign in to the node's UI and API");
            println!("initialised enterprise node in {}", data_dir.display());
            Ok(())
        }
        Command::Init {
            role:
                InitRole::Customs {
                    data_dir,
                    token,
                    listen,
                    officer,
                },
        } => {
            let c = init_customs(&data_dir, &token, &listen)?;
            let password = match std::env::var("EXLIC_OFFICER_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let p = hex::encode(crate::random::bytes::<8>());
                    println!("officer {officer}'s password (shown once): {p}");
                    p
                }
            };
            c.staff
                .put(&officer, "", crate::api::customs::OFFICER, &password)?;
            println!(
                "initialised customs node for {} ({}) in {}",
                c.district_name(),
                c.district(),
                data_dir.display()
            );
            Ok(())
        }
        Command::Init {
            role:
                InitRole::Authority {
                    data_dir,
                    name,
                    agency,
                    p2p_listen,
                    listen,
                },
        } => {
            let mut config = Config::authority(&name, &agency, &p2p_listen);
            config.http.listen = listen;
            init_authority(&data_dir, &config)?;
            println!("initialised authority node in {}", data_dir.display());
            Ok(())
        }
        Command::Serve { data_dir, listen } => {
            let mut config = Config::load(&data_dir)?;
            if let Some(l) = listen {
                config.http.listen = l;
                config.validate()?;
            }
            let rt = runtime()?;
            rt.block_on(async move {
                let (tx, rx) = tokio::sync::watch::channel(false);
                tokio::spawn(async move {
                    signal().await;
                    let _ = tx.send(true);
                });
                if config.is_authority() {
                    serve_authority(data_dir, config, rx, |url| println!("{url}")).await
                } else if config.is_customs() {
                    serve_customs(data_dir, config, rx, |url| println!("{url}")).await
                } else {
                    serve_enterprise(data_dir, config, rx, |url| println!("{url}")).await
                }
            })
        }
        Command::Demo { data_dir, listen } => demo(data_dir, listen),
        Command::Authority {
            command:
                AuthorityCommand::Invite {
                    data_dir,
                    uscc,
                    name,
                    numbers,
                    days,
                },
        } => {
            let config = Config::load(&data_dir)?;
            if !config.is_authority() {
                bail!("{} is not an authority node", data_dir.display());
            }
            let a = open_authority(&data_dir, &config, advertised(&config)?)?;
            println!("{}", a.registry.invite(&uscc, &name, numbers, days)?);
            Ok(())
        }
        Command::Authority {
            command:
                AuthorityCommand::InviteCustoms {
                    data_dir,
                    district,
                    days,
                },
        } => {
            let config = Config::load(&data_dir)?;
            if !config.is_authority() {
                bail!("{} is not an authority node", data_dir.display());
            }
            let a = open_authority(&data_dir, &config, advertised(&config)?)?;
            a.customs.set_addrs(advertised(&config)?);
            println!("{}", a.customs.invite(&district, days)?);
            Ok(())
        }
        Command::Officer {
            data_dir,
            login,
            name,
        } => {
            let password = password_from("EXLIC_OFFICER_PASSWORD")?;
            let config = Config::load(&data_dir)?;
            if !config.is_customs() {
                bail!("{} is not a customs node", data_dir.display());
            }
            let c = open_customs(&data_dir, &config)?;
            c.staff
                .put(&login, &name, crate::api::customs::OFFICER, &password)?;
            println!("officer account {login} saved");
            Ok(())
        }
        Command::Authority {
            command:
                AuthorityCommand::PublishReference {
                    data_dir,
                    note,
                    files,
                },
        } => {
            let config = Config::load(&data_dir)?;
            if !config.is_authority() {
                bail!("{} is not an authority node", data_dir.display());
            }
            let mut named = Vec::new();
            for f in &files {
                let name = f
                    .file_name()
                    .and_then(|n| n.to_str())
                    .with_context(|| format!("{}: no file name", f.display()))?
                    .to_owned();
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("{}: cannot read as UTF-8 text", f.display()))?;
                named.push((name, text));
            }
            let a = open_authority(&data_dir, &config, Vec::new())?;
            let n = a.reference.publish(named, &note, "cli")?;
            println!(
                "published reference release R{n}: {}",
                a.reference.current().label()
            );
            Ok(())
        }
        Command::Authority {
            command:
                AuthorityCommand::Staff {
                    data_dir,
                    login,
                    name,
                    role,
                },
        } => {
            let role = authority::staff::Role::parse(&role)
                .context("--role must be officer (经办人), chief (处长) or admin")?;
            let password = password_from("EXLIC_STAFF_PASSWORD")?;
            let config = Config::load(&data_dir)?;
            if !config.is_authority() {
                bail!("{} is not an authority node", data_dir.display());
            }
            let a = open_authority(&data_dir, &config, Vec::new())?;
            a.staff.put(&login, &name, role, &password)?;
            println!("staff account {login} ({}) saved", role.zh());
            Ok(())
        }
        Command::Operator {
            data_dir,
            login,
            name,
            role,
        } => {
            let role = OperatorRole::parse(&role)
                .context("--role must be drafter (制单员) or sealer (盖章员)")?;
            let password = password_from("EXLIC_OPERATOR_PASSWORD")?;
            let config = Config::load(&data_dir)?;
            if config.is_authority() {
                bail!(
                    "{} is an authority node: use `exlic authority staff`",
                    data_dir.display()
                );
            }
            let ent = open_enterprise(&data_dir, &config, clock()?)?;
            ent.operators.put(&login, &name, role, &password)?;
            println!("operator {login} ({}) saved", role.zh());
            Ok(())
        }
        Command::Check { data_dir } => check(&data_dir),
        Command::Verify {
            file,
            authority_key,
            rollovers,
            standing,
        } => verify_licence(&file, &authority_key, &rollovers, standing.as_deref()),
        Command::VerifySeal {
            file,
            key,
            attachments,
        } => verify_seal(&file, &key, &attachments),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The clock every node of this process runs on ([`crate::clock::process_clock`]).
fn clock() -> anyhow::Result<Arc<dyn Clock>> {
    crate::clock::process_clock().map_err(anyhow::Error::msg)
}

fn standalone_block() -> anyhow::Result<String> {
    let yy = china_date(clock()?.now_ms()).year() % 100;
    Ok(format!("{yy:02}9999400000560600000:100000"))
}

/// Validates the config and creates a fresh data directory with its store (refusing one
/// that already holds a node). The caller initialises the role and then saves the config.
fn create_data_dir(data_dir: &Path, config: &Config) -> anyhow::Result<Store> {
    config.validate()?;
    if data_dir.join(crate::config::FILE).exists() {
        bail!(
            "{} already holds a node (config.toml exists)",
            data_dir.display()
        );
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    open_store(data_dir, config)
}

/// A password from the environment variable `var`, else the first line of standard
/// input (never from the command line).
fn password_from(var: &str) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var(var) {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Opens a node's store.
fn open_store(data_dir: &Path, config: &Config) -> anyhow::Result<Store> {
    let path = data_dir.join(STORE_FILE);
    Store::open(&path, config.store_options())
        .with_context(|| format!("opening {}", path.display()))
}

/// Creates the data directory, config, store, device key and number block.
pub fn init_enterprise(data_dir: &Path, config: &Config, number_block: &str) -> anyhow::Result<()> {
    let block = NumberBlock::parse(number_block).context("--number-block")?;
    let store = create_data_dir(data_dir, config)?;
    enterprise::initialise(&store, block)?;
    config.save(data_dir)?;
    Ok(())
}

/// Creates an enterprise device's data directory from an enrolment token: the config
/// (identity, the authority's key and addresses), the store with the device key, the
/// number block and the invite secret. Returns them for the caller to finish.
fn init_from_token(data_dir: &Path, token: &str, listen: &str) -> anyhow::Result<(Config, Store)> {
    let invite = Invite::from_token(token)?;
    let mut config = Config::enterprise(
        &invite.enterprise_name,
        &invite.enterprise_uscc,
        &invite.agency_code,
    );
    config.http.listen = listen.into();
    config.upstream = Some(UpstreamSection {
        authority_key: hex::encode(invite.authority_key),
        addrs: invite.addrs.clone(),
        poll_seconds: 5,
        max_backoff_seconds: 30,
    });
    let block = format!("{:021}:{}", invite.block_first, invite.block_len);
    init_enterprise(data_dir, &config, &block)?;
    let store = open_store(data_dir, &config)?;
    enterprise::initialise_enrolment(&store, invite.secret)?;
    Ok((config, store))
}

/// Creates another device of an enrolled enterprise from its token: no e-key (that stays
/// on the enterprise's first device, which authorises this one); returns its key in hex.
pub fn init_joined(data_dir: &Path, token: &str, listen: &str) -> anyhow::Result<String> {
    let (config, store) = init_from_token(data_dir, token, listen)?;
    drop(store);
    let ent = open_enterprise(data_dir, &config, clock()?)?;
    Ok(hex::encode(ent.device_public_key()))
}

/// Creates an enterprise node from an enrolment token, with its master e-key under `pin`.
pub fn init_enrolled(
    data_dir: &Path,
    token: &str,
    listen: &str,
    pin: &str,
    mobile: &str,
    kdf: crate::ekey::KdfParams,
) -> anyhow::Result<()> {
    crate::ekey::check_policy(pin)?;
    if !exlic_client::cert_request::valid_mobile(mobile) {
        bail!("--mobile must be 11 digits starting with 1");
    }
    let (config, store) = init_from_token(data_dir, token, listen)?;
    crate::ekey::create(&store, pin, kdf)?;
    // 新授权: the e-key authorises this device; the request goes out on first contact.
    let master = crate::ekey::unlock(&store, pin)?;
    drop(store);
    let ent = open_enterprise(data_dir, &config, clock()?)?;
    ent.certificates.queue_request(
        exlic_client::cert_request::RequestKind::New,
        mobile,
        "",
        &master,
        None,
    )?;
    Ok(())
}

/// Creates an authority node's data directory.
pub fn init_authority(data_dir: &Path, config: &Config) -> anyhow::Result<()> {
    let a = config.authority.as_ref().expect("validated");
    if config.reference()?.agency_block(&a.agency_code).is_none() {
        bail!(
            "--agency {}: not in the agency registry (codes.json agencies), so this office's 申请表号 could collide with another's; add it to the reference data given in [reference] dir",
            a.agency_code
        );
    }
    let store = create_data_dir(data_dir, config)?;
    authority::initialise(&store)?;
    ensure_tls(data_dir, a)?;
    config.save(data_dir)?;
    Ok(())
}

/// The staff UI's certificate and key paths; makes a self-signed pair when neither exists.
fn ensure_tls(
    data_dir: &Path,
    a: &crate::config::AuthoritySection,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    ensure_tls_for(data_dir, &a.tls_cert, &a.tls_key, &a.tls_names)
}

/// A UI's certificate and key paths under `data_dir`; makes a self-signed pair for
/// `names` when neither exists.
fn ensure_tls_for(
    data_dir: &Path,
    cert: &str,
    key: &str,
    names: &[String],
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let cert = data_dir.join(cert);
    let key = data_dir.join(key);
    if !cert.exists() && !key.exists() {
        crate::tls::write_self_signed(&cert, &key, names)?;
        tracing::info!(cert = %cert.display(), "made a self-signed TLS certificate");
    }
    Ok((cert, key))
}

fn advertised(config: &Config) -> anyhow::Result<Vec<String>> {
    let a = config.authority.as_ref().expect("validated");
    let addrs = if a.advertise.is_empty() {
        a.p2p_listen.clone()
    } else {
        a.advertise.clone()
    };
    if addrs.iter().any(|m| m.ends_with("/tcp/0")) {
        bail!(
            "the authority listens on a random port; set [authority] advertise, or issue invites through the running node's API"
        );
    }
    Ok(addrs)
}

fn open_enterprise(
    data_dir: &Path,
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Enterprise> {
    let store = Arc::new(open_store(data_dir, config)?);
    let reference = Arc::new(config.reference()?);
    Ok(Enterprise::new(
        store,
        reference,
        clock,
        config.identity(),
        config.settings(),
    )?)
}

/// Creates a customs node's data directory from its invite.
pub fn init_customs(
    data_dir: &Path,
    token: &str,
    listen: &str,
) -> anyhow::Result<crate::customs::Customs> {
    exlic_client::invite::CustomsInvite::from_token(token).context("--token")?;
    let config = Config::customs(listen);
    config.validate()?;
    let store = create_data_dir(data_dir, &config)?;
    crate::customs::initialise(&store, token)?;
    drop(store);
    let c = config.customs.as_ref().expect("customs config");
    ensure_tls_for(data_dir, &c.tls_cert, &c.tls_key, &c.tls_names)?;
    config.save(data_dir)?;
    open_customs(data_dir, &config)
}

fn open_customs(data_dir: &Path, config: &Config) -> anyhow::Result<crate::customs::Customs> {
    let store = Arc::new(open_store(data_dir, config)?);
    Ok(crate::customs::Customs::open(
        store,
        clock()?,
        Arc::new(config.reference()?),
    )?)
}

fn open_authority(
    data_dir: &Path,
    config: &Config,
    addrs: Vec<String>,
) -> anyhow::Result<Authority> {
    let store = Arc::new(open_store(data_dir, config)?);
    let a = config.authority.as_ref().expect("validated");
    Ok(Authority::with_reference(
        store,
        clock()?,
        AuthorityInfo {
            name: a.name.clone(),
            agency_code: a.agency_code.clone(),
            addrs,
            attachment_max_bytes: config.limits.attachment_max_mb << 20,
        },
        Arc::new(config.reference()?),
    )?)
}

fn start_compactor(
    store: Arc<Store>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    Ok(std::thread::Builder::new()
        .name("compactor".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = store.compact_pending() {
                    tracing::warn!(error = %e, "compaction failed; will retry");
                }
                for _ in 0..20 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
        })?)
}

async fn wait_true(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

/// Runs an enterprise node until `shutdown` turns true; `announce` gets its URL.
pub async fn serve_enterprise(
    data_dir: PathBuf,
    config: Config,
    shutdown: tokio::sync::watch::Receiver<bool>,
    announce: impl FnOnce(String),
) -> anyhow::Result<()> {
    let enterprise = Arc::new(open_enterprise(&data_dir, &config, clock()?)?);
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let compactor = start_compactor(enterprise.store().clone(), stop.clone())?;

    let mut sync_task = None;
    let mut sync_status = None;
    if let Some(u) = &config.upstream {
        let mut key = [0u8; 32];
        hex::decode_to_slice(&u.authority_key, &mut key).context("upstream.authority_key")?;
        // The office's release synced before the last shutdown is in force from the start.
        enterprise.reference.adopt_published(&key)?;
        let (secret, master) = enterprise.enrolment_keys()?;
        let up = Upstream {
            authority_key: key,
            addrs: u
                .addrs
                .iter()
                .map(|a| a.parse())
                .collect::<Result<_, _>>()
                .context("upstream.addrs")?,
            invite_secret: secret,
            master_key: master,
            poll: std::time::Duration::from_secs(u.poll_seconds.max(1)),
            max_backoff: std::time::Duration::from_secs(u.max_backoff_seconds.max(1)),
        };
        let status: SyncStatus = Arc::default();
        sync_status = Some(status.clone());
        sync_task = Some(tokio::spawn(sync::client::run(
            enterprise.clone(),
            up,
            status,
            shutdown.clone(),
        )));
    }

    let authority_key = match &config.upstream {
        Some(u) => {
            let mut k = [0u8; 32];
            hex::decode_to_slice(&u.authority_key, &mut k).context("upstream.authority_key")?;
            Some(k)
        }
        None => None,
    };
    let state = AppState::new(enterprise, sync_status, authority_key);
    let router = crate::ui::enterprise_app(
        state,
        crate::ui::Guard::new(local.port(), &config.http.allowed_hosts, false),
    );
    announce(format!("http://{local}"));
    use std::io::Write;
    std::io::stdout().flush().ok();
    tracing::info!(%local, data_dir = %data_dir.display(), "enterprise node serving");
    api::serve(listener, router, wait_true(shutdown)).await?;
    if let Some(t) = sync_task {
        let _ = t.await;
    }
    stop.store(true, Ordering::Relaxed);
    compactor.join().ok();
    tracing::info!("enterprise node stopped cleanly");
    Ok(())
}

/// Runs an authority node until `shutdown` turns true; `announce` gets its URL.
pub async fn serve_authority(
    data_dir: PathBuf,
    config: Config,
    shutdown: tokio::sync::watch::Receiver<bool>,
    announce: impl FnOnce(String),
) -> anyhow::Result<()> {
    let a = config.authority.clone().expect("validated");
    // Bind the p2p listener first, so invites carry the real addresses.
    let listen: Vec<libp2p::Multiaddr> = a
        .p2p_listen
        .iter()
        .map(|m| m.parse())
        .collect::<Result<_, _>>()
        .context("authority.p2p_listen")?;
    let authority = Arc::new(open_authority(&data_dir, &config, a.advertise.clone())?);
    let store = authority.store().clone();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let p2p = tokio::spawn(sync::server::run(
        authority.clone(),
        listen,
        sync::net::NetLimits::default(),
        Arc::default(),
        sync::server::RateLimit::default(),
        bound_tx,
        shutdown.clone(),
    ));
    let bound = tokio::time::timeout(std::time::Duration::from_secs(10), bound_rx)
        .await
        .context("the p2p listener did not start in time")?
        .context("the p2p listener failed to start")?;
    let addrs: Vec<String> = if a.advertise.is_empty() {
        bound.iter().map(|m| m.to_string()).collect()
    } else {
        a.advertise.clone()
    };
    authority.registry.set_addrs(addrs.clone());

    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let compactor = start_compactor(store.clone(), stop.clone())?;
    let state = crate::api::authority::AuthorityState {
        authority,
        p2p_addrs: addrs.clone(),
        sessions: Arc::new(crate::authority::staff::Sessions::new(store.clone())),
    };
    let app =
        crate::api::authority::router(state.clone()).merge(crate::ui::authority::router(state));
    let router = crate::ui::shell(
        app,
        crate::ui::Guard::new(local.port(), &config.http.allowed_hosts, true),
    )
    .layer(axum::middleware::from_fn(crate::api::refuse_oversized));
    let (cert, key) = ensure_tls(&data_dir, &a)?;
    let tls = crate::tls::TlsListener::new(listener, crate::tls::server_config(&cert, &key)?)?;
    announce(format!("https://{local}"));
    use std::io::Write;
    std::io::stdout().flush().ok();
    tracing::info!(%local, p2p = ?addrs, "authority node serving");
    use axum::serve::ListenerExt as _;
    axum::serve(
        tls.tap_io(|_| {}),
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(wait_true(shutdown))
    .await?;
    match p2p.await {
        Ok(Err(e)) => tracing::warn!(error = %e, "p2p listener stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "p2p listener panicked"),
        Ok(Ok(())) => {}
    }
    stop.store(true, Ordering::Relaxed);
    compactor.join().ok();
    tracing::info!("authority node stopped cleanly");
    Ok(())
}

/// Runs a customs node until `shutdown` turns true: its sync with the office, and the
/// officer UI and JSON API over HTTPS; `announce` gets its URL.
pub async fn serve_customs(
    data_dir: PathBuf,
    config: Config,
    shutdown: tokio::sync::watch::Receiver<bool>,
    announce: impl FnOnce(String),
) -> anyhow::Result<()> {
    let section = config.customs.clone().context("[customs] section")?;
    let customs = Arc::new(open_customs(&data_dir, &config)?);
    let up = Upstream {
        authority_key: customs.authority_key(),
        addrs: customs
            .authority_addrs()
            .iter()
            .map(|a| a.parse())
            .collect::<Result<_, _>>()
            .context("the invite's office addresses")?,
        invite_secret: customs.invite_secret()?,
        master_key: [0; 32],
        poll: std::time::Duration::from_secs(section.poll_seconds.max(1)),
        max_backoff: std::time::Duration::from_secs(section.max_backoff_seconds.max(1)),
    };
    let status: SyncStatus = Arc::default();
    let sync_task = tokio::spawn(sync::client::run(
        customs.clone(),
        up,
        status.clone(),
        shutdown.clone(),
    ));
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    let state = crate::api::customs::CustomsState {
        sessions: Arc::new(crate::accounts::Sessions::new(customs.store().clone())),
        customs,
        sync: Some(status),
    };
    let app = crate::api::customs::router(state.clone()).merge(crate::ui::customs::router(state));
    let router = crate::ui::shell(
        app,
        crate::ui::Guard::new(local.port(), &config.http.allowed_hosts, true),
    )
    .layer(axum::middleware::from_fn(crate::api::refuse_oversized));
    let (cert, key) = ensure_tls_for(
        &data_dir,
        &section.tls_cert,
        &section.tls_key,
        &section.tls_names,
    )?;
    let tls = crate::tls::TlsListener::new(listener, crate::tls::server_config(&cert, &key)?)?;
    announce(format!("https://{local}"));
    use std::io::Write;
    std::io::stdout().flush().ok();
    tracing::info!(%local, "customs node serving");
    use axum::serve::ListenerExt as _;
    axum::serve(
        tls.tap_io(|_| {}),
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(wait_true(shutdown))
    .await?;
    let _ = sync_task.await;
    tracing::info!("customs node stopped cleanly");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            ctrl_c.await.ok();
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.ok();
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The customs district of the demo's customs node: the sample applications' 报关口岸.
const DEMO_DISTRICT: &str = "3700";

/// The demo's staff accounts, all with [`DEMO_PASSWORD`].
const DEMO_STAFF: &[(&str, &str, authority::staff::Role)] = &[
    ("wang", "王经办", authority::staff::Role::Officer),
    ("li", "李处长", authority::staff::Role::Chief),
    ("admin", "管理员", authority::staff::Role::Admin),
];
/// The demo enterprise's operators, all with [`DEMO_PASSWORD`].
const DEMO_OPERATORS: &[(&str, &str, OperatorRole)] = &[
    ("zhang", "张盖章", OperatorRole::Sealer),
    ("zhao", "赵制单", OperatorRole::Drafter),
];
/// The demo password of staff and operators (a demo on one machine only).
const DEMO_PASSWORD: &str = "demo-password-2468";

fn demo(data_dir: Option<PathBuf>, listen: Option<String>) -> anyhow::Result<()> {
    let root = match data_dir {
        Some(d) => d,
        None => fresh_demo_dir()?,
    };
    let adir = root.join("authority");
    let edir = root.join("enterprise");
    let cdir = root.join("customs");
    let fresh = !adir.join(crate::config::FILE).exists();
    if fresh {
        let p2p = format!("/ip4/127.0.0.1/tcp/{}", free_port()?);
        let mut ac = Config::authority("商务部配额许可证事务局", "AA", &p2p);
        ac.http.listen = "127.0.0.1:0".into();
        init_authority(&adir, &ac)?;
        let e = demo_config();
        let en = e.enterprise.as_ref().expect("enterprise");
        let a = open_authority(&adir, &ac, vec![p2p])?;
        for (login, name, role) in DEMO_STAFF {
            a.staff.put(login, name, *role, DEMO_PASSWORD)?;
        }
        let token = a.registry.invite(&en.uscc, &en.name, 100_000, 365)?;
        // The customs district the sample applications name as 报关口岸.
        let customs_token = a.customs.invite(DEMO_DISTRICT, 90)?;
        drop(a);
        let c = init_customs(&cdir, &customs_token, "127.0.0.1:0")?;
        c.staff.put(
            "zhou",
            "周关员",
            crate::api::customs::OFFICER,
            DEMO_PASSWORD,
        )?;
        drop(c);
        init_enrolled(
            &edir,
            &token,
            "127.0.0.1:0",
            "demo-passphrase-2468",
            "13800138000",
            crate::ekey::KdfParams::default(),
        )?;
        seed_demo(&edir, &Config::load(&edir)?)
            .context("filling the demo node with sample applications")?;
        let ent = open_enterprise(&edir, &Config::load(&edir)?, clock()?)?;
        for (login, name, role) in DEMO_OPERATORS {
            ent.operators.put(login, name, *role, DEMO_PASSWORD)?;
        }
    }
    let mut ec = Config::load(&edir)?;
    ec.http.listen = listen.unwrap_or_else(|| "127.0.0.1:0".into());
    ec.validate()?;
    let ac = Config::load(&adir)?;
    let cc = Config::load(&cdir)?;
    eprintln!("demo data directory: {}", root.display());
    eprintln!(
        "demo operators (enterprise): zhang = 盖章员, zhao = 制单员; password {DEMO_PASSWORD}"
    );
    eprintln!("demo e-key PIN (asked at 保存并盖章): demo-passphrase-2468");
    eprintln!("demo staff (authority): wang = 经办人, li = 处长, admin; password {DEMO_PASSWORD}");
    eprintln!("demo customs officer ({DEMO_DISTRICT}): zhou; password {DEMO_PASSWORD}");
    eprintln!("the authority and customs use self-signed certificates: accept them in the browser");
    runtime()?.block_on(async move {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            signal().await;
            let _ = tx.send(true);
        });
        let (url_tx, url_rx) = tokio::sync::oneshot::channel();
        let cert = adir.join("tls/cert.pem");
        let auth = tokio::spawn(serve_authority(adir, ac, rx.clone(), |u| {
            println!("authority: {u}");
            let _ = url_tx.send(u);
        }));
        if fresh {
            // The first sample reported reaches the office by sync; the demo staff pass it
            // through both reviews over the office's own JSON API, so a licence is there
            // to click through from the start.
            tokio::spawn(async move {
                let Ok(url) = url_rx.await else { return };
                match issue_demo_licence(&url, &cert).await {
                    Ok(no) => eprintln!(
                        "demo: licence issued on 申请表号 {no} (初审 by wang, 复审 by li)"
                    ),
                    Err(e) => tracing::warn!(error = %format!("{e:#}"), "demo: no licence issued"),
                }
            });
        }
        let ent = tokio::spawn(serve_enterprise(edir, ec, rx.clone(), |u| {
            println!("enterprise: {u}")
        }));
        let customs = tokio::spawn(serve_customs(cdir, cc, rx, |u| println!("customs: {u}")));
        let (a, e, c) = tokio::join!(auth, ent, customs);
        a??;
        e??;
        c??;
        Ok(())
    })
}

/// Waits for the demo's first reported application at the office (`url`, its TLS
/// certificate at `cert`), then approves it as `wang` (初审) and `li` (复审); returns its
/// 申请表号.
async fn issue_demo_licence(url: &str, cert: &Path) -> anyhow::Result<String> {
    use exlic_client::authority::DecisionInput;
    let roots = std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
    let sign_in = |login: &'static str| {
        let roots = roots.clone();
        async move {
            let mut c = exlic_client::client::Client::with_roots(url.to_owned(), &roots)?;
            c.login(login, DEMO_PASSWORD).await?;
            anyhow::Ok(c)
        }
    };
    let (officer, chief) = (sign_in("wang").await?, sign_in("li").await?);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    let row = loop {
        let page = officer.inbox("pending_initial", 1).await?;
        if let Some(first) = page.rows.into_iter().min_by_key(|r| r.received_ms) {
            break first;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("no reported application reached the office in 120 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let decide = |stage: &str| DecisionInput {
        stage: stage.into(),
        approve: true,
        reason: String::new(),
    };
    officer.decide(row.id, &decide("initial")).await?;
    chief.decide(row.id, &decide("second")).await?;
    Ok(row.application_no)
}

fn check(data_dir: &Path) -> anyhow::Result<()> {
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

/// `exlic verify`: the signature and key chain, then the standing on this machine's date
/// (China): the statement's when given, else expiry alone. Exit 0 only for a valid licence.
fn verify_licence(
    file: &Path,
    key: &str,
    rollovers: &[PathBuf],
    standing: Option<&Path>,
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
    println!("valid: {what}; {as_of}");
    Ok(())
}

fn verify_seal(file: &Path, key: &str, attachments: &[PathBuf]) -> anyhow::Result<()> {
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

fn fresh_demo_dir() -> anyhow::Result<PathBuf> {
    let r: [u8; 4] = crate::random::bytes();
    Ok(std::env::temp_dir().join(format!("exlic-demo-{}", hex::encode(r))))
}

/// The demo enterprise.
pub fn demo_config() -> Config {
    Config::enterprise("厦门示例化工进出口有限公司", "913502000728319549", "AA")
}

/// Fills a demo node with realistic applications in several states.
pub fn seed_demo(data_dir: &Path, config: &Config) -> anyhow::Result<()> {
    use exlic_client::application::ApplicationForm;
    let clock: Arc<dyn Clock> = clock()?;
    let year = china_date(clock.now_ms()).year();
    let ent = open_enterprise(data_dir, config, clock)?;
    let e = config
        .enterprise
        .as_ref()
        .context("not an enterprise node")?;
    let base = |code: &str, qty: &str, price: &str, country: &str, contract: &str, unit: &str| {
        let mut form = exlic_client::sample::application(&e.name, &e.uscc, i32::from(year));
        form.contract_no = contract.into();
        form.contract.contract_no = contract.into();
        form.country = country.into();
        form.contract.buyer_country = country.into();
        form.commodity_code = code.into();
        form.goods[0].spec = "无水柠檬酸 BP2013 30-100目 25kg/袋".into();
        form.goods[0].unit = unit.into();
        form.goods[0].quantity = qty.into();
        form.goods[0].unit_price = price.into();
        form.additional_info = "纸塑复合袋包装，集装箱运输".into();
        form
    };
    let contract_pdf = b"%PDF-1.4\n% demo export contract\n".to_vec();
    let approval = b"%PDF-1.4\n% demo export approval\n".to_vec();
    // Two reported, one sealed, one complete draft, one incomplete draft.
    for (i, (code, qty, price, country, unit)) in [
        ("2918140000", "23", "1250", "JPN", "t"),
        ("2918140000", "1", "1310", "KOR", "t"),
        ("2936270000", "5000", "6.8", "DEU", "kg"),
        ("2918140000", "40", "1195.5", "VNM", "t"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut form = base(
            code,
            qty,
            price,
            country,
            &format!("XM{year}CA{:04}", 90 + i),
            unit,
        );
        if code == "2936270000" {
            form.goods[0].spec = "维生素C 99% 药用级 25kg/箱".into();
        }
        let v = ent.applications.create(&form)?;
        ent.attachments
            .add(v.id, "出口合同.pdf", "application/pdf", &contract_pdf)?;
        ent.attachments
            .add(v.id, "出口批准文件.pdf", "application/pdf", &approval)?;
        if i < 3 {
            ent.sealing.seal(v.id)?;
        }
        if i < 2 {
            ent.sealing.report(v.id)?;
        }
    }
    let mut partial = ApplicationForm {
        exporter_name: e.name.clone(),
        commodity_code: "2918140000".into(),
        quota_year: year.to_string(),
        ..Default::default()
    };
    partial.remarks = "草稿：待补充合同信息".into();
    ent.applications.create(&partial)?;
    Ok(())
}
