//! Subscriptions that follow the outbox relay over a real WebSocket: `checkoutStatus` sees a
//! confirmation made over HTTP, `orderEvents` shows each caller its own orders only, and
//! the connection's rules (anonymous access, limits, keep-alive, expiry, the legacy
//! protocol) hold.

use paylater::clock::Clock;
use serde_json::{Value, json};

use crate::{
    fixtures::{place_order, shopper},
    helpers::{TestApp, checkout_input, create_checkout},
    ws::{Socket, closed, connect, next, next_message, open, send, subscribe},
};

const ORDER_EVENTS: &str = "subscription($o: ID) { orderEvents(orderId: $o) {
    id type occurredAt installmentSequence refundId order { id status merchantReference } } }";

/// The data of the next `next` message of subscription `id`.
async fn data(socket: &mut Socket, id: &str) -> Value {
    let message = next(socket).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], id, "{message}");
    message["payload"]["data"].clone()
}

/// The first top-level error code of the next message of subscription `id`.
async fn error_code(socket: &mut Socket, id: &str) -> Value {
    let message = next(socket).await;
    assert_eq!(message["id"], id, "{message}");
    message["payload"]["errors"][0]["extensions"]["code"].clone()
}

#[tokio::test]
async fn a_checkout_page_sees_the_confirmation_made_over_http() {
    let app = TestApp::spawn().await;
    app.start_relay();
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("page-1")).await;
    let token = created["checkoutToken"].as_str().unwrap();
    let ada = shopper(&app, "ada@example.com").await;

    let mut page = connect(&app, None).await;
    subscribe(
        &mut page,
        "s",
        "subscription($t: String!) { checkoutStatus(token: $t) { status } }",
        json!({ "t": token }),
    )
    .await;
    assert_eq!(
        data(&mut page, "s").await["checkoutStatus"]["status"],
        "OPEN"
    );

    let confirmed = app
        .gql(
            Some(&ada.token),
            "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) { order { id } userErrors { code } } }",
            json!({ "i": { "token": token, "plan": "PAY_IN_3", "paymentMethodId": ada.card, "idempotencyKey": "k" } }),
        )
        .await;
    assert_eq!(
        confirmed["data"]["confirmCheckout"]["userErrors"],
        json!([])
    );
    assert_eq!(
        data(&mut page, "s").await["checkoutStatus"]["status"],
        "COMPLETED"
    );
    assert_eq!(
        next(&mut page).await,
        json!({ "id": "s", "type": "complete" })
    );
}

#[tokio::test]
async fn consumers_see_their_own_order_events_and_never_another_s() {
    let app = TestApp::spawn().await;
    app.start_relay();
    let merchant = app.merchant("Shop").await;
    let ada = shopper(&app, "ada@example.com").await;
    let bob = shopper(&app, "bob@example.com").await;
    let mut ada_socket = connect(&app, Some(&ada.token)).await;
    subscribe(&mut ada_socket, "a", ORDER_EVENTS, json!({})).await;
    let mut bob_socket = connect(&app, Some(&bob.token)).await;
    subscribe(&mut bob_socket, "b", ORDER_EVENTS, json!({})).await;
    app.listening(2).await;

    // Bob's order comes first: a leak would reach Ada before her own.
    let bobs = place_order(&app, &merchant, &bob, "bob-1", "PAY_IN_3").await;
    let adas = place_order(&app, &merchant, &ada, "ada-1", "PAY_IN_30_DAYS").await;

    let event = data(&mut ada_socket, "a").await["orderEvents"].clone();
    assert_eq!(event["type"], "ORDER_AUTHORIZED");
    assert_eq!(
        event["order"],
        json!({ "id": adas, "status": "AUTHORIZED", "merchantReference": "ada-1" })
    );
    let event = data(&mut bob_socket, "b").await["orderEvents"].clone();
    assert_eq!(event["order"]["id"], bobs);

    // Ada asking for Bob's order by id is told it does not exist.
    subscribe(&mut ada_socket, "x", ORDER_EVENTS, json!({ "o": bobs })).await;
    assert_eq!(error_code(&mut ada_socket, "x").await, "NOT_FOUND");
}

