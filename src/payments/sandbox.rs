//! The sandbox gateway: behaves like a real one with test cards and moves no money.
//!
//! [`tokenize`] stands in for a gateway's client-side SDK: it checks a test card and
//! returns a token whose behaviour the card number chose (see [`TEST_CARDS`]). Charges and
//! refunds honour idempotency keys, a refund cannot exceed its charge, and like a network
//! the sandbox can be slow (a latency on every call), lose answers (two test cards), and be
//! held still by a test ([`SandboxGateway::hold`]) while it counts the calls waiting.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::Duration,
};

use async_trait::async_trait;
use chrono::NaiveDate;
use rand::Rng;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

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
    /// The first call under each key is carried out, but its answer is lost; sent again,
    /// the key answers what happened. Refunds of its charges behave the same.
    AnswerLostAfterCharging,
    /// The first call under each key is lost before the gateway acts on it; sent again,
    /// the key is carried out. Refunds of its charges behave the same.
    AnswerLostBeforeCharging,
}

/// Card numbers with a set behaviour; any other valid number succeeds.
pub const TEST_CARDS: [(&str, Scenario); 7] = [
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
    ("4000000000001018", Scenario::AnswerLostAfterCharging),
    ("4000000000001026", Scenario::AnswerLostBeforeCharging),
];

const TOKEN_PREFIX: &str = "tok_sandbox_";

fn scenario_name(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Succeeds => "ok",
        Scenario::Fails(error) => error.code(),
        Scenario::AnswerLostAfterCharging => "lost_after",
        Scenario::AnswerLostBeforeCharging => "lost_before",
    }
}

/// The parts of a token: scenario name, card description, and its tail (the card's
/// fingerprint and a random part; older tokens carry the random part only).
fn token_parts(token: &str) -> Option<(&str, &str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (rest, tail) = rest.rsplit_once('_')?;
    let (name, card) = rest.rsplit_once('_')?;
    Some((name, card, tail))
}

/// The card a token stands for.
fn card_of(token: &str) -> Option<CardDetails> {
    let (_, card, tail) = token_parts(token)?;
    let split = card.len().checked_sub(10)?;
    let (brand, digits) = (card.get(..split)?, card.get(split..)?);
    let fingerprint = match tail.len() {
        32 => tail.get(..16)?.to_owned(),
        // A token from before fingerprints: one of its own.
        _ => hex::encode(&Sha256::digest(token.as_bytes())[..8]),
    };
    Some(CardDetails {
        brand: CardBrand::parse(&brand.to_uppercase()),
        last4: digits.get(..4)?.to_owned(),
        exp_month: digits.get(4..6)?.parse().ok()?,
        exp_year: digits.get(6..10)?.parse().ok()?,
        fingerprint,
    })
}

fn scenario_of(token: &str) -> Option<Scenario> {
    let (name, _, _) = token_parts(token)?;
    [Scenario::Succeeds]
        .into_iter()
        .chain(TEST_CARDS.iter().map(|(_, scenario)| *scenario))
        .find(|scenario| scenario_name(*scenario) == name)
}

/// The sandbox's fingerprint of a card number: the same number always gives the same one.
fn fingerprint(digits: &str) -> String {
    hex::encode(&Sha256::digest(format!("paylater-sandbox:{digits}").as_bytes())[..8])
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
            "{TOKEN_PREFIX}{}_{}{last4}{exp_month:02}{exp_year}_{}{random:016x}",
            scenario_name(scenario),
            brand.as_str().to_lowercase(),
            fingerprint(&digits),
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

/// What the sandbox did: a charge or a refund it carried out (once per key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// `charge` or `refund`.
    pub kind: &'static str,
    /// The idempotency key it was made under.
    pub idempotency_key: String,
    /// The reference it answered.
    pub reference: String,
    /// How much, in minor units.
    pub amount_minor: i64,
}

/// A charge the sandbox made: how much, how much of it was refunded, how its card behaves.
struct Charge {
    amount: i64,
    refunded: i64,
    scenario: Scenario,
}

