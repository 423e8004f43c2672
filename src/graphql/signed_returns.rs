//! Signed returns in the API: the merchant's return signing secret, read and rotated with
//! the `checkouts:write` scope. The signed URLs themselves are fields of `Checkout`
//! (`signedCancelUrl`) and of the `confirmCheckout` payload (`signedRedirectUrl`).

use async_graphql::{Context, Object, SimpleObject};

use super::{
    context::{ScopeGuard, actor, deps, merchant_with},
    errors::UserError,
};
use crate::{domain::scope::Scope, service::signed_returns};

/// Result of `rotateReturnSigningSecret`.
#[derive(SimpleObject)]
pub struct RotateReturnSigningSecretPayload {
    /// The new secret. The old one stops verifying at once: returns signed with it in the
    /// last five minutes no longer verify under the new one.
    pub return_signing_secret: String,
    /// Always empty.
    pub user_errors: Vec<UserError>,
}

/// Signed-return mutations.
#[derive(Default)]
pub struct SignedReturnMutation;

#[Object]
impl SignedReturnMutation {
    /// Replaces the calling merchant's return signing secret, which signs the outcome a
    /// shopper carries back to the confirm and cancel URLs, and returns the new one.
    /// Audited. Needs the `checkouts:write` scope.
    #[graphql(guard = "ScopeGuard(Scope::CheckoutsWrite)")]
    async fn rotate_return_signing_secret(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<RotateReturnSigningSecretPayload> {
        let merchant = merchant_with(ctx, Scope::CheckoutsWrite)?;
        let secret =
            signed_returns::rotate_secret(deps(ctx)?, &actor(ctx), merchant.merchant_id).await?;
        Ok(RotateReturnSigningSecretPayload {
            return_signing_secret: secret,
            user_errors: Vec::new(),
        })
    }
}
