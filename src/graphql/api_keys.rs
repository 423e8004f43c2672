//! Merchant API keys in the API: list, create (the secret is shown once) and revoke.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::api_key;

use super::{
    connection::{Connection, PageArgs, wants_total_count},
    context::{ScopeGuard, actor, deps, merchant_with},
    errors::{UserError, payload_parts},
    ids::{NodeKind, decode, encode},
    scalars::DateTime,
};
use crate::{
    domain::scope::{Scope, Scopes},
    service::api_keys,
};

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "Scope")]
pub enum ApiKeyScope {
    /// `checkouts:write`: create and cancel checkouts.
    CheckoutsWrite,
    /// `orders:read`: read orders.
    OrdersRead,
    /// `orders:write`: capture, refund and cancel orders.
    OrdersWrite,
    /// `webhooks:manage`: configure webhooks.
    WebhooksManage,
    /// `api_keys:manage`: create, list and revoke API keys.
    ApiKeysManage,
}

/// A merchant API key. The secret itself is shown only when the key is created.
#[derive(Clone)]
pub struct ApiKey(pub api_key::Model);

/// A merchant API key. The secret itself is shown only when the key is created.
#[Object]
impl ApiKey {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::ApiKey, self.0.id)
    }

    /// The name given at creation, e.g. "web shop".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The first characters of the secret, to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// What the key may do.
    async fn scopes(&self) -> Vec<ApiKeyScope> {
        self.0.scopes.iter().map(ApiKeyScope::from).collect()
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }

    /// When it last authenticated a request (recorded at most a minute late).
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(|at| DateTime(at.0))
    }

    /// When it was revoked; a revoked key authenticates nothing.
    async fn revoked_at(&self) -> Option<DateTime> {
        self.0.revoked_at.map(|at| DateTime(at.0))
    }
}

/// One page of the calling merchant's keys, newest first.
pub async fn list_api_keys(
    ctx: &Context<'_>,
    page: PageArgs,
) -> async_graphql::Result<Connection<ApiKey>> {
    let merchant = merchant_with(ctx, Scope::ApiKeysManage)?;
    let order = "api_keys:created_at:desc";
    let db = &deps(ctx)?.db;
    let rows = api_keys::list(db, merchant.merchant_id, page.request(order)?).await?;
    let total_count = if wants_total_count(ctx) {
        api_keys::count(db, merchant.merchant_id).await?
    } else {
        0
    };
    Ok(Connection::new(
        order,
        rows,
        api_keys::cursor,
        ApiKey,
        total_count,
    ))
}

/// A new API key.
#[derive(Debug, Clone, InputObject)]
pub struct CreateApiKeyInput {
    /// A name to recognise it by (1 to 100 characters), e.g. "web shop".
    pub name: String,
    /// What it may do: at least one scope, each held by the key making this request.
    pub scopes: Vec<ApiKeyScope>,
}

/// Result of `createApiKey`.
#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    /// The new key; null when the input was refused.
    pub api_key: Option<ApiKey>,
    /// The secret to send as `Authorization: Bearer <secret>`. Shown only here: paylater
    /// keeps only its hash.
    pub secret: Option<String>,
    /// What to fix in the input; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Which key to revoke.
#[derive(Debug, Clone, InputObject)]
pub struct RevokeApiKeyInput {
    /// The key's ID.
    pub id: ID,
}

/// Result of `revokeApiKey`.
#[derive(SimpleObject)]
pub struct RevokeApiKeyPayload {
    /// The revoked key.
    pub api_key: Option<ApiKey>,
    /// Always empty: revoking is idempotent.
    pub user_errors: Vec<UserError>,
}

/// API key mutations.
#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates an API key for the calling merchant and returns its secret, once. Needs the
    /// `api_keys:manage` scope; the new key may only hold scopes the calling key holds.
    #[graphql(guard = "ScopeGuard(Scope::ApiKeysManage)")]
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key's name and scopes.")] input: CreateApiKeyInput,
    ) -> async_graphql::Result<CreateApiKeyPayload> {
        let caller = merchant_with(ctx, Scope::ApiKeysManage)?;
        let scopes: Scopes = input.scopes.into_iter().map(Scope::from).collect();
        let result = api_keys::create(deps(ctx)?, caller, &actor(ctx), &input.name, scopes).await;
        let (created, user_errors) = payload_parts(result)?;
        Ok(CreateApiKeyPayload {
            secret: created.as_ref().map(|c| c.secret.secret.clone()),
            api_key: created.map(|c| ApiKey(c.key)),
            user_errors,
        })
    }

    /// Revokes an API key of the calling merchant; it stops working at once, the key
    /// making the request included. Needs the `api_keys:manage` scope.
    #[graphql(guard = "ScopeGuard(Scope::ApiKeysManage)")]
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which key.")] input: RevokeApiKeyInput,
    ) -> async_graphql::Result<RevokeApiKeyPayload> {
        let caller = merchant_with(ctx, Scope::ApiKeysManage)?;
        let id = decode(&input.id, NodeKind::ApiKey)?;
        let revoked = api_keys::revoke(deps(ctx)?, caller, &actor(ctx), id).await?;
        Ok(RevokeApiKeyPayload {
            api_key: Some(ApiKey(revoked)),
            user_errors: Vec::new(),
        })
    }
}
