//! How GraphQL responses go out over HTTP: as `application/graphql-response+json`, and
//! with caching headers. A GET whose fields are all public (by the schema's cache hints,
//! e.g. `installmentPlans`) and that succeeded is `public, max-age=…` with a weak ETag,
//! and a matching `If-None-Match` gets 304; every other response is `no-store`.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::graphql::errors::ErrorCode;

/// The media type of GraphQL responses over HTTP.
const MEDIA_TYPE: &str = "application/graphql-response+json";

/// Whether shared caches may keep this response, and for how long.
fn public_max_age(response: &async_graphql::Response, get: bool) -> Option<i32> {
    let hints = response.cache_control;
    (get && response.is_ok() && hints.public && hints.max_age > 0).then_some(hints.max_age)
}

/// A weak entity tag of a body (weak: compression changes the bytes, not the meaning).
fn entity_tag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("W/\"{}\"", hex::encode(&digest[..16]))
}

fn matches(if_none_match: Option<&HeaderValue>, tag: &str) -> bool {
    if_none_match
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|candidate| candidate.trim() == tag || candidate.trim() == "*")
        })
}

/// The seconds to wait that a `RATE_LIMITED` error names, if the response has one.
fn retry_after(response: &async_graphql::Response) -> Option<HeaderValue> {
    response.errors.iter().find_map(|error| {
        let extensions = error.extensions.as_ref()?;
        let code = extensions.get("code")?;
        (*code == async_graphql::Value::from(ErrorCode::RateLimited.as_str()))
            .then(|| extensions.get("retryAfterSeconds"))
            .flatten()
            .and_then(|seconds| HeaderValue::from_str(&seconds.to_string()).ok())
    })
}

/// The HTTP response of an executed request; `get` says it came as a GET, whose
/// `request_headers` may hold `If-None-Match`.
pub fn respond(
    response: async_graphql::Response,
    get: bool,
    request_headers: &HeaderMap,
) -> Response {
    let body = match serde_json::to_vec(&response) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "cannot serialise a GraphQL response");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    let mut status = StatusCode::OK;
    match public_max_age(&response, get) {
        Some(max_age) => {
            let tag = entity_tag(&body);
            if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
                headers.insert(header::CACHE_CONTROL, value);
            }
            if matches(request_headers.get(header::IF_NONE_MATCH), &tag) {
                status = StatusCode::NOT_MODIFIED;
            }
            if let Ok(tag) = HeaderValue::from_str(&tag) {
                headers.insert(header::ETAG, tag);
            }
        }
        None => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    if let Some(seconds) = retry_after(&response) {
        status = StatusCode::TOO_MANY_REQUESTS;
        headers.insert(header::RETRY_AFTER, seconds);
    }
    headers.extend(response.http_headers);
    let body = if status == StatusCode::NOT_MODIFIED {
        Body::empty()
    } else {
        Body::from(body)
    };
    (status, headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_match_exactly_or_by_wildcard() {
        let tag = entity_tag(b"{}");
        assert!(tag.starts_with("W/\"") && tag.len() == 3 + 32 + 1);
        assert!(matches(Some(&HeaderValue::from_str(&tag).unwrap()), &tag));
        let list = HeaderValue::from_str(&format!("W/\"other\", {tag}")).unwrap();
        assert!(matches(Some(&list), &tag));
        assert!(matches(Some(&HeaderValue::from_static("*")), &tag));
        assert!(!matches(
            Some(&HeaderValue::from_static("W/\"other\"")),
            &tag
        ));
        assert!(!matches(None, &tag));
    }
}
