//! GraphQL over HTTP and WebSocket. Requests are authenticated here, once, and the
//! principal travels with the request; resolvers never read headers.
//!
//! Only single JSON requests are executed over POST: no batches, no multipart bodies
//! (CSRF-prone "simple" requests). GET runs persisted queries only, and never a mutation,
//! so none can run from a link; without parameters it serves the playground.

use std::net::SocketAddr;

use async_graphql::{ParseRequestError, http::GraphiQLSource};
use axum::{
    Json,
    body::Bytes,
    extract::{ConnectInfo, RawQuery, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use serde_json::json;

use crate::{
    app::AppState,
    auth::{ClientIp, Principal, api_key::DEMO_API_KEY, jwt, signing},
    graphql::{errors::ErrorCode, limits::ReadOnly, loaders::Loaders},
    http::{caching, security::PLAYGROUND_CSP},
    service::{Services, merchants},
};

/// Why a request's credentials were refused.
#[derive(Debug, thiserror::Error)]
pub(super) enum AuthError {
    #[error("the Authorization header must be `Bearer <API key>`")]
    Malformed,
    #[error("unknown or revoked API key, or invalid access token")]
    Rejected,
    #[error("authentication is unavailable")]
    Unavailable,
}

/// Who is calling, the secret their requests must be signed with (if they must be), and
/// when their credential expires (access tokens; API keys live until revoked).
pub(super) struct Authenticated {
    pub principal: Principal,
    pub signing_secret: Option<String>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Authenticated {
    fn anonymous() -> Self {
        Self {
            principal: Principal::Anonymous,
            signing_secret: None,
            expires_at: None,
        }
    }
}

fn unavailable(err: &crate::service::ServiceError) -> AuthError {
    tracing::error!(error = %err.describe(), "authentication lookup failed");
    AuthError::Unavailable
}

/// Resolves an `Authorization` value to a principal; no value is anonymous.
pub(super) async fn authenticate(
    services: &Services,
    authorization: Option<&str>,
) -> Result<Authenticated, AuthError> {
    let Some(value) = authorization else {
        return Ok(Authenticated::anonymous());
    };
    let token = value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::Malformed)?;
    if !token.starts_with("sk_") {
        let now = services.clock.now();
        let principal =
            Principal::from_access_token(&services.keys, token, now).map_err(|err| {
                tracing::info!(reason = %err, "access token refused");
                AuthError::Rejected
            })?;
        let signing_secret = match principal.merchant() {
            Some(merchant) => merchants::signing_secret(services, merchant.merchant_id)
                .await
                .map_err(|err| unavailable(&err))?,
            None => None,
        };
        return Ok(Authenticated {
            principal,
            signing_secret,
            expires_at: jwt::expiry_of_verified(token),
        });
    }
    match merchants::authenticate(services, token).await {
        Ok(Some(key)) => {
            services
                .key_usage
                .record(key.principal.api_key_id, services.clock.now());
            Ok(Authenticated {
                principal: Principal::Merchant(key.principal),
                signing_secret: key.signing_secret,
                expires_at: None,
            })
        }
        Ok(None) => Err(AuthError::Rejected),
        Err(err) => Err(unavailable(&err)),
    }
}

/// Checks the request signature of a merchant that requires one, and that it is not a
/// replay of an earlier request.
async fn check_signature(
    services: &Services,
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let refuse = |message: &str| {
        error_response(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            message,
        )
    };
    let now = services.clock.now().timestamp();
    signing::verify(
        secret,
        header(signing::TIMESTAMP_HEADER),
        header(signing::SIGNATURE_HEADER),
        body,
        now,
    )
    .map_err(|err| refuse(&err.to_string()))?;
    let signature = header(signing::SIGNATURE_HEADER)
        .unwrap_or_default()
        .to_owned();
    let first_use = services
        .signature_replays
        .entry(signature)
        .or_insert(())
        .await
        .is_fresh();
    if first_use {
        Ok(())
    } else {
        Err(refuse("this signed request was already received"))
    }
}

/// A GraphQL-shaped error response for a request that cannot be executed at all.
fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = Json(
        json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] }),
    );
    let mut response = (status, body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            Self::Unavailable => error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
                &self.to_string(),
            ),
            _ => error_response(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                &self.to_string(),
            ),
        }
    }
}

