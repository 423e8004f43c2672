//! GraphQL over WebSocket at `/graphql/ws`: graphql-transport-ws, or the legacy graphql-ws
//! (subscriptions-transport-ws). Credentials come in the `connection_init` payload as
//! `{"Authorization": "Bearer …"}`; none makes an anonymous connection.
//!
//! Beyond what async-graphql's connection does, this one pings the client every
//! `websocket_keepalive_seconds` (graphql-transport-ws `ping`, legacy `ka`), closes a
//! graphql-transport-ws connection that stops answering, and closes (4408) one that does
//! not send `connection_init` within one such interval.

use std::{
    net::SocketAddr,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    Data,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket as Connection, WebSocketProtocols, WsMessage},
};
use axum::{
    extract::{
        ConnectInfo, FromRequestParts, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt, future};

use super::auth::authenticate;
use crate::{
    app::AppState,
    auth::ClientIp,
    graphql::{live::SocketSession, loaders::Loaders},
};

/// The GraphQL WebSocket protocol the client asked for.
pub struct Protocol(WebSocketProtocols);

impl<S: Send + Sync> FromRequestParts<S> for Protocol {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parts
            .headers
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .split(',')
                    .find_map(|name| WebSocketProtocols::from_str(name.trim()).ok())
            })
            .map(Self)
            .ok_or_else(|| {
                (
                    StatusCode::BAD_REQUEST,
                    "ask for the graphql-transport-ws (or legacy graphql-ws) subprotocol",
                )
                    .into_response()
            })
    }
}

/// Upgrades to a GraphQL WebSocket connection.
pub async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Protocol(protocol): Protocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(state, peer, protocol, socket))
}

/// The `connection_init` step: credentials from the payload become the connection's
/// principal, with loaders that never cache and the connection's subscription rules.
async fn initialise(
    state: AppState,
    peer: SocketAddr,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let authorization = ["Authorization", "authorization"]
        .iter()
        .find_map(|key| payload.get(key))
        .and_then(|value| value.as_str());
    let caller = authenticate(&state.deps, authorization)
        .await
        .map_err(|err| async_graphql::Error::new(err.to_string()))?;
    if caller.signing_secret.is_some() {
        return Err(async_graphql::Error::new(
            "this merchant requires signed requests, which WebSocket cannot carry",
        ));
    }
    let mut data = Data::default();
    data.insert(caller.principal);
    data.insert(ClientIp(peer.ip()));
    data.insert(Loaders::uncached(&state.deps));
    data.insert(SocketSession::new(caller.expires_at));
    Ok(data)
}

/// The keep-alive message of a protocol.
fn ping(protocol: WebSocketProtocols) -> Message {
    Message::text(match protocol {
        WebSocketProtocols::GraphQLWS => r#"{"type":"ping"}"#,
        WebSocketProtocols::SubscriptionsTransportWS => r#"{"type":"ka"}"#,
    })
}

async fn serve(state: AppState, peer: SocketAddr, protocol: WebSocketProtocols, socket: WebSocket) {
    let every = Duration::from_secs(state.config.server.websocket_keepalive_seconds);
    let (mut sink, source) = socket.split();
    let input = source
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let initialised = Arc::new(AtomicBool::new(false));
    let acknowledged = initialised.clone();
    let schema = state.schema.clone();
    let connection = Connection::new(schema, input, protocol).on_connection_init(move |payload| {
        let acknowledged = acknowledged.clone();
        async move {
            let data = initialise(state, peer, payload).await?;
            acknowledged.store(true, Ordering::SeqCst);
            Ok(data)
        }
    });
    // graphql-transport-ws clients answer pings; one silent for three has gone.
    let connection = match protocol {
        WebSocketProtocols::GraphQLWS => connection.keepalive_timeout(every * 3),
        WebSocketProtocols::SubscriptionsTransportWS => connection,
    };
    let mut connection = std::pin::pin!(connection);
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let init_deadline = tokio::time::sleep(every);
    let mut init_deadline = std::pin::pin!(init_deadline);
    loop {
        let outgoing = tokio::select! {
            message = connection.next() => match message {
                Some(WsMessage::Text(text)) => Message::text(text),
                Some(WsMessage::Close(code, reason)) => Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })),
                None => break,
            },
            _ = pings.tick() => {
                if !initialised.load(Ordering::SeqCst) {
                    continue;
                }
                ping(protocol)
            }
            () = &mut init_deadline, if !initialised.load(Ordering::SeqCst) => {
                Message::Close(Some(CloseFrame {
                    code: 4408,
                    reason: "Connection initialisation timeout".into(),
                }))
            }
        };
        let closing = matches!(outgoing, Message::Close(_));
        if sink.send(outgoing).await.is_err() || closing {
            break;
        }
    }
}
