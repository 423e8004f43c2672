//! Stripe as the card gateway, over its v1 HTTP API (form-encoded requests, JSON answers).
//!
//! Cards come from Stripe.js as PaymentMethods (`pm_…`). Saving one attaches it to a
//! Stripe Customer made for it, so the instalments can be charged later without the
//! shopper (`off_session`); the token paylater stores is `cus_…:pm_…`. Charges are
//! PaymentIntents confirmed at once, refunds are Refunds of a PaymentIntent.
//!
//! Every POST carries paylater's idempotency key as `Idempotency-Key`, so Stripe executes
//! it once and replays its saved answer to a resend. An answer counts only when it comes
//! from Stripe executing or replaying the key: a timeout, a lost connection, a 5xx, a 409
//! (the key in flight), a 429 or a refused secret key (401, 403) is
//! [`GatewayError::NoAnswer`], and paylater resends the same key later.

use std::{sync::OnceLock, time::Duration};

use async_trait::async_trait;
use reqwest::{
    Method,
    header::{CONTENT_TYPE, HeaderValue},
    redirect,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, de::DeserializeOwned};

use super::{
    CardDetails, ChargeRequest, GatewayError, GatewayReceipt, PaymentGateway, RefundRequest,
};
use crate::domain::{Currency, Money, card::CardBrand};

/// The Stripe API version every request pins with `Stripe-Version`, so the shapes of the
/// answers this adapter reads do not change when the account's default version moves.
/// `2026-09-30.endive` is the version docs.stripe.com/api-versions named current when the
/// adapter was written; the fields read here (`status`, `card.*`, `customer`,
/// `last_payment_error`, the error object) are the same in every version since
/// `2024-09-30.acacia`.
pub const STRIPE_VERSION: &str = "2026-09-30.endive";

/// The metadata field carrying paylater's idempotency key on PaymentIntents, Refunds and
/// Customers, to find them from Stripe's dashboard when reconciling.
const KEY_METADATA: &str = "metadata[paylater_idempotency_key]";

/// How to reach a Stripe account.
pub struct StripeSettings {
    /// The account's secret key (`sk_…` or a restricted `rk_…`).
    pub secret_key: SecretString,
    /// Base URL of the API, `https://api.stripe.com` unless a test points it elsewhere.
    pub api_base: String,
    /// How long one request may take, connection included; past it the call has no answer.
    pub timeout: Duration,
}

/// The Stripe gateway. The HTTP client (and the trust roots it loads) is built at the
/// first request, so processes that never call Stripe never pay for it.
pub struct StripeGateway {
    settings: StripeSettings,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeGateway")
            .field("api_base", &self.settings.api_base)
            .field("timeout", &self.settings.timeout)
            .finish_non_exhaustive()
    }
}

/// A card as paylater holds it: the PaymentMethod, and the Customer it is attached to once
/// saved. Written `cus_…:pm_…` (saved) or `pm_…` (fresh from Stripe.js).
#[derive(Debug, Clone, PartialEq, Eq)]
struct StripeToken {
    customer: Option<String>,
    payment_method: String,
}

/// Whether `id` is a Stripe object id with `prefix`: safe to put in a URL path.
fn is_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty()
            && id.len() <= 255
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

impl StripeToken {
    fn parse(token: &str) -> Option<Self> {
        let token = token.trim();
        let (customer, payment_method) = match token.split_once(':') {
            Some((customer, method)) => (Some(customer), method),
            None => (None, token),
        };
        if !is_id(payment_method, "pm_") || customer.is_some_and(|c| !is_id(c, "cus_")) {
            return None;
        }
        Some(Self {
            customer: customer.map(str::to_owned),
            payment_method: payment_method.to_owned(),
        })
    }
}

impl std::fmt::Display for StripeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.customer {
            Some(customer) => write!(f, "{customer}:{}", self.payment_method),
            None => f.write_str(&self.payment_method),
        }
    }
}

/// The amount Stripe expects for `money`: ISO 4217 minor units, except for the Icelandic
/// króna, which Stripe keeps as a two-decimal currency (an amount of 100 is 1 ISK) although
/// ISO gives it no minor unit.
fn stripe_amount(money: Money) -> i64 {
    match money.currency() {
        Currency::Isk => money.minor().saturating_mul(100),
        _ => money.minor(),
    }
}

