//! Errors as clients see them.
//!
//! Policy: anything the caller can fix in a mutation's input is a `UserError` in the
//! payload (HTTP 200, nothing changed). Everything else is a top-level error whose
//! `extensions.code` is one of [`ErrorCode`]. Internal failures are logged with their
//! cause and reach the client only as `INTERNAL`, never with database text.

use async_graphql::{Enum, ErrorExtensions, SimpleObject};

use crate::{
    domain::checkout::{Violation, ViolationCode},
    service::ServiceError,
};

/// The `extensions.code` of a top-level error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No valid credentials for an operation that needs them.
    Unauthenticated,
    /// Credentials are valid but do not allow the operation.
    Forbidden,
    /// The object does not exist or is not visible to the caller.
    NotFound,
    /// The request itself is malformed: syntax, unknown fields, bad argument values.
    BadUserInput,
    /// The query is deeper, more complex, or uses more aliases or root fields than allowed.
    QueryTooComplex,
    /// Too many requests or attempts; `extensions.retryAfterSeconds` says when to retry.
    RateLimited,
    /// Something failed on the server; retrying may help.
    Internal,
    /// An automatic persisted query's hash is not known (any more): send the query with
    /// its hash once (Apollo's APQ protocol).
    PersistedQueryNotFound,
}

impl ErrorCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::RateLimited => "RATE_LIMITED",
            Self::Internal => "INTERNAL",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
        }
    }

    /// A GraphQL error carrying this code.
    pub fn error(self, message: impl Into<String>) -> async_graphql::Error {
        async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", self.as_str()))
    }
}

impl From<ServiceError> for async_graphql::Error {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound => ErrorCode::NotFound.error("not found"),
            ServiceError::BadInput(message) => ErrorCode::BadUserInput.error(message),
            ServiceError::Unauthenticated(message) => ErrorCode::Unauthenticated.error(message),
            ServiceError::RateLimited { retry_after } => {
                let seconds = retry_after.as_secs().max(1);
                async_graphql::Error::new(format!("too many attempts; retry in {seconds} s"))
                    .extend_with(|_, ext| {
                        ext.set("code", ErrorCode::RateLimited.as_str());
                        ext.set("retryAfterSeconds", seconds);
                    })
            }
            ServiceError::Rejected(violations) => {
                let message = violations
                    .first()
                    .map(|v| format!("{}: {}", v.field.join("."), v.message))
                    .unwrap_or_else(|| "invalid input".to_owned());
                ErrorCode::BadUserInput.error(message)
            }
            ServiceError::Database(err) => {
                tracing::error!(error = %err, "database error");
                ErrorCode::Internal.error("internal error")
            }
            ServiceError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "internal error");
                ErrorCode::Internal.error("internal error")
            }
        }
    }
}

/// Why a mutation refused its input; stable values that clients can switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "ViolationCode")]
pub enum UserErrorCode {
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
    /// Not a phone number in E.164 form.
    InvalidPhone,
    /// Not an ISO 3166-1 alpha-2 country code.
    InvalidCountry,
    /// More decimal places than the currency has.
    TooPrecise,
    /// A number outside its allowed range.
    OutOfRange,
    /// An amount above its maximum: a checkout total above the largest one allowed (the
    /// platform's, or the merchant's own lower one; the message names it), or amounts too
    /// large to add up.
    AmountTooLarge,
    /// An amount in another currency than the checkout's total.
    CurrencyMismatch,
    /// Items + shipping + tax − discount does not equal the total.
    TotalMismatch,
    /// A checkout needs between 1 and 100 items.
    ItemCount,
    /// The expiry is less than 5 minutes or more than 48 hours away.
    InvalidExpiry,
    /// Another open checkout of this merchant already uses this merchant reference.
    DuplicateMerchantReference,
    /// The checkout is completed or cancelled.
    CheckoutNotOpen,
    /// The checkout has expired.
    CheckoutExpired,
    /// A list that needs at least one entry is empty.
    Empty,
    /// The calling API key may only grant scopes it holds itself.
    ScopeNotHeld,
    /// An account with this email already exists.
    EmailTaken,
    /// The password needs 10 to 128 characters and must not be the email or one
    /// character repeated.
    WeakPassword,
    /// The email or the password is wrong (the message never says which).
    InvalidCredentials,
    /// Multi-factor authentication is already on; disable it first to enrol again.
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
    /// The payment gateway did not answer this request's payment: it may or may not have
    /// gone through, and paylater settles it on its own within minutes. Send the same
    /// request with the same idempotency key to learn the outcome; never a new key.
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

/// A problem with a mutation's input that the caller can fix. Nothing was changed.
#[derive(Debug, Clone, SimpleObject)]
pub struct UserError {
    /// Path to the offending input field, e.g. `["input", "items", "0", "quantity"]`.
    pub field: Option<Vec<String>>,
    /// Machine-readable reason.
    pub code: UserErrorCode,
    /// Human-readable explanation for developers.
    pub message: String,
}

impl From<Violation> for UserError {
    fn from(violation: Violation) -> Self {
        Self {
            field: Some(violation.field),
            code: violation.code.into(),
            message: violation.message,
        }
    }
}

/// Splits a service result into a mutation payload's parts: the value, or the user errors
/// when the input was refused. Other failures stay top-level errors.
pub fn payload_parts<T>(
    result: Result<T, ServiceError>,
) -> Result<(Option<T>, Vec<UserError>), async_graphql::Error> {
    match result {
        Ok(value) => Ok((Some(value), Vec::new())),
        Err(ServiceError::Rejected(violations)) => {
            Ok((None, violations.into_iter().map(UserError::from).collect()))
        }
        Err(err) => Err(err.into()),
    }
}
