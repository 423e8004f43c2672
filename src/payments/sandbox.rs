//! The sandbox gateway: behaves like a real one with test cards and moves no money.
//!
//! [`tokenize`] stands in for a gateway's client-side SDK: it checks a test card and
//! returns a token whose behaviour the card number chose (see [`TEST_CARDS`]). Charges and
//! refunds honour idempotency keys, and a refund cannot exceed its charge.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use async_trait::async_trait;
use chrono::NaiveDate;
use rand::Rng;

use super::{
    CardDetails, ChargeRequest, GatewayError, GatewayReceipt, PaymentGateway, RefundRequest,
};
use crate::domain::card::{self, CardBrand, CardError};

/// What a test card does when charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Every charge succeeds.
    Succeeds,
    /// Every charge fails with this error; `ProcessingError` fails only the first time.
    Fails(GatewayError),
}

/// Card numbers with a set behaviour; any other valid number succeeds.
pub const TEST_CARDS: [(&str, Scenario); 5] = [
    ("4242424242424242", Scenario::Succeeds),
    (
        "4000000000000002",
        Scenario::Fails(GatewayError::CardDeclined),
    ),
    (
        "4000000000009995",
        Scenario::Fails(GatewayError::InsufficientFunds),
    ),
    (
        "4000000000000069",
        Scenario::Fails(GatewayError::ExpiredCard),
    ),
    (
        "4000000000000119",
        Scenario::Fails(GatewayError::ProcessingError),
    ),
];

const TOKEN_PREFIX: &str = "tok_sandbox_";

fn scenario_name(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Succeeds => "ok",
        Scenario::Fails(error) => error.code(),
    }
}

/// The parts of a token: scenario name, card description, random tail.
fn token_parts(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (rest, _random) = rest.rsplit_once('_')?;
    rest.rsplit_once('_')
}

/// The card a token stands for.
fn card_of(token: &str) -> Option<CardDetails> {
    let (_, card) = token_parts(token)?;
    let split = card.len().checked_sub(10)?;
    let (brand, tail) = (card.get(..split)?, card.get(split..)?);
    Some(CardDetails {
        brand: CardBrand::parse(&brand.to_uppercase()),
        last4: tail.get(..4)?.to_owned(),
        exp_month: tail.get(4..6)?.parse().ok()?,
        exp_year: tail.get(6..10)?.parse().ok()?,
    })
}

fn scenario_of(token: &str) -> Option<Scenario> {
    let (name, _) = token_parts(token)?;
    [Scenario::Succeeds]
        .into_iter()
        .chain(TEST_CARDS.iter().map(|(_, scenario)| *scenario))
        .find(|scenario| scenario_name(*scenario) == name)
}

/// A tokenized test card: what the checkout app keeps and sends to `addPaymentMethod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardToken {
    /// The token to charge.
    pub token: String,
    /// The card's network.
    pub brand: CardBrand,
    /// Last four digits, for display.
    pub last4: String,
    /// Expiry month.
    pub exp_month: i32,
    /// Expiry year.
    pub exp_year: i32,
}

/// Checks a test card and returns its token. The number and CVC are used for the checks
/// only; they are not kept.
pub fn tokenize(
    number: &str,
    exp_month: i32,
    exp_year: i32,
    cvc: &str,
    today: NaiveDate,
) -> Result<CardToken, CardError> {
    let digits = card::normalize_number(number)?;
    card::check_expiry(exp_month, exp_year, today)?;
    card::check_cvc(cvc)?;
    let scenario = TEST_CARDS
        .iter()
        .find(|(card, _)| *card == digits)
        .map_or(Scenario::Succeeds, |(_, scenario)| *scenario);
    let random: u64 = rand::rng().random();
    let brand = CardBrand::of(&digits);
    let last4 = digits[digits.len() - 4..].to_owned();
    // What a real gateway would look up by token, carried in the token itself so the
    // sandbox keeps no card store.
    Ok(CardToken {
        token: format!(
            "{TOKEN_PREFIX}{}_{}{last4}{exp_month:02}{exp_year}_{random:016x}",
            scenario_name(scenario),
            brand.as_str().to_lowercase(),
        ),
        brand,
        last4,
        exp_month,
        exp_year,
    })
}

/// Whether a token came from [`tokenize`].
pub fn is_token(token: &str) -> bool {
    scenario_of(token).is_some()
}

#[derive(Default)]
struct Ledger {
    /// Outcomes by idempotency key: a replay gets the same answer.
    outcomes: HashMap<String, Result<GatewayReceipt, GatewayError>>,
    /// Charges by reference: (amount, refunded so far), in minor units.
    charges: HashMap<String, (i64, i64)>,
    /// Tokens whose one transient failure has happened.
    failed_once: HashSet<String>,
}

/// The sandbox gateway. Its ledger lives in memory: after a restart, refunds of earlier
/// charges are accepted without the bound check (paylater itself bounds refunds).
#[derive(Default)]
pub struct SandboxGateway {
    ledger: Mutex<Ledger>,
}