/// The form of `POST /v1/payment_intents` charging a saved card off-session.
fn charge_form(request: &ChargeRequest<'_>, token: &StripeToken) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("amount", stripe_amount(request.amount).to_string()),
        (
            "currency",
            request.amount.currency().code().to_ascii_lowercase(),
        ),
    ];
    if let Some(customer) = &token.customer {
        form.push(("customer", customer.clone()));
    }
    form.extend([
        ("payment_method", token.payment_method.clone()),
        ("confirm", "true".to_owned()),
        ("off_session", "true".to_owned()),
        (KEY_METADATA, request.idempotency_key.to_owned()),
    ]);
    form
}

/// The form of `POST /v1/refunds` refunding part of a PaymentIntent.
fn refund_form(request: &RefundRequest<'_>) -> Vec<(&'static str, String)> {
    vec![
        ("payment_intent", request.charge_reference.to_owned()),
        ("amount", stripe_amount(request.amount).to_string()),
        (KEY_METADATA, request.idempotency_key.to_owned()),
    ]
}

/// What a request was for: the same Stripe error means different things to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    /// Reading or saving a card.
    Card,
    /// Charging a card.
    Charge,
    /// Refunding a charge.
    Refund,
}

/// Stripe's error object (`{"error": {…}}`).
#[derive(Debug, Default, Clone, Deserialize)]
struct ApiError {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    decline_code: Option<String>,
    param: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ApiError,
}

/// The refusal a card decline stands for, by its `decline_code`, then its `code`.
fn decline(error: &ApiError) -> GatewayError {
    [error.decline_code.as_deref(), error.code.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|code| match code {
            "insufficient_funds" => Some(GatewayError::InsufficientFunds),
            "expired_card" => Some(GatewayError::ExpiredCard),
            "authentication_required" => Some(GatewayError::AuthenticationRequired),
            "processing_error" => Some(GatewayError::ProcessingError),
            _ => None,
        })
        .unwrap_or(GatewayError::CardDeclined)
}

/// What an error answer of Stripe means for paylater.
fn classify(operation: Operation, status: u16, error: &ApiError) -> GatewayError {
    let kind = error.kind.as_deref().unwrap_or_default();
    match status {
        // Not executed, or not known to be: the same key is sent again later.
        401 | 403 | 409 | 429 | 500..=599 => GatewayError::NoAnswer,
        400..=499 if kind == "idempotency_error" => GatewayError::ProcessingError,
        400..=499 => match operation {
            Operation::Refund => GatewayError::InvalidRefund,
            _ if kind == "card_error" || status == 402 => decline(error),
            Operation::Card => GatewayError::UnknownToken,
            Operation::Charge
                if error.code.as_deref() == Some("resource_missing")
                    && matches!(error.param.as_deref(), Some("payment_method" | "customer")) =>
            {
                GatewayError::UnknownToken
            }
            Operation::Charge => GatewayError::CardDeclined,
        },
        // Anything else (a redirect, say) is not Stripe answering this key.
        _ => GatewayError::NoAnswer,
    }
}

/// Logs an error answer at the level its meaning calls for; never with the card's ids or
/// Stripe's message, which may quote them.
fn log_refusal(operation: Operation, status: u16, error: &ApiError, outcome: GatewayError) {
    let (kind, code) = (
        error.kind.as_deref().unwrap_or_default(),
        error.code.as_deref().unwrap_or_default(),
    );
    let decline_code = error.decline_code.as_deref().unwrap_or_default();
    match status {
        401 | 403 => tracing::error!(
            ?operation,
            status,
            kind,
            code,
            "Stripe refused the request's credentials: check the Stripe secret key"
        ),
        _ if kind == "idempotency_error" => tracing::error!(
            ?operation,
            status,
            code,
            "Stripe saw an idempotency key again with other parameters: paylater sent two requests under one key"
        ),
        _ if outcome == GatewayError::NoAnswer => tracing::warn!(
            ?operation,
            status,
            kind,
            code,
            "Stripe did not carry the request out; it will be sent again under the same key"
        ),
        _ => tracing::info!(
            ?operation,
            status,
            kind,
            code,
            decline_code,
            outcome = outcome.code(),
            "Stripe refused the request"
        ),
    }
}