#[derive(Default)]
struct Ledger {
    /// Outcomes by idempotency key: a replay gets the same answer.
    outcomes: HashMap<String, Result<GatewayReceipt, GatewayError>>,
    /// Charges by reference.
    charges: HashMap<String, Charge>,
    /// Tokens whose one transient failure has happened.
    failed_once: HashSet<String>,
    /// Keys whose one lost answer has happened.
    lost_once: HashSet<String>,
    /// Every charge and refund carried out, in order.
    movements: Vec<Movement>,
}

/// How a call under a key of a card that loses answers goes.
enum Delivery {
    /// Carry it out and answer.
    Normal,
    /// Carry it out, then lose the answer.
    LoseAfter,
    /// Lose it before acting.
    LoseBefore,
}

impl Ledger {
    fn delivery(&mut self, scenario: Scenario, key: &str) -> Delivery {
        let lost = |ledger: &mut Self| ledger.lost_once.insert(key.to_owned());
        match scenario {
            Scenario::AnswerLostAfterCharging if lost(self) => Delivery::LoseAfter,
            Scenario::AnswerLostBeforeCharging if lost(self) => Delivery::LoseBefore,
            _ => Delivery::Normal,
        }
    }

    fn record(
        &mut self,
        kind: &'static str,
        key: &str,
        amount_minor: i64,
        outcome: Result<GatewayReceipt, GatewayError>,
    ) -> Result<GatewayReceipt, GatewayError> {
        if let Ok(receipt) = &outcome {
            self.movements.push(Movement {
                kind,
                idempotency_key: key.to_owned(),
                reference: receipt.reference.clone(),
                amount_minor,
            });
        }
        self.outcomes.insert(key.to_owned(), outcome.clone());
        outcome
    }
}

/// The sandbox gateway. Its ledger lives in memory: after a restart it has forgotten its
/// keys, and refunds of earlier charges are accepted without the bound check (paylater
/// itself bounds refunds).
pub struct SandboxGateway {
    ledger: Mutex<Ledger>,
    /// Added to every call, as a network and a card processor would.
    latency: Duration,
    /// Whether charges and refunds may proceed (see [`Self::hold`]).
    open: watch::Sender<bool>,
    /// Charges and refunds under way.
    in_flight: watch::Sender<usize>,
    /// Whether cards may be saved (see [`Self::hold_saves`]).
    saves_open: watch::Sender<bool>,
    /// Card saves under way.
    saves_in_flight: watch::Sender<usize>,
}

impl Default for SandboxGateway {
    fn default() -> Self {
        Self::new(Duration::ZERO)
    }
}

/// Counts a call in flight while it lives.
struct InFlight<'a>(&'a watch::Sender<usize>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

fn reference(prefix: &str) -> String {
    let random: u128 = rand::rng().random();
    format!("{prefix}_sandbox_{random:032x}")
}

impl SandboxGateway {
    /// A sandbox whose every call takes `latency` before it is answered.
    pub fn new(latency: Duration) -> Self {
        Self {
            ledger: Mutex::default(),
            latency,
            open: watch::Sender::new(true),
            in_flight: watch::Sender::new(0),
            saves_open: watch::Sender::new(true),
            saves_in_flight: watch::Sender::new(0),
        }
    }

    /// Makes card saves wait (counted, see [`Self::wait_for_saves`]) until
    /// [`Self::release_saves`]: for tests that need cards to be added at the same time.
    /// Charges and refunds are not held.
    pub fn hold_saves(&self) {
        self.saves_open.send_replace(false);
    }

    /// Lets held and later card saves proceed.
    pub fn release_saves(&self) {
        self.saves_open.send_replace(true);
    }

    /// Waits until at least `count` card saves are under way.
    pub async fn wait_for_saves(&self, count: usize) {
        let mut saves = self.saves_in_flight.subscribe();
        // The sender lives as long as `self`, so the wait cannot fail.
        let _ = saves.wait_for(|n| *n >= count).await;
    }

