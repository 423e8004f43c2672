//! How GraphQL responses go out over HTTP: as `application/graphql-response+json`, and
//! with caching headers. A GET whose fields are all public (by the schema's cache hints,
//! e.g. `installmentPlans`) and that succeeded is `public, max-age=…` with a weak ETag,
//! and a matching `If-None-Match` gets 304; every other response is `no-store`.

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::graphql::errors::ErrorCode;

/// The media type of GraphQL responses over HTTP.
const MEDIA_TYPE: &str = "application/graphql-response+json";

/// How long anyone may keep this response, if it may be shared at all: it succeeded and
/// every field it holds is public and cacheable by the schema's hints.
pub fn shareable(response: &async_graphql::Response) -> Option<u32> {
    let hints = response.cache_control;
    let max_age = u32::try_from(hints.max_age).ok().filter(|age| *age > 0)?;
    (response.is_ok() && hints.public).then_some(max_age)
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

/// The body of a response, as sent; `None` (logged) if it cannot be serialised, which
/// [`failed`] answers.
pub fn body(response: &async_graphql::Response) -> Option<Bytes> {
    serde_json::to_vec(response)
        .map(Bytes::from)
        .inspect_err(|err| tracing::error!(error = %err, "cannot serialise a GraphQL response"))
        .ok()
}

/// The answer to a response that could not be serialised.
pub fn failed() -> Response {
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// The HTTP response of an executed request; `get` says it came as a GET, whose
/// `request_headers` may hold `If-None-Match`.
pub fn respond(
    response: async_graphql::Response,
    get: bool,
    request_headers: &HeaderMap,
) -> Response {
    match body(&response) {
        Some(body) => respond_with(response, body, get, request_headers),
        None => failed(),
    }
}

/// [`respond`], with the response's body already made.
pub fn respond_with(
    response: async_graphql::Response,
    body: Bytes,
    get: bool,
    request_headers: &HeaderMap,
) -> Response {
    let max_age = shareable(&response).filter(|_| get);
    let mut headers = HeaderMap::new();
    let mut status = StatusCode::OK;
    if let Some(seconds) = retry_after(&response) {
        status = StatusCode::TOO_MANY_REQUESTS;
        headers.insert(header::RETRY_AFTER, seconds);
    }
    headers.extend(response.http_headers);
    send(status, headers, body, max_age, request_headers)
}

/// A kept answer to a public operation, good for `max_age` seconds.
pub fn respond_kept(body: Bytes, max_age: u32, get: bool, request_headers: &HeaderMap) -> Response {
    let max_age = get.then_some(max_age);
    send(
        StatusCode::OK,
        HeaderMap::new(),
        body,
        max_age,
        request_headers,
    )
}

/// Sends `body` with its media type and caching headers: `public, max-age` and an entity
/// tag (answering a matching `If-None-Match` with 304) when `max_age` is given, `no-store`
/// otherwise.
fn send(
    mut status: StatusCode,
    mut headers: HeaderMap,
    body: Bytes,
    max_age: Option<u32>,
    request_headers: &HeaderMap,
) -> Response {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    match max_age {
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
