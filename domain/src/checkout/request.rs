//! A checkout as the merchant asks for it, and as it is once every rule holds.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::{Currency, Money};

/// An amount as a client sends it: a decimal in major units with its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountInput {
    /// Major units, e.g. `19.99`.
    pub amount: Decimal,
    /// The amount's currency.
    pub currency: Currency,
}

/// One line of a checkout as the merchant sends it.
#[derive(Debug, Clone, Default)]
pub struct ItemRequest {
    /// Product name shown to the shopper.
    pub name: String,
    /// The merchant's stock keeping unit.
    pub sku: Option<String>,
    /// How many units.
    pub quantity: i64,
    /// Price of one unit.
    pub unit_price: Option<AmountInput>,
    /// Product picture.
    pub image_url: Option<String>,
    /// Product category.
    pub category: Option<String>,
}

/// Who the merchant believes the shopper is; used to prefill the checkout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopperHints {
    /// Shopper's email.
    pub email: Option<String>,
    /// Shopper's given name.
    pub given_name: Option<String>,
    /// Shopper's family name.
    pub family_name: Option<String>,
    /// Shopper's phone in E.164 form.
    pub phone: Option<String>,
}

/// What a checkout knows about its shopper: the merchant's hints and the shipping
/// address. Personal data: stored encrypted, masked for support staff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopperData {
    /// The merchant's prefill hints.
    pub shopper: ShopperHints,
    /// Where the goods go, if the merchant said.
    pub shipping_address: Option<Address>,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: String,
}

/// Everything a merchant sends to create a checkout, before validation.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    /// What is bought.
    pub items: Vec<ItemRequest>,
    /// Shipping cost.
    pub shipping: Option<AmountInput>,
    /// Tax not already included in the item prices.
    pub tax: Option<AmountInput>,
    /// Discount taken off the sum.
    pub discount: Option<AmountInput>,
    /// What the shopper pays; its currency is the checkout's.
    pub total: AmountInput,
    /// The merchant's own order reference.
    pub merchant_reference: String,
    /// Prefill data about the shopper.
    pub shopper: ShopperHints,
    /// Where the goods go.
    pub shipping_address: Option<Address>,
    /// Where the shopper is sent after confirming.
    pub confirm_url: String,
    /// Where the shopper is sent after cancelling.
    pub cancel_url: String,
    /// When the checkout expires; defaults to the configured time to live.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A validated checkout line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Product name.
    pub name: String,
    /// Stock keeping unit.
    pub sku: Option<String>,
    /// Units, 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
    /// Price of one unit, never negative.
    pub unit_price: Money,
    /// Product picture URL.
    pub image_url: Option<String>,
    /// Product category.
    pub category: Option<String>,
}

/// A checkout that passed every rule: amounts add up, texts are clean, URLs are safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCheckout {
    /// The checkout's currency.
    pub currency: Currency,
    /// Lines, in the merchant's order.
    pub items: Vec<Item>,
    /// Shipping cost.
    pub shipping: Money,
    /// Tax added on top of the items.
    pub tax: Money,
    /// Discount taken off.
    pub discount: Money,
    /// Total, equal to items + shipping + tax − discount and positive.
    pub total: Money,
    /// Merchant's reference, trimmed.
    pub merchant_reference: String,
    /// Shopper hints, trimmed.
    pub shopper: ShopperHints,
    /// Shipping address, trimmed, country upper-case.
    pub shipping_address: Option<Address>,
    /// Redirect after confirmation.
    pub confirm_url: String,
    /// Redirect after cancellation.
    pub cancel_url: String,
    /// Expiry instant.
    pub expires_at: DateTime<Utc>,
}
