//! Checkouts in the API: the `Checkout` type, `checkout(token)`, `createCheckout`,
//! `cancelCheckout` and the `checkoutUpdated` subscription.

use async_graphql::{
    Context, Enum, ID, InputObject, Object, SimpleObject, Subscription,
    futures_util::{Stream, stream},
};
use entity::{checkout, checkout_item};
use tokio::sync::broadcast::error::RecvError;

use super::{
    context::{MerchantGuard, loaders, merchant, services},
    errors::{UserError, payload_parts},
    ids::{NodeKind, decode, encode},
    loaders::load_one,
    merchant::MerchantProfile,
    money::{Money, MoneyInput},
    plans::{InstallmentPlan, plans_for},
    scalars::{CurrencyCode, DateTime},
};
use crate::{
    domain::{
        Currency, Money as DomainMoney,
        checkout::{self as rules, CheckoutRequest},
    },
    service::{checkouts, parse_stored},
};

/// Where a checkout is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "rules::CheckoutStatus")]
pub enum CheckoutStatus {
    /// Waiting for the shopper to choose a plan and confirm.
    Open,
    /// The shopper confirmed; an order was made.
    Completed,
    /// The merchant cancelled it.
    Cancelled,
    /// It was not completed before `expiresAt`; it can no longer be used.
    Expired,
}

/// A merchant's request for payment, opened by the shopper in the checkout app through its
/// token. Amounts are all in the checkout's currency.
pub struct Checkout(pub checkout::Model);

impl Checkout {
    fn currency(&self) -> async_graphql::Result<Currency> {
        Ok(parse_stored(&self.0.currency, "currency")
            .map_err(crate::service::ServiceError::from)?)
    }

    fn money(&self, minor: i64) -> async_graphql::Result<Money> {
        Ok(Money::minor(minor, self.currency()?))
    }

    fn effective_status(&self, ctx: &Context<'_>) -> async_graphql::Result<rules::CheckoutStatus> {
        let stored: rules::CheckoutStatus = parse_stored(&self.0.status, "checkout status")
            .map_err(crate::service::ServiceError::from)?;
        Ok(stored.effective(self.0.expires_at.0, services(ctx)?.clock.now()))
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
        let currency = self.currency()?;
        let items = load_one(&loaders(ctx)?.checkout_items, self.0.id)
            .await?
            .unwrap_or_default();
        Ok(items
            .into_iter()
            .map(|item| CheckoutItem::new(item, currency))
            .collect())
    }

    /// The checkout's currency.
    async fn currency_code(&self) -> async_graphql::Result<CurrencyCode> {
        Ok(CurrencyCode(self.currency()?))
    }

    /// Sum of the items (quantity × unit price).
    async fn subtotal(&self) -> async_graphql::Result<Money> {
        let model = &self.0;
        self.money(
            model.total_minor - model.shipping_minor - model.tax_minor + model.discount_minor,
        )
    }

    /// Shipping cost.
    async fn shipping(&self) -> async_graphql::Result<Money> {
        self.money(self.0.shipping_minor)
    }

    /// Tax added on top of the item prices (zero when prices include tax).
    async fn tax(&self) -> async_graphql::Result<Money> {
        self.money(self.0.tax_minor)
    }

    /// Discount taken off.
    async fn discount(&self) -> async_graphql::Result<Money> {
        self.money(self.0.discount_minor)
    }

    /// What the shopper pays: subtotal + shipping + tax − discount.
    async fn total(&self) -> async_graphql::Result<Money> {
        self.money(self.0.total_minor)
    }

    /// The merchant's own order reference.
    async fn merchant_reference(&self) -> &str {
        &self.0.merchant_reference
    }

    /// What the merchant told us about the shopper, to prefill the checkout.
    async fn shopper(&self) -> ShopperHints {
        ShopperHints {
            email: self.0.shopper_email.clone(),
            given_name: self.0.shopper_given_name.clone(),
            family_name: self.0.shopper_family_name.clone(),
            phone: self.0.shopper_phone.clone(),
        }
    }

    /// Where the goods go, if the merchant said.
    async fn shipping_address(&self) -> Option<Address> {
        let model = &self.0;
        Some(Address {
            name: model.shipping_name.clone(),
            line1: model.shipping_line1.clone()?,
            line2: model.shipping_line2.clone(),
            city: model.shipping_city.clone()?,
            postal_code: model.shipping_postal_code.clone(),
            region: model.shipping_region.clone(),
            country_code: model.shipping_country_code.clone()?,
        })
    }

