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