    /// Makes charges and refunds wait (counted in flight) until [`Self::release`]: for
    /// tests that need calls to be at the gateway at the same time.
    pub fn hold(&self) {
        self.open.send_replace(false);
    }

    /// Lets held and later calls proceed.
    pub fn release(&self) {
        self.open.send_replace(true);
    }

    /// Charges and refunds under way now.
    pub fn in_flight(&self) -> usize {
        *self.in_flight.borrow()
    }

    /// Waits until at least `count` charges and refunds are under way.
    pub async fn wait_for_in_flight(&self, count: usize) {
        let mut calls = self.in_flight.subscribe();
        // The sender lives as long as `self`, so the wait cannot fail.
        let _ = calls.wait_for(|n| *n >= count).await;
    }

    /// Every charge and refund carried out so far, in order (each key once).
    pub fn movements(&self) -> Vec<Movement> {
        self.ledger().movements.clone()
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The latency, then the gate; the returned guard counts the call in flight.
    async fn arrive(&self) -> InFlight<'_> {
        self.in_flight.send_modify(|n| *n += 1);
        let guard = InFlight(&self.in_flight);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let mut open = self.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
        guard
    }

    fn charge_now(&self, request: &ChargeRequest<'_>) -> Result<GatewayReceipt, GatewayError> {
        let mut ledger = self.ledger();
        let key = request.idempotency_key;
        let scenario = scenario_of(request.token);
        let delivery = ledger.delivery(scenario.unwrap_or(Scenario::Succeeds), key);
        if matches!(delivery, Delivery::LoseBefore) {
            return Err(GatewayError::NoAnswer);
        }
        if let Some(outcome) = ledger.outcomes.get(key) {
            return outcome.clone();
        }
        let outcome = match scenario {
            None => Err(GatewayError::CardDeclined),
            Some(Scenario::Fails(GatewayError::ProcessingError)) => {
                if ledger.failed_once.insert(request.token.to_owned()) {
                    // Transient: not remembered under the key, so a retry may succeed.
                    return Err(GatewayError::ProcessingError);
                }
                Ok(Scenario::Succeeds)
            }
            Some(Scenario::Fails(error)) => Err(error),
            Some(scenario) => Ok(scenario),
        }
        .map(|scenario| {
            let receipt = GatewayReceipt {
                reference: reference("ch"),
            };
            let charge = Charge {
                amount: request.amount.minor(),
                refunded: 0,
                scenario,
            };
            ledger.charges.insert(receipt.reference.clone(), charge);
            receipt
        });
        let outcome = ledger.record("charge", key, request.amount.minor(), outcome);
        match delivery {
            Delivery::LoseAfter => Err(GatewayError::NoAnswer),
            _ => outcome,
        }
    }

