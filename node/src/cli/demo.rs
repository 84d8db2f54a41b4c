//! `exlic demo`: an authority, an enterprise and a customs node on this machine, seeded
//! with real-looking data, ready to click through; with `--offices 2` or `3`, more
//! offices, a second enterprise at the last of them, and a bureau witnessing every
//! office's log.

use super::*;

pub(super) fn free_port() -> anyhow::Result<u16> {
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

/// The demo's offices, in the order `--offices` takes them: 许可证局 first (it has the
/// customs node and the first enterprise), then two 特办.
const DEMO_OFFICES: &[(&str, &str)] = &[
    ("AA", "商务部配额许可证事务局"),
    ("XM", "商务部驻厦门特派员办事处"),
    ("SH", "商务部驻上海特派员办事处"),
];
/// The second enterprise (with `--offices` 2 or more), enrolled with the last office.
const DEMO_SECOND: (&str, &str) = ("上海示例贸易有限公司", "91310000MA1FL8XQ3");
/// The bureau's supervisor (with `--offices` 2 or more), password [`DEMO_PASSWORD`].
const DEMO_SUPERVISOR: (&str, &str) = ("sun", "孙监管");

/// Where each demo node lives under the demo's directory.
struct DemoDirs {
    root: PathBuf,
    /// The offices' data directories, [`DEMO_OFFICES`] order (the first is `authority`).
    offices: Vec<PathBuf>,
    /// The enterprises': the first enrolled with the first office, the second (if any)
    /// with the last.
    enterprises: Vec<PathBuf>,
    customs: PathBuf,
    /// With more than one office.
    bureau: Option<PathBuf>,
}

impl DemoDirs {
    fn new(root: PathBuf, offices: usize) -> Self {
        let office_dirs = DEMO_OFFICES[..offices]
            .iter()
            .enumerate()
            .map(|(i, (code, _))| {
                if i == 0 {
                    root.join("authority")
                } else {
                    root.join(format!("office-{code}"))
                }
            })
            .collect();
        let mut enterprises = vec![root.join("enterprise")];
        let mut bureau = None;
        if offices > 1 {
            enterprises.push(root.join("enterprise-2"));
            bureau = Some(root.join("bureau"));
        }
        Self {
            customs: root.join("customs"),
            offices: office_dirs,
            enterprises,
            bureau,
            root,
        }
    }

    /// How many offices an existing demo directory was made with (0: none yet).
    fn existing_offices(root: &Path) -> usize {
        let first = usize::from(root.join("authority").join(crate::config::FILE).exists());
        first
            + DEMO_OFFICES[1..]
                .iter()
                .filter(|(code, _)| {
                    root.join(format!("office-{code}"))
                        .join(crate::config::FILE)
                        .exists()
                })
                .count()
    }
}

/// The second demo enterprise's USCC with its check character (GB 32100).
fn second_uscc() -> String {
    let first17 = DEMO_SECOND.1;
    let check = exlic_client::uscc::check_char(first17).expect("a well-formed USCC");
    format!("{first17}{check}")
}

/// Creates the demo's nodes: every office with its staff, the customs node, the
/// enterprises enrolled and seeded and, with several offices, the bureau following each
/// office's log (and each office letting it).
fn create_demo(d: &DemoDirs) -> anyhow::Result<()> {
    let offices = d.offices.len();
    let bureau_key = match &d.bureau {
        Some(b) => {
            let key = super::bureau::init_bureau(b, "bureau", "127.0.0.1:0")?;
            let config = Config::load(b)?;
            let bureau = super::bureau::open_bureau(b, &config)?;
            let (login, name) = DEMO_SUPERVISOR;
            bureau
                .staff
                .put(login, name, crate::api::bureau::SUPERVISOR, DEMO_PASSWORD)?;
            Some((key, bureau))
        }
        None => None,
    };
    let mut tokens = Vec::new();
    // With several offices the second enterprise is enrolled with 许可证局 too, which
    // alone issues the quota grains: those applications go there (see
    // `enterprise::offices`).
    let mut second_at_bureau_office = None;
    // The customs district checks every office's licences: it follows the other offices
    // too (`exlic add-office` on a customs node).
    let mut customs_elsewhere = Vec::new();
    for (i, ((code, name), dir)) in DEMO_OFFICES.iter().zip(&d.offices).enumerate() {
        let p2p = format!("/ip4/127.0.0.1/tcp/{}", free_port()?);
        let mut ac = Config::authority(name, code, &p2p);
        ac.http.listen = "127.0.0.1:0".into();
        init_authority(dir, &ac)?;
        let a = open_authority(dir, &ac, vec![p2p.clone()])?;
        for (login, name, role) in DEMO_STAFF {
            a.staff.put(login, name, *role, DEMO_PASSWORD)?;
        }
        if let Some((key, bureau)) = &bureau_key {
            a.log.set_bureau(*key, "bureau")?;
            bureau.add_office(code, name, &hex::encode(a.root_key()), &[p2p])?;
        }
        if i == 0 {
            let e = demo_config();
            let en = e.enterprise.as_ref().expect("enterprise");
            tokens.push(a.registry.invite(&en.uscc, &en.name, 100_000, 365)?);
            if offices > 1 {
                second_at_bureau_office =
                    Some(
                        a.registry
                            .invite(&second_uscc(), DEMO_SECOND.0, 300_000, 365)?,
                    );
            }
            // The customs district the sample applications name as 报关口岸.
            let customs_token = a.customs.invite(DEMO_DISTRICT, 90)?;
            drop(a);
            let c = init_customs(&d.customs, &customs_token, "127.0.0.1:0")?;
            c.staff.put(
                "zhou",
                "周关员",
                crate::api::customs::OFFICER,
                DEMO_PASSWORD,
            )?;
        } else {
            customs_elsewhere.push(a.customs.invite(DEMO_DISTRICT, 90)?);
            if i == offices - 1 {
                tokens.push(
                    a.registry
                        .invite(&second_uscc(), DEMO_SECOND.0, 200_000, 365)?,
                );
            }
        }
    }
    for t in &customs_elsewhere {
        super::init::add_office(&d.customs, t)?;
    }
    for (i, (dir, token)) in d.enterprises.iter().zip(&tokens).enumerate() {
        init_enrolled(
            dir,
            token,
            "127.0.0.1:0",
            "demo-passphrase-2468",
            "13800138000",
            crate::ekey::KdfParams::default(),
        )?;
        if i == 1
            && let Some(t) = &second_at_bureau_office
        {
            super::init::add_office(dir, t)?;
        }
        seed_demo(dir, &Config::load(dir)?)
            .context("filling the demo node with sample applications")?;
        let ent = open_enterprise(dir, &Config::load(dir)?, clock()?)?;
        for (login, name, role) in DEMO_OPERATORS {
            ent.operators.put(login, name, *role, DEMO_PASSWORD)?;
        }
    }
    Ok(())
}

pub(super) fn demo(
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    offices: usize,
) -> anyhow::Result<()> {
    if !(1..=DEMO_OFFICES.len()).contains(&offices) {
        bail!("--offices must be 1 to {}", DEMO_OFFICES.len());
    }
    let root = match data_dir {
        Some(d) => d,
        None => fresh_demo_dir()?,
    };
    let existing = DemoDirs::existing_offices(&root);
    if existing != 0 && existing != offices {
        bail!(
            "--offices {offices}: {} holds a demo of {existing} office(s); run it with --offices {existing} or use a new --data-dir",
            root.display()
        );
    }
    let d = DemoDirs::new(root, offices);
    let fresh = existing == 0;
    if fresh {
        create_demo(&d)?;
    }
    let mut enterprise_configs = Vec::new();
    for (i, dir) in d.enterprises.iter().enumerate() {
        let mut ec = Config::load(dir)?;
        // `--listen` is the first enterprise's address (the one the README opens).
        ec.http.listen = match (&listen, i) {
            (Some(l), 0) => l.clone(),
            _ => "127.0.0.1:0".into(),
        };
        ec.validate()?;
        enterprise_configs.push((dir.clone(), ec));
    }
    eprintln!("demo data directory: {}", d.root.display());
    eprintln!(
        "demo operators (enterprise): zhang = 盖章员, zhao = 制单员; password {DEMO_PASSWORD}"
    );
    eprintln!("demo e-key PIN (asked at 保存并盖章): demo-passphrase-2468");
    eprintln!("demo staff (authority): wang = 经办人, li = 处长, admin; password {DEMO_PASSWORD}");
    eprintln!("demo customs officer ({DEMO_DISTRICT}): zhou; password {DEMO_PASSWORD}");
    if d.bureau.is_some() {
        eprintln!(
            "demo bureau supervisor: {} (JSON API: POST /api/v1/session); password {DEMO_PASSWORD}",
            DEMO_SUPERVISOR.0
        );
    }
    if d.offices.len() > 1 {
        eprintln!(
            "enterprise 2 is enrolled with {} and with AA: an application for a commodity only AA issues (e.g. 1001990000 其他小麦及混合麦) goes to AA, any other to {}",
            DEMO_OFFICES[d.offices.len() - 1].0,
            DEMO_OFFICES[d.offices.len() - 1].0
        );
    }
    eprintln!(
        "the offices, customs and the bureau use self-signed certificates: accept them in the browser"
    );
    runtime()?.block_on(async move {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            signal().await;
            let _ = tx.send(true);
        });
        let mut tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>> = Vec::new();
        let last = d.offices.len() - 1;
        for (i, dir) in d.offices.iter().enumerate() {
            let code = DEMO_OFFICES[i].0;
            let (url_tx, url_rx) = tokio::sync::oneshot::channel();
            let cert = dir.join("tls/cert.pem");
            let config = Config::load(dir)?;
            tasks.push(tokio::spawn(serve_authority(
                dir.clone(),
                config,
                rx.clone(),
                move |u| {
                    if i == 0 {
                        println!("authority: {u}");
                    } else {
                        println!("office {code}: {u}");
                    }
                    let _ = url_tx.send(u);
                },
            )));
            // The offices with an enrolled enterprise: its first sample reported reaches
            // the office by sync; the demo staff pass it through both reviews over the
            // office's own JSON API, so a licence is there to click through from the start.
            if fresh && (i == 0 || (i == last && last > 0)) {
                tokio::spawn(async move {
                    let Ok(url) = url_rx.await else { return };
                    match issue_demo_licence(&url, &cert).await {
                        Ok(no) => eprintln!(
                            "demo: licence issued on 申请表号 {no} at {code} (初审 by wang, 复审 by li)"
                        ),
                        Err(e) => {
                            tracing::warn!(error = %format!("{e:#}"), "demo: no licence issued")
                        }
                    }
                });
            }
        }
        for (i, (dir, ec)) in enterprise_configs.into_iter().enumerate() {
            tasks.push(tokio::spawn(serve_enterprise(dir, ec, rx.clone(), move |u| {
                if i == 0 {
                    println!("enterprise: {u}");
                } else {
                    println!("enterprise {}: {u}", i + 1);
                }
            })));
        }
        let cc = Config::load(&d.customs)?;
        tasks.push(tokio::spawn(serve_customs(
            d.customs.clone(),
            cc,
            rx.clone(),
            |u| println!("customs: {u}"),
        )));
        if let Some(b) = &d.bureau {
            let bc = Config::load(b)?;
            tasks.push(tokio::spawn(super::bureau::serve_bureau(
                b.clone(),
                bc,
                rx.clone(),
                |u| println!("bureau: {u}"),
            )));
        }
        for t in tasks {
            t.await??;
        }
        Ok(())
    })
}

/// Waits for the demo's first reported application at the office (`url`, its TLS
/// certificate at `cert`), then approves it as `wang` (初审) and `li` (复审); returns its
/// 申请表号.
pub(super) async fn issue_demo_licence(url: &str, cert: &Path) -> anyhow::Result<String> {
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

pub(super) fn fresh_demo_dir() -> anyhow::Result<PathBuf> {
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
