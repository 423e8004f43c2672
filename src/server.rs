//! Running paylater: the application built over its database, the demo data in
//! development, Redis for events across instances, the background jobs and the HTTP
//! server, until SIGTERM or Ctrl-C.

use std::sync::Arc;

use anyhow::Context as _;
use secrecy::ExposeSecret;

use crate::{
    app::{AppState, open_database, redact},
    clock::SystemClock,
    config::Config,
    demo,
    events::broker::Broker,
    http, jobs,
};

/// How long running background jobs may take to finish at shutdown, within the 30 s a
/// container platform usually allows between SIGTERM and SIGKILL.
pub const JOBS_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs the server until SIGTERM or Ctrl-C, then finishes the requests in flight and the
/// background jobs' running rounds.
pub async fn run(mut config: Config) -> anyhow::Result<()> {
    let db = open_database(&config.database).await?;
    let listen = config.server.listen;
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    let metrics_listen = config.server.metrics_listen;
    let metrics_listener = tokio::net::TcpListener::bind(metrics_listen)
        .await
        .with_context(|| format!("cannot serve metrics on {metrics_listen}"))?;
    crate::metrics::handle();
    let address = listener.local_addr()?;
    // The address bound (its port too, when asked for port 0) is where the built-in
    // checkout page is.
    config.server.listen = address;
    let state = AppState::new(config, db, Arc::new(SystemClock))?;
    let demo =
        if state.config.database.seed_demo {
            Some(demo::seed(&state.deps).await.map_err(|err| {
                anyhow::anyhow!("cannot create the demo data: {}", err.describe())
            })?)
        } else {
            None
        };
    let scheme = if state.config.server.tls().is_some() {
        "https"
    } else {
        "http"
    };
    let checkout_page = &state.deps.checkout_app_url;
    println!(
        "{}",
        demo::banner(scheme, address, checkout_page, demo.as_ref())
    );
    let redis = &state.config.redis;
    let broker = match &redis.url {
        Some(url) => {
            let url = url.expose_secret();
            Some(
                Broker::start(&state.deps.events, &state.deps.caches, url, &redis.channel)
                    .await
                    .with_context(|| format!("cannot reach Redis at {}", redact(url)))?,
            )
        }
        None => None,
    };
    let sweep = std::time::Duration::from_secs(state.config.jobs.expiry_sweep_seconds);
    let background = jobs::Background::start(&state.deps, sweep);
    tracing::info!(%address, scheme, %metrics_listen, "listening");
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = tokio::spawn(http::metrics::serve(
        state.clone(),
        metrics_listener,
        async {
            let _ = metrics_stopped.await;
        },
    ));
    let served = http::serve_on(state.clone(), listener, shutdown_signal()).await;
    let _ = stop_metrics.send(());
    if let Ok(Err(err)) = metrics.await {
        tracing::warn!(error = %err, "the metrics listener failed");
    }
    background.stop(JOBS_GRACE).await;
    if let Some(broker) = broker {
        broker.stop();
    }
    if let Err(err) = state.deps.key_usage.flush(&state.deps.db).await {
        tracing::warn!(error = %err, "could not record the last use of API keys");
    }
    served.context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
