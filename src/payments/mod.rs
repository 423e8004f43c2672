//! Payment gateways: where cards are charged and refunded. paylater never sees card
//! numbers; it holds the gateway's token for a card and asks the gateway to move money,
//! always with an idempotency key, so a retried request never charges twice.
//!
//! Another gateway is added by implementing [`PaymentGateway`].

pub mod sandbox;

use async_trait::async_trait;

use crate::domain::{Money, card::CardBrand};

/// A charge to make.
#[derive(Debug, Clone)]
pub struct ChargeRequest<'a> {
    /// The gateway's token of the card.
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

/// Why the gateway did not move the money.
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
    /// A passing failure at the gateway; the same request may succeed later.
    #[error("the payment could not be processed; try again")]
    ProcessingError,
    /// The refund is larger than what is left of the charge, or the charge is unknown.
    #[error("the refund does not match a charge")]
    InvalidRefund,
    /// The token names no card of this gateway.
    #[error("the card token is not valid")]
    UnknownToken,
}

impl GatewayError {
    /// The stored failure code.
    pub fn code(self) -> &'static str {
        match self {
            Self::CardDeclined => "card_declined",
            Self::InsufficientFunds => "insufficient_funds",
            Self::ExpiredCard => "expired_card",
            Self::ProcessingError => "processing_error",
            Self::InvalidRefund => "invalid_refund",
            Self::UnknownToken => "unknown_token",
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(self) -> bool {
        self == Self::ProcessingError
    }
}

/// A charge or refund the gateway made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayReceipt {
    /// The gateway's reference, for refunds and reconciliation.
    pub reference: String,
}

/// What the gateway tells about a tokenized card, for display.
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
}

/// A card payment processor.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// The card a token stands for; `UnknownToken` if the gateway never issued it.
    async fn card(&self, token: &str) -> Result<CardDetails, GatewayError>;

    /// Charges a card.
    async fn charge(&self, request: ChargeRequest<'_>) -> Result<GatewayReceipt, GatewayError>;

    /// Refunds (part of) an earlier charge.
    async fn refund(&self, request: RefundRequest<'_>) -> Result<GatewayReceipt, GatewayError>;
}