#[tokio::test]
async fn merchants_see_their_own_sales_only_and_one_order_when_asked() {
    let app = TestApp::spawn().await;
    let shop = app.merchant("Shop").await;
    let rival = app.merchant("Rival").await;
    let ada = shopper(&app, "ada@example.com").await;
    let first = place_order(&app, &shop, &ada, "shop-1", "PAY_IN_3").await;
    // Its events go out before anyone listens.
    app.run_jobs(&app.clock.now().to_rfc3339()).await;

    let mut all = connect(&app, Some(&shop.key)).await;
    subscribe(&mut all, "all", ORDER_EVENTS, json!({})).await;
    let mut one = connect(&app, Some(&shop.key)).await;
    subscribe(&mut one, "one", ORDER_EVENTS, json!({ "o": first })).await;
    app.listening(2).await;
    app.start_relay();

    place_order(&app, &rival, &ada, "rival-1", "PAY_IN_3").await;
    let second = place_order(&app, &shop, &ada, "shop-2", "PAY_IN_3").await;
    let capture = "mutation($i: ID!) { captureOrder(input: { id: $i, idempotencyKey: \"c\" }) { userErrors { code } } }";
    let captured = app
        .gql(Some(&shop.key), capture, json!({ "i": first }))
        .await;
    assert_eq!(captured["data"]["captureOrder"]["userErrors"], json!([]));

    let event = data(&mut all, "all").await["orderEvents"].clone();
    assert_eq!(
        (event["type"].clone(), event["order"]["id"].clone()),
        (json!("ORDER_AUTHORIZED"), json!(second))
    );
    let event = data(&mut all, "all").await["orderEvents"].clone();
    assert_eq!(
        (event["type"].clone(), event["order"]["id"].clone()),
        (json!("ORDER_CAPTURED"), json!(first))
    );
    assert_eq!(event["order"]["status"], "CAPTURED");

    // The single-order subscription skips the second order's authorization.
    let event = data(&mut one, "one").await["orderEvents"].clone();
    assert_eq!(
        (event["type"].clone(), event["order"]["id"].clone()),
        (json!("ORDER_CAPTURED"), json!(first))
    );
}

#[tokio::test]
async fn order_events_need_credentials_and_checkout_status_does_not() {
    let app = TestApp::spawn().await;
    let mut socket = connect(&app, None).await;
    subscribe(&mut socket, "1", ORDER_EVENTS, json!({})).await;
    assert_eq!(error_code(&mut socket, "1").await, "UNAUTHENTICATED");

    // A key without `orders:read` may not follow orders either.
    let merchant = app.merchant("Shop").await;
    let body = app
        .gql(
            Some(&merchant.key),
            "mutation { createApiKey(input: { name: \"web\", scopes: [CHECKOUTS_WRITE] }) { secret } }",
            json!({}),
        )
        .await;
    let checkouts_only = body["data"]["createApiKey"]["secret"].as_str().unwrap();
    let mut socket = connect(&app, Some(checkouts_only)).await;
    subscribe(&mut socket, "2", ORDER_EVENTS, json!({})).await;
    assert_eq!(error_code(&mut socket, "2").await, "FORBIDDEN");
}

#[tokio::test]
async fn a_bad_access_token_in_connection_init_is_refused() {
    let app = TestApp::spawn().await;
    let mut socket = open(&app, "graphql-transport-ws").await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "Authorization": "Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln" } }),
    )
    .await;
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 1002);
    assert!(reason.contains("invalid access token"), "{reason}");
}

