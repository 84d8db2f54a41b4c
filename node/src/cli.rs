//! The `exlic` command line: `init`, `serve`, `demo`, `check`, `verify-seal`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

use crate::api::{self, AppState};
use crate::clock::{Clock, SystemClock, china_date};
use crate::config::{Config, STORE_FILE};
use crate::domain::numbering::NumberBlock;
use crate::enterprise::{self, Enterprise};
use crate::store::Store;

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
    /// Run a node: the local web UI and JSON API.
    Serve {
        /// The node's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// Listen address (overrides config.toml), loopback only.
        #[arg(long, env = "EXLIC_LISTEN")]
        listen: Option<String>,
    },
    /// Start a ready-to-use node with sample applications and print its URL.
    Demo {
        /// Use this data directory (created and filled if empty); default: a fresh one.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Listen address; default 127.0.0.1 with a free port.
        #[arg(long, env = "EXLIC_LISTEN")]
        listen: Option<String>,
    },
    /// Check a stopped node's store: redb integrity and index consistency.
    Check {
        /// The node's data directory.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
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
    /// An enterprise node.
    Enterprise {
        /// The data directory to create.
        #[arg(long, env = "EXLIC_DATA_DIR")]
        data_dir: PathBuf,
        /// 企业名称.
        #[arg(long)]
        name: String,
        /// 统一社会信用代码 (18 characters, GB 32100-2015).
        #[arg(long)]
        uscc: String,
        /// Issuing agency (发证机构) code.
        #[arg(long, default_value = "AA")]
        agency: String,
        /// Block of 申请表号 this node may assign offline, FIRST:COUNT (until enrolment
        /// with an authority grants one).
        #[arg(long, default_value = "269999400000560600000:100000")]
        number_block: String,
        /// Listen address of the local UI and API.
        #[arg(long, default_value = crate::config::DEFAULT_LISTEN)]
        listen: String,
    },
}

/// Runs a parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init {
            role:
                InitRole::Enterprise {
                    data_dir,
                    name,
                    uscc,
                    agency,
                    number_block,
                    listen,
                },
        } => {
            let mut config = Config::enterprise(&name, &uscc, &agency);
            config.http.listen = listen;
            init_enterprise(&data_dir, &config, &number_block)?;
            println!("initialised enterprise node in {}", data_dir.display());
            Ok(())
        }
        Command::Serve { data_dir, listen } => {
            let mut config = Config::load(&data_dir)?;
            if let Some(l) = listen {
                config.http.listen = l;
                config.validate()?;
            }
            runtime()?.block_on(serve(data_dir, config, None))
        }
        Command::Demo { data_dir, listen } => {
            let data_dir = match data_dir {
                Some(d) => d,
                None => fresh_demo_dir()?,
            };
            let mut config = if data_dir.join(crate::config::FILE).exists() {
                Config::load(&data_dir)?
            } else {
                let c = demo_config();
                init_enterprise(&data_dir, &c, &demo_block())?;
                seed_demo(&data_dir, &c)
                    .context("filling the demo node with sample applications")?;
                c
            };
            config.http.listen = listen.unwrap_or_else(|| "127.0.0.1:0".into());
            config.validate()?;
            eprintln!("demo data directory: {}", data_dir.display());
            runtime()?.block_on(serve(data_dir, config, None))
        }
        Command::Check { data_dir } => check(&data_dir),
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

/// Creates the data directory, config, store, device key and number block.
pub fn init_enterprise(data_dir: &Path, config: &Config, number_block: &str) -> anyhow::Result<()> {
    config.validate()?;
    let block = NumberBlock::parse(number_block).context("--number-block")?;
    if data_dir.join(crate::config::FILE).exists() {
        bail!(
            "{} already holds a node (config.toml exists)",
            data_dir.display()
        );
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let store = Store::open(&data_dir.join(STORE_FILE), config.store_options())?;
    enterprise::initialise(&store, block)?;
    config.save(data_dir)?;
    Ok(())
}

fn open_enterprise(
    data_dir: &Path,
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Enterprise> {
    let store = Arc::new(
        Store::open(&data_dir.join(STORE_FILE), config.store_options())
            .with_context(|| format!("opening {}", data_dir.join(STORE_FILE).display()))?,
    );
    let reference = Arc::new(config.reference()?);
    Ok(Enterprise::new(
        store,
        reference,
        clock,
        config.identity(),
        config.settings(),
    )?)
}

/// Runs the node until SIGINT/SIGTERM (or `shutdown`), printing its URL on stdout.
pub async fn serve(
    data_dir: PathBuf,
    config: Config,
    shutdown: Option<tokio::sync::oneshot::Receiver<()>>,
) -> anyhow::Result<()> {
    let enterprise = Arc::new(open_enterprise(&data_dir, &config, Arc::new(SystemClock))?);
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;

    let stop = Arc::new(AtomicBool::new(false));
    let compactor = {
        let store = enterprise.store().clone();
        let stop = stop.clone();
        std::thread::Builder::new()
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
            })?
    };

    let router = crate::api::router(AppState { enterprise }).merge(exlic_web_router());
    println!("http://{local}");
    use std::io::Write;
    std::io::stdout().flush().ok();
    tracing::info!(%local, data_dir = %data_dir.display(), "enterprise node serving");
    api::serve(listener, router, async move {
        match shutdown {
            Some(rx) => {
                tokio::select! {
                    _ = rx => {}
                    _ = signal() => {}
                }
            }
            None => signal().await,
        }
    })
    .await?;
    stop.store(true, Ordering::Relaxed);
    compactor.join().ok();
    tracing::info!("stopped cleanly");
    Ok(())
}

