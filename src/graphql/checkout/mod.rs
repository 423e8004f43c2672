//! Checkouts in the API: the `Checkout` type and what it shows. Inputs and payloads are in
//! [`input`], the root fields in [`operations`].

mod input;
mod list;
mod operations;

pub use input::{
    CancelCheckoutInput, CancelCheckoutPayload, CheckoutItemInput, CreateCheckoutInput,
    CreateCheckoutPayload,
};
pub use list::{CheckoutFilterInput, CheckoutSortField, CheckoutSortInput, list_checkouts};
pub use operations::{CheckoutMutation, CheckoutQuery};

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::{checkout, checkout_item};

use crate::graphql::{
    context::{deps, loaders, principal},
    ids::{NodeKind, encode},
    loaders::{load_failed, load_one},
    merchant::MerchantProfile,
    money::Money,
    plans::{InstallmentPlan, plans_for},
    scalars::{CurrencyCode, DateTime},
};
use crate::{
    domain::{
        Currency, Money as DomainMoney,
        checkout::{self as rules, ShopperData},
        masking,
    },
    service::{checkout_pii, signed_returns},
};

/// Loads, in one batch each, the relations a query selects on a page of checkouts, so
/// that every node then finds them cached. Batching by timing alone can split a large page
/// into several batches; this makes the statement count of a page exact.
pub async fn prefetch(
    ctx: &Context<'_>,
    nodes: &[async_graphql::Lookahead<'_>],
    rows: &[checkout::Model],
) -> async_graphql::Result<()> {
    let selects = |field: &str| nodes.iter().any(|node| node.field(field).exists());
    let loaders = loaders(ctx)?;
    let checkout_ids = rows.iter().map(|row| row.id);
    let merchant_ids = || rows.iter().map(|row| row.merchant_id);
    let (items, merchants, plans) = tokio::join!(
        async {
            if selects("items") {
                loaders
                    .checkout_items
                    .load_many(checkout_ids)
                    .await
                    .map(drop)
            } else {
                Ok(())
            }
        },
        async {
            if selects("merchant") {
                loaders.merchants.load_many(merchant_ids()).await.map(drop)
            } else {
                Ok(())
            }
        },
        async {
            if selects("availablePlans") {
                loaders
                    .offered_plans
                    .load_many(merchant_ids())
                    .await
                    .map(drop)
            } else {
                Ok(())
            }
        },
    );
    items.and(merchants).and(plans).map_err(load_failed)
}

/// Where a checkout is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "rules::CheckoutStatus")]
pub enum CheckoutStatus {
    /// Waiting for the shopper to choose a plan and confirm.
    Open,
    /// The shopper confirmed and the first payment is at the card gateway: it becomes
    /// `COMPLETED`, or `OPEN` again if the card is declined. It does not expire meanwhile.
    Confirming,
    /// The shopper confirmed; an order was made.
    Completed,
    /// The merchant cancelled it.
    Cancelled,
    /// It was not completed before `expiresAt`; it can no longer be used.
    Expired,
}

/// A merchant's request for payment, opened by the shopper in the checkout app through its
/// token. Amounts are all in the checkout's currency.
#[derive(Clone)]
pub struct Checkout(pub checkout::Model);

impl Checkout {
    fn money(&self, minor: i64) -> Money {
        Money::minor(minor, self.0.currency)
    }

    /// The shopper's data, decrypted; masked when staff read it.
    fn shopper_data(&self, ctx: &Context<'_>) -> async_graphql::Result<ShopperData> {
        shopper_data(ctx, &self.0)
    }

    fn effective_status(&self, ctx: &Context<'_>) -> async_graphql::Result<rules::CheckoutStatus> {
        Ok(self
            .0
            .status
            .effective(self.0.expires_at.0, deps(ctx)?.clock.now()))
    }
}

/// A merchant's request for payment, opened by the shopper in the checkout app through its
/// token. Amounts are all in the checkout's currency.
#[Object]
impl Checkout {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Checkout, self.0.id)
    }

    /// Status as of now: an open checkout past its expiry reads as `EXPIRED`.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<CheckoutStatus> {
        Ok(self.effective_status(ctx)?.into())
    }

    /// The merchant selling, as shown to shoppers.
    async fn merchant(&self, ctx: &Context<'_>) -> async_graphql::Result<MerchantProfile> {
        load_one(&loaders(ctx)?.merchants, self.0.merchant_id)
            .await?
            .map(MerchantProfile)
            .ok_or_else(|| super::errors::ErrorCode::Internal.error("internal error"))
    }

    /// What is bought, in the merchant's order.
    async fn items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CheckoutItem>> {
        let currency = self.0.currency;
        let items = load_one(&loaders(ctx)?.checkout_items, self.0.id)
            .await?
            .unwrap_or_default();
        items
            .into_iter()
            .map(|item| CheckoutItem::new(item, currency))
            .collect()
    }

    /// The checkout's currency.
    async fn currency_code(&self) -> CurrencyCode {
        CurrencyCode(self.0.currency)
    }

    /// Sum of the items (quantity × unit price).
    async fn subtotal(&self) -> async_graphql::Result<Money> {
        let model = &self.0;
        let subtotal = model
            .total_minor
            .checked_sub(model.shipping_minor)
            .and_then(|rest| rest.checked_sub(model.tax_minor))
            .and_then(|rest| rest.checked_add(model.discount_minor))
            .ok_or_else(|| overflow(model.id))?;
        Ok(self.money(subtotal))
    }

    /// Shipping cost.
    async fn shipping(&self) -> Money {
        self.money(self.0.shipping_minor)
    }

    /// Tax added on top of the item prices (zero when prices include tax).
    async fn tax(&self) -> Money {
        self.money(self.0.tax_minor)
    }

    /// Discount taken off.
    async fn discount(&self) -> Money {
        self.money(self.0.discount_minor)
    }

    /// What the shopper pays: subtotal + shipping + tax − discount.
    async fn total(&self) -> Money {
        self.money(self.0.total_minor)
    }

    /// The merchant's own order reference.
    async fn merchant_reference(&self) -> &str {
        &self.0.merchant_reference
    }

    /// What the merchant told us about the shopper, to prefill the checkout. Masked for
    /// staff.
    async fn shopper(&self, ctx: &Context<'_>) -> async_graphql::Result<ShopperHints> {
        Ok(self.shopper_data(ctx)?.shopper.into())
    }

    /// Where the goods go, if the merchant said. Masked for staff, but for city, region
    /// and country.
    async fn shipping_address(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Address>> {
        Ok(self.shopper_data(ctx)?.shipping_address.map(Into::into))
    }

    /// Where the checkout app sends the shopper after confirming.
    async fn confirm_url(&self) -> &str {
        &self.0.confirm_url
    }

    /// Where the checkout app sends the shopper after cancelling.
    async fn cancel_url(&self) -> &str {
        &self.0.cancel_url
    }

    /// The cancel URL with the checkout's outcome signed for the merchant, for a shopper
    /// leaving now: `paylater_checkout_id`, `paylater_status` (the status now),
    /// `paylater_timestamp` and `paylater_signature` (see the README's "Signed returns").
    /// The merchant accepts it for five minutes: read it as the shopper leaves.
    async fn signed_cancel_url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(signed_returns::cancel_url(deps(ctx)?, &self.0).await?)
    }

    /// Why the merchant cancelled, if it said.
    async fn cancellation_reason(&self) -> Option<&str> {
        self.0.cancellation_reason.as_deref()
    }

    /// When the checkout stops accepting confirmations.
    async fn expires_at(&self) -> DateTime {
        DateTime(self.0.expires_at.0)
    }

    /// When the merchant created it.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at.0)
    }

    /// When it was cancelled.
    async fn cancelled_at(&self) -> Option<DateTime> {
        self.0.cancelled_at.map(|at| DateTime(at.0))
    }

    /// When the shopper completed it.
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(|at| DateTime(at.0))
    }

    /// The plans the shopper can choose for this total, each with its schedule if confirmed
    /// today. Empty when no enabled plan accepts the amount, or the checkout is not open.
    async fn available_plans(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<InstallmentPlan>> {
        if self.effective_status(ctx)? != rules::CheckoutStatus::Open {
            return Ok(Vec::new());
        }
        let total = DomainMoney::new(self.0.total_minor, self.0.currency);
        plans_for(ctx, self.0.merchant_id, total).await
    }
}

