//! Orders in the API: the `Order` and `Installment` types and `confirmCheckout`.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::{installment, order, payment, refund};

use super::{
    checkout::{Address, CheckoutItem, shopper_data},
    context::{
        ConsumerGuard, ScopeGuard, actor, consumer, deps, loaders, merchant_with, principal,
    },
    errors::{ErrorCode, UserError, payload_parts},
    ids::{NodeKind, decode, encode},
    loaders::load_one,
    merchant::MerchantProfile,
    money::{Money, MoneyInput},
    plans::PlanCode,
    scalars::{CurrencyCode, Date, DateTime},
};
use crate::{
    domain::scope::Scope,
    domain::{
        Currency, masking,
        order::{InstallmentStatus as Instalment, OrderStatus as Status},
    },
    service::{
        ServiceError, orders,
        orders::{
            confirm::{self, Confirmation},
            early::{self, EarlyPayment},
            merchant as merchant_ops,
        },
        signed_returns,
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

/// How a charge of the shopper's card ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::order::PaymentStatus")]
pub enum PaymentStatus {
    /// The card was charged.
    Succeeded,
    /// The card was declined or the charge failed; `failureCode` says why.
    Failed,
}

/// A purchase paid in instalments.
#[derive(Clone)]
pub struct Order(pub order::Model);

impl Order {
    fn money(&self, minor: i64) -> Money {
        Money::minor(minor, self.0.currency)
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
    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }

    /// The merchant's own order reference, from the checkout.
    async fn merchant_reference(&self) -> &str {
        &self.0.merchant_reference
    }

    /// The order's currency.
    async fn currency_code(&self) -> CurrencyCode {
        CurrencyCode(self.0.currency)
    }

    /// What the shopper pays in all.
    async fn total(&self) -> Money {
        self.money(self.0.total_minor)
    }

    /// What the merchant has captured.
    async fn captured_amount(&self) -> Money {
        self.money(self.0.captured_minor)
    }

    /// What the merchant has refunded.
    async fn refunded_amount(&self) -> Money {
        self.money(self.0.refunded_minor)
    }

    /// The merchant selling.
    async fn merchant(&self, ctx: &Context<'_>) -> async_graphql::Result<MerchantProfile> {
        load_one(&loaders(ctx)?.merchants, self.0.merchant_id)
            .await?
            .map(MerchantProfile)
            .ok_or_else(|| ErrorCode::Internal.error("internal error"))
    }

    /// Who bought: the shopper's email and name. Masked for staff.
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<OrderCustomer> {
        let account = load_one(&loaders(ctx)?.consumers, self.0.consumer_id)
            .await?
            .ok_or_else(|| ErrorCode::Internal.error("internal error"))?;
        let customer = OrderCustomer {
            email: account.email,
            given_name: account.given_name,
            family_name: account.family_name,
        };
        Ok(if principal(ctx).staff().is_some() {
            customer.masked()
        } else {
            customer
        })
    }

    /// Where the goods go, from the checkout. Masked for staff, but for city, region and
    /// country.
    async fn shipping_address(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Address>> {
        let Some(checkout) = load_one(&loaders(ctx)?.checkouts, self.0.checkout_id).await? else {
            return Ok(None);
        };
        Ok(shopper_data(ctx, &checkout)?
            .shipping_address
            .map(Into::into))
    }

    /// What was bought, from the checkout.
    async fn items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CheckoutItem>> {
        let currency = self.0.currency;
        let items = load_one(&loaders(ctx)?.checkout_items, self.0.checkout_id)
            .await?
            .unwrap_or_default();
        items
            .into_iter()
            .map(|item| CheckoutItem::new(item, currency))
            .collect()
    }

    /// The instalments, in schedule order.
    async fn installments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Installment>> {
        let currency = self.0.currency;
        let rows = load_one(&loaders(ctx)?.installments, self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|row| Installment(row, currency))
            .collect())
    }

    /// Every charge attempt, successful or not, oldest first.
    async fn payments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Payment>> {
        let currency = self.0.currency;
        let rows = load_one(&loaders(ctx)?.payments, self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(|row| Payment(row, currency)).collect())
    }

    /// The refunds, oldest first (a cancellation shows as one refund of the whole total).
    async fn refunds(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Refund>> {
        let currency = self.0.currency;
        let rows = load_one(&loaders(ctx)?.refunds, self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(|row| Refund(row, currency)).collect())
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

/// The shopper who bought an order.
#[derive(Debug, Clone, SimpleObject)]
pub struct OrderCustomer {
    /// Their email address.
    pub email: String,
    /// Their given name, if they gave it.
    pub given_name: Option<String>,
    /// Their family name, if they gave it.
    pub family_name: Option<String>,
}

impl OrderCustomer {
    /// The customer as support staff see them: hints, not the data.
    fn masked(self) -> Self {
        Self {
            email: masking::email(&self.email),
            given_name: self.given_name.as_deref().map(masking::text),
            family_name: self.family_name.as_deref().map(masking::text),
        }
    }
}

/// One payment of an order's schedule.
#[derive(Clone)]
pub struct Installment(pub installment::Model, pub Currency);

/// One payment of an order's schedule.
#[Object]
impl Installment {
    /// The order it belongs to.
    async fn order_id(&self) -> ID {
        encode(NodeKind::Order, self.0.order_id)
    }

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
    async fn status(&self) -> InstallmentStatus {
        self.0.status.into()
    }

    /// When it was paid.
    async fn paid_at(&self) -> Option<DateTime> {
        self.0.paid_at.map(|at| DateTime(at.0))
    }
}

/// A charge of the shopper's card for an instalment.
#[derive(Clone)]
pub struct Payment(pub payment::Model, pub Currency);

/// A charge of the shopper's card for an instalment.
#[Object]
impl Payment {
    /// How much was charged (or tried).
    async fn amount(&self) -> Money {
        Money::minor(self.0.amount_minor, self.1)
    }

    /// Whether the card was charged.
    async fn status(&self) -> PaymentStatus {
        self.0.status.into()
    }

    /// Why it failed: `card_declined`, `insufficient_funds`, `expired_card` or
    /// `processing_error`.
    async fn failure_code(&self) -> Option<&str> {
        self.0.failure_code.as_deref()
    }

    /// When it was attempted.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }
}

/// Money given back on an order: first taken off the unpaid instalments (last first), the
/// rest returned to the shopper's card.
#[derive(Clone)]
pub struct Refund(pub refund::Model, pub Currency);

/// Money given back on an order: first taken off the unpaid instalments (last first), the
/// rest returned to the shopper's card.
#[Object]
impl Refund {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Refund, self.0.id)
    }

    /// How much was refunded.
    async fn amount(&self) -> Money {
        Money::minor(self.0.amount_minor, self.1)
    }

    /// The part returned to the shopper's card; the rest reduced unpaid instalments.
    async fn refunded_to_card(&self) -> Money {
        Money::minor(self.0.to_shopper_minor, self.1)
    }

    /// Why, as the merchant said.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// The merchant's own reference of the refund.
    async fn merchant_refund_reference(&self) -> Option<&str> {
        self.0.merchant_refund_reference.as_deref()
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }
}

/// An order a merchant acts on.
#[derive(Debug, Clone, InputObject)]
pub struct OrderActionInput {
    /// The order's global ID.
    pub id: ID,
    /// Why (for cancellations; ignored by capture), at most 500 characters.
    pub reason: Option<String>,
    /// A fresh key per action: the same key and input replays the result.
    pub idempotency_key: String,
}

/// A refund a merchant asks for.
#[derive(Debug, Clone, InputObject)]
pub struct RefundOrderInput {
    /// The order's global ID.
    pub id: ID,
    /// How much, in the order's currency; at most what was captured and not yet refunded.
    pub amount: MoneyInput,
    /// Why, at most 500 characters.
    pub reason: Option<String>,
    /// Your own reference of the refund.
    pub merchant_refund_reference: Option<String>,
    /// A fresh key per refund: the same key and input replays the result.
    pub idempotency_key: String,
}

/// Result of `captureOrder`, `cancelOrder` and `refundOrder`.
#[derive(SimpleObject)]
pub struct OrderPayload {
    /// The order as it is now; null when the action was refused.
    pub order: Option<Order>,
    /// The refund made by `refundOrder` or `cancelOrder`.
    pub refund: Option<Refund>,
    /// What went wrong (`ORDER_NOT_AUTHORIZED`, `CAPTURE_WINDOW_CLOSED`,
    /// `ORDER_NOT_REFUNDABLE`, `REFUND_EXCEEDS_REFUNDABLE`, `CURRENCY_MISMATCH`,
    /// `REFUND_FAILED`, idempotency key codes); empty on success.
    pub user_errors: Vec<UserError>,
}

/// Order mutations for merchants; they need the `orders:write` scope.
#[derive(Default)]
pub struct MerchantOrderMutation;

async fn order_payload(
    ctx: &Context<'_>,
    merchant_id: uuid::Uuid,
    result: Result<merchant_ops::Changed, ServiceError>,
) -> async_graphql::Result<OrderPayload> {
    let (changed, user_errors) = payload_parts(result)?;
    let Some(changed) = changed else {
        return Ok(OrderPayload {
            order: None,
            refund: None,
            user_errors,
        });
    };
    let db = &deps(ctx)?.db;
    let order = orders::get(db, orders::Viewer::Merchant(merchant_id), changed.order_id).await?;
    let currency = order.currency;
    let refund = match changed.refund_id {
        Some(id) => orders::refunds(db, order.id)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| Refund(r, currency)),
        None => None,
    };
    Ok(OrderPayload {
        order: Some(Order(order)),
        refund,
        user_errors,
    })
}

#[Object]
impl MerchantOrderMutation {
    /// Captures an authorized order in full, before its `captureDeadline`.
    #[graphql(guard = "ScopeGuard(Scope::OrdersWrite)")]
    async fn capture_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order and an idempotency key.")] input: OrderActionInput,
    ) -> async_graphql::Result<OrderPayload> {
        let merchant = merchant_with(ctx, Scope::OrdersWrite)?;
        let id = decode(&input.id, NodeKind::Order)?;
        let result = merchant_ops::capture(
            deps(ctx)?,
            &actor(ctx),
            merchant.merchant_id,
            id,
            &input.idempotency_key,
        )
        .await;
        order_payload(ctx, merchant.merchant_id, result).await
    }

    /// Cancels (voids) an authorized order: what the shopper paid goes back to their card
    /// and the remaining instalments are cancelled. A captured order is refunded instead.
    #[graphql(guard = "ScopeGuard(Scope::OrdersWrite)")]
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order, a reason and an idempotency key.")] input: OrderActionInput,
    ) -> async_graphql::Result<OrderPayload> {
        let merchant = merchant_with(ctx, Scope::OrdersWrite)?;
        let id = decode(&input.id, NodeKind::Order)?;
        let result = merchant_ops::void(
            deps(ctx)?,
            &actor(ctx),
            merchant.merchant_id,
            id,
            input.reason.as_deref(),
            &input.idempotency_key,
        )
        .await;
        order_payload(ctx, merchant.merchant_id, result).await
    }

    /// Refunds part or all of a captured order: unpaid instalments shrink first (last one
    /// first), what exceeds them goes back to the shopper's card.
    #[graphql(guard = "ScopeGuard(Scope::OrdersWrite)")]
    async fn refund_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order, the amount and an idempotency key.")] input: RefundOrderInput,
    ) -> async_graphql::Result<OrderPayload> {
        let merchant = merchant_with(ctx, Scope::OrdersWrite)?;
        let id = decode(&input.id, NodeKind::Order)?;
        let amount = match input.amount.to_money("amount") {
            Ok(amount) => amount,
            Err(user_error) => {
                return Ok(OrderPayload {
                    order: None,
                    refund: None,
                    user_errors: vec![user_error],
                });
            }
        };
        let refund = merchant_ops::RefundInput {
            amount_minor: amount.minor(),
            currency: amount.currency(),
            reason: input.reason,
            merchant_refund_reference: input.merchant_refund_reference,
        };
        let result = merchant_ops::refund(
            deps(ctx)?,
            &actor(ctx),
            merchant.merchant_id,
            id,
            refund,
            &input.idempotency_key,
        )
        .await;
        order_payload(ctx, merchant.merchant_id, result).await
    }
}

