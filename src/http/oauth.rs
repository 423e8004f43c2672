//! The OAuth 2.0 token endpoint (client credentials, RFC 6749 §4.4) and the JWKS that
//! lets anyone verify the tokens it issues.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::Deserialize;
use serde_json::json;

use crate::{
    app::AppState,
    auth::oauth,
    domain::scope::Scopes,
    ids::{NodeKind, decode},
    service::merchants,
};

/// An RFC 6749 §5.2 error.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
}

impl OAuthError {
    fn invalid_request(description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description,
        }
    }

    fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "unknown client or wrong secret",
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"paylater\""),
            );
        }
        response
    }
}

/// The form fields of a token request.
#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

/// Client credentials from HTTP Basic (each part form-urlencoded, RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_client();
    let encoded = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or_else(malformed)?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    let unescape = |part: &str| {
        url::form_urlencoded::parse(format!("v={part}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
    };
    Ok(unescape(id).zip(unescape(secret)))
}

/// `POST /oauth/token`: exchanges a merchant's ID and API key for an access token.
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&state, &headers, &body).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn issue(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(OAuthError::invalid_request(
            "send application/x-www-form-urlencoded",
        ));
    }
    let request: TokenRequest = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::invalid_request("malformed form body"))?;
    match request.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: "only client_credentials is supported",
            });
        }
        None => return Err(OAuthError::invalid_request("grant_type is required")),
    }
    let in_body = request.client_id.clone().zip(request.client_secret.clone());
    let (client_id, secret) = match (basic_credentials(headers)?, in_body) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "authenticate with one method only",
            ));
        }
        (Some(credentials), None) | (None, Some(credentials)) => credentials,
        (None, None) => return Err(OAuthError::invalid_client()),
    };
    let merchant_id =
        decode(&client_id, NodeKind::Merchant).map_err(|_| OAuthError::invalid_client())?;
    let deps = &state.deps;
    let principal = merchants::authenticate(deps, &secret)
        .await
        .map_err(|err| {
            tracing::error!(error = %err.describe(), "token endpoint lookup failed");
            OAuthError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: "temporarily_unavailable",
                description: "try again later",
            }
        })?
        .map(|key| key.principal)
        .filter(|principal| principal.merchant_id == merchant_id)
        .ok_or_else(OAuthError::invalid_client)?;
    let scopes = match request.scope.as_deref().map(str::parse::<Scopes>) {
        None => principal.scopes,
        Some(Ok(scopes)) if !scopes.is_empty() && scopes.is_subset_of(principal.scopes) => scopes,
        Some(_) => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                error: "invalid_scope",
                description: "the scope is unknown or not held by this API key",
            });
        }
    };
    deps.key_usage
        .record(principal.api_key_id, deps.clock.now());
    let issued = oauth::issue(
        &deps.keys,
        &principal,
        scopes,
        deps.clock.now(),
        deps.access_token_ttl,
    )
    .map_err(|err| {
        tracing::error!(error = %err, "cannot sign an access token");
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "the token could not be issued",
        }
    })?;
    let body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scopes.to_string(),
    });
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response())
}

/// `GET /.well-known/jwks.json`: the public keys that verify paylater's access tokens.
pub async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.deps.keys.jwks()),
    )
        .into_response()
}