/// A stored checkout whose amounts do not add up in 64 bits: validation never stores one.
fn overflow(checkout_id: uuid::Uuid) -> async_graphql::Error {
    crate::service::ServiceError::internal(format!("checkout {checkout_id}: amounts overflow"))
        .into()
}

/// Staff read shoppers' personal data masked.
fn seen_by_staff(ctx: &Context<'_>) -> bool {
    principal(ctx).staff().is_some()
}

/// A checkout's shopper data, decrypted; masked when staff read it.
pub fn shopper_data(
    ctx: &Context<'_>,
    checkout: &checkout::Model,
) -> async_graphql::Result<ShopperData> {
    let data = checkout_pii::open(&deps(ctx)?.vault, checkout)?;
    Ok(if seen_by_staff(ctx) {
        masking::shopper_data(data)
    } else {
        data
    })
}

/// One line of a checkout.
#[derive(Debug, Clone, SimpleObject)]
pub struct CheckoutItem {
    /// Product name.
    pub name: String,
    /// The merchant's stock keeping unit.
    pub sku: Option<String>,
    /// How many units.
    pub quantity: i32,
    /// Price of one unit.
    pub unit_price: Money,
    /// quantity × unit price.
    pub total_price: Money,
    /// Product picture.
    pub image_url: Option<String>,
    /// Product category.
    pub category: Option<String>,
}

