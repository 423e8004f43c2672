//! Serving the router on a listener: plain HTTP, or HTTPS (rustls) when a certificate is
//! configured, with a graceful drain on shutdown.

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;

use crate::app::AppState;

/// The router as a service that knows each connection's peer address.
pub fn service(state: AppState) -> IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr> {
    super::router(state).into_make_service_with_connect_info::<SocketAddr>()
}

/// How long requests in flight may take to finish after a shutdown signal.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves the application on `listener` until `shutdown` completes, over HTTPS when a
/// certificate is configured, then lets requests in flight finish.
pub async fn serve_on(
    state: AppState,
    listener: std::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    listener.set_nonblocking(true)?;
    let Some((cert, key)) = state.config.server.tls() else {
        let listener = TcpListener::from_std(listener)?;
        return Ok(axum::serve(listener, service(state.clone()))
            .with_graceful_shutdown(shutdown)
            .await?);
    };
    crate::tls::install_provider();
    let tls = RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| format!("cannot load the TLS certificate {}", cert.display()))?;
    let handle = axum_server::Handle::new();
    let draining = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        draining.graceful_shutdown(Some(DRAIN));
    });
    axum_server::from_tcp_rustls(listener, tls)?
        .handle(handle)
        .serve(service(state.clone()))
        .await?;
    Ok(())
}
