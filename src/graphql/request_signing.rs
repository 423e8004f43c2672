//! Request signing in the API: a merchant may require that every request it sends carries
//! an HMAC signature, so a leaked API key or token alone is not enough.

use async_graphql::{Context, Object, SimpleObject};

use super::{
    context::{ScopeGuard, actor, deps, merchant_with},
    errors::UserError,
};
use crate::{domain::scope::Scope, service::merchants};

/// Result of `enableRequestSigning`.
#[derive(SimpleObject)]
pub struct EnableRequestSigningPayload {
    /// The signing secret, shown only here. Sign each request as
    /// `Paylater-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
    /// `Paylater-Timestamp: <unix seconds>`, within 5 minutes of the server's clock.
    pub signing_secret: String,
    /// Always empty.
    pub user_errors: Vec<UserError>,
}

/// Result of `disableRequestSigning`.
#[derive(SimpleObject)]
pub struct DisableRequestSigningPayload {
    /// False: requests no longer need signatures.
    pub request_signing_required: bool,
    /// Always empty.
    pub user_errors: Vec<UserError>,
}

/// Request-signing mutations.
#[derive(Default)]
pub struct RequestSigningMutation;

#[Object]
impl RequestSigningMutation {
    /// Requires signed requests from the calling merchant from now on (a previous secret
    /// stops working) and returns the secret, once. Each signature is accepted once.
    /// Needs the `api_keys:manage` scope.
    #[graphql(guard = "ScopeGuard(Scope::ApiKeysManage)")]
    async fn enable_request_signing(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<EnableRequestSigningPayload> {
        let merchant = merchant_with(ctx, Scope::ApiKeysManage)?;
        let secret =
            merchants::enable_request_signing(deps(ctx)?, &actor(ctx), merchant.merchant_id)
                .await?;
        Ok(EnableRequestSigningPayload {
            signing_secret: secret,
            user_errors: Vec::new(),
        })
    }

    /// Stops requiring signed requests (this request itself must be signed). Needs the
    /// `api_keys:manage` scope.
    #[graphql(guard = "ScopeGuard(Scope::ApiKeysManage)")]
    async fn disable_request_signing(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<DisableRequestSigningPayload> {
        let merchant = merchant_with(ctx, Scope::ApiKeysManage)?;
        merchants::disable_request_signing(deps(ctx)?, &actor(ctx), merchant.merchant_id).await?;
        Ok(DisableRequestSigningPayload {
            request_signing_required: false,
            user_errors: Vec::new(),
        })
    }
}
