//! GraphQL over WebSocket at `/graphql/ws`: graphql-transport-ws, or the legacy graphql-ws
//! (subscriptions-transport-ws). Credentials come in the `connection_init` payload as
//! `{"Authorization": "Bearer …"}`; none makes an anonymous connection.
//!
//! Beyond what async-graphql's connection does, this one pings the client every
//! `websocket_keepalive_seconds` (graphql-transport-ws `ping`, legacy `ka`), closes a
//! graphql-transport-ws connection that stops answering, closes (4408) one that does
//! not send `connection_init` within one such interval, and closes (4400) one that sends a
//! message that is not of the protocol, with wording of its own rather than a parser's.

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
    http::{
        ALL_WEBSOCKET_PROTOCOLS, ClientMessage, WebSocket as Connection, WebSocketProtocols,
        WsMessage,
    },
};
use axum::{
    extract::{
        ConnectInfo, FromRequestParts, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket, rejection::WebSocketUpgradeRejection},
    },
    http::{StatusCode, header, request::Parts},
    response::Response,
};
use futures_util::{SinkExt, StreamExt, future};

use super::{auth::authenticate, errors::error_response};
use crate::{
    app::AppState,
    auth::ClientIp,
    graphql::{errors::ErrorCode, live::SocketSession, loaders::Loaders},
};

/// What a client that does not speak GraphQL over WebSocket is told.
const SPEAK_THE_PROTOCOL: &str = "/graphql/ws speaks GraphQL over WebSocket: open a WebSocket \
    asking for the graphql-transport-ws (or legacy graphql-ws) subprotocol";

/// The graphql-transport-ws close code for a message that is not of the protocol.
const BAD_REQUEST_CLOSE: u16 = 4400;

/// Why a connection that sent a message not of the protocol is closed (a close reason
/// holds at most 123 bytes).
const BAD_MESSAGE: &str =
    "not a graphql-transport-ws message: send JSON with a known `type` and its fields";

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
                error_response(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadUserInput,
                    SPEAK_THE_PROTOCOL,
                )
            })
    }
}

/// Upgrades to a GraphQL WebSocket connection.
pub async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Protocol(protocol): Protocol,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(refused) => {
            return error_response(
                refused.status(),
                ErrorCode::BadUserInput,
                SPEAK_THE_PROTOCOL,
            );
        }
    };
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
    // Messages are parsed here, so one that is not of the protocol ends the input and is
    // answered below with our close code and wording.
    let bad_message = Arc::new(AtomicBool::new(false));
    let noticed = bad_message.clone();
    let input = source
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                    Some(ClientMessage::from_bytes(message.into_data()))
                }
                _ => None,
            })
        })
        .take_while(move |parsed| {
            if parsed.is_err() {
                noticed.store(true, Ordering::SeqCst);
            }
            future::ready(parsed.is_ok())
        });
    let initialised = Arc::new(AtomicBool::new(false));
    let acknowledged = initialised.clone();
    let schema = state.schema.clone();
    let connection = Connection::from_message_stream(schema, input, protocol).on_connection_init(
        move |payload| {
            let acknowledged = acknowledged.clone();
            async move {
                let data = initialise(state, peer, payload).await?;
                acknowledged.store(true, Ordering::SeqCst);
                Ok(data)
            }
        },
    );
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
                None if bad_message.load(Ordering::SeqCst) => Message::Close(Some(CloseFrame {
                    code: BAD_REQUEST_CLOSE,
                    reason: BAD_MESSAGE.into(),
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
