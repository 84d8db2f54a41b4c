//! The bureau's commands: `exlic init bureau`, `exlic bureau add-office`, and serving it —
//! one sync link per office it follows, and its JSON API over HTTPS.

use super::*;
use crate::bureau::{Bureau, OfficeLink};

/// Creates a bureau node's data directory; returns its public key.
pub fn init_bureau(data_dir: &Path, name: &str, listen: &str) -> anyhow::Result<[u8; 32]> {
    let config = Config::bureau(listen);
    config.validate()?;
    let store = create_data_dir(data_dir, &config)?;
    let key = crate::bureau::initialise(&store, name)?;
    drop(store);
    let c = config.bureau.as_ref().expect("bureau config");
    ensure_tls_for(data_dir, &c.tls_cert, &c.tls_key, &c.tls_names)?;
    config.save(data_dir)?;
    Ok(key)
}

/// Opens a bureau node's store.
pub(super) fn open_bureau(data_dir: &Path, config: &Config) -> anyhow::Result<Bureau> {
    if !config.is_bureau() {
        bail!("{} is not a bureau node", data_dir.display());
    }
    let store = Arc::new(open_store(data_dir, config)?);
    Ok(Bureau::open(store, clock()?)?)
}

/// Runs a bureau node until `shutdown` turns true: a sync link to each office it follows
/// and the JSON API over HTTPS; `announce` gets its URL.
pub async fn serve_bureau(
    data_dir: PathBuf,
    config: Config,
    shutdown: tokio::sync::watch::Receiver<bool>,
    announce: impl FnOnce(String),
) -> anyhow::Result<()> {
    let section = config.bureau.clone().context("[bureau] section")?;
    let bureau = Arc::new(open_bureau(&data_dir, &config)?);
    let mut links = Vec::new();
    for (id, office, _) in bureau.offices()? {
        let mut key = [0u8; 32];
        hex::decode_to_slice(&office.root_key, &mut key).context("an office's key")?;
        let up = Upstream {
            authority_key: key,
            addrs: office
                .addrs
                .iter()
                .map(|a| a.parse())
                .collect::<Result<_, _>>()
                .with_context(|| format!("office {}'s addresses", office.agency))?,
            invite_secret: None,
            master_key: [0; 32],
            office: None,
            poll: std::time::Duration::from_secs(section.poll_seconds.max(1)),
            max_backoff: std::time::Duration::from_secs(section.max_backoff_seconds.max(1)),
        };
        let link = Arc::new(OfficeLink {
            bureau: bureau.clone(),
            office: id,
        });
        links.push(tokio::spawn(sync::client::run(
            link,
            up,
            SyncStatus::default(),
            shutdown.clone(),
        )));
    }
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    let sessions = Arc::new(crate::accounts::Sessions::new(bureau.store().clone()));
    let state = crate::api::bureau::BureauState { bureau, sessions };
    let app = crate::api::bureau::router(state.clone()).merge(crate::ui::bureau::router(state));
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
    tracing::info!(%local, offices = links.len(), "bureau node serving");
    use axum::serve::ListenerExt as _;
    axum::serve(
        tls.tap_io(|_| {}),
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(serve::wait_true(shutdown))
    .await?;
    for l in links {
        let _ = l.await;
    }
    tracing::info!("bureau node stopped cleanly");
    Ok(())
}
