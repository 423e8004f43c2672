//! The HTTP surface: health probes, the playground, request ids, and what is refused
//! before any GraphQL runs.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes};

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let live = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({ "status": "ready" })
    );
}

#[tokio::test]
async fn the_playground_knows_the_subscription_endpoint() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("/graphql/ws"),
        "subscription endpoint missing"
    );
    assert!(html.contains("paylater"));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"].len(), 36);
    let response = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn only_json_posts_are_executed() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("content-type", "text/plain")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);

    let batch = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 400, "batches are refused");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let padding = "x".repeat(70 * 1024);
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": "{ __typename }", "variables": { "padding": padding } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn syntax_errors_and_unknown_fields_are_bad_user_input() {
    let app = TestApp::spawn().await;
    for query in ["{ checkout(token: ", "{ nope }", "{ checkout { id } }"] {
        let body = app.gql(None, query, json!({})).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{query} → {body}");
    }
}

#[tokio::test]
async fn too_deep_queries_are_refused() {
    let app = TestApp::spawn().await;
    let nested = "ofType { ".repeat(15);
    let deep = format!(
        "{{ __schema {{ types {{ {nested} name {} }} }} }}",
        "} ".repeat(15)
    );
    let body = app.gql(None, &deep, json!({})).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
}
