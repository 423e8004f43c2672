//! The checkout root fields: `checkout(token)`, `createCheckout` and `cancelCheckout`
//! (the `checkoutStatus` subscription lives with the other events).

use async_graphql::{Context, Object};

use crate::graphql::{
    context::{ScopeGuard, actor, deps, merchant},
    errors::payload_parts,
    ids::{NodeKind, decode},
};
use crate::{domain::checkout::CheckoutRequest, domain::scope::Scope, service::checkouts};

use super::{
    CancelCheckoutInput, CancelCheckoutPayload, Checkout, CreateCheckoutInput,
    CreateCheckoutPayload,
};

/// Checkout queries.
#[derive(Default)]
pub struct CheckoutQuery;

#[Object]
impl CheckoutQuery {
    /// The checkout a token opens. Anyone holding the token may read it; an unknown token
    /// is `NOT_FOUND`.
    #[graphql(cache_control(no_cache))]
    async fn checkout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The checkout token from `createCheckout`.")] token: String,
    ) -> async_graphql::Result<Checkout> {
        Ok(Checkout(checkouts::by_token(&deps(ctx)?.db, &token).await?))
    }
}

/// Checkout mutations.
#[derive(Default)]
pub struct CheckoutMutation;

#[Object]
impl CheckoutMutation {
    /// Starts a checkout for the calling merchant and returns where to send the shopper.
    /// Refused input comes back in `userErrors` and stores nothing. Needs the
    /// `checkouts:write` scope.
    #[graphql(guard = "ScopeGuard(Scope::CheckoutsWrite)")]
    async fn create_checkout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The checkout to create.")] input: CreateCheckoutInput,
    ) -> async_graphql::Result<CreateCheckoutPayload> {
        let merchant = merchant(ctx)?;
        let deps = deps(ctx)?;
        let idempotency_key = input.idempotency_key.clone();
        let request = CheckoutRequest::from(input);
        let (created, user_errors) = payload_parts(
            checkouts::create(
                deps,
                merchant.merchant_id,
                &request,
                idempotency_key.as_deref(),
            )
            .await,
        )?;
        Ok(CreateCheckoutPayload {
            checkout_token: created.as_ref().map(|c| c.token.clone()),
            checkout_url: created.as_ref().map(|c| c.url.clone()),
            checkout: created.map(|c| Checkout(c.checkout)),
            user_errors,
        })
    }

    /// Cancels an open checkout of the calling merchant; its token stops working for
    /// payment. A completed, cancelled or expired checkout is refused in `userErrors`.
    /// Needs the `checkouts:write` scope.
    #[graphql(guard = "ScopeGuard(Scope::CheckoutsWrite)")]
    async fn cancel_checkout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which checkout, and why.")] input: CancelCheckoutInput,
    ) -> async_graphql::Result<CancelCheckoutPayload> {
        let merchant = merchant(ctx)?;
        let id = decode(&input.id, NodeKind::Checkout)?;
        let result = checkouts::cancel(
            deps(ctx)?,
            &actor(ctx),
            merchant.merchant_id,
            id,
            input.reason.as_deref(),
        )
        .await;
        let (checkout, user_errors) = payload_parts(result)?;
        Ok(CancelCheckoutPayload {
            checkout: checkout.map(Checkout),
            user_errors,
        })
    }
}