/// An instalment a consumer pays early.
#[derive(Debug, Clone, InputObject)]
pub struct PayInstallmentInput {
    /// The order's global ID.
    pub order_id: ID,
    /// Which instalment, from 1.
    pub sequence: i32,
    /// The card to charge; the order's card when absent.
    pub payment_method_id: Option<ID>,
    /// A fresh key per payment: the same key and input replays the result.
    pub idempotency_key: String,
}

/// Result of `payInstallment`.
#[derive(SimpleObject)]
pub struct PayInstallmentPayload {
    /// The order as it is now; null when the payment was refused.
    pub order: Option<Order>,
    /// What went wrong (`INSTALLMENT_NOT_PAYABLE`, card declines, idempotency key codes);
    /// empty on success.
    pub user_errors: Vec<UserError>,
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
#[graphql(complex)]
pub struct ConfirmCheckoutPayload {
    /// The new order; null when the confirmation was refused.
    pub order: Option<Order>,
    /// The merchant's confirm URL as the merchant gave it.
    #[graphql(
        deprecation = "Send the shopper to `signedRedirectUrl`, which carries the signed outcome."
    )]
    pub redirect_url: Option<String>,
    /// What went wrong: the checkout (`CHECKOUT_NOT_OPEN`, `CHECKOUT_EXPIRED`), the plan
    /// (`PLAN_NOT_AVAILABLE`), the risk decision (`SPENDING_LIMIT_EXCEEDED`,
    /// `ACCOUNT_NOT_IN_GOOD_STANDING`), the card (`CARD_DECLINED`, `INSUFFICIENT_FUNDS`,
    /// `CARD_EXPIRED`, `PAYMENT_PROCESSING_ERROR`) or the key. Empty on success.
    pub user_errors: Vec<UserError>,
}