fn reference(prefix: &str) -> String {
    let random: u128 = rand::rng().random();
    format!("{prefix}_sandbox_{random:032x}")
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    async fn charge(&self, request: ChargeRequest<'_>) -> Result<GatewayReceipt, GatewayError> {
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(outcome) = ledger.outcomes.get(request.idempotency_key) {
            return outcome.clone();
        }
        let outcome = match scenario_of(request.token) {
            None => Err(GatewayError::CardDeclined),
            Some(Scenario::Fails(GatewayError::ProcessingError)) => {
                if ledger.failed_once.insert(request.token.to_owned()) {
                    // Transient: not remembered under the key, so a retry may succeed.
                    return Err(GatewayError::ProcessingError);
                }
                Ok(())
            }
            Some(Scenario::Fails(error)) => Err(error),
            Some(Scenario::Succeeds) => Ok(()),
        }
        .map(|()| {
            let receipt = GatewayReceipt {
                reference: reference("ch"),
            };
            ledger
                .charges
                .insert(receipt.reference.clone(), (request.amount.minor(), 0));
            receipt
        });
        ledger
            .outcomes
            .insert(request.idempotency_key.to_owned(), outcome.clone());
        outcome
    }

    async fn card(&self, token: &str) -> Result<CardDetails, GatewayError> {
        card_of(token).ok_or(GatewayError::UnknownToken)
    }

    async fn refund(&self, request: RefundRequest<'_>) -> Result<GatewayReceipt, GatewayError> {
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(outcome) = ledger.outcomes.get(request.idempotency_key) {
            return outcome.clone();
        }
        let amount = request.amount.minor();
        let outcome = match ledger.charges.get_mut(request.charge_reference) {
            _ if amount <= 0 => Err(GatewayError::InvalidRefund),
            Some((charged, refunded)) if *refunded + amount > *charged => {
                Err(GatewayError::InvalidRefund)
            }
            Some((_, refunded)) => {
                *refunded += amount;
                Ok(())
            }
            None if request.charge_reference.starts_with("ch_sandbox_") => Ok(()),
            None => Err(GatewayError::InvalidRefund),
        }
        .map(|()| GatewayReceipt {
            reference: reference("re"),
        });
        ledger
            .outcomes
            .insert(request.idempotency_key.to_owned(), outcome.clone());
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, Money};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, 31).unwrap()
    }

    fn eur(minor: i64) -> Money {
        Money::new(minor, "EUR".parse::<Currency>().unwrap())
    }

    async fn charge(
        gateway: &SandboxGateway,
        token: &str,
        key: &str,
    ) -> Result<GatewayReceipt, GatewayError> {
        gateway
            .charge(ChargeRequest {
                token,
                amount: eur(1000),
                idempotency_key: key,
            })
            .await
    }

    #[tokio::test]
    async fn test_cards_behave_as_documented() {
        let gateway = SandboxGateway::default();
        for (number, scenario) in TEST_CARDS {
            let card = tokenize(number, 12, 2030, "123", today()).unwrap();
            assert_eq!(card.last4, &number[12..]);
            let first = charge(&gateway, &card.token, &format!("{number}-1")).await;
            match scenario {
                Scenario::Succeeds => assert!(first.is_ok()),
                Scenario::Fails(GatewayError::ProcessingError) => {
                    assert_eq!(first, Err(GatewayError::ProcessingError));
                    let retry = charge(&gateway, &card.token, &format!("{number}-1")).await;
                    assert!(retry.is_ok(), "a transient failure passes on retry");
                }
                Scenario::Fails(error) => assert_eq!(first, Err(error)),
            }
        }
        assert_eq!(
            tokenize("4242424242424241", 12, 2030, "123", today()),
            Err(CardError::InvalidNumber)
        );
        assert_eq!(
            tokenize("4242424242424242", 12, 2026, "123", today()),
            Err(CardError::Expired)
        );
    }

    #[tokio::test]
    async fn keys_make_charges_and_refunds_idempotent_and_bounded() {
        let gateway = SandboxGateway::default();
        let card = tokenize("4242424242424242", 12, 2030, "123", today()).unwrap();
        let once = charge(&gateway, &card.token, "k").await.unwrap();
        assert_eq!(charge(&gateway, &card.token, "k").await.unwrap(), once);
        assert_ne!(charge(&gateway, &card.token, "k2").await.unwrap(), once);
        let refund = |amount: i64, key: &'static str| {
            let reference = once.reference.clone();
            let gateway = &gateway;
            async move {
                gateway
                    .refund(RefundRequest {
                        charge_reference: &reference,
                        amount: eur(amount),
                        idempotency_key: key,
                    })
                    .await
            }
        };
        let first = refund(600, "r1").await.unwrap();
        assert_eq!(
            refund(600, "r1").await.unwrap(),
            first,
            "replayed, not refunded twice"
        );
        assert_eq!(refund(600, "r2").await, Err(GatewayError::InvalidRefund));
        assert!(refund(400, "r3").await.is_ok());
    }

    #[tokio::test]
    async fn a_token_describes_its_card() {
        let gateway = SandboxGateway::default();
        let card = tokenize("5555555555554444", 3, 2031, "123", today()).unwrap();
        assert_eq!(
            gateway.card(&card.token).await.unwrap(),
            CardDetails {
                brand: CardBrand::Mastercard,
                last4: "4444".into(),
                exp_month: 3,
                exp_year: 2031
            }
        );
        assert_eq!(
            gateway.card("tok_forged").await,
            Err(GatewayError::UnknownToken)
        );
    }
}
