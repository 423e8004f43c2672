//! What clients send to create and cancel checkouts, and the payloads they get back.

use async_graphql::{ID, InputObject, SimpleObject};

use crate::domain::checkout::{self as rules, CheckoutRequest};
use crate::graphql::{errors::UserError, money::MoneyInput, scalars::DateTime};

use super::{Address, Checkout, ShopperHints};

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
    /// Optional: a fresh key per checkout (e.g. your order id and an attempt number). A
    /// retry with the same key and input returns the same checkout and token instead of a
    /// second checkout.
    pub idempotency_key: Option<String>,
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
