//! `ostiary serve`: load the configuration, bind both listeners, build the registry, make sure the
//! database is migrated, and serve until ctrl-c or SIGTERM.

use super::ServeArgs;
use crate::config::{Config, LoadError};
use crate::registry::Registry;
use std::path::PathBuf;
use tokio::net::TcpListener;

/// Load the configuration and log what it says about itself: the one warning line naming the
/// Kratos keys Ostiary does not act on, and the flags that change nothing here.
fn load(files: &[PathBuf], args: &ServeArgs) -> Result<Config, String> {
    let loaded = Config::load(files, args.flags(), std::env::vars()).map_err(|e| match e {
        LoadError::Layering(l) => format!("invalid configuration: {l}"),
        other => format!("invalid configuration: {other}"),
    })?;
    if !loaded.unimplemented.is_empty() {
        tracing::warn!(
            "these configuration keys are accepted but not implemented (Ostiary does not act on them): {}",
            loaded.unimplemented.join(", ")
        );
    }
    let config = loaded.config;
    // A courier that cannot be built (a bad URI, an unreadable client certificate) stops the
    // start instead of leaving every message queued.
    let courier = config.courier.clone();
    if courier.connection_uri.is_some() {
        crate::courier::smtp::Smtp::from_config(&courier)
            .map_err(|e| format!("invalid configuration: {e}"))?;
    }
    if config.sqa_opt_out {
        tracing::info!(
            "--sqa-opt-out: Ostiary collects and sends no usage statistics, so there is nothing to opt out of"
        );
    }
    Ok(config)
}

pub async fn run(files: &[PathBuf], args: ServeArgs) -> Result<(), String> {
    let mut config = load(files, &args)?;
    if config.watch_courier {
        tracing::info!(
            "--watch-courier: the courier always runs inside serve; nothing more to start"
        );
    }
    if let Some(warning) =
        crate::http::cors::permissive_warning(&config.serve.public.cors, config.dev)
    {
        tracing::warn!("{warning}");
    }
    if config
        .selfservice
        .methods
        .password
        .config
        .haveibeenpwned_enabled
    {
        tracing::warn!(
            "selfservice.methods.password.config.haveibeenpwned_enabled: the breach check is unavailable (Ostiary makes no outbound lookups); passwords are not checked against breach corpora"
        );
    }
    let (public, admin) = bind(&mut config).await?;
    let auto_migrate = config.dev
        || config.dsn.is_none()
        || config
            .dsn
            .as_deref()
            .map(|d| d.trim() == "memory")
            .unwrap_or(false);
    let registry = Registry::build(config)
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    if auto_migrate {
        registry
            .persister
            .migrate()
            .await
            .map_err(|e| format!("cannot migrate the database: {e}"))?;
    } else {
        let pending = registry
            .persister
            .pending_migrations()
            .await
            .map_err(|e| format!("cannot read the migration state: {e}"))?;
        if !pending.is_empty() {
            return Err(format!(
                "the database has {} pending migration(s); run `ostiary migrate sql -e --yes` (with DSN set) first",
                pending.len()
            ));
        }
    }
    tracing::info!(
        "public API listening on http://{} (base URL {})",
        public.local_addr().map_err(|e| e.to_string())?,
        registry.public_base
    );
    tracing::info!(
        "admin API listening on http://{} (base URL {})",
        admin.local_addr().map_err(|e| e.to_string())?,
        registry.admin_base
    );
    let store = registry.session_store.clone();
    // The courier dispatcher runs beside the listeners and stops with them.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let courier = tokio::spawn(crate::courier::dispatcher::run(
        registry.clone(),
        std::time::Duration::from_secs(1),
        async {
            let _ = stop_rx.await;
        },
    ));
    let janitor = registry.config.ostiary.cleanup.enabled.then(|| {
        tokio::spawn(crate::persistence::cleanup::janitor(
            registry.persister.clone(),
            registry.clock.clone(),
            registry.config.ostiary.cleanup.clone(),
            std::future::pending(),
        ))
    });
    let served = crate::http::serve(registry, public, admin, shutdown_signal()).await;
    if let Some(j) = janitor {
        j.abort();
    }
    let _ = stop_tx.send(());
    let _ = courier.await;
    served.map_err(|e| format!("server error: {e}"))?;
    store.close().await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Bind both listeners and fill in base URLs the configuration leaves out.
async fn bind(config: &mut Config) -> Result<(TcpListener, TcpListener), String> {
    let default_host = if config.dev { "127.0.0.1" } else { "0.0.0.0" };
    let scheme = if config.dev { "http" } else { "https" };
    let mut listeners = Vec::new();
    for (name, listener, default_port) in [
        ("serve.public", &mut config.serve.public, 4433u16),
        ("serve.admin", &mut config.serve.admin, 4434u16),
    ] {
        let host = listener
            .host
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| default_host.to_string());
        let port = listener.port.unwrap_or(default_port);
        let addr = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let l = TcpListener::bind(&addr)
            .await
            .map_err(|e| format!("config key {name}: cannot listen on {addr}: {e}"))?;
        let bound = l.local_addr().map_err(|e| e.to_string())?;
        if listener.base_url.is_none() {
            let shown = if bound.ip().is_unspecified() {
                hostname()
            } else {
                bound.ip().to_string()
            };
            listener.base_url = Some(format!("{scheme}://{shown}:{}/", bound.port()));
        }
        listeners.push(l);
    }
    if config.selfservice.default_browser_return_url.is_none() {
        config.selfservice.default_browser_return_url = config.serve.public.base_url.clone();
    }
    let admin = listeners.pop().expect("two listeners");
    let public = listeners.pop().expect("two listeners");
    Ok((public, admin))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received, draining requests");
}

/// `ostiary courier watch`: only the dispatcher, for a separate worker process.
pub async fn watch_courier(files: &[PathBuf], args: ServeArgs) -> Result<(), String> {
    let mut config = load(files, &args)?;
    let scheme = if config.dev { "http" } else { "https" };
    for (listener, port) in [
        (&mut config.serve.public, 4433u16),
        (&mut config.serve.admin, 4434u16),
    ] {
        if listener.base_url.is_none() {
            listener.base_url = Some(format!(
                "{scheme}://{}:{}/",
                hostname(),
                listener.port.unwrap_or(port)
            ));
        }
    }
    let registry = Registry::build(config)
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    let pending = registry
        .persister
        .pending_migrations()
        .await
        .map_err(|e| format!("cannot read the migration state: {e}"))?;
    if !pending.is_empty() {
        return Err(
            "the database has pending migrations; run `ostiary migrate sql -e --yes` first".into(),
        );
    }
    tracing::info!("courier worker started");
    crate::courier::dispatcher::run(
        registry,
        std::time::Duration::from_secs(1),
        shutdown_signal(),
    )
    .await;
    Ok(())
}