#[derive(Debug, Deserialize)]
struct StripeCard {
    brand: String,
    last4: String,
    exp_month: i32,
    exp_year: i32,
    fingerprint: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PaymentMethod {
    id: String,
    customer: Option<String>,
    card: Option<StripeCard>,
}

#[derive(Debug, Deserialize)]
struct Customer {
    id: String,
}

#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    status: String,
    last_payment_error: Option<ApiError>,
}

#[derive(Debug, Deserialize)]
struct Refund {
    id: String,
    status: Option<String>,
}

fn brand(name: &str) -> CardBrand {
    match name {
        "visa" => CardBrand::Visa,
        "mastercard" => CardBrand::Mastercard,
        "amex" => CardBrand::Amex,
        _ => CardBrand::Other,
    }
}

impl PaymentMethod {
    fn details(self) -> Result<CardDetails, GatewayError> {
        // A PaymentMethod of another kind (a bank debit, say) is not a card paylater takes.
        let card = self.card.ok_or(GatewayError::UnknownToken)?;
        Ok(CardDetails {
            brand: brand(&card.brand),
            last4: card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            // Without a fingerprint the card can only be told apart by its own id.
            fingerprint: card.fingerprint.unwrap_or(self.id),
        })
    }
}

/// Why a PaymentIntent that did not succeed failed.
fn intent_failure(intent: &PaymentIntent) -> GatewayError {
    match (intent.status.as_str(), &intent.last_payment_error) {
        ("requires_action", _) => GatewayError::AuthenticationRequired,
        (_, Some(error)) => decline(error),
        _ => GatewayError::CardDeclined,
    }
}

impl StripeGateway {
    /// A gateway calling the Stripe account `settings` names.
    pub fn new(settings: StripeSettings) -> Self {
        Self {
            settings,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, GatewayError> {
        self.client
            .get_or_init(|| {
                crate::tls::install_provider();
                reqwest::Client::builder()
                    .timeout(self.settings.timeout)
                    .connect_timeout(self.settings.timeout)
                    .redirect(redirect::Policy::none())
                    .user_agent(concat!("paylater/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|err| {
                        tracing::error!(error = %err, "cannot build the Stripe client");
                        err.to_string()
                    })
            })
            .as_ref()
            .map_err(|_| GatewayError::NoAnswer)
    }

    /// Sends one request and reads its answer: the parsed object, or what Stripe's error
    /// (or its silence) means for `operation`.
    async fn call<T: DeserializeOwned>(
        &self,
        operation: Operation,
        method: Method,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> Result<T, GatewayError> {
        let client = self.client()?;
        let url = format!("{}{path}", self.settings.api_base.trim_end_matches('/'));
        tracing::debug!(%method, path, "calling Stripe");
        let mut request = client
            .request(method.clone(), url)
            .bearer_auth(self.settings.secret_key.expose_secret())
            .header("Stripe-Version", STRIPE_VERSION);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if method == Method::POST {
            let body = serde_urlencoded::to_string(form).map_err(|err| {
                tracing::error!(error = %err, "cannot encode a Stripe request");
                GatewayError::ProcessingError
            })?;
            request = request
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )
                .body(body);
        }
        let lost = |err: reqwest::Error| {
            let timeout = err.is_timeout();
            // Without the URL: it holds the card's ids.
            let err = err.without_url();
            let mut cause: &dyn std::error::Error = &err;
            while let Some(next) = cause.source() {
                cause = next;
            }
            tracing::warn!(?operation, timeout, error = %err, cause = %cause, "no answer from Stripe");
            GatewayError::NoAnswer
        };
        let response = request.send().await.map_err(lost)?;
        let status = response.status();
        let body = response.bytes().await.map_err(lost)?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|err| {
                tracing::error!(?operation, status = status.as_u16(), error = %err, "Stripe answered what this adapter cannot read");
                GatewayError::NoAnswer
            });
        }
        let error = serde_json::from_slice::<ErrorBody>(&body)
            .map(|body| body.error)
            .unwrap_or_default();
        let outcome = classify(operation, status.as_u16(), &error);
        log_refusal(operation, status.as_u16(), &error, outcome);
        Err(outcome)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        operation: Operation,
        path: &str,
    ) -> Result<T, GatewayError> {
        self.call(operation, Method::GET, path, &[], None).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        operation: Operation,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: &str,
    ) -> Result<T, GatewayError> {
        self.call(operation, Method::POST, path, form, Some(idempotency_key))
            .await
    }

