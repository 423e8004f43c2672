//! Prometheus metrics, served on an address of their own (`PAYLATER_METRICS_LISTEN`,
//! 127.0.0.1:9464 by default) so that they are not public unless an operator binds them
//! so. Events are recorded through the `metrics` facade where they happen (each GraphQL
//! request, each SQL statement, each subscription); states (pool use, cache hits, relay
//! lag) are read when Prometheus scrapes ([`crate::http::metrics`] serves them).

use std::{
    collections::HashSet,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use async_graphql::{Response, parser::types::OperationType};
use entity::outbox_event;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ColumnTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder};

use crate::service::Deps;

/// Upper bounds of the latency histograms, in seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Most distinct operation names given a label of their own; later ones count as `other`,
/// since clients choose the names and each label value is a time series.
const MOST_OPERATION_NAMES: usize = 200;

/// The process's recorder, installed on first use: every instance in one process shares
/// it (tests run many).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Only empty bucket lists are refused, and these are not empty.
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics stays empty");
        }
        handle
    })
}

/// Reads the states Prometheus sees at each scrape.
pub async fn record_states(deps: &Deps) {
    let (size, idle) = match deps.db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = deps.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseBackend::MySql => {
            let pool = deps.db.get_mysql_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    };
    gauge!("paylater_db_pool_connections").set(f64::from(size));
    gauge!("paylater_db_pool_connections_idle").set(idle as f64);
    for (cache, stats) in deps.caches.stats() {
        counter!("paylater_cache_hits_total", "cache" => cache).absolute(stats.hits);
        counter!("paylater_cache_misses_total", "cache" => cache).absolute(stats.misses);
    }
    let oldest = outbox_event::Entity::find()
        .filter(outbox_event::Column::PublishedAt.is_null())
        .order_by_asc(outbox_event::Column::CreatedAt)
        .one(&deps.db)
        .await;
    match oldest {
        Ok(oldest) => {
            let now = deps.clock.now();
            let lag = oldest.map_or(0, |event| (now - event.created_at.0).num_milliseconds());
            gauge!("paylater_outbox_relay_lag_seconds").set(lag.max(0) as f64 / 1000.0);
        }
        Err(err) => tracing::warn!(error = %err, "metrics: cannot read the outbox"),
    }
}

/// Records one GraphQL request: its latency by operation and kind, and its errors by
/// code. `kind` is `None` for a request refused before its operation was known.
pub fn graphql_request(
    kind: Option<OperationType>,
    name: Option<&str>,
    elapsed: Duration,
    response: &Response,
) {
    let kind = match kind {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "refused",
    };
    let operation = operation_label(name);
    histogram!(
        "paylater_graphql_request_duration_seconds",
        "kind" => kind,
        "operation" => operation.clone()
    )
    .record(elapsed.as_secs_f64());
    counter!("paylater_graphql_requests_total", "kind" => kind, "operation" => operation)
        .increment(1);
    for error in &response.errors {
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(|code| match code {
                async_graphql::Value::String(code) => Some(code.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "UNKNOWN".to_owned());
        counter!("paylater_graphql_errors_total", "code" => code).increment(1);
    }
}

/// Records one run of the background jobs and the rows it handled, by kind (the fields of
/// its report: `expiredCheckouts`, `paidInstallments`, `webhooksDelivered`, …).
pub fn job_run<T: serde::Serialize>(report: &T) {
    counter!("paylater_job_runs_total").increment(1);
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(report) {
        for (kind, rows) in fields {
            if let Some(rows) = rows.as_u64().filter(|rows| *rows > 0) {
                counter!("paylater_job_rows_total", "kind" => kind).increment(rows);
            }
        }
    }
}

/// Records one webhook attempt by what became of its delivery: `SUCCEEDED`, `PENDING`
/// (to be retried) or `FAILED` (given up).
pub fn webhook_attempt(status: impl std::fmt::Display) {
    counter!("paylater_webhook_attempts_total", "outcome" => status.to_string()).increment(1);
}

/// Records one SQL statement and how long it took.
pub fn sql_statement(elapsed: Duration) {
    counter!("paylater_sql_statements_total").increment(1);
    histogram!("paylater_sql_statement_duration_seconds").record(elapsed.as_secs_f64());
}

/// Counts a subscription open until the returned guard is dropped.
pub fn subscription_opened() -> SubscriptionOpen {
    gauge!("paylater_subscriptions_open").increment(1.0);
    SubscriptionOpen
}

/// A subscription counted as open; dropping it counts it closed.
pub struct SubscriptionOpen;

impl Drop for SubscriptionOpen {
    fn drop(&mut self) {
        gauge!("paylater_subscriptions_open").decrement(1.0);
    }
}

/// The label of an operation name: the name when it is a plain GraphQL name of at most 64
/// characters and one of the first [`MOST_OPERATION_NAMES`] seen, `anonymous` without
/// one, `other` otherwise.
fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name else {
        return "anonymous".to_owned();
    };
    let plain = (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return "other".to_owned();
    }
    let Ok(mut seen) = SEEN.get_or_init(Mutex::default).lock() else {
        return "other".to_owned();
    };
    if seen.contains(name) || seen.len() < MOST_OPERATION_NAMES {
        seen.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_become_labels_only_when_plain() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("Checkout")), "Checkout");
        assert_eq!(operation_label(Some("bad name")), "other");
        assert_eq!(operation_label(Some(&"x".repeat(65))), "other");
    }
}
