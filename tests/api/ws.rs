//! A GraphQL WebSocket client for tests: connect with a subprotocol and a
//! `connection_init` payload, send messages, read the next one.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::helpers::TestApp;

/// An open WebSocket to the test server.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/graphql/ws` speaking `protocol`, without initialising.
pub async fn open(app: &TestApp, protocol: &'static str) -> Socket {
    let url = format!("{}/graphql/ws", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
    connect_async(request).await.expect("websocket").0
}

/// A graphql-transport-ws connection, initialised with `credential` (anonymous when none)
/// and acknowledged.
pub async fn connect(app: &TestApp, credential: Option<&str>) -> Socket {
    let mut socket = open(app, "graphql-transport-ws").await;
    let payload = match credential {
        Some(credential) => json!({ "Authorization": format!("Bearer {credential}") }),
        None => json!({}),
    };
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    socket
}

/// Starts subscription `id` with `query` and `variables`.
pub async fn subscribe(socket: &mut Socket, id: &str, query: &str, variables: Value) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }),
    )
    .await;
}

/// Sends one protocol message.
pub async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next protocol message, answering keep-alive pings (as clients do) and skipping
/// them and WebSocket control frames.
pub async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = next_message(socket).await;
        match message["type"].as_str() {
            Some("ping") => send(socket, json!({ "type": "pong" })).await,
            Some("ka") => {}
            _ => return message,
        }
    }
}

/// How long a test waits for a message before failing.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// The next frame, or a failure after [`PATIENCE`].
async fn frame(
    socket: &mut Socket,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    tokio::time::timeout(PATIENCE, socket.next())
        .await
        .unwrap_or_else(|_| panic!("no WebSocket message within {PATIENCE:?}"))
}

/// The next protocol message, keep-alive pings included.
pub async fn next_message(socket: &mut Socket) -> Value {
    loop {
        match frame(socket).await.expect("open socket").expect("frame") {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// The close frame that ends the connection: its code and reason.
pub async fn closed(socket: &mut Socket) -> (u16, String) {
    loop {
        match frame(socket).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.as_str().to_owned());
            }
            Some(Ok(Message::Text(text))) if text.contains("\"ping\"") => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}
