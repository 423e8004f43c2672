//! Orders in the API: the `Order` and `Installment` types and `confirmCheckout`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::{installment, order};

use super::{
    context::{ConsumerGuard, actor, consumer, loaders, services},
    errors::{ErrorCode, UserError, payload_parts},
    ids::{NodeKind, decode, encode},
    loaders::load_one,
    merchant::MerchantProfile,
    money::Money,
    plans::PlanCode,
    scalars::{CurrencyCode, Date, DateTime},
};
use crate::{
    domain::{
        Currency,
        order::{InstallmentStatus as Instalment, OrderStatus as Status},
    },
    service::{
        ServiceError, orders,
        orders::confirm::{self, Confirmation},
        parse_stored,
    },
};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "Status")]
pub enum OrderStatus {
    /// Confirmed, first instalment charged; waiting for the merchant to capture.
    Authorized,
    /// Captured by the merchant; instalments are being collected.
    Captured,
    /// An instalment could not be collected after its retries.
    Overdue,
    /// Every instalment is settled.
    Completed,
    /// Voided before capture: the first instalment refunded, the rest cancelled.
    Cancelled,
    /// Refunded in full after capture.
    Refunded,
}

/// Where an instalment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "Instalment")]
pub enum InstallmentStatus {
    /// Due on its date, not charged yet.
    Scheduled,
    /// Paid.
    Paid,
    /// The last charge failed; another attempt is planned.
    Failed,
    /// Every retry failed; the shopper must pay it.
    Overdue,
    /// Removed by a refund or a void; nothing is owed.
    Cancelled,
}

/// A purchase paid in instalments.
#[derive(Clone)]
pub struct Order(pub order::Model);

impl Order {
    fn currency(&self) -> async_graphql::Result<Currency> {
        Ok(parse_stored(&self.0.currency, "currency").map_err(ServiceError::from)?)
    }

    fn money(&self, minor: i64) -> async_graphql::Result<Money> {
        Ok(Money::minor(minor, self.currency()?))
    }
}

/// A purchase paid in instalments.
#[Object]
impl Order {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Order, self.0.id)
    }

    /// Where the order is in its life.
    async fn status(&self) -> async_graphql::Result<OrderStatus> {
        let status: Status =
            parse_stored(&self.0.status, "order status").map_err(ServiceError::from)?;
        Ok(status.into())
    }

    /// The merchant's own order reference, from the checkout.
    async fn merchant_reference(&self) -> &str {
        &self.0.merchant_reference
    }

    /// The order's currency.
    async fn currency_code(&self) -> async_graphql::Result<CurrencyCode> {
        Ok(CurrencyCode(self.currency()?))
    }

    /// What the shopper pays in all.
    async fn total(&self) -> async_graphql::Result<Money> {
        self.money(self.0.total_minor)
    }

    /// What the merchant has captured.
    async fn captured_amount(&self) -> async_graphql::Result<Money> {
        self.money(self.0.captured_minor)
    }

    /// What the merchant has refunded.
    async fn refunded_amount(&self) -> async_graphql::Result<Money> {
        self.money(self.0.refunded_minor)
    }

    /// The merchant selling.
    async fn merchant(&self, ctx: &Context<'_>) -> async_graphql::Result<MerchantProfile> {
        load_one(&loaders(ctx)?.merchants, self.0.merchant_id)
            .await?
            .map(MerchantProfile)
            .ok_or_else(|| ErrorCode::Internal.error("internal error"))
    }

    /// The instalments, in schedule order.
    async fn installments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Installment>> {
        let currency = self.currency()?;
        let mut grouped = orders::installments_by_order(&services(ctx)?.db, &[self.0.id]).await?;
        Ok(grouped
            .remove(&self.0.id)
            .unwrap_or_default()
            .into_iter()
            .map(|row| Installment(row, currency))
            .collect())
    }

    /// The merchant must capture before this instant, or the order is voided.
    async fn capture_deadline(&self) -> DateTime {
        DateTime(self.0.capture_deadline.0)
    }

    /// When the shopper confirmed.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }

    /// When the merchant captured.
    async fn captured_at(&self) -> Option<DateTime> {
        self.0.captured_at.map(|at| DateTime(at.0))
    }

    /// When it was cancelled.
    async fn cancelled_at(&self) -> Option<DateTime> {
        self.0.cancelled_at.map(|at| DateTime(at.0))
    }

    /// When every instalment was settled.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(|at| DateTime(at.0))
    }
}

