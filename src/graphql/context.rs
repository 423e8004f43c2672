//! What resolvers read from the request context: the principal, the services and the
//! loaders, each put there once per request.

use async_graphql::{Context, Guard};

use super::{errors::ErrorCode, loaders::Loaders};
use crate::{
    auth::{
        ClientIp, MerchantPrincipal, Principal, session::ConsumerPrincipal, staff::StaffPrincipal,
    },
    domain::{scope::Scope, staff::StaffRole},
    service::{Deps, audit::Actor},
};

/// The caller of this request (anonymous when no credentials were sent).
pub fn principal<'a>(ctx: &Context<'a>) -> &'a Principal {
    ctx.data_opt::<Principal>().unwrap_or(&Principal::Anonymous)
}

/// The merchant calling; `UNAUTHENTICATED` without credentials, `FORBIDDEN` for a consumer.
pub fn merchant<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a MerchantPrincipal> {
    match principal(ctx) {
        Principal::Merchant(merchant) => Ok(merchant),
        Principal::Consumer(_) | Principal::Staff(_) => {
            Err(ErrorCode::Forbidden.error("this operation is for merchants"))
        }
        Principal::Anonymous => {
            Err(ErrorCode::Unauthenticated.error("this operation needs a merchant API key"))
        }
    }
}

/// The consumer calling; `UNAUTHENTICATED` without credentials, `FORBIDDEN` for a merchant.
pub fn consumer<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a ConsumerPrincipal> {
    match principal(ctx) {
        Principal::Consumer(consumer) => Ok(consumer),
        Principal::Merchant(_) | Principal::Staff(_) => {
            Err(ErrorCode::Forbidden.error("this operation is for consumers"))
        }
        Principal::Anonymous => {
            Err(ErrorCode::Unauthenticated.error("this operation needs a consumer access token"))
        }
    }
}

/// Lets only consumers through (see [`consumer`]).
pub struct ConsumerGuard;

impl Guard for ConsumerGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        consumer(ctx).map(|_| ())
    }
}

/// Who is acting, for the audit log.
pub fn actor(ctx: &Context<'_>) -> Actor {
    let ip = ctx.data_opt::<ClientIp>().map(|ip| ip.0);
    match principal(ctx) {
        Principal::Merchant(merchant) => Actor::api_key(merchant, ip),
        Principal::Consumer(consumer) => Actor::consumer(consumer.consumer_id, ip),
        Principal::Staff(staff) => Actor::staff(staff.staff_id, ip),
        Principal::Anonymous => Actor::anonymous(ip),
    }
}

/// The member of staff calling with at least `role` (an admin may do what support may);
/// `UNAUTHENTICATED` without credentials, `FORBIDDEN` for anyone else.
pub fn staff_with<'a>(
    ctx: &Context<'a>,
    role: StaffRole,
) -> async_graphql::Result<&'a StaffPrincipal> {
    match principal(ctx) {
        Principal::Staff(staff) if staff.role == role || staff.role == StaffRole::Admin => {
            Ok(staff)
        }
        Principal::Staff(_) => {
            Err(ErrorCode::Forbidden.error(format!("this operation needs the {role} role")))
        }
        Principal::Merchant(_) | Principal::Consumer(_) => {
            Err(ErrorCode::Forbidden.error("this operation is for paylater staff"))
        }
        Principal::Anonymous => {
            Err(ErrorCode::Unauthenticated.error("this operation needs a staff access token"))
        }
    }
}

/// Lets through staff with at least the role (see [`staff_with`]).
pub struct StaffGuard(pub StaffRole);

impl Guard for StaffGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        staff_with(ctx, self.0).map(|_| ())
    }
}

/// What every use case depends on.
pub fn deps<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Deps> {
    ctx.data::<Deps>()
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

/// Lets through merchants whose credential holds the scope: anonymous callers get
/// `UNAUTHENTICATED`, a merchant key without the scope `FORBIDDEN`.
pub struct ScopeGuard(pub Scope);

impl Guard for ScopeGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        merchant_with(ctx, self.0).map(|_| ())
    }
}

/// The merchant calling with `scope`, or the error [`ScopeGuard`] gives.
pub fn merchant_with<'a>(
    ctx: &Context<'a>,
    scope: Scope,
) -> async_graphql::Result<&'a MerchantPrincipal> {
    let merchant = merchant(ctx)?;
    if merchant.scopes.contains(scope) {
        Ok(merchant)
    } else {
        Err(ErrorCode::Forbidden.error(format!("this API key lacks the {} scope", scope.as_str())))
    }
}