    async fn payment_method(&self, token: &StripeToken) -> Result<PaymentMethod, GatewayError> {
        self.get(
            Operation::Card,
            &format!("/v1/payment_methods/{}", token.payment_method),
        )
        .await
    }

    fn parse_token(token: &str) -> Result<StripeToken, GatewayError> {
        StripeToken::parse(token).ok_or_else(|| {
            tracing::debug!(token, "not a Stripe PaymentMethod token");
            GatewayError::UnknownToken
        })
    }
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn card(&self, token: &str) -> Result<CardDetails, GatewayError> {
        let token = Self::parse_token(token)?;
        self.payment_method(&token).await?.details()
    }

    async fn save_card(&self, token: &str, idempotency_key: &str) -> Result<String, GatewayError> {
        let token = Self::parse_token(token)?;
        if token.customer.is_some() {
            return Ok(token.to_string());
        }
        let method = self.payment_method(&token).await?;
        let customer = match method.customer {
            // Attached already (an earlier save whose answer was lost, say).
            Some(customer) if is_id(&customer, "cus_") => customer,
            _ => {
                let created: Customer = self
                    .post(
                        Operation::Card,
                        "/v1/customers",
                        &[(KEY_METADATA, idempotency_key.to_owned())],
                        &format!("{idempotency_key}:customer"),
                    )
                    .await?;
                if !is_id(&created.id, "cus_") {
                    tracing::error!("Stripe answered a customer without a customer id");
                    return Err(GatewayError::NoAnswer);
                }
                let _attached: PaymentMethod = self
                    .post(
                        Operation::Card,
                        &format!("/v1/payment_methods/{}/attach", token.payment_method),
                        &[("customer", created.id.clone())],
                        &format!("{idempotency_key}:attach"),
                    )
                    .await?;
                created.id
            }
        };
        Ok(StripeToken {
            customer: Some(customer),
            payment_method: token.payment_method,
        }
        .to_string())
    }

    async fn charge(&self, request: ChargeRequest<'_>) -> Result<GatewayReceipt, GatewayError> {
        let token = Self::parse_token(request.token)?;
        let form = charge_form(&request, &token);
        let intent: PaymentIntent = self
            .post(
                Operation::Charge,
                "/v1/payment_intents",
                &form,
                request.idempotency_key,
            )
            .await?;
        let intent = if intent.status == "processing" && is_id(&intent.id, "pi_") {
            // The card network has not answered yet: look once more, then leave it to a
            // later resend of the same key.
            self.get(
                Operation::Charge,
                &format!("/v1/payment_intents/{}", intent.id),
            )
            .await?
        } else {
            intent
        };
        match intent.status.as_str() {
            "succeeded" => Ok(GatewayReceipt {
                reference: intent.id,
            }),
            "processing" => Err(GatewayError::NoAnswer),
            status => {
                let refusal = intent_failure(&intent);
                tracing::info!(status, outcome = refusal.code(), "Stripe did not charge");
                Err(refusal)
            }
        }
    }

