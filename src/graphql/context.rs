//! What resolvers read from the request context: the principal, the services and the
//! loaders, each put there once per request.

use async_graphql::{Context, Guard};

use super::{errors::ErrorCode, loaders::Loaders};
use crate::{
    auth::{MerchantPrincipal, Principal},
    service::Services,
};

/// The caller of this request (anonymous when no credentials were sent).
pub fn principal<'a>(ctx: &Context<'a>) -> &'a Principal {
    ctx.data_opt::<Principal>().unwrap_or(&Principal::Anonymous)
}

/// The merchant calling, or `UNAUTHENTICATED`.
pub fn merchant<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a MerchantPrincipal> {
    principal(ctx)
        .merchant()
        .ok_or_else(|| ErrorCode::Unauthenticated.error("this operation needs a merchant API key"))
}

/// The application's services.
pub fn services<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Services> {
    ctx.data::<Services>()
        .map_err(|_| ErrorCode::Internal.error("internal error"))
}

/// This request's loaders.
pub fn loaders<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Loaders> {
    ctx.data::<Loaders>()
        .map_err(|_| ErrorCode::Internal.error("internal error"))
}

/// Lets only merchants through; anyone else gets `UNAUTHENTICATED`.
pub struct MerchantGuard;

impl Guard for MerchantGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        merchant(ctx).map(|_| ())
    }
}