    /// Where the checkout app sends the shopper after confirming.
    async fn confirm_url(&self) -> &str {
        &self.0.confirm_url
    }

    /// Where the checkout app sends the shopper after cancelling.
    async fn cancel_url(&self) -> &str {
        &self.0.cancel_url
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
        let total = DomainMoney::new(self.0.total_minor, self.currency()?);
        plans_for(ctx, self.0.merchant_id, total).await
    }
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
    fn new(item: checkout_item::Model, currency: Currency) -> Self {
        Self {
            unit_price: Money::minor(item.unit_price_minor, currency),
            total_price: Money::minor(item.unit_price_minor * i64::from(item.quantity), currency),
            name: item.name,
            sku: item.sku,
            quantity: item.quantity,
            image_url: item.image_url,
            category: item.category,
        }
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

/// One line of a new checkout.
#[derive(Debug, Clone, InputObject)]
pub struct CheckoutItemInput {
    /// Product name shown to the shopper (1 to 200 characters).
    pub name: String,
    /// Stock keeping unit (up to 64 characters).
    pub sku: Option<String>,
    /// Units, 1 to 10000.
    pub quantity: i32,
    /// Price of one unit, in the checkout's currency; zero for free items.
    pub unit_price: MoneyInput,
    /// Product picture: an https URL.
    pub image_url: Option<String>,
    /// Product category (up to 100 characters).
    pub category: Option<String>,
}

/// Everything needed to start a checkout. The total must equal the items plus shipping
/// and tax minus discount, all in the total's currency.
#[derive(Debug, Clone, InputObject)]
pub struct CreateCheckoutInput {
    /// What is bought: 1 to 100 items.
    pub items: Vec<CheckoutItemInput>,
    /// Shipping cost (default zero).
    pub shipping: Option<MoneyInput>,
    /// Tax not already included in the item prices (default zero).
    pub tax: Option<MoneyInput>,
    /// Discount taken off (default zero).
    pub discount: Option<MoneyInput>,
    /// What the shopper pays; its currency is the checkout's.
    pub total: MoneyInput,
    /// Your order reference (1 to 128 characters); only one open checkout may use it.
    pub merchant_reference: String,
    /// Prefill data about the shopper.
    pub shopper: Option<ShopperHints>,
    /// Where the goods go.
    pub shipping_address: Option<Address>,
    /// Where to send the shopper after confirming: an https URL.
    pub confirm_url: String,
    /// Where to send the shopper after cancelling: an https URL.
    pub cancel_url: String,
    /// When the checkout expires: 5 minutes to 48 hours from now (default 60 minutes).
    pub expires_at: Option<DateTime>,
}

impl From<CreateCheckoutInput> for CheckoutRequest {
    fn from(input: CreateCheckoutInput) -> Self {
        let shopper = input.shopper.unwrap_or_default();
        Self {
            items: input
                .items
                .into_iter()
                .map(|item| rules::ItemRequest {
                    name: item.name,
                    sku: item.sku,
                    quantity: i64::from(item.quantity),
                    unit_price: Some(item.unit_price.into()),
                    image_url: item.image_url,
                    category: item.category,
                })
                .collect(),
            shipping: input.shipping.map(Into::into),
            tax: input.tax.map(Into::into),
            discount: input.discount.map(Into::into),
            total: input.total.into(),
            merchant_reference: input.merchant_reference,
            shopper: rules::ShopperHints {
                email: shopper.email,
                given_name: shopper.given_name,
                family_name: shopper.family_name,
                phone: shopper.phone,
            },
            shipping_address: input.shipping_address.map(|address| rules::Address {
                name: address.name,
                line1: address.line1,
                line2: address.line2,
                city: address.city,
                postal_code: address.postal_code,
                region: address.region,
                country_code: address.country_code,
            }),
            confirm_url: input.confirm_url,
            cancel_url: input.cancel_url,
            expires_at: input.expires_at.map(|at| at.0),
        }
    }
}

/// Result of `createCheckout`.
#[derive(SimpleObject)]
pub struct CreateCheckoutPayload {
    /// The new checkout; null when the input was refused.
    pub checkout: Option<Checkout>,
    /// The bearer token that opens the checkout. Shown only here: store it or use
    /// `checkoutUrl`.
    pub checkout_token: Option<String>,
    /// Where to send the shopper: the checkout app with the token.
    pub checkout_url: Option<String>,
    /// What to fix in the input; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Which checkout to cancel.
#[derive(Debug, Clone, InputObject)]
pub struct CancelCheckoutInput {
    /// The checkout's ID.
    pub id: ID,
    /// Why, for your records (up to 500 characters).
    pub reason: Option<String>,
}

/// Result of `cancelCheckout`.
#[derive(SimpleObject)]
pub struct CancelCheckoutPayload {
    /// The cancelled checkout; null when it could not be cancelled.
    pub checkout: Option<Checkout>,
    /// Why it could not be cancelled; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Checkout queries.
#[derive(Default)]
pub struct CheckoutQuery;

#[Object]
impl CheckoutQuery {
    /// The checkout a token opens. Anyone holding the token may read it; an unknown token
    /// is `NOT_FOUND`.
    async fn checkout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The checkout token from `createCheckout`.")] token: String,
    ) -> async_graphql::Result<Checkout> {
        Ok(Checkout(
            checkouts::by_token(&services(ctx)?.db, &token).await?,
        ))
    }
}

/// Checkout mutations.
#[derive(Default)]
pub struct CheckoutMutation;

#[Object]
impl CheckoutMutation {
    /// Starts a checkout for the calling merchant and returns where to send the shopper.
    /// Refused input comes back in `userErrors` and stores nothing.
    #[graphql(guard = "MerchantGuard")]
    async fn create_checkout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The checkout to create.")] input: CreateCheckoutInput,
    ) -> async_graphql::Result<CreateCheckoutPayload> {
        let merchant = merchant(ctx)?;
        let services = services(ctx)?;
        let request = CheckoutRequest::from(input);
        let (created, user_errors) =
            payload_parts(checkouts::create(services, merchant.merchant_id, &request).await)?;
        Ok(CreateCheckoutPayload {
            checkout_token: created.as_ref().map(|c| c.token.clone()),
            checkout_url: created.as_ref().map(|c| c.url.clone()),
            checkout: created.map(|c| Checkout(c.checkout)),
            user_errors,
        })
    }

    /// Cancels an open checkout of the calling merchant; its token stops working for
    /// payment. A completed, cancelled or expired checkout is refused in `userErrors`.
    #[graphql(guard = "MerchantGuard")]
    async fn cancel_checkout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which checkout, and why.")] input: CancelCheckoutInput,
    ) -> async_graphql::Result<CancelCheckoutPayload> {
        let merchant = merchant(ctx)?;
        let id = decode(&input.id, NodeKind::Checkout)?;
        let result = checkouts::cancel(
            services(ctx)?,
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

/// Checkout subscriptions.
#[derive(Default)]
pub struct CheckoutSubscription;

#[Subscription]
impl CheckoutSubscription {
    /// The checkout a token opens: its current state at once, then again after every
    /// change. Ends after the checkout is completed or cancelled.
    async fn checkout_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The checkout token from `createCheckout`.")] token: String,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Checkout>> + use<>> {
        let services = services(ctx)?.clone();
        // Subscribe before reading, so no change between the read and the subscription is lost.
        let changes = services.events.subscribe_checkouts();
        let current = checkouts::by_token(&services.db, &token).await?;
        let id = current.id;
        let start = (Some(current), changes, services, false);
        Ok(stream::unfold(
            start,
            move |(pending, mut changes, services, done)| async move {
                if done {
                    return None;
                }
                let row = match pending {
                    Some(row) => Ok(row),
                    None => loop {
                        match changes.recv().await {
                            Ok(change) if change.checkout_id != id => continue,
                            Ok(_) | Err(RecvError::Lagged(_)) => {
                                break checkouts::reload(&services.db, id).await;
                            }
                            Err(RecvError::Closed) => return None,
                        }
                    },
                };
                let open = rules::CheckoutStatus::Open.as_str();
                let done = !matches!(&row, Ok(row) if row.status == open);
                let item = row.map(Checkout).map_err(async_graphql::Error::from);
                Some((item, (None, changes, services, done)))
            },
        ))
    }
}