    async fn refund(&self, request: RefundRequest<'_>) -> Result<GatewayReceipt, GatewayError> {
        if !is_id(request.charge_reference, "pi_") {
            // Not a charge made through Stripe.
            return Err(GatewayError::InvalidRefund);
        }
        let refund: Refund = self
            .post(
                Operation::Refund,
                "/v1/refunds",
                &refund_form(&request),
                request.idempotency_key,
            )
            .await?;
        match refund.status.as_deref() {
            Some("failed" | "canceled") => {
                tracing::info!(status = ?refund.status, "Stripe did not refund");
                Err(GatewayError::InvalidRefund)
            }
            // Succeeded, or pending: Stripe has taken the refund on and owns it now.
            _ => Ok(GatewayReceipt {
                reference: refund.id,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: &str, code: Option<&str>, decline_code: Option<&str>) -> ApiError {
        ApiError {
            kind: Some(kind.to_owned()),
            code: code.map(str::to_owned),
            decline_code: decline_code.map(str::to_owned),
            param: None,
        }
    }

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::Eur)
    }

    #[test]
    fn tokens_hold_a_payment_method_and_once_saved_its_customer() {
        let fresh = StripeToken::parse("pm_1Abc").unwrap();
        assert_eq!(fresh.customer, None);
        assert_eq!(fresh.to_string(), "pm_1Abc");
        let saved = StripeToken::parse(" cus_9Z:pm_1Abc ").unwrap();
        assert_eq!(saved.customer.as_deref(), Some("cus_9Z"));
        assert_eq!(saved.payment_method, "pm_1Abc");
        assert_eq!(saved.to_string(), "cus_9Z:pm_1Abc");
        for bad in [
            "",
            "pm_",
            "tok_sandbox_ok_visa4242022027_ffff",
            "pm_1/../../customers",
            "pm_1?expand=x",
            "cus_1:",
            "x_1:pm_1",
            "cus_1:pm_1:pm_2",
            "cus_1:card_1",
        ] {
            assert_eq!(StripeToken::parse(bad), None, "{bad}");
        }
        assert!(StripeToken::parse(&format!("pm_{}", "a".repeat(300))).is_none());
    }

    #[test]
    fn the_charge_form_is_minor_units_a_lowercase_currency_and_off_session() {
        let token = StripeToken::parse("cus_1:pm_2").unwrap();
        let request = ChargeRequest {
            token: "cus_1:pm_2",
            amount: eur(2834),
            idempotency_key: "confirm:k",
        };
        let form = charge_form(&request, &token);
        assert_eq!(
            serde_urlencoded::to_string(&form).unwrap(),
            "amount=2834&currency=eur&customer=cus_1&payment_method=pm_2&confirm=true\
             &off_session=true&metadata%5Bpaylater_idempotency_key%5D=confirm%3Ak"
        );
        let refund = refund_form(&RefundRequest {
            charge_reference: "pi_3",
            amount: eur(100),
            idempotency_key: "refund:r",
        });
        assert_eq!(
            serde_urlencoded::to_string(&refund).unwrap(),
            "payment_intent=pi_3&amount=100&metadata%5Bpaylater_idempotency_key%5D=refund%3Ar"
        );
    }

    #[test]
    fn icelandic_kronur_are_two_decimal_at_stripe() {
        assert_eq!(stripe_amount(Money::new(5, Currency::Isk)), 500);
        assert_eq!(stripe_amount(Money::new(5, Currency::Huf)), 5);
        assert_eq!(stripe_amount(eur(1999)), 1999);
    }

    #[test]
    fn declines_map_by_decline_code_then_code() {
        let card = |code, decline_code| decline(&error("card_error", code, decline_code));
        assert_eq!(
            card(Some("card_declined"), Some("insufficient_funds")),
            GatewayError::InsufficientFunds
        );
        assert_eq!(card(Some("expired_card"), None), GatewayError::ExpiredCard);
        assert_eq!(
            card(Some("card_declined"), Some("expired_card")),
            GatewayError::ExpiredCard
        );
        assert_eq!(
            card(
                Some("authentication_required"),
                Some("authentication_required")
            ),
            GatewayError::AuthenticationRequired
        );
        assert_eq!(
            card(Some("processing_error"), None),
            GatewayError::ProcessingError
        );
        for other in ["generic_decline", "do_not_honor", "fraudulent", "lost_card"] {
            assert_eq!(
                card(Some("card_declined"), Some(other)),
                GatewayError::CardDeclined
            );
        }
        assert_eq!(card(None, None), GatewayError::CardDeclined);
    }

    #[test]
    fn only_answers_from_stripe_executing_the_key_are_definitive() {
        let any = ApiError::default();
        for operation in [Operation::Card, Operation::Charge, Operation::Refund] {
            for status in [401, 403, 409, 429, 500, 502, 503, 504, 302] {
                assert_eq!(
                    classify(operation, status, &any),
                    GatewayError::NoAnswer,
                    "{operation:?} {status}"
                );
            }
            assert_eq!(
                classify(
                    operation,
                    400,
                    &error("idempotency_error", Some("idempotency_key_in_use"), None)
                ),
                GatewayError::ProcessingError
            );
            // A 409 is the key in flight, whatever its type says.
            assert_eq!(
                classify(operation, 409, &error("idempotency_error", None, None)),
                GatewayError::NoAnswer
            );
        }
    }

    #[test]
    fn refusals_map_by_operation() {
        let invalid = |code: Option<&str>, param: Option<&str>| ApiError {
            param: param.map(str::to_owned),
            ..error("invalid_request_error", code, None)
        };
        let missing_method = invalid(Some("resource_missing"), Some("payment_method"));
        assert_eq!(
            classify(Operation::Charge, 400, &missing_method),
            GatewayError::UnknownToken
        );
        assert_eq!(
            classify(
                Operation::Charge,
                400,
                &invalid(Some("resource_missing"), Some("customer"))
            ),
            GatewayError::UnknownToken
        );
        assert_eq!(
            classify(
                Operation::Charge,
                400,
                &invalid(Some("parameter_invalid_integer"), Some("amount"))
            ),
            GatewayError::CardDeclined
        );
        assert_eq!(
            classify(
                Operation::Charge,
                402,
                &error(
                    "card_error",
                    Some("card_declined"),
                    Some("insufficient_funds")
                )
            ),
            GatewayError::InsufficientFunds
        );
        assert_eq!(
            classify(Operation::Card, 404, &missing_method),
            GatewayError::UnknownToken
        );
        assert_eq!(
            classify(
                Operation::Card,
                402,
                &error("card_error", Some("card_declined"), Some("generic_decline"))
            ),
            GatewayError::CardDeclined
        );
        for code in [
            "charge_already_refunded",
            "amount_too_large",
            "resource_missing",
        ] {
            assert_eq!(
                classify(Operation::Refund, 400, &invalid(Some(code), None)),
                GatewayError::InvalidRefund,
                "{code}"
            );
        }
    }

    #[test]
    fn a_failed_intent_says_why() {
        let intent = |status: &str, error: Option<ApiError>| PaymentIntent {
            id: "pi_1".into(),
            status: status.into(),
            last_payment_error: error,
        };
        assert_eq!(
            intent_failure(&intent("requires_action", None)),
            GatewayError::AuthenticationRequired
        );
        assert_eq!(
            intent_failure(&intent(
                "requires_payment_method",
                Some(error(
                    "card_error",
                    Some("card_declined"),
                    Some("insufficient_funds")
                ))
            )),
            GatewayError::InsufficientFunds
        );
        assert_eq!(
            intent_failure(&intent("canceled", None)),
            GatewayError::CardDeclined
        );
    }

    #[test]
    fn brands_and_missing_fingerprints() {
        let method = PaymentMethod {
            id: "pm_7".into(),
            customer: None,
            card: Some(StripeCard {
                brand: "amex".into(),
                last4: "0005".into(),
                exp_month: 4,
                exp_year: 2031,
                fingerprint: None,
            }),
        };
        let details = method.details().unwrap();
        assert_eq!(details.brand, CardBrand::Amex);
        assert_eq!(details.fingerprint, "pm_7");
        assert_eq!(brand("visa"), CardBrand::Visa);
        assert_eq!(brand("mastercard"), CardBrand::Mastercard);
        assert_eq!(brand("unionpay"), CardBrand::Other);
        let not_a_card = PaymentMethod {
            id: "pm_8".into(),
            customer: None,
            card: None,
        };
        assert_eq!(not_a_card.details(), Err(GatewayError::UnknownToken));
    }

    #[test]
    fn the_secret_key_never_prints() {
        let gateway = StripeGateway::new(StripeSettings {
            secret_key: "sk_test_never_printed".into(),
            api_base: "https://api.stripe.com".into(),
            timeout: Duration::from_secs(10),
        });
        assert!(!format!("{gateway:?}").contains("never_printed"));
    }
}