fn exlic_web_router() -> axum::Router {
    axum::Router::new().route(
        "/",
        axum::routing::get(|| async { axum::response::Html(exlic_web::INDEX_HTML) }),
    )
}

async fn signal() {
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

fn check(data_dir: &Path) -> anyhow::Result<()> {
    let config = Config::load(data_dir)?;
    let path = data_dir.join(STORE_FILE);
    if !Store::check_integrity(&path)? {
        bail!("{}: redb integrity check repaired damage", path.display());
    }
    let ent = open_enterprise(data_dir, &config, Arc::new(SystemClock))?;
    let problems = ent.check_consistency()?;
    if problems.is_empty() {
        println!("ok: store intact, indexes consistent");
        Ok(())
    } else {
        for p in &problems {
            println!("problem: {p}");
        }
        bail!("{} consistency problem(s)", problems.len())
    }
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
    let mut r = [0u8; 4];
    getrandom::fill(&mut r).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(std::env::temp_dir().join(format!("exlic-demo-{}", hex::encode(r))))
}

/// The demo enterprise.
pub fn demo_config() -> Config {
    Config::enterprise("厦门示例化工进出口有限公司", "913502000728319549", "AA")
}

fn demo_block() -> String {
    let yy = china_date(SystemClock.now_ms()).year() % 100;
    format!("{yy:02}9999400000560600000:100000")
}

/// Fills a demo node with realistic applications in several states.
pub fn seed_demo(data_dir: &Path, config: &Config) -> anyhow::Result<()> {
    use exlic_client::application::{ApplicationForm, ContractTable, GoodsLine};
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let year = china_date(clock.now_ms()).year().to_string();
    let ent = open_enterprise(data_dir, config, clock)?;
    let e = &config.enterprise;
    let base = |code: &str, qty: &str, price: &str, country: &str, contract: &str, unit: &str| {
        ApplicationForm {
            exporter_name: e.name.clone(),
            exporter_code: e.uscc.clone(),
            exporter_uscc: e.uscc.clone(),
            consignor_name: e.name.clone(),
            consignor_code: e.uscc.clone(),
            consignor_uscc: e.uscc.clone(),
            trade_mode: "general".into(),
            contract_no: contract.into(),
            customs_district: "3700".into(),
            country: country.into(),
            payment_mode: "lc".into(),
            transport_mode: "sea".into(),
            commodity_code: code.into(),
            currency: "USD".into(),
            price_term: "FOB".into(),
            goods: vec![GoodsLine {
                spec: "无水柠檬酸 BP2013 30-100目 25kg/袋".into(),
                unit: unit.into(),
                quantity: qty.into(),
                unit_price: price.into(),
            }],
            quota_year: year.clone(),
            batch_mode: "single".into(),
            remarks: String::new(),
            additional_info: "纸塑复合袋包装，集装箱运输".into(),
            contract: ContractTable {
                contract_no: contract.into(),
                signed_on: format!("{year}-11-02"),
                signed_at: "厦门".into(),
                buyer_name: "Osaka Food Ingredients Co., Ltd.".into(),
                buyer_address: "1-2-3 Umeda, Kita-ku, Osaka".into(),
                buyer_country: country.into(),
                total_amount: "28750".into(),
                currency: "USD".into(),
                delivery_by: format!("{year}-12-28"),
                notes: String::new(),
            },
        }
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
        let v = ent.create(&form)?;
        ent.add_attachment(v.id, "出口合同.pdf", "application/pdf", &contract_pdf)?;
        ent.add_attachment(v.id, "出口批准文件.pdf", "application/pdf", &approval)?;
        if i < 3 {
            ent.seal(v.id)?;
        }
        if i < 2 {
            ent.report(v.id)?;
        }
    }
    let mut partial = ApplicationForm {
        exporter_name: e.name.clone(),
        commodity_code: "2918140000".into(),
        quota_year: year,
        ..Default::default()
    };
    partial.remarks = "草稿：待补充合同信息".into();
    ent.create(&partial)?;
    Ok(())
}