/// A body that is not exactly one GraphQL request, answered in the GraphQL error shape.
pub struct BadRequest(ParseRequestError);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        let (status, message) = match self.0 {
            ParseRequestError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large".to_owned(),
            ),
            ParseRequestError::UnsupportedBatch => (
                StatusCode::BAD_REQUEST,
                "batched requests are not supported: send one operation per request".to_owned(),
            ),
            other => (
                StatusCode::BAD_REQUEST,
                format!("not a GraphQL request: {other}"),
            ),
        };
        error_response(status, ErrorCode::BadUserInput, &message)
    }
}

/// Parses a body holding exactly one GraphQL request.
fn parse_request(body: &[u8]) -> Result<async_graphql::Request, BadRequest> {
    let batch: async_graphql::BatchRequest = serde_json::from_slice(body)
        .map_err(|err| BadRequest(ParseRequestError::InvalidRequest(Box::new(err))))?;
    batch.into_single().map_err(BadRequest)
}

/// Refuses POST bodies that are not JSON before they are parsed.
pub async fn require_json(request: Request, next: Next) -> Response {
    if request.method() == axum::http::Method::POST {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::BadUserInput,
                "send GraphQL requests as application/json",
            );
        }
    }
    next.run(request).await
}

/// Executes one GraphQL request sent as a JSON POST.
pub async fn execute(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match caller(&state, &headers, &body).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let request = match parse_request(&body) {
        Ok(request) => request,
        Err(err) => return err.into_response(),
    };
    run(&state, caller, peer, request, false, &headers).await
}

/// `GET /graphql`: with parameters, runs a persisted query (`extensions` holding the
/// APQ hash, with `variables` and `operationName`), which must be a query, so that HTTP
/// caches may keep public answers; without any, the playground. The signed payload of a
/// merchant that signs its requests is the query string.
pub async fn get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(query) = query.filter(|query| !query.is_empty()) else {
        return playground(State(state)).await.into_response();
    };
    let caller = match caller(&state, &headers, query.as_bytes()).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(err) => return BadRequest(err).into_response(),
    };
    if !request.extensions.contains_key("persistedQuery") || !request.query.is_empty() {
        return error_response(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "GET /graphql runs persisted queries only: send the APQ hash in `extensions`, and register the query with POST first",
        );
    }
    run(&state, caller, peer, request.data(ReadOnly), true, &headers).await
}

/// Who is calling, with a valid signature over `signed` when the merchant requires one.
async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    signed: &[u8],
) -> Result<Authenticated, Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let caller = authenticate(&state.services, authorization)
        .await
        .map_err(IntoResponse::into_response)?;
    if let Some(secret) = &caller.signing_secret {
        check_signature(&state.services, secret, headers, signed).await?;
    }
    Ok(caller)
}

/// Executes a request for `caller` and answers it.
async fn run(
    state: &AppState,
    caller: Authenticated,
    peer: SocketAddr,
    request: async_graphql::Request,
    get: bool,
    headers: &HeaderMap,
) -> Response {
    let request = request
        .data(caller.principal)
        .data(ClientIp(peer.ip()))
        .data(Loaders::new(&state.services));
    let response = state.schema.execute(request).await;
    caching::respond(response, get, headers)
}

/// The GraphiQL playground. In development with demo data, the demo key is filled in.
pub async fn playground(State(state): State<AppState>) -> impl IntoResponse {
    let bearer = format!("Bearer {DEMO_API_KEY}");
    let mut source = GraphiQLSource::build()
        .endpoint("/graphql")
        .subscription_endpoint("/graphql/ws")
        .title("paylater GraphQL playground");
    if state.config.seed_demo {
        source = source
            .header("Authorization", &bearer)
            .ws_connection_param("Authorization", &bearer);
    }
    (
        [(header::CONTENT_SECURITY_POLICY, PLAYGROUND_CSP)],
        Html(source.finish()),
    )
}