#[tokio::test]
async fn a_connection_holds_a_bounded_number_of_subscriptions() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let mut socket = connect(&app, Some(&merchant.key)).await;
    let limit = paylater::graphql::live::MAX_SUBSCRIPTIONS_PER_CONNECTION;
    for n in 0..=limit {
        subscribe(&mut socket, &n.to_string(), ORDER_EVENTS, json!({})).await;
    }
    // One of them, whichever started last, finds no free slot and ends.
    let refused = next(&mut socket).await;
    let refused_id = refused["id"].as_str().unwrap().to_owned();
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );
    assert_eq!(
        next(&mut socket).await,
        json!({ "id": refused_id, "type": "complete" })
    );

    // Ending another frees its slot for a new one.
    let ended = if refused_id == "0" { "1" } else { "0" };
    send(&mut socket, json!({ "id": ended, "type": "complete" })).await;
    subscribe(&mut socket, "again", ORDER_EVENTS, json!({})).await;
    app.listening(limit).await;
    app.start_relay();
    let ada = shopper(&app, "ada@example.com").await;
    place_order(&app, &merchant, &ada, "o-1", "PAY_IN_3").await;
    // Every live subscription hears the order, the new one among them.
    let mut heard = std::collections::HashSet::new();
    while heard.len() < limit {
        let message = next(&mut socket).await;
        if message == json!({ "id": ended, "type": "complete" }) {
            continue;
        }
        assert_eq!(message["type"], "next", "{message}");
        heard.insert(message["id"].as_str().unwrap().to_owned());
    }
    assert!(heard.contains("again"), "{heard:?}");
    assert!(
        !heard.contains(ended) && !heard.contains(&refused_id),
        "{heard:?}"
    );
}

#[tokio::test]
async fn idle_connections_are_pinged() {
    let app = TestApp::spawn_with(|config| config.server.websocket_keepalive_seconds = 1).await;
    let mut socket = connect(&app, None).await;
    assert_eq!(next_message(&mut socket).await, json!({ "type": "ping" }));
    // Answering keeps the connection open: the next ping comes too.
    send(&mut socket, json!({ "type": "pong" })).await;
    assert_eq!(next_message(&mut socket).await, json!({ "type": "ping" }));
}

#[tokio::test]
async fn a_connection_that_never_initialises_is_closed() {
    let app = TestApp::spawn_with(|config| config.server.websocket_keepalive_seconds = 1).await;
    let mut socket = open(&app, "graphql-transport-ws").await;
    let (code, _) = closed(&mut socket).await;
    assert_eq!(code, 4408);
}

#[tokio::test]
async fn subscriptions_end_when_the_access_token_expires() {
    let app = TestApp::spawn().await;
    let ada = shopper(&app, "ada@example.com").await;
    let mut socket = connect(&app, Some(&ada.token)).await;
    subscribe(&mut socket, "1", ORDER_EVENTS, json!({})).await;
    // The consumer's access token lives 15 minutes; the server's clock moves past it.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(error_code(&mut socket, "1").await, "UNAUTHENTICATED");
    assert_eq!(
        next(&mut socket).await,
        json!({ "id": "1", "type": "complete" })
    );
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_works_too() {
    let app = TestApp::spawn().await;
    app.start_relay();
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("legacy")).await;
    let mut socket = open(&app, "graphql-ws").await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": {} }),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "1", "type": "start", "payload": {
            "query": "subscription($t: String!) { checkoutStatus(token: $t) { status } }",
            "variables": { "t": created["checkoutToken"] } } }),
    )
    .await;
    let message = next(&mut socket).await;
    assert_eq!(message["type"], "data", "{message}");
    assert_eq!(
        message["payload"]["data"]["checkoutStatus"]["status"],
        "OPEN"
    );
    let cancel =
        "mutation($id: ID!) { cancelCheckout(input: { id: $id }) { userErrors { code } } }";
    app.gql(
        Some(&merchant.key),
        cancel,
        json!({ "id": created["checkout"]["id"] }),
    )
    .await;
    let message = next(&mut socket).await;
    assert_eq!(
        message["payload"]["data"]["checkoutStatus"]["status"],
        "CANCELLED"
    );
    assert_eq!(
        next(&mut socket).await,
        json!({ "id": "1", "type": "complete" })
    );
}
