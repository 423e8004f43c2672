//! The `Node` interface and `node`/`nodes`: refetch any object by its global ID, under the
//! same authorization as reading it directly.

use async_graphql::{Context, ID, Interface, Object, ServerError};

use super::{
    api_keys::ApiKey,
    checkout::Checkout,
    consumers::Consumer,
    context::{deps, merchant_with, principal},
    errors::ErrorCode,
    ids::{NodeKind, decode_any},
    merchant::Merchant,
    orders::{Order, Refund},
    payment_methods::PaymentMethod,
    staff::StaffMember,
    webhooks::WebhookDelivery,
};
use crate::{
    auth::Principal,
    domain::scope::Scope,
    service::{
        api_keys, checkouts, consumers, merchants, orders, payment_methods, staff, webhooks,
    },
};

/// An object with a global ID.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Opaque global ID; pass it to `node(id:)` to fetch the object again."
))]
#[allow(clippy::large_enum_variant)] // short-lived, one per resolved ID
pub enum Node {
    /// A checkout (visible to the merchant that created it, and to staff with the
    /// shopper's personal data masked).
    Checkout(Checkout),
    /// A merchant account (visible to itself).
    Merchant(Merchant),
    /// A merchant API key (visible to its merchant, with the `api_keys:manage` scope).
    ApiKey(ApiKey),
    /// A consumer account (visible to itself).
    Consumer(Consumer),
    /// A member of staff (visible to itself).
    StaffMember(StaffMember),
    /// A consumer's card (visible to its consumer).
    PaymentMethod(PaymentMethod),
    /// An order (visible to its consumer, to its merchant with `orders:read`, and to staff).
    Order(Order),
    /// A refund (visible to whoever sees its order).
    Refund(Refund),
    /// A webhook delivery (visible to its merchant, with the `webhooks:manage` scope).
    WebhookDelivery(WebhookDelivery),
}

/// Who is asking for an order, as the order service scopes it.
pub(crate) fn order_viewer(ctx: &Context<'_>) -> async_graphql::Result<orders::Viewer> {
    Ok(match principal(ctx) {
        Principal::Consumer(consumer) => orders::Viewer::Consumer(consumer.consumer_id),
        Principal::Merchant(_) => {
            orders::Viewer::Merchant(merchant_with(ctx, Scope::OrdersRead)?.merchant_id)
        }
        Principal::Staff(_) => orders::Viewer::Staff,
        Principal::Anonymous => return Err(ErrorCode::NotFound.error("not found")),
    })
}

async fn resolve(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Node> {
    let (kind, uuid) = decode_any(id)?;
    let not_found = || ErrorCode::NotFound.error("not found");
    let deps = deps(ctx)?;
    let db = &deps.db;
    Ok(match (principal(ctx), kind) {
        (Principal::Consumer(consumer), NodeKind::Consumer) if uuid == consumer.consumer_id => {
            Node::Consumer(Consumer(consumers::get(deps, uuid).await?))
        }
        (Principal::Consumer(consumer), NodeKind::PaymentMethod) => Node::PaymentMethod(
            PaymentMethod(payment_methods::get(db, consumer.consumer_id, uuid).await?),
        ),
        (_, NodeKind::Order) => {
            Node::Order(Order(orders::get(db, order_viewer(ctx)?, uuid).await?))
        }
        (_, NodeKind::Refund) => {
            let (refund, order) = orders::refund_for(db, order_viewer(ctx)?, uuid).await?;
            let currency = order.currency;
            Node::Refund(Refund(refund, currency))
        }
        (Principal::Staff(staff), NodeKind::StaffMember) if uuid == staff.staff_id => {
            Node::StaffMember(StaffMember(staff::get(deps, uuid).await?))
        }
        // Staff read every merchant's checkouts; the shopper's data is masked for them.
        (Principal::Staff(_), NodeKind::Checkout) => {
            Node::Checkout(Checkout(checkouts::by_id(db, uuid).await?))
        }
        (Principal::Merchant(merchant), NodeKind::Checkout) => Node::Checkout(Checkout(
            checkouts::get(db, merchant.merchant_id, uuid).await?,
        )),
        (Principal::Merchant(merchant), NodeKind::Merchant) if uuid == merchant.merchant_id => {
            Node::Merchant(Merchant(merchants::get(db, uuid).await?))
        }
        (Principal::Merchant(_), NodeKind::WebhookDelivery) => {
            let merchant = merchant_with(ctx, Scope::WebhooksManage)?;
            Node::WebhookDelivery(WebhookDelivery(
                webhooks::delivery(db, merchant.merchant_id, uuid).await?,
            ))
        }
        (Principal::Merchant(_), NodeKind::ApiKey) => {
            let merchant = merchant_with(ctx, Scope::ApiKeysManage)?;
            Node::ApiKey(ApiKey(api_keys::get(db, merchant.merchant_id, uuid).await?))
        }
        _ => return Err(not_found()),
    })
}

/// Node queries.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global ID; `NOT_FOUND` if it does not exist or you may not see it.
    #[graphql(cache_control(no_cache))]
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID.")] id: ID,
    ) -> async_graphql::Result<Node> {
        resolve(ctx, &id).await
    }

    /// The objects with these global IDs, in the same order (at most 100); null, with a
    /// `NOT_FOUND` error, for each one that does not exist or you may not see.
    #[graphql(cache_control(no_cache))]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global IDs, at most 100.")] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > 100 {
            return Err(ErrorCode::BadUserInput.error("at most 100 ids"));
        }
        let mut nodes = Vec::with_capacity(ids.len());
        for (index, id) in ids.iter().enumerate() {
            match resolve(ctx, id).await {
                Ok(node) => nodes.push(Some(node)),
                Err(err) => {
                    let mut error: ServerError = err.into_server_error(ctx.item.pos);
                    error.path = vec![
                        async_graphql::PathSegment::Field(
                            ctx.item.node.response_key().node.to_string(),
                        ),
                        async_graphql::PathSegment::Index(index),
                    ];
                    ctx.add_error(error);
                    nodes.push(None);
                }
            }
        }
        Ok(nodes)
    }
}
