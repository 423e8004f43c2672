//! The rules a checkout request must follow: clean texts, safe URLs, amounts in one
//! currency that add up to the total, a sensible expiry.

use chrono::{DateTime, Duration, Utc};
use url::Url;

use super::{
    Address, AmountInput, CheckoutRequest, Item, ItemRequest, MAX_ITEMS, MAX_QUANTITY, MAX_TTL,
    MIN_TTL, MaxTotal, Path, ShopperHints, ValidCheckout, Violation, ViolationCode,
};
use crate::{Currency, Money, MoneyError, country::is_iso_country_code};

/// Collects violations while a request is checked field by field.
#[derive(Default)]
struct Checker {
    violations: Vec<Violation>,
}

impl Checker {
    fn fail(&mut self, path: &Path, code: ViolationCode, message: impl Into<String>) {
        self.violations.push(Violation::new(path, code, message));
    }

    /// A required text: trimmed, not blank, no control characters, at most `max` characters.
    fn text(&mut self, path: &Path, value: &str, max: usize) -> String {
        let value = value.trim();
        if value.is_empty() {
            self.fail(path, ViolationCode::Blank, "must not be blank");
        } else {
            self.check_chars(path, value, max);
        }
        value.to_owned()
    }

    /// An optional text: blank counts as absent.
    fn optional_text(&mut self, path: &Path, value: Option<&str>, max: usize) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        self.check_chars(path, value, max);
        Some(value.to_owned())
    }

    fn check_chars(&mut self, path: &Path, value: &str, max: usize) {
        let length = value.chars().count();
        if length > max {
            self.fail(
                path,
                ViolationCode::TooLong,
                format!("must be at most {max} characters, got {length}"),
            );
        } else if value.chars().any(char::is_control) {
            self.fail(
                path,
                ViolationCode::Invalid,
                "must not contain control characters",
            );
        }
    }

    /// A URL the shopper's browser may be sent to or load from.
    fn url(&mut self, path: &Path, value: &str) -> String {
        let value = value.trim();
        if value.chars().count() > 2048 {
            self.fail(
                path,
                ViolationCode::TooLong,
                "must be at most 2048 characters",
            );
        } else if !is_safe_url(value) {
            self.fail(
                path,
                ViolationCode::InvalidUrl,
                "must be an absolute https URL (http only for localhost)",
            );
        }
        value.to_owned()
    }

    /// An amount in the checkout's currency, at least zero (or above zero when `positive`),
    /// and at most `max` when given.
    fn money(
        &mut self,
        path: &Path,
        input: AmountInput,
        currency: Currency,
        positive: bool,
        max: Option<Money>,
    ) -> Money {
        let zero = Money::zero(currency);
        if input.currency != currency {
            self.fail(
                &path.at("currencyCode"),
                ViolationCode::CurrencyMismatch,
                format!("must be {currency} like the total, got {}", input.currency),
            );
            return zero;
        }
        let above_max =
            |max: Money| format!("must be at most {max}, the largest checkout total allowed");
        match Money::from_decimal(input.amount, currency) {
            Ok(money) if max.is_some_and(|max| money.minor() > max.minor()) => {
                let message = max.map(above_max).unwrap_or_default();
                self.fail(&path.at("amount"), ViolationCode::AmountTooLarge, message);
                zero
            }
            Ok(money) if positive && !money.is_positive() => {
                self.fail(
                    &path.at("amount"),
                    ViolationCode::OutOfRange,
                    "must be greater than zero",
                );
                zero
            }
            Ok(money) if money.is_negative() => {
                self.fail(
                    &path.at("amount"),
                    ViolationCode::OutOfRange,
                    "must not be negative",
                );
                zero
            }
            Ok(money) => money,
            Err(MoneyError::TooPrecise { max_decimals, .. }) => {
                self.fail(
                    &path.at("amount"),
                    ViolationCode::TooPrecise,
                    format!("{currency} amounts have at most {max_decimals} decimal places"),
                );
                zero
            }
            Err(_) => {
                let message = max.map_or_else(|| "is too large".to_owned(), above_max);
                self.fail(&path.at("amount"), ViolationCode::AmountTooLarge, message);
                zero
            }
        }
    }

    fn item(&mut self, path: &Path, item: &ItemRequest, currency: Currency) -> Item {
        let name = self.text(&path.at("name"), &item.name, 200);
        let sku = self.optional_text(&path.at("sku"), item.sku.as_deref(), 64);
        if !(1..=MAX_QUANTITY).contains(&item.quantity) {
            self.fail(
                &path.at("quantity"),
                ViolationCode::OutOfRange,
                format!("must be between 1 and {MAX_QUANTITY}"),
            );
        }
        let unit_price = match item.unit_price {
            Some(price) => self.money(&path.at("unitPrice"), price, currency, false, None),
            None => Money::zero(currency),
        };
        if unit_price.checked_mul(item.quantity).is_err() {
            self.fail(
                &path.at("unitPrice").at("amount"),
                ViolationCode::AmountTooLarge,
                "quantity × unit price is too large",
            );
        }
        let image_url = item
            .image_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
            .map(|url| self.url(&path.at("imageUrl"), url));
        let category = self.optional_text(&path.at("category"), item.category.as_deref(), 100);
        Item {
            name,
            sku,
            quantity: item.quantity,
            unit_price,
            image_url,
            category,
        }
    }

    fn shopper(&mut self, path: &Path, hints: &ShopperHints) -> ShopperHints {
        let email = self.optional_text(&path.at("email"), hints.email.as_deref(), 320);
        if let Some(email) = &email
            && !email_address::EmailAddress::is_valid(email)
        {
            self.fail(
                &path.at("email"),
                ViolationCode::InvalidEmail,
                "is not an email address",
            );
        }
        let phone = self.optional_text(&path.at("phone"), hints.phone.as_deref(), 32);
        if let Some(phone) = &phone
            && !is_e164(phone)
        {
            self.fail(
                &path.at("phone"),
                ViolationCode::InvalidPhone,
                "must be in E.164 form, e.g. +393331234567",
            );
        }
        ShopperHints {
            email,
            given_name: self.optional_text(&path.at("givenName"), hints.given_name.as_deref(), 100),
            family_name: self.optional_text(
                &path.at("familyName"),
                hints.family_name.as_deref(),
                100,
            ),
            phone,
        }
    }

    fn address(&mut self, path: &Path, address: &Address) -> Address {
        let country_code = address.country_code.trim().to_ascii_uppercase();
        if !is_iso_country_code(&country_code) {
            self.fail(
                &path.at("countryCode"),
                ViolationCode::InvalidCountry,
                "must be an ISO 3166-1 alpha-2 country code, e.g. IT",
            );
        }
        Address {
            name: self.optional_text(&path.at("name"), address.name.as_deref(), 200),
            line1: self.text(&path.at("line1"), &address.line1, 200),
            line2: self.optional_text(&path.at("line2"), address.line2.as_deref(), 200),
            city: self.text(&path.at("city"), &address.city, 100),
            postal_code: self.optional_text(
                &path.at("postalCode"),
                address.postal_code.as_deref(),
                32,
            ),
            region: self.optional_text(&path.at("region"), address.region.as_deref(), 100),
            country_code,
        }
    }
}