#[ComplexObject]
impl ConfirmCheckoutPayload {
    /// Where the checkout app sends the shopper now: the merchant's confirm URL with the
    /// outcome signed for the merchant (`paylater_checkout_id`, `paylater_order_id`,
    /// `paylater_status` = `COMPLETED`, `paylater_timestamp`, `paylater_signature`; see the
    /// README's "Signed returns"). Signed when read; the merchant accepts it for five
    /// minutes. Null when the confirmation was refused.
    async fn signed_redirect_url(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<String>> {
        let (Some(order), Some(confirm_url)) = (&self.order, &self.redirect_url) else {
            return Ok(None);
        };
        Ok(Some(
            signed_returns::confirm_url(deps(ctx)?, &order.0, confirm_url).await?,
        ))
    }
}

/// Order mutations for consumers.
#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Pays one of your unpaid instalments now (also an overdue one). A declined card
    /// changes nothing.
    #[graphql(guard = "ConsumerGuard")]
    async fn pay_installment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order, the instalment and an idempotency key.")]
        input: PayInstallmentInput,
    ) -> async_graphql::Result<PayInstallmentPayload> {
        let consumer = consumer(ctx)?;
        let deps = deps(ctx)?;
        let payment = EarlyPayment {
            order_id: decode(&input.order_id, NodeKind::Order)?,
            sequence: input.sequence,
            payment_method_id: input
                .payment_method_id
                .as_ref()
                .map(|id| decode(id, NodeKind::PaymentMethod))
                .transpose()?,
            idempotency_key: input.idempotency_key,
        };
        let result = early::pay_early(deps, &actor(ctx), consumer.consumer_id, &payment).await;
        let (paid, user_errors) = payload_parts(result)?;
        let order = match paid {
            Some(paid) => Some(Order(
                orders::get(
                    &deps.db,
                    orders::Viewer::Consumer(consumer.consumer_id),
                    paid.order_id,
                )
                .await?,
            )),
            None => None,
        };
        Ok(PayInstallmentPayload { order, user_errors })
    }

    /// Confirms a checkout with a plan and a card: charges what is due today and makes the
    /// order. A declined card leaves the checkout open for another try.
    #[graphql(guard = "ConsumerGuard")]
    async fn confirm_checkout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Checkout, plan, card and idempotency key.")] input: ConfirmCheckoutInput,
    ) -> async_graphql::Result<ConfirmCheckoutPayload> {
        let consumer = consumer(ctx)?;
        let deps = deps(ctx)?;
        let confirmation = Confirmation {
            checkout_token: input.token,
            plan: input.plan.into(),
            payment_method_id: decode(&input.payment_method_id, NodeKind::PaymentMethod)?,
            idempotency_key: input.idempotency_key,
        };
        let result = confirm::confirm(deps, &actor(ctx), consumer.consumer_id, &confirmation).await;
        let (confirmed, user_errors) = payload_parts(result)?;
        let Some(confirmed) = confirmed else {
            return Ok(ConfirmCheckoutPayload {
                order: None,
                redirect_url: None,
                user_errors,
            });
        };
        let order = orders::get(
            &deps.db,
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
