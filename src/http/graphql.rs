//! GraphQL over HTTP. Requests are authenticated once, by the [`Caller`] extractor, and the
//! principal travels with the request; resolvers never read headers.
//!
//! Only single JSON requests are executed over POST: no batches, no multipart bodies
//! (CSRF-prone "simple" requests). GET runs persisted queries only, and never a mutation,
//! so none can run from a link; without parameters it serves the playground.

use std::{net::SocketAddr, time::Instant};

use async_graphql::parser::types::OperationType;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, RawQuery, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{
    auth::{Authenticated, Caller},
    errors::error_response,
};
use crate::{
    app::AppState,
    auth::{ClientIp, Principal, signing},
    graphql::{
        Executed,
        errors::ErrorCode,
        limits::ReadOnly,
        loaders::Loaders,
        pipeline,
        response_cache::{Cached, Key},
    },
    http::{caching, playground::playground},
    metrics,
    service::Deps,
};

/// Checks the request signature of a merchant that requires one, and that it is not a
/// replay of an earlier request.
async fn check_signature(
    deps: &Deps,
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
    let now = deps.clock.now().timestamp();
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
    let first_use = deps
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

/// A request that is not exactly one GraphQL request, answered in the GraphQL error shape
/// with `BAD_USER_INPUT` (HTTP 400) and wording of our own, never a parser's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadRequest {
    /// The body is not JSON; where the parser stopped.
    NotJson { line: usize, column: usize },
    /// The body is JSON, but not an object holding a `query` string.
    NotARequest,
    /// The body is a list of requests.
    Batch,
    /// A GET whose query string is not a persisted-query request.
    BadQueryString,
}

/// What a GraphQL request over POST looks like, for the messages that ask for one.
const REQUEST_FORM: &str = "send a JSON object with a `query` string and, optionally, \
    `variables` (an object), `operationName` and `extensions`";

impl BadRequest {
    /// What went wrong and how to send it right.
    pub fn message(self) -> String {
        match self {
            Self::NotJson { line, column } => format!(
                "the body is not valid JSON (it breaks off or goes wrong at line {line}, column {column}): {REQUEST_FORM}"
            ),
            Self::NotARequest => format!("the body is not a GraphQL request: {REQUEST_FORM}"),
            Self::Batch => {
                "batched requests are not supported: send one operation per request".to_owned()
            }
            Self::BadQueryString => "the query string is not a persisted-query request: send \
                `extensions` (the query's APQ hash) and, optionally, `variables` and \
                `operationName`, each URL-encoded JSON"
                .to_owned(),
        }
    }
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        error_response(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            &self.message(),
        )
    }
}

/// Parses a body holding exactly one GraphQL request.
fn parse_request(body: &[u8]) -> Result<async_graphql::Request, BadRequest> {
    let batch: async_graphql::BatchRequest = serde_json::from_slice(body).map_err(|err| {
        if err.is_syntax() || err.is_eof() {
            BadRequest::NotJson {
                line: err.line(),
                column: err.column(),
            }
        } else {
            BadRequest::NotARequest
        }
    })?;
    batch.into_single().map_err(|_| BadRequest::Batch)
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
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match signed(&state, caller, &headers, &body).await {
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
        return playground(State(state)).await;
    };
    // The playground needs no credentials; a persisted query is authenticated like a POST.
    let caller = match Caller::from_headers(&state, &headers).await {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    let caller = match signed(&state, caller, &headers, query.as_bytes()).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let Ok(request) = async_graphql::http::parse_query_string(&query) else {
        return BadRequest::BadQueryString.into_response();
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

/// The caller, once their signature over `signed` is checked when their merchant requires
/// signed requests.
async fn signed(
    state: &AppState,
    Caller(caller): Caller,
    headers: &HeaderMap,
    signed: &[u8],
) -> Result<Authenticated, Response> {
    if let Some(secret) = &caller.signing_secret {
        check_signature(&state.deps, secret, headers, signed).await?;
    }
    Ok(caller)
}

/// Answers a request from a kept answer, once its cost is charged to the client address's
/// rate limit.
fn answer_kept(
    state: &AppState,
    kept: &Cached,
    ip: std::net::IpAddr,
    started: Instant,
    get: bool,
    headers: &HeaderMap,
) -> Response {
    let charged = state
        .schema
        .pipeline()
        .charge(Some(&Principal::Anonymous), Some(ip), kept.cost);
    let response = match charged {
        Ok(()) => async_graphql::Response::default(),
        Err(refused) => pipeline::refused(refused),
    };
    let kind = Some(OperationType::Query);
    metrics::graphql_request(kind, kept.name.as_deref(), started.elapsed(), &response);
    if response.is_ok() {
        caching::respond_kept(kept.body.clone(), kept.max_age, get, headers)
    } else {
        caching::respond(response, get, headers)
    }
}

/// Executes a request for `caller` and answers it. An anonymous request for public data
/// that was answered before is answered from the kept bytes (see
/// [`crate::graphql::response_cache`]), charged to the rate limits all the same.
async fn run(
    state: &AppState,
    caller: Authenticated,
    peer: SocketAddr,
    request: async_graphql::Request,
    get: bool,
    headers: &HeaderMap,
) -> Response {
    let ip = peer.ip();
    let started = Instant::now();
    let key = matches!(caller.principal, Principal::Anonymous).then(|| {
        let generation = state.deps.caches.public_generation();
        Key::of(&request, generation, state.deps.clock.now().date_naive())
    });
    let responses = &state.schema.responses;
    if let Some(kept) = key.as_ref().and_then(|key| responses.get(key)) {
        return answer_kept(state, &kept, ip, started, get, headers);
    }
    let request = request
        .data(caller.principal)
        .data(ClientIp(ip))
        .data(Loaders::new(&state.deps));
    let Executed {
        response,
        operation,
    } = state.schema.execute_counted(request).await;
    let pipeline::Operation { cost, kind, name } = operation;
    metrics::graphql_request(kind, name.as_deref(), started.elapsed(), &response);
    let Some(body) = caching::body(&response) else {
        return caching::failed();
    };
    if let Some(key) = key.filter(|_| kind == Some(OperationType::Query))
        && let Some(max_age) = caching::shareable(&response)
    {
        let body = body.clone();
        responses.insert(
            key,
            Cached {
                body,
                max_age,
                cost,
                name,
            },
        );
    }
    caching::respond_with(response, body, get, headers)
}
