//! The metrics listener: `GET /metrics` in Prometheus text format, on its own address
//! (see [`crate::metrics`]).

use std::time::Duration;

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};

use crate::{app::AppState, metrics};

/// How often recorded latencies are folded into the histograms between scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

/// The metrics listener's routes: `GET /metrics` in Prometheus text format.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown`, folding latencies into histograms
/// every few seconds meanwhile.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let upkeep = tokio::spawn(async {
        let mut every = tokio::time::interval(UPKEEP);
        loop {
            every.tick().await;
            metrics::handle().run_upkeep();
        }
    });
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    upkeep.abort();
    served
}

async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    metrics::record_states(&state.deps).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::handle().render(),
    )
}
