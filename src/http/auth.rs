//! Who is calling: the `Authorization` value (an API key, or an access token verified once,
//! its expiry read from the verified claims) resolved to a principal. GraphQL over HTTP
//! takes it from the header through the [`Caller`] extractor; GraphQL over WebSocket from
//! the `connection_init` payload through [`authenticate`].

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};

use sha2::{Digest, Sha256};

use super::errors::error_response;
use crate::{
    app::AppState,
    auth::{Principal, jwt::Verified},
    graphql::errors::ErrorCode,
    service::{Deps, merchants},
};

/// Why a request's credentials were refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header must be `Bearer <API key>`")]
    Malformed,
    #[error("unknown or revoked API key, or invalid access token")]
    Rejected,
    #[error("authentication is unavailable")]
    Unavailable,
}

/// Who is calling, the secret their requests must be signed with (if they must be), and
/// when their credential expires (access tokens; API keys live until revoked).
pub struct Authenticated {
    /// Who.
    pub principal: Principal,
    /// The secret the merchant signs its requests with, if it must.
    pub signing_secret: Option<String>,
    /// When the access token expires (an API key lives until revoked).
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
pub async fn authenticate(
    deps: &Deps,
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
        let Verified {
            principal,
            expires_at,
        } = verify_access_token(deps, token).await?;
        let signing_secret = match principal.merchant() {
            Some(merchant) => merchants::signing_secret(deps, merchant.merchant_id)
                .await
                .map_err(|err| unavailable(&err))?,
            None => None,
        };
        return Ok(Authenticated {
            principal,
            signing_secret,
            expires_at: Some(expires_at),
        });
    }
    match merchants::authenticate(deps, token).await {
        Ok(Some(key)) => {
            deps.key_usage
                .record(key.principal.api_key_id, deps.clock.now());
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

/// The verified claims of an access token: its signature is checked on its first use and
/// the result kept (by the token's hash) while the token lives; its expiry is checked on
/// every use.
async fn verify_access_token(deps: &Deps, token: &str) -> Result<Verified<Principal>, AuthError> {
    let now = deps.clock.now();
    let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let tokens = &deps.caches.access_tokens;
    if let Some(verified) = tokens.get(&key).await {
        return if now < verified.expires_at {
            Ok(verified)
        } else {
            tracing::info!("access token refused: expired");
            Err(AuthError::Rejected)
        };
    }
    let verified = Principal::from_access_token(&deps.keys, token, now).map_err(|err| {
        tracing::info!(reason = %err, "access token refused");
        AuthError::Rejected
    })?;
    tokens.insert(key, verified.clone()).await;
    Ok(verified)
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

/// The caller of an HTTP request, from its `Authorization` header (none is anonymous).
pub struct Caller(pub Authenticated);

impl Caller {
    /// Authenticates the `Authorization` header of a request.
    pub async fn from_headers(state: &AppState, headers: &HeaderMap) -> Result<Self, AuthError> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        authenticate(&state.deps, authorization).await.map(Self)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AuthError> {
        Self::from_headers(state, &parts.headers).await
    }
}