/// Whether a URL may be handed to a shopper's browser: https, or http on a loopback host.
pub fn is_safe_url(value: &str) -> bool {
    let Ok(url) = Url::parse(value) else {
        return false;
    };
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    url.host_str().is_some() && (url.scheme() == "https" || (url.scheme() == "http" && local))
}

/// Whether a phone number is in E.164 form: `+`, then 7 to 15 digits not starting with 0.
pub fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Checks a checkout request against every rule and returns the clean checkout, or every
/// violation found (never just the first), each with its field path under `input`. The
/// total may be at most `max_total` in its currency.
pub fn validate(
    request: &CheckoutRequest,
    now: DateTime<Utc>,
    default_ttl: Duration,
    max_total: MaxTotal,
) -> Result<ValidCheckout, Vec<Violation>> {
    let root = Path::input();
    let mut check = Checker::default();
    let currency = request.total.currency;
    let max = max_total.in_currency(currency);
    let total = check.money(&root.at("total"), request.total, currency, true, Some(max));

    let items_path = root.at("items");
    if request.items.is_empty() || request.items.len() > MAX_ITEMS {
        check.fail(
            &items_path,
            ViolationCode::ItemCount,
            format!(
                "must hold between 1 and {MAX_ITEMS} items, got {}",
                request.items.len()
            ),
        );
    }
    let items: Vec<Item> = request
        .items
        .iter()
        .take(MAX_ITEMS)
        .enumerate()
        .map(|(index, item)| check.item(&items_path.at(index), item, currency))
        .collect();

    let mut optional_money = |name: &str, input: Option<AmountInput>| match input {
        Some(input) => check.money(&root.at(name), input, currency, false, None),
        None => Money::zero(currency),
    };
    let shipping = optional_money("shipping", request.shipping);
    let tax = optional_money("tax", request.tax);
    let discount = optional_money("discount", request.discount);

    let merchant_reference = check.text(
        &root.at("merchantReference"),
        &request.merchant_reference,
        128,
    );
    let shopper = check.shopper(&root.at("shopper"), &request.shopper);
    let shipping_address = request
        .shipping_address
        .as_ref()
        .map(|address| check.address(&root.at("shippingAddress"), address));
    let confirm_url = check.url(&root.at("confirmUrl"), &request.confirm_url);
    let cancel_url = check.url(&root.at("cancelUrl"), &request.cancel_url);

    let expires_at = request.expires_at.unwrap_or(now + default_ttl);
    if expires_at < now + MIN_TTL || expires_at > now + MAX_TTL {
        check.fail(
            &root.at("expiresAt"),
            ViolationCode::InvalidExpiry,
            "must be between 5 minutes and 48 hours from now",
        );
    }

    if check.violations.is_empty() {
        match sum_of_parts(&items, shipping, tax, discount) {
            Some(sum) if sum == total => {}
            Some(sum) => check.fail(
                &root.at("total"),
                ViolationCode::TotalMismatch,
                format!(
                    "total {total} must equal items + shipping {shipping} + tax {tax} - discount {discount} = {sum}"
                ),
            ),
            None => check.fail(
                &root.at("total"),
                ViolationCode::AmountTooLarge,
                "items, shipping and tax add up to more than an amount can hold",
            ),
        }
    }

    if !check.violations.is_empty() {
        return Err(check.violations);
    }
    Ok(ValidCheckout {
        currency,
        items,
        shipping,
        tax,
        discount,
        total,
        merchant_reference,
        shopper,
        shipping_address,
        confirm_url,
        cancel_url,
        expires_at,
    })
}

