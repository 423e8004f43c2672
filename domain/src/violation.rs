//! How a refused input value is reported: a code, a message, and the path of the field.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a value was refused; clients switch on it, so variants are never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ViolationCode {
    /// A required text is empty or only whitespace.
    Blank,
    /// A text is longer than allowed.
    TooLong,
    /// A text holds control characters or is otherwise malformed.
    Invalid,
    /// Not an absolute https URL (http is allowed for localhost only).
    InvalidUrl,
    /// Not an email address.
    InvalidEmail,
    /// Not a phone number in E.164 form (`+` and 7 to 15 digits).
    InvalidPhone,
    /// Not an ISO 3166-1 alpha-2 country code.
    InvalidCountry,
    /// More decimal places than the currency has.
    TooPrecise,
    /// A number outside its allowed range.
    OutOfRange,
    /// An amount above its maximum: a checkout total above the largest one allowed (the
    /// platform's, or the merchant's own lower one), or amounts too large to add up.
    AmountTooLarge,
    /// An amount in another currency than the checkout's.
    CurrencyMismatch,
    /// Items, shipping, tax and discount do not add up to the total.
    TotalMismatch,
    /// A checkout needs between 1 and 100 items.
    ItemCount,
    /// The expiry is too soon or too far away.
    InvalidExpiry,
    /// Another open checkout already uses this merchant reference.
    DuplicateMerchantReference,
    /// The checkout is no longer open.
    CheckoutNotOpen,
    /// The checkout expired.
    CheckoutExpired,
    /// A list that needs at least one entry is empty.
    Empty,
    /// An API key may only grant scopes it holds itself.
    ScopeNotHeld,
    /// An account with this email already exists.
    EmailTaken,
    /// The password is too short, too long or too easy to guess.
    WeakPassword,
    /// The email or the password is wrong (never says which).
    InvalidCredentials,
    /// Multi-factor authentication is already on.
    MfaAlreadyEnabled,
    /// Multi-factor authentication is not set up (or not confirmed yet).
    MfaNotEnrolled,
    /// The one-time or recovery code is wrong, expired or already used.
    InvalidCode,
    /// Not a card token the payment gateway issued.
    InvalidPaymentToken,
    /// The card has expired.
    CardExpired,
    /// The card is the last one and an order still has instalments to collect.
    PaymentMethodInUse,
    /// An idempotency key is empty, too long or holds control characters.
    InvalidIdempotencyKey,
    /// The idempotency key was used before with another input or operation.
    IdempotencyKeyReused,
    /// A request with this idempotency key is still being processed, or its payment still
    /// waits for the gateway's answer; retry later with the same key.
    IdempotencyKeyInUse,
    /// The payment gateway has not answered this request's payment yet; it is settled
    /// automatically. Send the same request with the same idempotency key to learn the
    /// outcome.
    PaymentPending,
    /// Another payment of this checkout or order is in progress; retry in a moment.
    PaymentInProgress,
    /// The plan is not offered by the merchant, or not for this amount.
    PlanNotAvailable,
    /// The shopper's account is suspended or has an overdue instalment.
    AccountNotInGoodStanding,
    /// The order does not fit in the shopper's available spending limit.
    SpendingLimitExceeded,
    /// The card issuer declined the charge.
    CardDeclined,
    /// The card has insufficient funds.
    InsufficientFunds,
    /// The payment could not be processed; trying again may work.
    PaymentProcessingError,
    /// Capture and void need an order that is authorized and not yet captured.
    OrderNotAuthorized,
    /// The capture window closed; the order is being voided.
    CaptureWindowClosed,
    /// Only a captured order can be refunded, and not once fully refunded.
    OrderNotRefundable,
    /// The refund is larger than what was captured and not yet refunded.
    RefundExceedsRefundable,
    /// The card refund failed at the gateway; nothing was changed.
    RefundFailed,
    /// The instalment is paid or cancelled, or its order is closed.
    InstallmentNotPayable,
    /// The URL names or resolves to an address that is not public.
    AddressNotPublic,
    /// The merchant has no webhook endpoint yet.
    WebhookEndpointMissing,
    /// The webhook endpoint is disabled; set it again to enable it.
    WebhookEndpointDisabled,
}

impl ViolationCode {
    /// A passing failure: the same request may succeed if sent again.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::PaymentProcessingError
                | Self::IdempotencyKeyInUse
                | Self::PaymentPending
                | Self::PaymentInProgress
        )
    }
}

/// One refused value, with the path of the input field it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Path of the field, e.g. `["input", "items", "2", "quantity"]`.
    pub field: Vec<String>,
    /// Machine-readable reason.
    pub code: ViolationCode,
    /// Text a developer (or, with care, a shopper) can read.
    pub message: String,
}

impl Violation {
    /// A violation of the field at `path`.
    pub fn new(path: &Path, code: ViolationCode, message: impl Into<String>) -> Self {
        Self {
            field: path.0.clone(),
            code,
            message: message.into(),
        }
    }
}

/// A field path under construction.
#[derive(Debug, Clone)]
pub struct Path(Vec<String>);

impl Path {
    /// The path of the mutation's `input` argument.
    pub fn input() -> Self {
        Self(vec!["input".to_owned()])
    }

    /// The path of a child field or list index.
    pub fn at(&self, segment: impl fmt::Display) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment.to_string());
        Self(segments)
    }
}
