//! `checkoutUpdated` over WebSocket (graphql-transport-ws).

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::helpers::{TestApp, checkout_input, create_checkout};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp) -> Socket {
    let url = format!("{}/graphql/ws", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = connect_async(request).await.expect("websocket");
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": {} }),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next protocol message (pings are answered by the server, not expected here).
async fn next(socket: &mut Socket) -> Value {
    loop {
        match socket.next().await.expect("open socket").expect("frame") {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

#[tokio::test]
async fn streams_the_current_state_then_changes_then_completes() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let token = created["checkoutToken"].as_str().unwrap();
    let id = created["checkout"]["id"].as_str().unwrap();
    let mut socket = connect(&app).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($t: String!) { checkoutUpdated(token: $t) { status merchant { name } } }",
            "variables": { "t": token } } }),
    )
    .await;
    let first = next(&mut socket).await;
    assert_eq!(first["type"], "next");
    assert_eq!(
        first["payload"]["data"]["checkoutUpdated"],
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
        update["payload"]["data"]["checkoutUpdated"]["status"],
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
    let mut socket = connect(&app).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription { checkoutUpdated(token: \"ct_nope\") { status } }" } }),
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
    let url = format!("{}/graphql/ws", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = connect_async(request).await.unwrap();
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "Authorization": "Bearer sk_test_nope" } }),
    )
    .await;
    match socket.next().await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 1002);
            assert!(
                frame
                    .reason
                    .as_str()
                    .starts_with("unknown or revoked API key")
            );
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn subscribers_learn_of_expiry_from_the_sweep() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let token = created["checkoutToken"].as_str().unwrap();
    let mut socket = connect(&app).await;
    send(
        &mut socket,
        json!({ "id": "7", "type": "subscribe", "payload": {
            "query": "subscription($t: String!) { checkoutUpdated(token: $t) { status availablePlans { plan } } }",
            "variables": { "t": token } } }),
    )
    .await;
    assert_eq!(
        next(&mut socket).await["payload"]["data"]["checkoutUpdated"]["status"],
        "OPEN"
    );
    app.clock.advance(chrono::Duration::minutes(60));
    paylater::service::checkouts::expire_due(
        &app.state.services,
        paylater::clock::Clock::now(app.clock.as_ref()),
        100,
    )
    .await
    .unwrap();
    let update = next(&mut socket).await;
    assert_eq!(
        update["payload"]["data"]["checkoutUpdated"],
        json!({ "status": "EXPIRED", "availablePlans": [] })
    );
    assert_eq!(
        next(&mut socket).await,
        json!({ "id": "7", "type": "complete" })
    );
}
