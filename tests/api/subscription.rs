//! `checkoutStatus` over WebSocket (graphql-transport-ws).

use serde_json::json;

use crate::{
    helpers::{TestApp, checkout_input, create_checkout},
    ws::{closed, connect, next, open, send},
};

#[tokio::test]
async fn streams_the_current_state_then_changes_then_completes() {
    let app = TestApp::spawn().await;
    app.start_relay();
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let token = created["checkoutToken"].as_str().unwrap();
    let id = created["checkout"]["id"].as_str().unwrap();
    let mut socket = connect(&app, None).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($t: String!) { checkoutStatus(token: $t) { status merchant { name } } }",
            "variables": { "t": token } } }),
    )
    .await;
    let first = next(&mut socket).await;
    assert_eq!(first["type"], "next");
    assert_eq!(
        first["payload"]["data"]["checkoutStatus"],
        json!({ "status": "OPEN", "merchant": { "name": "Shop" } })
    );

    let cancel =
        "mutation($id: ID!) { cancelCheckout(input: { id: $id }) { userErrors { code } } }";
    let body = app
        .gql(Some(&merchant.key), cancel, json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["cancelCheckout"]["userErrors"], json!([]));

    let update = next(&mut socket).await;
    assert_eq!(
        update["payload"]["data"]["checkoutStatus"]["status"],
        "CANCELLED"
    );
    assert_eq!(
        next(&mut socket).await,
        json!({ "id": "1", "type": "complete" })
    );
}

#[tokio::test]
async fn an_unknown_token_is_an_error() {
    let app = TestApp::spawn().await;
    let mut socket = connect(&app, None).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription { checkoutStatus(token: \"ct_nope\") { status } }" } }),
    )
    .await;
    let message = next(&mut socket).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn bad_credentials_close_the_connection() {
    let app = TestApp::spawn().await;
    let mut socket = open(&app, "graphql-transport-ws").await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "Authorization": "Bearer sk_test_nope" } }),
    )
    .await;
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 1002);
    assert!(reason.starts_with("unknown or revoked API key"), "{reason}");
}

#[tokio::test]
async fn subscribers_learn_of_expiry_from_the_sweep() {
    let app = TestApp::spawn().await;
    app.start_relay();
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let token = created["checkoutToken"].as_str().unwrap();
    let mut socket = connect(&app, None).await;
    send(
        &mut socket,
        json!({ "id": "7", "type": "subscribe", "payload": {
            "query": "subscription($t: String!) { checkoutStatus(token: $t) { status availablePlans { plan } } }",
            "variables": { "t": token } } }),
    )
    .await;
    assert_eq!(
        next(&mut socket).await["payload"]["data"]["checkoutStatus"]["status"],
        "OPEN"
    );
    app.clock.advance(chrono::Duration::minutes(60));
    paylater::service::checkouts::expire_due(
        &app.state.deps,
        paylater::clock::Clock::now(app.clock.as_ref()),
        100,
    )
    .await
    .unwrap();
    let update = next(&mut socket).await;
    assert_eq!(
        update["payload"]["data"]["checkoutStatus"],
        json!({ "status": "EXPIRED", "availablePlans": [] })
    );
    assert_eq!(
        next(&mut socket).await,
        json!({ "id": "7", "type": "complete" })
    );
}