/// Σ quantity × unit price + shipping + tax − discount, or `None` on overflow.
pub fn sum_of_parts(items: &[Item], shipping: Money, tax: Money, discount: Money) -> Option<Money> {
    let mut sum = shipping.checked_add(tax).ok()?;
    for item in items {
        sum = sum
            .checked_add(item.unit_price.checked_mul(item.quantity).ok()?)
            .ok()?;
    }
    sum.checked_sub(discount).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal::Decimal;
    use rust_decimal::dec;

    fn eur(amount: Decimal) -> AmountInput {
        AmountInput {
            amount,
            currency: Currency::Eur,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }

    fn request() -> CheckoutRequest {
        CheckoutRequest {
            items: vec![ItemRequest {
                name: "Sneakers".into(),
                sku: Some("SNK-42".into()),
                quantity: 2,
                unit_price: Some(eur(dec!(45.00))),
                image_url: Some("https://shop.example/sneakers.png".into()),
                category: Some("Shoes".into()),
            }],
            shipping: Some(eur(dec!(5.00))),
            tax: None,
            discount: Some(eur(dec!(10.00))),
            total: eur(dec!(85.00)),
            merchant_reference: " order-1 ".into(),
            shopper: ShopperHints {
                email: Some("ada@example.com".into()),
                phone: Some("+393331234567".into()),
                ..Default::default()
            },
            shipping_address: Some(Address {
                line1: "Via Roma 1".into(),
                city: "Milano".into(),
                country_code: "it".into(),
                ..Default::default()
            }),
            confirm_url: "https://shop.example/ok".into(),
            cancel_url: "http://localhost:3000/cancel".into(),
            expires_at: None,
        }
    }

    fn violations(request: &CheckoutRequest) -> Vec<Violation> {
        validate(request, now(), Duration::minutes(60), MaxTotal::default()).unwrap_err()
    }

    fn codes(request: &CheckoutRequest) -> Vec<(String, ViolationCode)> {
        violations(request)
            .into_iter()
            .map(|v| (v.field.join("."), v.code))
            .collect()
    }

    /// A request of one item of `price` that adds up to `price`.
    fn totalling(price: Decimal, currency: Currency) -> CheckoutRequest {
        let amount = AmountInput {
            amount: price,
            currency,
        };
        let mut request = request();
        request.items.truncate(1);
        request.items[0].quantity = 1;
        request.items[0].unit_price = Some(amount);
        request.shipping = None;
        request.discount = None;
        request.total = amount;
        request
    }

    #[test]
    fn accepts_a_consistent_checkout() {
        let valid = validate(
            &request(),
            now(),
            Duration::minutes(60),
            MaxTotal::default(),
        )
        .unwrap();
        assert_eq!(valid.total.minor(), 8500);
        assert_eq!(valid.merchant_reference, "order-1");
        assert_eq!(valid.expires_at, now() + Duration::minutes(60));
        assert_eq!(valid.shipping_address.unwrap().country_code, "IT");
    }

    #[test]
    fn reports_a_total_that_does_not_add_up() {
        let mut request = request();
        request.total = eur(dec!(86.00));
        assert_eq!(
            codes(&request),
            vec![("input.total".into(), ViolationCode::TotalMismatch)]
        );
    }

    #[test]
    fn reports_every_violation_with_its_path() {
        let mut request = request();
        request.items[0].quantity = 0;
        request.items[0].name = "  ".into();
        request.items[0].unit_price = Some(AmountInput {
            amount: dec!(1),
            currency: Currency::Gbp,
        });
        request.shipping = Some(eur(dec!(1.001)));
        request.shopper.email = Some("nope".into());
        request.shopper.phone = Some("0123".into());
        request.shipping_address.as_mut().unwrap().country_code = "XX".into();
        request.confirm_url = "ftp://shop.example".into();
        request.cancel_url = "http://shop.example/cancel".into();
        request.merchant_reference = "x".repeat(129);
        request.expires_at = Some(now() + Duration::minutes(1));
        let mut found = codes(&request);
        found.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            found,
            vec![
                ("input.cancelUrl".into(), ViolationCode::InvalidUrl),
                ("input.confirmUrl".into(), ViolationCode::InvalidUrl),
                ("input.expiresAt".into(), ViolationCode::InvalidExpiry),
                ("input.items.0.name".into(), ViolationCode::Blank),
                ("input.items.0.quantity".into(), ViolationCode::OutOfRange),
                (
                    "input.items.0.unitPrice.currencyCode".into(),
                    ViolationCode::CurrencyMismatch
                ),
                ("input.merchantReference".into(), ViolationCode::TooLong),
                ("input.shipping.amount".into(), ViolationCode::TooPrecise),
                (
                    "input.shippingAddress.countryCode".into(),
                    ViolationCode::InvalidCountry
                ),
                ("input.shopper.email".into(), ViolationCode::InvalidEmail),
                ("input.shopper.phone".into(), ViolationCode::InvalidPhone),
            ]
        );
    }

    #[test]
    fn refuses_no_items_and_non_positive_totals() {
        let mut request = request();
        request.items.clear();
        request.total = eur(dec!(0));
        let found = codes(&request);
        assert!(found.contains(&("input.items".into(), ViolationCode::ItemCount)));
        assert!(found.contains(&("input.total.amount".into(), ViolationCode::OutOfRange)));
    }

    #[test]
    fn the_total_may_be_at_most_the_maximum() {
        let max = MaxTotal::default();
        let at = |price: Decimal, currency: Currency, max: MaxTotal| {
            validate(
                &totalling(price, currency),
                now(),
                Duration::minutes(60),
                max,
            )
        };
        assert_eq!(
            at(dec!(1000000.00), Currency::Eur, max)
                .unwrap()
                .total
                .minor(),
            100_000_000
        );
        let refused = at(dec!(1000000.01), Currency::Eur, max).unwrap_err();
        assert_eq!(
            refused,
            vec![Violation {
                field: vec!["input".into(), "total".into(), "amount".into()],
                code: ViolationCode::AmountTooLarge,
                message: "must be at most 1000000.00 EUR, the largest checkout total allowed"
                    .into(),
            }]
        );
        // i64::MAX minor units: representable, far above the maximum.
        let refused = at(dec!(92233720368547758.07), Currency::Eur, max).unwrap_err();
        assert_eq!(refused[0].code, ViolationCode::AmountTooLarge);
        // One more cent does not fit in 64 bits: the same refusal, naming the maximum.
        let refused = at(dec!(92233720368547758.08), Currency::Eur, max).unwrap_err();
        assert_eq!(refused[0].code, ViolationCode::AmountTooLarge);
        assert!(refused[0].message.contains("1000000.00 EUR"));
        // A currency without minor units: a million krónur.
        assert!(at(dec!(1000000), Currency::Isk, max).is_ok());
        let refused = at(dec!(1000001), Currency::Isk, max).unwrap_err();
        assert!(refused[0].message.contains("1000000 ISK"), "{refused:?}");
        // A merchant's lower maximum.
        let merchant = max.lowered_by(MaxTotal::from_major(500));
        assert!(at(dec!(500.00), Currency::Gbp, merchant).is_ok());
        let refused = at(dec!(500.01), Currency::Gbp, merchant).unwrap_err();
        assert!(refused[0].message.contains("500.00 GBP"), "{refused:?}");
    }

    #[test]
    fn amounts_that_overflow_are_refused_not_wrapped() {
        let max_minor = Money::new(i64::MAX, Currency::Eur).to_decimal();
        // quantity × unit price does not fit.
        let mut request = request();
        request.items[0].unit_price = Some(eur(max_minor));
        assert!(
            codes(&request).contains(&(
                "input.items.0.unitPrice.amount".into(),
                ViolationCode::AmountTooLarge
            )),
            "{:?}",
            codes(&request)
        );
        // A unit price too large for 64-bit minor units.
        request.items[0].unit_price = Some(eur(max_minor + dec!(0.01)));
        assert!(codes(&request).contains(&(
            "input.items.0.unitPrice.amount".into(),
            ViolationCode::AmountTooLarge
        )));
        // Items, shipping and tax that add up past 64 bits, each fitting on its own.
        let mut request = super::tests::request();
        request.items[0].quantity = 1;
        request.items[0].unit_price = Some(eur(max_minor));
        request.shipping = Some(eur(max_minor));
        request.tax = Some(eur(max_minor));
        request.discount = Some(eur(max_minor));
        assert_eq!(
            codes(&request),
            vec![("input.total".into(), ViolationCode::AmountTooLarge)]
        );
    }
}
