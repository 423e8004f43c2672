//! Liveness and readiness probes for load balancers and orchestrators.

use axum::{Json, extract::State, http::StatusCode};
use migration::{Migrator, MigratorTrait};
use serde_json::{Value, json};

use crate::app::AppState;

/// The process is up and serving HTTP.
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The instance can serve traffic: the database answers and every migration is applied.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let db = &state.deps.db;
    if let Err(err) = db.ping().await {
        tracing::warn!(error = %err, "readiness: database unreachable");
        return unready("database unreachable");
    }
    match Migrator::get_pending_migrations(db).await {
        Ok(pending) if pending.is_empty() => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(pending) => unready(&format!("{} migrations pending", pending.len())),
        Err(err) => {
            tracing::warn!(error = %err, "readiness: cannot read migrations");
            unready("cannot read migration state")
        }
    }
}

fn unready(reason: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "reason": reason })),
    )
}
