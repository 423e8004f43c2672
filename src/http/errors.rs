//! Answers to requests refused before GraphQL runs, in the GraphQL error shape, so
//! clients read every failure the same way.

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::graphql::errors::ErrorCode;

/// A GraphQL-shaped error response for a request that cannot be executed at all.
pub fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response {
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

/// Gives the GraphQL error shape to refusals made before a handler answers: axum's own
/// (unknown path, method not allowed, an unreadable body), the body-size limit, the
/// request timeout and a caught panic, which would otherwise go out as plain text or empty.
/// Responses already in JSON (ours, OAuth's, the sandbox's) pass unchanged.
pub fn in_graphql_shape(response: Response, body_limit: usize) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/") && value.contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (
            ErrorCode::NotFound,
            "nothing is served at this path: GraphQL is at /graphql".to_owned(),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::BadUserInput,
            "this path does not take this method; the Allow header lists those it takes".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::BadUserInput,
            format!("the request body is larger than the {body_limit} bytes allowed"),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ErrorCode::Internal,
            "the request took too long and was abandoned; retrying may help".to_owned(),
        ),
        StatusCode::UNAUTHORIZED => (
            ErrorCode::Unauthenticated,
            "credentials are needed".to_owned(),
        ),
        StatusCode::FORBIDDEN => (ErrorCode::Forbidden, "this is not allowed".to_owned()),
        StatusCode::TOO_MANY_REQUESTS => (ErrorCode::RateLimited, "too many requests".to_owned()),
        status if status.is_server_error() => (ErrorCode::Internal, "internal error".to_owned()),
        _ => (
            ErrorCode::BadUserInput,
            "the request is malformed: send GraphQL as a JSON POST to /graphql".to_owned(),
        ),
    };
    let (mut parts, _) = response.into_parts();
    let shaped = error_response(status, code, &message);
    for name in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
    ] {
        parts.headers.remove(&name);
    }
    let (shaped_parts, body) = shaped.into_parts();
    parts.headers.extend(shaped_parts.headers);
    Response::from_parts(parts, body)
}