impl CheckoutItem {
    /// An item of a stored checkout.
    pub fn new(item: checkout_item::Model, currency: Currency) -> async_graphql::Result<Self> {
        let total_price = item
            .unit_price_minor
            .checked_mul(i64::from(item.quantity))
            .ok_or_else(|| overflow(item.checkout_id))?;
        Ok(Self {
            unit_price: Money::minor(item.unit_price_minor, currency),
            total_price: Money::minor(total_price, currency),
            name: item.name,
            sku: item.sku,
            quantity: item.quantity,
            image_url: item.image_url,
            category: item.category,
        })
    }
}

/// What the merchant knows about the shopper, used to prefill the checkout. All optional.
#[derive(Debug, Clone, Default, SimpleObject, InputObject)]
#[graphql(input_name = "ShopperHintsInput")]
pub struct ShopperHints {
    /// Email address.
    pub email: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Phone number in E.164 form, e.g. `+393331234567`.
    pub phone: Option<String>,
}

/// A postal address.
#[derive(Debug, Clone, SimpleObject, InputObject)]
#[graphql(input_name = "AddressInput")]
pub struct Address {
    /// Recipient name.
    pub name: Option<String>,
    /// Street and number.
    pub line1: String,
    /// Apartment, floor, company.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Region, state or province.
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 country code, e.g. `IT`.
    pub country_code: String,
}

impl From<rules::ShopperHints> for ShopperHints {
    fn from(hints: rules::ShopperHints) -> Self {
        Self {
            email: hints.email,
            given_name: hints.given_name,
            family_name: hints.family_name,
            phone: hints.phone,
        }
    }
}

impl From<rules::Address> for Address {
    fn from(address: rules::Address) -> Self {
        Self {
            name: address.name,
            line1: address.line1,
            line2: address.line2,
            city: address.city,
            postal_code: address.postal_code,
            region: address.region,
            country_code: address.country_code,
        }
    }
}
