//! Prometheus metrics on their own listener: the text parses, and it moves with traffic.

use prometheus_parse::{Scrape, Value as Sample};
use serde_json::json;

use crate::helpers::TestApp;

/// Serves `app`'s metrics on an ephemeral port, as `paylater serve` does on
/// `PAYLATER_METRICS_LISTEN`; returns their URL.
async fn metrics_url(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(paylater::http::metrics::serve(
        app.state.clone(),
        listener,
        std::future::pending(),
    ));
    paylater::metrics::handle();
    format!("http://{address}/metrics")
}

async fn scrape(app: &TestApp, url: &str) -> Scrape {
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("Prometheus text")
}

/// The value of the sample `name` whose labels include `labels`.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name)
        .find(|sample| labels.iter().all(|(k, v)| sample.labels.get(k) == Some(*v)))
        .and_then(|sample| match &sample.value {
            Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => Some(*v),
            Sample::Histogram(buckets) => buckets.last().map(|bucket| bucket.count),
            Sample::Summary(_) => None,
        })
}

#[tokio::test]
async fn metrics_parse_and_move_with_traffic() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let url = metrics_url(&app).await;
    let probe = [("operation", "MetricsProbe"), ("kind", "query")];
    let before = value(
        &scrape(&app, &url).await,
        "paylater_graphql_requests_total",
        &probe,
    );
    for _ in 0..3 {
        let body = app
            .gql(
                Some(&merchant.key),
                "query MetricsProbe { merchant { name } }",
                json!({}),
            )
            .await;
        assert_eq!(body["data"]["merchant"]["name"], "Shop");
    }
    let refused = app
        .gql(None, "query MetricsProbe { merchant { name } }", json!({}))
        .await;
    assert!(refused["errors"].is_array());
    let after = scrape(&app, &url).await;
    assert_eq!(
        value(&after, "paylater_graphql_requests_total", &probe),
        Some(before.unwrap_or(0.0) + 4.0),
        "each request counts under its operation's name and kind"
    );
    assert!(
        value(
            &after,
            "paylater_graphql_errors_total",
            &[("code", "UNAUTHENTICATED")]
        )
        .is_some_and(|n| n >= 1.0)
    );
    assert!(
        value(&after, "paylater_graphql_request_duration_seconds", &probe)
            .is_some_and(|n| n >= 4.0),
        "a latency histogram per operation"
    );
    assert!(value(&after, "paylater_db_pool_connections", &[]).is_some_and(|n| n >= 1.0));
    assert!(
        value(
            &after,
            "paylater_cache_hits_total",
            &[("cache", "api_keys")]
        )
        .is_some_and(|n| n >= 2.0)
    );
    assert_eq!(
        value(&after, "paylater_outbox_relay_lag_seconds", &[]),
        Some(0.0)
    );
}

#[tokio::test]
async fn job_runs_are_counted() {
    let app = TestApp::spawn().await;
    let url = metrics_url(&app).await;
    let runs = |scrape: &Scrape| value(scrape, "paylater_job_runs_total", &[]).unwrap_or(0.0);
    let before = runs(&scrape(&app, &url).await);
    app.run_jobs(&crate::helpers::start_time().to_rfc3339())
        .await;
    let after = runs(&scrape(&app, &url).await);
    assert!(after >= before + 1.0, "{before} → {after}");
}