/// One payment of an order's schedule.
#[derive(Clone)]
pub struct Installment(pub installment::Model, pub Currency);

/// One payment of an order's schedule.
#[Object]
impl Installment {
    /// Position in the schedule, from 1.
    async fn sequence(&self) -> i32 {
        self.0.sequence
    }

    /// The day it is due.
    async fn due_date(&self) -> Date {
        Date(self.0.due_date)
    }

    /// What is due now (less than `originalAmount` after a refund).
    async fn amount(&self) -> Money {
        Money::minor(self.0.amount_minor, self.1)
    }

    /// What was scheduled when the order was made.
    async fn original_amount(&self) -> Money {
        Money::minor(self.0.original_amount_minor, self.1)
    }

    /// Where it is.
    async fn status(&self) -> async_graphql::Result<InstallmentStatus> {
        let status: Instalment =
            parse_stored(&self.0.status, "instalment status").map_err(ServiceError::from)?;
        Ok(status.into())
    }

    /// When it was paid.
    async fn paid_at(&self) -> Option<DateTime> {
        self.0.paid_at.map(|at| DateTime(at.0))
    }
}

/// A consumer's confirmation of a checkout.
#[derive(Debug, Clone, InputObject)]
pub struct ConfirmCheckoutInput {
    /// The checkout token from the checkout URL.
    #[graphql(secret)]
    pub token: String,
    /// The chosen plan; one of the checkout's `availablePlans`.
    pub plan: PlanCode,
    /// The card to charge, one of `me { paymentMethods }`.
    pub payment_method_id: ID,
    /// A fresh key per confirmation (e.g. a UUID): sending the same input again with it
    /// replays the result instead of confirming twice.
    pub idempotency_key: String,
}

/// Result of `confirmCheckout`.
#[derive(SimpleObject)]
pub struct ConfirmCheckoutPayload {
    /// The new order; null when the confirmation was refused.
    pub order: Option<Order>,
    /// Where the checkout app sends the shopper now: the merchant's confirm URL.
    pub redirect_url: Option<String>,
    /// What went wrong: the checkout (`CHECKOUT_NOT_OPEN`, `CHECKOUT_EXPIRED`), the plan
    /// (`PLAN_NOT_AVAILABLE`), the risk decision (`SPENDING_LIMIT_EXCEEDED`,
    /// `ACCOUNT_NOT_IN_GOOD_STANDING`), the card (`CARD_DECLINED`, `INSUFFICIENT_FUNDS`,
    /// `CARD_EXPIRED`, `PAYMENT_PROCESSING_ERROR`) or the key. Empty on success.
    pub user_errors: Vec<UserError>,
}

/// Order mutations for consumers.
#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Confirms a checkout with a plan and a card: charges what is due today and makes the
    /// order. A declined card leaves the checkout open for another try.
    #[graphql(guard = "ConsumerGuard")]
    async fn confirm_checkout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Checkout, plan, card and idempotency key.")] input: ConfirmCheckoutInput,
    ) -> async_graphql::Result<ConfirmCheckoutPayload> {
        let consumer = consumer(ctx)?;
        let services = services(ctx)?;
        let confirmation = Confirmation {
            checkout_token: input.token,
            plan: input.plan.into(),
            payment_method_id: decode(&input.payment_method_id, NodeKind::PaymentMethod)?,
            idempotency_key: input.idempotency_key,
        };
        let result =
            confirm::confirm(services, &actor(ctx), consumer.consumer_id, &confirmation).await;
        let (confirmed, user_errors) = payload_parts(result)?;
        let Some(confirmed) = confirmed else {
            return Ok(ConfirmCheckoutPayload {
                order: None,
                redirect_url: None,
                user_errors,
            });
        };
        let order = orders::get(
            &services.db,
            orders::Viewer::Consumer(consumer.consumer_id),
            confirmed.order_id,
        )
        .await?;
        Ok(ConfirmCheckoutPayload {
            order: Some(Order(order)),
            redirect_url: Some(confirmed.redirect_url),
            user_errors,
        })
    }
}
