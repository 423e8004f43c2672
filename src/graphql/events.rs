//! Live updates: `checkoutStatus` for a checkout page waiting on its shopper, and
//! `orderEvents` for consumers, merchants and staff. Both follow the outbox relay, so they
//! see exactly the events webhooks carry, and drop the duplicates an at-least-once relay
//! can send.

use std::sync::Arc;

use async_graphql::{
    Context, Enum, ID, Object, Subscription,
    futures_util::{Stream, StreamExt, stream},
};

use super::{
    checkout::Checkout,
    context::{deps, principal},
    errors::ErrorCode,
    ids::{NodeKind, decode, encode},
    live::{Heard, heard, on_connection, through_first},
    node::order_viewer,
    orders::Order,
    scalars::DateTime,
};
use crate::{
    auth::Principal,
    events::PublishedEvent,
    service::{Deps, checkouts, orders},
};

/// What happened: the wire name of each (`CHECKOUT_COMPLETED` is `checkout.completed` in
/// webhooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::event::EventType")]
pub enum EventType {
    /// A shopper confirmed a checkout; its order exists.
    CheckoutCompleted,
    /// The merchant cancelled an open checkout.
    CheckoutCancelled,
    /// An open checkout passed its expiry.
    CheckoutExpired,
    /// An order was made and its first instalment charged.
    OrderAuthorized,
    /// The merchant captured the order.
    OrderCaptured,
    /// The order was voided, by the merchant or when the capture window closed.
    OrderCancelled,
    /// Part or all of the order was refunded.
    OrderRefunded,
    /// An instalment could not be charged after its retries.
    OrderOverdue,
    /// Every instalment is paid.
    OrderCompleted,
    /// An instalment was paid, when due or early.
    InstallmentPaid,
    /// Charging a due instalment failed.
    InstallmentFailed,
}

/// Something that happened to an order, with the order as it is when the event is sent.
pub struct OrderEvent {
    event: Arc<PublishedEvent>,
    order: Order,
}

/// Something that happened to an order, with the order as it is when the event is sent.
#[Object]
impl OrderEvent {
    /// The event's id, the same as in the webhook of this event: drop an id seen before.
    async fn id(&self) -> ID {
        ID(self.event.id.to_string())
    }

    /// What happened.
    async fn r#type(&self) -> EventType {
        self.event.event_type.into()
    }

    /// When it happened.
    async fn occurred_at(&self) -> DateTime {
        DateTime(self.event.created_at)
    }

    /// The order, read when the event was sent (so it may already show later changes).
    async fn order(&self) -> &Order {
        &self.order
    }

    /// The instalment the event is about (`INSTALLMENT_PAID`, `INSTALLMENT_FAILED`,
    /// `ORDER_OVERDUE`), by its sequence number from 1.
    async fn installment_sequence(&self) -> Option<i64> {
        self.event
            .data
            .get("installment")?
            .get("sequence")?
            .as_i64()
    }

    /// The refund the event made (`ORDER_REFUNDED`, `ORDER_CANCELLED`).
    async fn refund_id(&self) -> Option<ID> {
        let id = self.event.data.get("refundId")?.as_str()?.parse().ok()?;
        Some(encode(NodeKind::Refund, id))
    }
}

/// Subscriptions over WebSocket at `/graphql/ws`.
#[derive(Default)]
pub struct EventSubscription;

#[Subscription]
impl EventSubscription {
    /// The checkout a token opens: its current state at once, then again after every
    /// change, until it is completed, cancelled or expired. Anyone holding the token may
    /// subscribe, also without credentials.
    async fn checkout_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The checkout token from `createCheckout`.")] token: String,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Checkout>> + use<>> {
        checkout_stream(ctx, token).await
    }

    /// The same as `checkoutStatus`.
    #[graphql(deprecation = "Use `checkoutStatus`, which behaves the same.")]
    async fn checkout_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The checkout token from `createCheckout`.")] token: String,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Checkout>> + use<>> {
        checkout_stream(ctx, token).await
    }

    /// Events of one order, or of all the caller's orders when `orderId` is omitted: a
    /// consumer's own orders, a merchant's sales (with `orders:read`), or any order for
    /// staff. Needs credentials in `connection_init`; another owner's order is `NOT_FOUND`.
    /// Ends with `INTERNAL` if it falls too far behind to catch up: subscribe again and
    /// re-read the orders.
    async fn order_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this order's events.")] order_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<OrderEvent>> + use<>> {
        if *principal(ctx) == Principal::Anonymous {
            return Err(ErrorCode::Unauthenticated
                .error("orderEvents needs credentials: send them in connection_init"));
        }
        let viewer = order_viewer(ctx)?;
        let deps = deps(ctx)?.clone();
        let only = match order_id {
            Some(id) => {
                let id = decode(&id, NodeKind::Order)?;
                orders::get(&deps.db, viewer, id).await?;
                Some(id)
            }
            None => None,
        };
        let sees = move |event: &PublishedEvent| {
            let Some(order_id) = event.order_id.filter(|_| event.event_type.concerns_order())
            else {
                return false;
            };
            only.is_none_or(|only| only == order_id)
                && match viewer {
                    orders::Viewer::Consumer(id) => event.consumer_id == Some(id),
                    orders::Viewer::Merchant(id) => event.merchant_id == Some(id),
                    orders::Viewer::Staff => true,
                }
        };
        let db = deps.db.clone();
        let items = heard(&deps)
            .filter_map(move |heard| {
                let relevant = match heard {
                    Heard::Event(event) => sees(&event).then_some(Ok(event)),
                    Heard::Missed => Some(Err(())),
                };
                std::future::ready(relevant)
            })
            .then(move |relevant| {
                let db = db.clone();
                async move {
                    let event = relevant.map_err(|()| fell_behind())?;
                    let order_id = event.order_id.unwrap_or_default();
                    let order = orders::get(&db, viewer, order_id).await?;
                    Ok::<_, async_graphql::Error>(OrderEvent {
                        event,
                        order: Order(order),
                    })
                }
            });
        // A subscription that fell behind ends with its error.
        let items = through_first(items, Result::is_err);
        on_connection(ctx, &deps, items)
    }
}

fn fell_behind() -> async_graphql::Error {
    ErrorCode::Internal
        .error("this subscription fell behind and missed events; subscribe again and re-read")
}

/// The checkout a token opens, then again after each of its events, until it is done.
async fn checkout_stream(
    ctx: &Context<'_>,
    token: String,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Checkout>> + use<>> {
    let deps: Deps = deps(ctx)?.clone();
    // Listen before reading, so no change between the read and the subscription is lost.
    let changes = heard(&deps);
    let current = checkouts::by_token(&deps.db, &token).await?;
    let id = current.id;
    let db = deps.db.clone();
    let later = changes
        .filter(move |heard| {
            std::future::ready(match heard {
                Heard::Event(event) => event.checkout_id == Some(id),
                // Events were missed: read again in case one was this checkout's.
                Heard::Missed => true,
            })
        })
        .then(move |_| {
            let db = db.clone();
            async move { checkouts::by_id(&db, id).await }
        });
    let items = stream::once(async { Ok(current) })
        .chain(later)
        .map(|row| row.map(Checkout).map_err(async_graphql::Error::from));
    let items = through_first(items, |item| match item {
        Ok(Checkout(row)) => row.status.is_final(),
        Err(_) => true,
    });
    on_connection(ctx, &deps, items)
}
