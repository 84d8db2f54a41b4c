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
use crate::upstream::Link;
use exlic_client::invite::Invite;

mod bureau;
mod cluster;
mod demo;
mod init;
mod serve;
mod verify;

use bureau::*;
pub use bureau::{init_bureau, serve_bureau};
use cluster::*;
pub use cluster::{Joining, ReplicaListen, init_replica_of, set_cluster};
use demo::*;
pub use demo::{demo_config, seed_demo};
use init::*;
pub use init::{init_authority, init_customs, init_enrolled, init_enterprise, init_joined};
pub use serve::{serve_authority, serve_customs, serve_enterprise, signal};
use verify::*;

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
        /// Issuing offices, 1 to 3: with 2 or 3, a second enterprise enrolled with the
        /// last office and a supervising bureau that witnesses every office's log.
        #[arg(long, default_value_t = 1)]
        offices: usize,
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
    /// Enrol a stopped enterprise or customs node with another office too. An enterprise
    /// gives that office's enrolment token for it: from the next start the node syncs
    /// with it, and applications for the commodities the 分级发证目录 gives that office go
    /// to it. A customs node gives that office's customs invite for its district: from the
    /// next start it follows that office's standing, key chain and log, checks its
    /// licences and reports its usage there too.
    AddOffice {
        /// The node's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// The other office's enrolment token (`exlic authority invite` there) or, for a
        /// customs node, its customs invite (`exlic authority invite-customs`).
        #[arg(long)]
        token: String,
    },
    /// Bureau commands, on a stopped bureau node.
    Bureau {
        /// What to do.
        #[command(subcommand)]
        command: BureauCommand,
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
        /// The licence's inclusion proof in its office's transparency log (`.proof`, from
        /// the enterprise node's `/api/v1/licences/{no}/proof` or the office's
        /// `/api/v1/log/proof`): checked against the office's key chain.
        #[arg(long)]
        proof: Option<PathBuf>,
        /// Require the proof's checkpoint to be co-signed by this bureau key (64 hex
        /// characters; with --witness-name).
        #[arg(long, requires = "proof")]
        witness_key: Option<String>,
        /// The co-signing bureau's name (its key name is `exlic.bureau/<name>`).
        #[arg(long, requires = "witness_key", default_value = "bureau")]
        witness_name: String,
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

/// `exlic bureau <command>`.
#[derive(Debug, Subcommand)]
pub enum BureauCommand {
    /// Follow an office: its log is read, checked and co-signed from the next start.
    AddOffice {
        /// The bureau's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// The office's agency code.
        #[arg(long)]
        agency: String,
        /// The office's name.
        #[arg(long, default_value = "")]
        name: String,
        /// The office's identity key (64 hex characters: `root_key` of its
        /// `/api/v1/node`).
        #[arg(long)]
        root_key: String,
        /// The office's libp2p addresses.
        #[arg(long = "addr", required = true)]
        addrs: Vec<String>,
    },
    /// Create or reset a supervisor's account (the password comes from
    /// EXLIC_STAFF_PASSWORD or the first line of standard input).
    Staff {
        /// The bureau's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// Login name.
        #[arg(long)]
        login: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
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
    /// A supervising bureau (许可证局) node: it follows offices' transparency logs,
    /// co-signs their checkpoints and raises alarms (prints its public key, which each
    /// office registers with `exlic authority add-bureau`).
    Bureau {
        /// The data directory to create.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// Its name (its co-signatures are under `exlic.bureau/<name>`).
        #[arg(long, default_value = "bureau")]
        name: String,
        /// HTTPS listen address of its API.
        #[arg(long, default_value = "127.0.0.1:8670")]
        listen: String,
    },
    /// An authority (发证机构) node.
    Authority {
        /// The data directory to create.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// 发证机构 name.
        #[arg(long, required_unless_present = "replica_of")]
        name: Option<String>,
        /// Agency code (two characters).
        #[arg(long, default_value = "AA")]
        agency: String,
        /// libp2p listen address for enterprise nodes [default: /ip4/127.0.0.1/tcp/7300,
        /// or with --replica-of the source's].
        #[arg(long)]
        p2p_listen: Option<String>,
        /// HTTP listen address of its API [default: 127.0.0.1:8650, or with
        /// --replica-of the source's].
        #[arg(long)]
        listen: Option<String>,
        /// Make a replica of this stopped office instead: a copy of its store and
        /// settings. Either an office named a replica by `exlic authority cluster`, never
        /// yet run as one (a founding replica), or a stopped replica of a running office
        /// (a new replica joining it; its administrator then adds it).
        #[arg(long, requires = "id", conflicts_with_all = ["name"])]
        replica_of: Option<PathBuf>,
        /// With --replica-of: this replica's id, one of the source's `[cluster]` replicas
        /// for a founding replica, a new id for a joining one.
        #[arg(long)]
        id: Option<u64>,
        /// With --replica-of: where the other replicas reach this one, e.g.
        /// /ip4/10.0.0.4/tcp/7400 (required for a joining replica).
        #[arg(long, requires = "replica_of")]
        raft: Option<String>,
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
    /// Register the supervising bureau: the one peer that may read this office's log over
    /// sync and co-sign its checkpoints (it can write nothing).
    AddBureau {
        /// The authority's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// The bureau's public key (64 hex characters, printed by `exlic init bureau`).
        #[arg(long)]
        key: String,
        /// The bureau's name.
        #[arg(long, default_value = "bureau")]
        name: String,
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
    /// Make this stopped office, never yet run as a replica, replica ID of a replicated
    /// office of three or five: writes its `[cluster]` section. Then make the others from
    /// it (`exlic init authority --replica-of`) and start all of them.
    Cluster {
        /// The authority's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// This replica's id.
        #[arg(long)]
        id: u64,
        /// Every voter, this one included: `ID=ADDRESS`, where the others reach it, e.g.
        /// `2=/ip4/10.0.0.2/tcp/7400`.
        #[arg(long = "replica", required = true, value_parser = parse_replica)]
        replicas: Vec<crate::config::ReplicaEntry>,
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
                    replica_of,
                    id,
                    raft,
                },
        } => {
            if let (Some(source), Some(id)) = (replica_of, id) {
                let listen = ReplicaListen {
                    p2p: p2p_listen,
                    http: listen,
                    raft,
                };
                let joining = init_replica_of(&source, &data_dir, id, listen)?;
                println!(
                    "initialised replica {id} in {}, a copy of the office in {}",
                    data_dir.display(),
                    source.display()
                );
                if joining == Joining::Joins {
                    println!(
                        "start it (and {} again), then add it as the office's administrator: the 副本 (Replicas) card on the staff UI's overview page, or POST /api/v1/cluster/replicas {{\"id\": {id}, \"addr\": \"…\"}}",
                        source.display()
                    );
                }
                return Ok(());
            }
            let name = name.context("--name is required")?;
            let p2p = p2p_listen.unwrap_or_else(|| "/ip4/127.0.0.1/tcp/7300".into());
            let mut config = Config::authority(&name, &agency, &p2p);
            config.http.listen = listen.unwrap_or_else(|| "127.0.0.1:8650".into());
            init_authority(&data_dir, &config)?;
            println!("initialised authority node in {}", data_dir.display());
            Ok(())
        }
        Command::Authority {
            command:
                AuthorityCommand::Cluster {
                    data_dir,
                    id,
                    replicas,
                },
        } => {
            set_cluster(&data_dir, id, replicas)?;
            println!(
                "{} is replica {id}; make the others from it with `exlic init authority --replica-of {} --id N`",
                data_dir.display(),
                data_dir.display()
            );
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
                } else if config.is_bureau() {
                    serve_bureau(data_dir, config, rx, |url| println!("{url}")).await
                } else {
                    serve_enterprise(data_dir, config, rx, |url| println!("{url}")).await
                }
            })
        }
        Command::Demo {
            data_dir,
            listen,
            offices,
        } => demo(data_dir, listen, offices),
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
            let config = offline_authority(&data_dir)?;
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
            let config = offline_authority(&data_dir)?;
            let a = open_authority(&data_dir, &config, advertised(&config)?)?;
            a.customs.set_addrs(advertised(&config)?);
            println!("{}", a.customs.invite(&district, days)?);
            Ok(())
        }
        Command::Init {
            role:
                InitRole::Bureau {
                    data_dir,
                    name,
                    listen,
                },
        } => {
            let key = init_bureau(&data_dir, &name, &listen)?;
            println!("{}", hex::encode(key));
            eprintln!(
                "initialised bureau node {name} in {}; register its key above with each office (exlic authority add-bureau) and add each office here (exlic bureau add-office)",
                data_dir.display()
            );
            Ok(())
        }
        Command::Bureau {
            command:
                BureauCommand::AddOffice {
                    data_dir,
                    agency,
                    name,
                    root_key,
                    addrs,
                },
        } => {
            let config = Config::load(&data_dir)?;
            let b = open_bureau(&data_dir, &config)?;
            let id = b.add_office(&agency, &name, &root_key, &addrs)?;
            println!("following office {agency} as number {id}");
            Ok(())
        }
        Command::Bureau {
            command:
                BureauCommand::Staff {
                    data_dir,
                    login,
                    name,
                },
        } => {
            let password = password_from("EXLIC_STAFF_PASSWORD")?;
            let config = Config::load(&data_dir)?;
            let b = open_bureau(&data_dir, &config)?;
            b.staff
                .put(&login, &name, crate::api::bureau::SUPERVISOR, &password)?;
            println!("supervisor account {login} saved");
            Ok(())
        }
        Command::Authority {
            command:
                AuthorityCommand::AddBureau {
                    data_dir,
                    key,
                    name,
                },
        } => {
            let config = offline_authority(&data_dir)?;
            let mut k = [0u8; 32];
            hex::decode_to_slice(key.trim(), &mut k).context("--key must be 64 hex characters")?;
            let a = open_authority(&data_dir, &config, advertised(&config)?)?;
            a.log.set_bureau(k, &name)?;
            println!("bureau {name} may now read this office's log and co-sign its checkpoints");
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
            let config = offline_authority(&data_dir)?;
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
            let config = offline_authority(&data_dir)?;
            let a = open_authority(&data_dir, &config, Vec::new())?;
            a.staff.put(&login, &name, role, &password)?;
            println!("staff account {login} ({}) saved", role.zh());
            Ok(())
        }
        Command::AddOffice { data_dir, token } => {
            let agency = add_office(&data_dir, &token)?;
            println!("enrolled with office {agency} from the next start");
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
            proof,
            witness_key,
            witness_name,
        } => verify_licence(
            &file,
            &authority_key,
            &rollovers,
            standing.as_deref(),
            proof
                .as_deref()
                .map(|p| (p, witness_key.as_deref(), witness_name.as_str())),
        ),
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
