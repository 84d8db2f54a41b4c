//! `exlic init`: creating a node's data directory (enterprise, enrolled, authority,
//! customs), its TLS certificate, and opening an existing one.

use super::*;

/// Validates the config and creates a fresh data directory with its store (refusing one
/// that already holds a node). The caller initialises the role and then saves the config.
pub(super) fn create_data_dir(data_dir: &Path, config: &Config) -> anyhow::Result<Store> {
    config.validate()?;
    fresh_dir(data_dir)?;
    open_store(data_dir, config)
}

/// Creates `data_dir`, refusing one that already holds a node.
pub(super) fn fresh_dir(data_dir: &Path) -> anyhow::Result<()> {
    if data_dir.join(crate::config::FILE).exists() {
        bail!(
            "{} already holds a node (config.toml exists)",
            data_dir.display()
        );
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))
}

/// Opens a node's store.
pub(super) fn open_store(data_dir: &Path, config: &Config) -> anyhow::Result<Store> {
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
pub(super) fn init_from_token(
    data_dir: &Path,
    token: &str,
    listen: &str,
) -> anyhow::Result<(Config, Store)> {
    let invite = Invite::from_token(token)?;
    let mut config = Config::enterprise(
        &invite.enterprise_name,
        &invite.enterprise_uscc,
        &invite.agency_code,
    );
    config.http.listen = listen.into();
    config.upstream = Some(UpstreamSection {
        agency_code: None,
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

/// `exlic add-office`: records another office of a stopped enterprise node (an
/// `[[office]]` with the token's key and addresses, and its invite secret for enrolment on
/// first contact) or customs node (that office's customs invite, kept in its store as the
/// home office's is); returns its agency code.
pub fn add_office(data_dir: &Path, token: &str) -> anyhow::Result<String> {
    let mut config = Config::load(data_dir)?;
    if config.role == "customs" {
        let store = open_store(data_dir, &config)?;
        return crate::customs::add_office(&store, token).map_err(|e| match e {
            crate::customs::CustomsError::BadInput { message, .. } => {
                anyhow::anyhow!("--token: {message}")
            }
            other => other.into(),
        });
    }
    let invite = Invite::from_token(token).context("--token")?;
    let Some(e) = config
        .enterprise
        .clone()
        .filter(|_| config.role == "enterprise")
    else {
        bail!("{} is not an enterprise node", data_dir.display());
    };
    if invite.enterprise_uscc != e.uscc {
        bail!(
            "--token: the invite is for enterprise {}, this node is {}",
            invite.enterprise_uscc,
            e.uscc
        );
    }
    let agency = invite.agency_code.clone();
    config.offices.push(UpstreamSection {
        agency_code: Some(agency.clone()),
        authority_key: hex::encode(invite.authority_key),
        addrs: invite.addrs.clone(),
        poll_seconds: config.upstream.as_ref().map_or(5, |u| u.poll_seconds),
        max_backoff_seconds: config
            .upstream
            .as_ref()
            .map_or(30, |u| u.max_backoff_seconds),
    });
    // Names the setting and the rule (a code listed twice, a bad address) before
    // anything is written.
    config.validate().context("--token")?;
    let store = open_store(data_dir, &config)?;
    let link = crate::upstream::Link::Other(agency.clone());
    enterprise::initialise_enrolment_with(&store, &link, invite.secret)?;
    drop(store);
    config.save(data_dir)?;
    Ok(agency)
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
pub(super) fn ensure_tls(
    data_dir: &Path,
    a: &crate::config::AuthoritySection,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    ensure_tls_for(data_dir, &a.tls_cert, &a.tls_key, &a.tls_names)
}

/// A UI's certificate and key paths under `data_dir`; makes a self-signed pair for
/// `names` when neither exists.
pub(super) fn ensure_tls_for(
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

pub(super) fn advertised(config: &Config) -> anyhow::Result<Vec<String>> {
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

pub(super) fn open_enterprise(
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

pub(super) fn open_customs(
    data_dir: &Path,
    config: &Config,
) -> anyhow::Result<crate::customs::Customs> {
    let store = Arc::new(open_store(data_dir, config)?);
    Ok(crate::customs::Customs::open(
        store,
        clock()?,
        Arc::new(config.reference()?),
    )?)
}

pub(super) fn open_authority(
    data_dir: &Path,
    config: &Config,
    addrs: Vec<String>,
) -> anyhow::Result<Authority> {
    let store = Arc::new(open_store(data_dir, config)?);
    let a = config.authority.as_ref().expect("validated");
    // A replica publishes its reference files only through the office's log.
    let open = if config.cluster.is_some() {
        Authority::replica_with_reference
    } else {
        Authority::with_reference
    };
    Ok(open(
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