    fn refund_now(&self, request: &RefundRequest<'_>) -> Result<GatewayReceipt, GatewayError> {
        let mut ledger = self.ledger();
        let key = request.idempotency_key;
        let scenario = ledger
            .charges
            .get(request.charge_reference)
            .map_or(Scenario::Succeeds, |charge| charge.scenario);
        let delivery = ledger.delivery(scenario, key);
        if matches!(delivery, Delivery::LoseBefore) {
            return Err(GatewayError::NoAnswer);
        }
        if let Some(outcome) = ledger.outcomes.get(key) {
            return outcome.clone();
        }
        let amount = request.amount.minor();
        let outcome = match ledger.charges.get_mut(request.charge_reference) {
            _ if amount <= 0 => Err(GatewayError::InvalidRefund),
            Some(charge) if charge.refunded + amount > charge.amount => {
                Err(GatewayError::InvalidRefund)
            }
            Some(charge) => {
                charge.refunded += amount;
                Ok(())
            }
            None if request.charge_reference.starts_with("ch_sandbox_") => Ok(()),
            None => Err(GatewayError::InvalidRefund),
        }
        .map(|()| GatewayReceipt {
            reference: reference("re"),
        });
        let outcome = ledger.record("refund", key, amount, outcome);
        match delivery {
            Delivery::LoseAfter => Err(GatewayError::NoAnswer),
            _ => outcome,
        }
    }
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    async fn card(&self, token: &str) -> Result<CardDetails, GatewayError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        card_of(token).ok_or(GatewayError::UnknownToken)
    }

    async fn save_card(&self, token: &str, _idempotency_key: &str) -> Result<String, GatewayError> {
        self.saves_in_flight.send_modify(|n| *n += 1);
        let _in_flight = InFlight(&self.saves_in_flight);
        let mut open = self.saves_open.subscribe();
        let _ = open.wait_for(|open| *open).await;
        // A sandbox token is reusable as it is.
        self.card(token).await.map(|_| token.to_owned())
    }

    async fn charge(&self, request: ChargeRequest<'_>) -> Result<GatewayReceipt, GatewayError> {
        let _in_flight = self.arrive().await;
        self.charge_now(&request)
    }

    async fn refund(&self, request: RefundRequest<'_>) -> Result<GatewayReceipt, GatewayError> {
        let _in_flight = self.arrive().await;
        self.refund_now(&request)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

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

    async fn refund(
        gateway: &SandboxGateway,
        reference: &str,
        amount: i64,
        key: &str,
    ) -> Result<GatewayReceipt, GatewayError> {
        gateway
            .refund(RefundRequest {
                charge_reference: reference,
                amount: eur(amount),
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
            let key = format!("{number}-1");
            let first = charge(&gateway, &card.token, &key).await;
            let retry = || charge(&gateway, &card.token, &key);
            match scenario {
                Scenario::Succeeds => assert!(first.is_ok()),
                Scenario::Fails(GatewayError::ProcessingError) => {
                    assert_eq!(first, Err(GatewayError::ProcessingError));
                    assert!(retry().await.is_ok(), "a transient failure passes on retry");
                }
                Scenario::Fails(error) => assert_eq!(first, Err(error)),
                Scenario::AnswerLostAfterCharging | Scenario::AnswerLostBeforeCharging => {
                    assert_eq!(first, Err(GatewayError::NoAnswer));
                    assert!(retry().await.is_ok(), "the key, sent again, answers");
                }
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
    async fn a_lost_answer_after_charging_charged_once_and_one_before_did_not() {
        let gateway = SandboxGateway::default();
        let after = tokenize("4000000000001018", 12, 2030, "123", today()).unwrap();
        assert_eq!(
            charge(&gateway, &after.token, "a").await,
            Err(GatewayError::NoAnswer)
        );
        assert_eq!(gateway.movements().len(), 1, "charged, answer lost");
        let receipt = charge(&gateway, &after.token, "a").await.unwrap();
        assert_eq!(gateway.movements()[0].reference, receipt.reference);
        assert_eq!(
            gateway.movements().len(),
            1,
            "the replay charged nothing more"
        );

        let before = tokenize("4000000000001026", 12, 2030, "123", today()).unwrap();
        assert_eq!(
            charge(&gateway, &before.token, "b").await,
            Err(GatewayError::NoAnswer)
        );
        assert_eq!(gateway.movements().len(), 1, "nothing happened");
        let receipt = charge(&gateway, &before.token, "b").await.unwrap();
        assert_eq!(gateway.movements().len(), 2);

        // Refunds of that card's charges lose their first answer too, and count once.
        assert_eq!(
            refund(&gateway, &receipt.reference, 400, "r").await,
            Err(GatewayError::NoAnswer)
        );
        assert_eq!(gateway.movements().len(), 2);
        assert!(refund(&gateway, &receipt.reference, 400, "r").await.is_ok());
        assert!(refund(&gateway, &receipt.reference, 400, "r").await.is_ok());
        assert_eq!(gateway.movements().len(), 3);
    }

    #[tokio::test]
    async fn keys_make_charges_and_refunds_idempotent_and_bounded() {
        let gateway = SandboxGateway::default();
        let card = tokenize("4242424242424242", 12, 2030, "123", today()).unwrap();
        let once = charge(&gateway, &card.token, "k").await.unwrap();
        assert_eq!(charge(&gateway, &card.token, "k").await.unwrap(), once);
        assert_ne!(charge(&gateway, &card.token, "k2").await.unwrap(), once);
        let first = refund(&gateway, &once.reference, 600, "r1").await.unwrap();
        assert_eq!(
            refund(&gateway, &once.reference, 600, "r1").await.unwrap(),
            first,
            "replayed, not refunded twice"
        );
        assert_eq!(
            refund(&gateway, &once.reference, 600, "r2").await,
            Err(GatewayError::InvalidRefund)
        );
        assert!(refund(&gateway, &once.reference, 400, "r3").await.is_ok());
        let kinds: Vec<&str> = gateway.movements().iter().map(|m| m.kind).collect();
        assert_eq!(kinds, ["charge", "charge", "refund", "refund"]);
    }

    #[tokio::test]
    async fn a_token_describes_its_card_and_the_same_number_has_one_fingerprint() {
        let gateway = SandboxGateway::default();
        let card = tokenize("5555555555554444", 3, 2031, "123", today()).unwrap();
        let details = gateway.card(&card.token).await.unwrap();
        assert_eq!(
            (
                details.brand,
                details.last4.as_str(),
                details.exp_month,
                details.exp_year
            ),
            (CardBrand::Mastercard, "4444", 3, 2031)
        );
        let again = tokenize("5555 5555 5555 4444", 4, 2032, "321", today()).unwrap();
        assert_ne!(again.token, card.token);
        let other = tokenize("4242424242424242", 3, 2031, "123", today()).unwrap();
        let fingerprint = |token: String| {
            let gateway = &gateway;
            async move { gateway.card(&token).await.unwrap().fingerprint }
        };
        assert_eq!(fingerprint(again.token).await, details.fingerprint);
        assert_ne!(fingerprint(other.token).await, details.fingerprint);
        assert_eq!(
            gateway.card("tok_forged").await,
            Err(GatewayError::UnknownToken)
        );
        assert_eq!(
            gateway.save_card(&card.token, "k").await.unwrap(),
            card.token
        );
    }

    #[tokio::test]
    async fn held_card_saves_wait_together_until_released() {
        let gateway = Arc::new(SandboxGateway::default());
        let card = tokenize("4242424242424242", 12, 2030, "123", today()).unwrap();
        gateway.hold_saves();
        let saves: Vec<_> = (0..3)
            .map(|n| {
                let (gateway, token) = (gateway.clone(), card.token.clone());
                tokio::spawn(async move { gateway.save_card(&token, &format!("k{n}")).await })
            })
            .collect();
        gateway.wait_for_saves(3).await;
        // Charges are not held meanwhile.
        assert!(charge(&gateway, &card.token, "c1").await.is_ok());
        gateway.release_saves();
        for save in saves {
            assert_eq!(save.await.unwrap().unwrap(), card.token);
        }
        assert_eq!(*gateway.saves_in_flight.borrow(), 0);
    }

    #[tokio::test]
    async fn held_calls_wait_together_until_released() {
        let gateway = Arc::new(SandboxGateway::default());
        let card = tokenize("4242424242424242", 12, 2030, "123", today()).unwrap();
        gateway.hold();
        let calls: Vec<_> = (0..4)
            .map(|n| {
                let (gateway, token) = (gateway.clone(), card.token.clone());
                tokio::spawn(async move { charge(&gateway, &token, &format!("k{n}")).await })
            })
            .collect();
        gateway.wait_for_in_flight(4).await;
        assert!(gateway.movements().is_empty(), "nothing passed the gate");
        gateway.release();
        for call in calls {
            assert!(call.await.unwrap().is_ok());
        }
        assert_eq!(gateway.in_flight(), 0);
        assert_eq!(gateway.movements().len(), 4);
    }
}
