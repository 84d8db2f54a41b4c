//! `exlic serve`: running a node (enterprise, authority, customs) until a signal, with its
//! background compaction.

use super::*;

pub(super) fn start_compactor(
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

pub(super) async fn wait_true(mut rx: tokio::sync::watch::Receiver<bool>) {
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

    // One sync loop per office: the home office (`[upstream]`) and every `[[office]]`.
    let mut sync_tasks = Vec::new();
    let mut sync_status = None;
    let mut authority_key = None;
    let mut offices = Vec::new();
    let links = config.upstream.iter().map(|u| (Link::Home, u)).chain(
        config
            .offices
            .iter()
            .map(|o| (Link::Other(o.agency_code.clone().unwrap_or_default()), o)),
    );
    for (link, u) in links {
        let mut key = [0u8; 32];
        hex::decode_to_slice(&u.authority_key, &mut key).context("authority_key")?;
        let (secret, master) = enterprise.enrolment_keys_for(&link)?;
        let up = Upstream {
            authority_key: key,
            addrs: u
                .addrs
                .iter()
                .map(|a| a.parse())
                .collect::<Result<_, _>>()
                .context("addrs")?,
            invite_secret: secret,
            master_key: master,
            poll: std::time::Duration::from_secs(u.poll_seconds.max(1)),
            max_backoff: std::time::Duration::from_secs(u.max_backoff_seconds.max(1)),
            office: link.other().map(str::to_owned),
        };
        let status: SyncStatus = Arc::default();
        match &link {
            Link::Home => {
                // The office's release synced before the last shutdown is in force from
                // the start.
                enterprise.reference.adopt_published(&key)?;
                sync_status = Some(status.clone());
                authority_key = Some(key);
            }
            Link::Other(a) => offices.push(crate::api::OtherOffice {
                agency_code: a.clone(),
                root: key,
                sync: status.clone(),
            }),
        }
        sync_tasks.push(tokio::spawn(sync::client::run(
            enterprise.clone(),
            up,
            status,
            shutdown.clone(),
        )));
    }
    let mut state = AppState::new(enterprise, sync_status, authority_key);
    state.offices = offices;
    let router = crate::ui::enterprise_app(
        state,
        crate::ui::Guard::new(local.port(), &config.http.allowed_hosts, false),
    );
    announce(format!("http://{local}"));
    use std::io::Write;
    std::io::stdout().flush().ok();
    tracing::info!(%local, data_dir = %data_dir.display(), "enterprise node serving");
    api::serve(listener, router, wait_true(shutdown)).await?;
    for t in sync_tasks {
        let _ = t.await;
    }
    stop.store(true, Ordering::Relaxed);
    compactor.join().ok();
    tracing::info!("enterprise node stopped cleanly");
    Ok(())
}

/// Raises the open-file limit to hold `peers` connections beside the store, the HTTPS
/// clients and the pending handshakes; warns when the system allows fewer.
fn room_for_peers(peers: u32) {
    let want = u64::from(peers) + 1024;
    match rlimit::increase_nofile_limit(want) {
        Ok(got) if got < want => tracing::warn!(
            open_files = got,
            max_peers = peers,
            "the open-file limit holds fewer connections than authority.max_peers; raise the hard limit (ulimit -Hn)"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
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
    // A replica's writes go through the office's log from before it takes any request.
    let replica = match &config.cluster {
        Some(c) => Some(start_replica(&authority, c, shutdown.clone()).await?),
        None => None,
    };
    let limits = sync::net::NetLimits {
        inbound: a.max_peers,
        ..Default::default()
    };
    room_for_peers(limits.inbound);
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let listen_shown = listen
        .iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let p2p = tokio::spawn(sync::server::run(
        authority.clone(),
        listen,
        limits,
        Arc::default(),
        sync::server::PeerBudget::default(),
        bound_tx,
        shutdown.clone(),
    ));
    let bound = match tokio::time::timeout(std::time::Duration::from_secs(10), bound_rx).await {
        Err(_) => bail!("the p2p listener did not start in time"),
        Ok(Ok(bound)) => bound,
        // The listener ended before it was listening: its own error says why (an address
        // in use, say).
        Ok(Err(_)) => {
            let why = match p2p.await {
                Ok(Err(e)) => e.to_string(),
                Ok(Ok(())) => "it stopped".to_owned(),
                Err(e) => e.to_string(),
            };
            bail!("the p2p listener on {listen_shown} failed to start: {why}")
        }
    };
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
    if let Some(r) = replica {
        r.stop().await;
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
    // One sync loop per office: home (the invite it was made from) and every other office
    // it was enrolled with (`exlic add-office`).
    let mut sync_tasks = Vec::new();
    let mut statuses = Vec::new();
    for o in customs.offices() {
        let up = Upstream {
            authority_key: o.authority_key,
            addrs: o
                .addrs
                .iter()
                .map(|a| a.parse())
                .collect::<Result<_, _>>()
                .with_context(|| format!("the addresses of office {}", o.agency_code))?,
            invite_secret: customs.invite_secret(&o.link)?,
            master_key: [0; 32],
            office: o.link.other().map(str::to_owned),
            poll: std::time::Duration::from_secs(section.poll_seconds.max(1)),
            max_backoff: std::time::Duration::from_secs(section.max_backoff_seconds.max(1)),
        };
        let status: SyncStatus = Arc::default();
        statuses.push(status.clone());
        sync_tasks.push(tokio::spawn(sync::client::run(
            customs.clone(),
            up,
            status,
            shutdown.clone(),
        )));
    }
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    let state = crate::api::customs::CustomsState {
        sessions: Arc::new(crate::accounts::Sessions::new(customs.store().clone())),
        customs,
        sync: statuses,
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
    for t in sync_tasks {
        let _ = t.await;
    }
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
