//! The HTTP side: routes and the layers every request passes through.

pub mod assets;
pub mod auth;
pub mod caching;
pub mod checkout_page;
pub mod errors;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod oauth;
pub mod playground;
pub mod sandbox;
pub mod security;
mod serve;

pub use serve::{serve_on, service};
pub mod websocket;

use std::time::Duration;

use axum::{
    Router,
    http::{StatusCode, header::AUTHORIZATION},
    middleware,
    routing::{get, post},
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::{
        CompressionLayer,
        predicate::{NotForContentType, Predicate, SizeAbove},
    },
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    app::AppState,
    config::{AppEnv, GatewayKind},
};

/// How long a request may take before it is answered with 408.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// All routes with their layers. Layers wrap outward: the request id is set first so the
/// trace span and the response carry it.
pub fn router(state: AppState) -> Router {
    let server = &state.config.server;
    let body_limit = server.body_limit_bytes;
    let cors = security::cors(&server.cors_allowed_origins);
    let graphql = get(graphql::get)
        .post(graphql::execute)
        .layer(middleware::from_fn(graphql::require_json));
    let [nosniff, referrer, frames, csp] = security::header_layers();
    let hsts = security::hsts(server.tls().is_some());
    // The sandbox's tokenizer and job runner exist only where the sandbox is the gateway,
    // and never in production (which refuses the sandbox at start anyway).
    let sandbox_routes = state.config.gateway.in_use() == GatewayKind::Sandbox
        && state.config.app_env != AppEnv::Production;
    let card_entry = if sandbox_routes {
        checkout_page::CardEntry::Sandbox
    } else {
        checkout_page::CardEntry::GatewaySdk
    };
    let sandbox = if sandbox_routes {
        Router::new()
            .route("/sandbox/tokenize", post(sandbox::tokenize))
            .route("/sandbox/run-jobs", post(sandbox::run_jobs))
    } else {
        Router::new()
    };
    Router::new()
        .merge(sandbox)
        .merge(checkout_page::routes(card_entry))
        .route("/graphql", graphql)
        .route("/graphql/ws", get(websocket::websocket))
        .route("/playground/{version}/{name}", get(playground::asset))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/oauth/token", post(oauth::token))
        .route("/.well-known/jwks.json", get(oauth::jwks))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(CompressionLayer::new().compress_when(compressible()))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::new())
        .layer(middleware::map_response(move |response| async move {
            errors::in_graphql_shape(response, body_limit)
        }))
        .layer(cors)
        .layer(nosniff)
        .layer(referrer)
        .layer(frames)
        .layer(csp)
        .layer(hsts)
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Responses smaller than this go out as they are: below it, compressing costs more CPU
/// than the bytes it saves are worth.
pub const COMPRESS_ABOVE_BYTES: u64 = 1024;

/// Which responses are compressed (gzip, br or zstd, as `Accept-Encoding` prefers): those
/// above [`COMPRESS_ABOVE_BYTES`], except images and event streams.
fn compressible() -> impl Predicate {
    SizeAbove::new(COMPRESS_ABOVE_BYTES)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::GRPC)
}

/// The log span of a request, carrying its id so every line logged for it can be found.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %loggable_path(request.uri().path()),
        request_id = %id
    )
}

/// A request path as logs may hold it: the checkout page's path carries a checkout token,
/// a bearer secret, which is left out.
fn loggable_path(path: &str) -> &str {
    match path.strip_prefix("/checkout/") {
        Some(rest) if !rest.starts_with("assets/") => "/checkout/<token>",
        _ => path,
    }
}
