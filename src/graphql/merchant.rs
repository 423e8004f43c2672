//! Merchants in the API: the public profile shoppers see, the account a merchant sees of
//! itself, and its lists.

use async_graphql::{Context, ID, Object};
use entity::merchant;

use super::{
    api_keys::{ApiKey, list_api_keys},
    checkout::{Checkout, CheckoutFilterInput, CheckoutSortInput, list_checkouts},
    connection::{Connection, PageArgs, SortDirection},
    context::{
        MerchantGuard, ScopeGuard, deps, loaders, merchant as calling_merchant, merchant_with,
    },
    errors::ErrorCode,
    ids::{NodeKind, decode, encode},
    loaders::load_one,
    order_queries::{OrderFilterInput, OrderSortInput, list_orders},
    orders::Order,
    scalars::DateTime,
    webhooks::{WebhookDelivery, WebhookDeliveryFilterInput, WebhookEndpoint, list_deliveries},
};
use crate::{
    domain::scope::Scope,
    service::{merchants, orders::list::Owner, signed_returns},
};

/// A merchant as shoppers see it on a checkout.
pub struct MerchantProfile(pub merchant::Model);

/// A merchant as shoppers see it on a checkout.
#[Object]
impl MerchantProfile {
    /// The merchant's global ID (the one `installmentPlans` takes).
    async fn id(&self) -> ID {
        encode(NodeKind::Merchant, self.0.id)
    }

    /// Trading name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The shop's website.
    async fn website_url(&self) -> Option<&str> {
        self.0.website_url.as_deref()
    }

    /// Logo to show in the checkout.
    async fn logo_url(&self) -> Option<&str> {
        self.0.logo_url.as_deref()
    }

    /// Where shoppers can ask about their order.
    async fn support_email(&self) -> Option<&str> {
        self.0.support_email.as_deref()
    }
}

/// The calling merchant's own account.
pub struct Merchant(pub merchant::Model);

impl Merchant {
    /// Global ID, for the `Node` interface (the field itself comes with the profile).
    pub async fn id(&self, _ctx: &Context<'_>) -> async_graphql::Result<ID> {
        Ok(encode(NodeKind::Merchant, self.0.id))
    }
}

/// The calling merchant's own account: its public profile and what only it may see.
#[Object]
impl Merchant {
    /// The public profile's fields.
    #[graphql(flatten)]
    async fn profile(&self) -> MerchantProfile {
        MerchantProfile(self.0.clone())
    }

    /// Whether every request of this merchant must be signed (see `enableRequestSigning`).
    async fn request_signing_required(&self) -> bool {
        self.0.request_signing_secret.is_some()
    }

    /// The secret that signs the outcome shoppers carry back to your confirm and cancel
    /// URLs (`paylater_signature`; see the README's "Signed returns"). Made on first read
    /// if the account has none; `rotateReturnSigningSecret` replaces it. Needs the
    /// `checkouts:write` scope.
    #[graphql(guard = "ScopeGuard(Scope::CheckoutsWrite)")]
    async fn return_signing_secret(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let merchant = merchant_with(ctx, Scope::CheckoutsWrite)?;
        Ok(signed_returns::secret(deps(ctx)?, merchant.merchant_id).await?)
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }

    /// This merchant's checkouts, newest first unless `sort` says otherwise.
    #[graphql(complexity = "crate::graphql::cost::connection(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn checkouts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n checkouts (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return checkouts after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n checkouts (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return checkouts before this cursor.")] before: Option<String>,
        #[graphql(desc = "Which checkouts to include.")] filter: Option<CheckoutFilterInput>,
        #[graphql(desc = "How to order them.")] sort: Option<CheckoutSortInput>,
    ) -> async_graphql::Result<Connection<Checkout>> {
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_checkouts(
            ctx,
            self.0.id,
            page,
            filter.unwrap_or_default(),
            sort.unwrap_or_default(),
        )
        .await
    }

    /// This merchant's orders, newest first unless `sort` says otherwise. Needs the
    /// `orders:read` scope.
    #[graphql(
        guard = "ScopeGuard(Scope::OrdersRead)",
        complexity = "crate::graphql::cost::connection(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n orders (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return orders after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n orders (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return orders before this cursor.")] before: Option<String>,
        #[graphql(desc = "Which orders to include.")] filter: Option<OrderFilterInput>,
        #[graphql(desc = "How to order them.")] sort: Option<OrderSortInput>,
    ) -> async_graphql::Result<Connection<Order>> {
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_orders(ctx, Owner::Merchant(self.0.id), page, filter, sort).await
    }

    /// Where this merchant's events are POSTed; null until `setWebhookEndpoint`. Needs the
    /// `webhooks:manage` scope.
    #[graphql(guard = "ScopeGuard(Scope::WebhooksManage)")]
    async fn webhook_endpoint(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<WebhookEndpoint>> {
        let endpoint = crate::service::webhooks::endpoint(&deps(ctx)?.db, self.0.id).await?;
        Ok(endpoint.map(WebhookEndpoint))
    }

    /// The webhook delivery log: every event sent to this merchant's endpoint with each
    /// attempt, newest first unless `direction` says otherwise. Needs the
    /// `webhooks:manage` scope.
    #[graphql(
        guard = "ScopeGuard(Scope::WebhooksManage)",
        complexity = "crate::graphql::cost::connection(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n deliveries (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return deliveries after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n deliveries (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return deliveries before this cursor.")] before: Option<String>,
        #[graphql(desc = "Which deliveries.")] filter: Option<WebhookDeliveryFilterInput>,
        #[graphql(desc = "Order by creation time: `DESC` (default) or `ASC`.")] direction: Option<
            SortDirection,
        >,
    ) -> async_graphql::Result<Connection<WebhookDelivery>> {
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_deliveries(ctx, self.0.id, page, filter, direction).await
    }

    /// This merchant's API keys, newest first, revoked ones included. Needs the
    /// `api_keys:manage` scope.
    #[graphql(guard = "ScopeGuard(Scope::ApiKeysManage)")]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n keys (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return keys after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n keys (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return keys before this cursor.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<ApiKey>> {
        list_api_keys(
            ctx,
            PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await
    }
}

/// Merchant queries.
#[derive(Default)]
pub struct MerchantQuery;

#[Object]
impl MerchantQuery {
    /// The merchant whose API key made this request.
    #[graphql(guard = "MerchantGuard", cache_control(no_cache))]
    async fn merchant(&self, ctx: &Context<'_>) -> async_graphql::Result<Merchant> {
        let principal = calling_merchant(ctx)?;
        Ok(Merchant(
            merchants::get(&deps(ctx)?.db, principal.merchant_id).await?,
        ))
    }

    /// A merchant's public profile (name, logo, website, support email), for product
    /// pages and checkout headers. Needs no credentials; public, and cacheable for five
    /// minutes (see `GET /graphql`).
    #[graphql(cache_control(max_age = 300))]
    async fn merchant_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The merchant's global ID.")] id: ID,
    ) -> async_graphql::Result<MerchantProfile> {
        let id = decode(&id, NodeKind::Merchant)?;
        let merchant = load_one(&loaders(ctx)?.merchants, id).await?;
        merchant
            .map(MerchantProfile)
            .ok_or_else(|| ErrorCode::NotFound.error("merchant not found"))
    }
}
