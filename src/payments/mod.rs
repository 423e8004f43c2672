//! Payment gateways: where cards are charged and refunded. paylater never sees card
//! numbers; it holds the gateway's token for a card and asks the gateway to move money,
//! always with an idempotency key, so a request sent again never charges twice.
//!
//! A call has three outcomes: done (a receipt), refused (a [`GatewayError`] that says
//! nothing moved), or no answer ([`GatewayError::NoAnswer`]: it may or may not have
//! happened). The last is settled by sending the same request with the same key again.
//!
//! Another gateway is added by implementing [`PaymentGateway`].

pub mod sandbox;
pub mod stripe;

use async_trait::async_trait;

use crate::domain::{Money, card::CardBrand};

/// A charge to make.
#[derive(Debug, Clone)]
pub struct ChargeRequest<'a> {
    /// The gateway's token of the card, as [`PaymentGateway::save_card`] returned it.
    pub token: &'a str,
    /// How much.
    pub amount: Money,
    /// The same key gives the same outcome, charged at most once.
    pub idempotency_key: &'a str,
}

/// A refund to the card of an earlier charge.
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    /// The gateway's reference of the charge.
    pub charge_reference: &'a str,
    /// How much.
    pub amount: Money,
    /// The same key gives the same outcome, refunded at most once.
    pub idempotency_key: &'a str,
}

/// Why the gateway did not move the money, or why nobody knows whether it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum GatewayError {
    /// The issuer declined the card.
    #[error("the card was declined")]
    CardDeclined,
    /// Not enough funds on the card.
    #[error("the card has insufficient funds")]
    InsufficientFunds,
    /// The card has expired.
    #[error("the card has expired")]
    ExpiredCard,
    /// The issuer wants the card holder to authenticate the payment themselves.
    #[error("the card holder must authenticate this payment")]
    AuthenticationRequired,
    /// A passing failure at the gateway that moved nothing; the same request may succeed
    /// later.
    #[error("the payment could not be processed; try again")]
    ProcessingError,
    /// The refund is larger than what is left of the charge, or the charge is unknown.
    #[error("the refund does not match a charge")]
    InvalidRefund,
    /// The token names no card of this gateway.
    #[error("the card token is not valid")]
    UnknownToken,
    /// No answer came (a timeout, a connection lost after the request left): the money
    /// may or may not have moved. Sending the same request with the same key tells.
    #[error("the payment gateway did not answer")]
    NoAnswer,
}

impl GatewayError {
    /// The stored failure code.
    pub fn code(self) -> &'static str {
        match self {
            Self::CardDeclined => "card_declined",
            Self::InsufficientFunds => "insufficient_funds",
            Self::ExpiredCard => "expired_card",
            Self::AuthenticationRequired => "authentication_required",
            Self::ProcessingError => "processing_error",
            Self::InvalidRefund => "invalid_refund",
            Self::UnknownToken => "unknown_token",
            Self::NoAnswer => "no_answer",
        }
    }

    /// The error a stored [`Self::code`] names.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|error| error.code() == code)
    }

    /// Every error.
    pub const ALL: [Self; 8] = [
        Self::CardDeclined,
        Self::InsufficientFunds,
        Self::ExpiredCard,
        Self::AuthenticationRequired,
        Self::ProcessingError,
        Self::InvalidRefund,
        Self::UnknownToken,
        Self::NoAnswer,
    ];

    /// A refusal that may pass if the same request is made again later (with a new key:
    /// nothing moved under this one).
    pub fn is_transient(self) -> bool {
        self == Self::ProcessingError
    }
}

impl serde::Serialize for GatewayError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for GatewayError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown gateway error {code:?}")))
    }
}

/// A charge or refund the gateway made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayReceipt {
    /// The gateway's reference, for refunds and reconciliation.
    pub reference: String,
}

/// What the gateway tells about a tokenized card, for display and to spot the same card
/// saved twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    /// The network.
    pub brand: CardBrand,
    /// Last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: i32,
    /// Expiry year.
    pub exp_year: i32,
    /// The gateway's identifier of the card number: the same card, tokenized twice, has
    /// the same fingerprint.
    pub fingerprint: String,
}

/// A card payment processor.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// The card a token stands for; `UnknownToken` if the gateway never issued it.
    async fn card(&self, token: &str) -> Result<CardDetails, GatewayError>;

    /// Keeps a card for charges made later without the shopper (the instalments), and
    /// returns the token to store and charge. The same key saves it once.
    async fn save_card(&self, token: &str, idempotency_key: &str) -> Result<String, GatewayError>;

    /// Charges a card.
    async fn charge(&self, request: ChargeRequest<'_>) -> Result<GatewayReceipt, GatewayError>;

    /// Refunds (part of) an earlier charge.
    async fn refund(&self, request: RefundRequest<'_>) -> Result<GatewayReceipt, GatewayError>;
}
