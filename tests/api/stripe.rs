//! The Stripe gateway over real HTTP against the local fake: the exact requests it sends,
//! what each of Stripe's answers (and silences) means, and a whole order paid, captured
//! and refunded through GraphQL with Stripe as the gateway.

use std::{sync::Arc, time::Duration};

use entity::{payment, payment_attempt, payment_method, refund};
use paylater::{
    config::GatewayKind,
    domain::{
        Currency, Money,
        attempt::{AttemptKind, gateway_key},
    },
    payments::{
        ChargeRequest, GatewayError, GatewayReceipt, PaymentGateway, RefundRequest,
        stripe::{STRIPE_VERSION, StripeGateway, StripeSettings},
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::{
    fake_stripe::{FakeStripe, Fault, Request, SECRET_KEY},
    helpers::{TestApp, checkout_input, create_checkout},
    payment_methods::consumer,
};

fn gateway_at(base: &str, key: &str, timeout: Duration) -> StripeGateway {
    StripeGateway::new(StripeSettings {
        secret_key: key.into(),
        api_base: base.to_owned(),
        timeout,
    })
}

fn gateway(stripe: &FakeStripe) -> StripeGateway {
    gateway_at(&stripe.base_url(), SECRET_KEY, Duration::from_secs(10))
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::Eur)
}

async fn charge(
    gateway: &StripeGateway,
    token: &str,
    amount: Money,
    key: &str,
) -> Result<GatewayReceipt, GatewayError> {
    gateway
        .charge(ChargeRequest {
            token,
            amount,
            idempotency_key: key,
        })
        .await
}

async fn refund(
    gateway: &StripeGateway,
    reference: &str,
    minor: i64,
    key: &str,
) -> Result<GatewayReceipt, GatewayError> {
    gateway
        .refund(RefundRequest {
            charge_reference: reference,
            amount: eur(minor),
            idempotency_key: key,
        })
        .await
}

/// A card added by Stripe.js and saved by the adapter: the stored token.
async fn saved_card(stripe: &FakeStripe, gateway: &StripeGateway, key: &str) -> String {
    let pm = stripe.add_card("visa", "4242", 12, 2030, &format!("fp_{key}"));
    gateway.save_card(&pm, key).await.expect("saved")
}

fn form(request: &Request) -> Vec<(&str, &str)> {
    request
        .form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Every request carries the bearer key and the pinned version; POSTs carry the key.
fn assert_authenticated(request: &Request) {
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {SECRET_KEY}").as_str()),
        "{request:?}"
    );
    assert_eq!(request.header("stripe-version"), Some(STRIPE_VERSION));
    if request.method == "POST" {
        assert!(request.idempotency_key().is_some(), "{request:?}");
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
    } else {
        assert_eq!(request.idempotency_key(), None, "{request:?}");
    }
}

#[tokio::test]
async fn card_reads_the_payment_method_and_unknown_ones_are_unknown_tokens() {
    let stripe = FakeStripe::start().await;
    let gateway = gateway(&stripe);
    let pm = stripe.add_card("mastercard", "4444", 3, 2031, "fp_mc");
    let card = gateway.card(&pm).await.unwrap();
    assert_eq!(
        (
            card.brand.as_str(),
            card.last4.as_str(),
            card.exp_month,
            card.exp_year,
            card.fingerprint.as_str()
        ),
        ("MASTERCARD", "4444", 3, 2031, "fp_mc")
    );
    let requests = stripe.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.clone()),
        ("GET", format!("/v1/payment_methods/{pm}"))
    );
    assert!(requests[0].form.is_empty());
    assert_authenticated(&requests[0]);

    assert_eq!(
        gateway.card("pm_unknown").await,
        Err(GatewayError::UnknownToken),
        "404 resource_missing"
    );
    assert_eq!(stripe.requests().len(), 2);
    // Not a Stripe token at all (or one that would leave the path): never sent.
    for token in ["tok_sandbox_ok_visa4242022027_ffff", "pm_1/attach", ""] {
        assert_eq!(gateway.card(token).await, Err(GatewayError::UnknownToken));
    }
    assert_eq!(stripe.requests().len(), 2);
}

#[tokio::test]
async fn save_card_makes_a_customer_attaches_and_stores_both_ids() {
    let stripe = FakeStripe::start().await;
    let gateway = gateway(&stripe);
    let pm = stripe.add_card("visa", "4242", 12, 2030, "fp_1");
    let token = gateway.save_card(&pm, "payment-method:1").await.unwrap();
    let customer = stripe.customer_of(&pm).expect("attached");
    assert_eq!(token, format!("{customer}:{pm}"));

    let requests = stripe.requests();
    let summary: Vec<(&str, &str, Option<&str>)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.idempotency_key()))
        .collect();
    let attach = format!("/v1/payment_methods/{pm}/attach");
    let read = format!("/v1/payment_methods/{pm}");
    assert_eq!(
        summary,
        [
            ("GET", read.as_str(), None),
            ("POST", "/v1/customers", Some("payment-method:1:customer")),
            ("POST", attach.as_str(), Some("payment-method:1:attach")),
        ]
    );
    assert_eq!(
        form(&requests[1]),
        [("metadata[paylater_idempotency_key]", "payment-method:1")]
    );
    assert_eq!(form(&requests[2]), [("customer", customer.as_str())]);
    requests.iter().for_each(assert_authenticated);

    // A stored token is returned as it is, and still reads as its card.
    assert_eq!(gateway.save_card(&token, "again").await.unwrap(), token);
    assert_eq!(stripe.requests().len(), 3);
    assert_eq!(gateway.card(&token).await.unwrap().last4, "4242");
    // The PaymentMethod, once attached, keeps its customer.
    assert_eq!(
        gateway.save_card(&pm, "payment-method:2").await.unwrap(),
        token
    );
    assert_eq!(
        stripe
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/customers")
            .count(),
        1
    );
    assert_eq!(
        gateway.save_card("pm_gone", "payment-method:3").await,
        Err(GatewayError::UnknownToken)
    );
}

#[tokio::test]
async fn a_save_whose_attach_answer_was_lost_settles_on_the_same_customer() {
    let stripe = FakeStripe::start().await;
    let gateway = gateway(&stripe);
    let pm = stripe.add_card("visa", "4242", 12, 2030, "fp_1");
    stripe.fail("/v1/payment_methods/*/attach", 1, Fault::DropAfterEffect);
    assert_eq!(
        gateway.save_card(&pm, "payment-method:1").await,
        Err(GatewayError::NoAnswer)
    );
    let customer = stripe
        .customer_of(&pm)
        .expect("attached before the answer was lost");
    assert_eq!(
        gateway.save_card(&pm, "payment-method:1").await.unwrap(),
        format!("{customer}:{pm}")
    );
    let customers = stripe
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/customers")
        .count();
    assert_eq!(customers, 1);
}

#[tokio::test]
async fn charge_is_an_off_session_payment_intent_under_the_key() {
    let stripe = FakeStripe::start().await;
    let gateway = gateway(&stripe);
    let token = saved_card(&stripe, &gateway, "payment-method:1").await;
    let (customer, pm) = token.split_once(':').unwrap();
    let before = stripe.requests().len();

    let receipt = charge(&gateway, &token, eur(2834), "confirm:abc")
        .await
        .unwrap();
    let charges = stripe.charges();
    assert_eq!(charges.len(), 1);
    assert_eq!(receipt.reference, charges[0].id);
    assert!(receipt.reference.starts_with("pi_"));
    let requests = stripe.requests();
    assert_eq!(requests.len(), before + 1, "one request, no follow-up");
    let sent = &requests[before];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/payment_intents")
    );
    assert_eq!(
        form(sent),
        [
            ("amount", "2834"),
            ("currency", "eur"),
            ("customer", customer),
            ("payment_method", pm),
            ("confirm", "true"),
            ("off_session", "true"),
            ("metadata[paylater_idempotency_key]", "confirm:abc"),
        ]
    );
    assert_eq!(sent.idempotency_key(), Some("confirm:abc"));
    assert_authenticated(sent);

    // The same key replays the charge; the same key for another amount is a paylater bug.
    assert_eq!(
        charge(&gateway, &token, eur(2834), "confirm:abc").await,
        Ok(receipt)
    );
    assert_eq!(
        charge(&gateway, &token, eur(2835), "confirm:abc").await,
        Err(GatewayError::ProcessingError)
    );
    assert_eq!(stripe.charges().len(), 1);

    // Stripe keeps the króna two-decimal.
    charge(&gateway, &token, Money::new(5, Currency::Isk), "isk")
        .await
        .unwrap();
    let isk = stripe.charges().pop().unwrap();
    assert_eq!((isk.amount, isk.currency.as_str()), (500, "isk"));
}

#[tokio::test]
async fn charges_of_cards_stripe_does_not_know_are_refused() {
    let stripe = FakeStripe::start().await;
    let gateway = gateway(&stripe);
    let token = saved_card(&stripe, &gateway, "payment-method:1").await;
    let (customer, _) = token.split_once(':').unwrap();
    let other = saved_card(&stripe, &gateway, "payment-method:2").await;
    let (_, other_pm) = other.split_once(':').unwrap();

    for (token, expected) in [
        // 400 resource_missing on payment_method.
        (format!("{customer}:pm_gone"), GatewayError::UnknownToken),
        // 400 resource_missing on customer.
        (format!("cus_gone:{other_pm}"), GatewayError::UnknownToken),
        // 400 invalid_request_error: the card belongs to another customer.
        (format!("{customer}:{other_pm}"), GatewayError::CardDeclined),
        // Never sent.
        (
            "tok_sandbox_ok_visa4242022027_ffff".to_owned(),
            GatewayError::UnknownToken,
        ),
    ] {
        assert_eq!(
            charge(&gateway, &token, eur(100), &format!("k-{token}")).await,
            Err(expected),
            "{token}"
        );
    }
    // 400 amount_too_small: an invalid request that is not about the card.
    assert_eq!(
        charge(&gateway, &token, eur(0), "zero").await,
        Err(GatewayError::CardDeclined)
    );
    assert!(stripe.charges().is_empty());
}

#[tokio::test]
async fn declines_map_to_their_errors_and_the_key_replays_them() {
    let stripe = FakeStripe::start().await;
    let gateway = gateway(&stripe);
    let token = saved_card(&stripe, &gateway, "payment-method:1").await;
    for (decline_code, expected) in [
        ("insufficient_funds", GatewayError::InsufficientFunds),
        ("expired_card", GatewayError::ExpiredCard),
        (
            "authentication_required",
            GatewayError::AuthenticationRequired,
        ),
        ("processing_error", GatewayError::ProcessingError),
        ("generic_decline", GatewayError::CardDeclined),
        ("do_not_honor", GatewayError::CardDeclined),
        ("stolen_card", GatewayError::CardDeclined),
    ] {
        stripe.fail("/v1/payment_intents", 1, Fault::Decline(decline_code));
        let key = format!("confirm:{decline_code}");
        assert_eq!(
            charge(&gateway, &token, eur(1000), &key).await,
            Err(expected),
            "{decline_code}"
        );
        // Stripe saved the decline under the key: the resend gets it again.
        assert_eq!(
            charge(&gateway, &token, eur(1000), &key).await,
            Err(expected),
            "{decline_code} replayed"
        );
    }
    assert!(stripe.charges().is_empty());
    // A new key is a new attempt.
    assert!(
        charge(&gateway, &token, eur(1000), "confirm:new")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_processing_charge_is_looked_at_once() {
    let stripe = FakeStripe::start().await;
    let gateway = gateway(&stripe);
    let token = saved_card(&stripe, &gateway, "payment-method:1").await;

    stripe.fail(
        "/v1/payment_intents",
        1,
        Fault::Processing { then: "succeeded" },
    );
    let receipt = charge(&gateway, &token, eur(1000), "a").await.unwrap();
    let last = stripe.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.clone()),
        ("GET", format!("/v1/payment_intents/{}", receipt.reference))
    );
    assert_authenticated(&last);
    assert_eq!(stripe.charges().len(), 1);

    stripe.fail(
        "/v1/payment_intents",
        1,
        Fault::Processing { then: "processing" },
    );
    let before = stripe.requests().len();
    assert_eq!(
        charge(&gateway, &token, eur(1000), "b").await,
        Err(GatewayError::NoAnswer)
    );
    assert_eq!(stripe.requests().len(), before + 2, "a POST and one GET");
    // Resent later: Stripe replays `processing`, and the adapter looks again.
    assert_eq!(
        charge(&gateway, &token, eur(1000), "b").await,
        Err(GatewayError::NoAnswer)
    );

    stripe.fail(
        "/v1/payment_intents",
        1,
        Fault::Processing {
            then: "requires_payment_method",
        },
    );
    assert_eq!(
        charge(&gateway, &token, eur(1000), "c").await,
        Err(GatewayError::CardDeclined)
    );
    assert_eq!(stripe.charges().len(), 1);
}

#[tokio::test]
async fn answers_that_are_not_stripe_executing_the_key_are_no_answer() {
    let stripe = FakeStripe::start().await;
    let gateway = gateway(&stripe);
    let token = saved_card(&stripe, &gateway, "payment-method:1").await;
    for (n, fault) in [
        Fault::ServerError,
        Fault::RateLimited,
        Fault::Conflict,
        Fault::DropBeforeEffect,
        Fault::Error {
            status: 403,
            kind: "invalid_request_error",
            code: "secret_key_required",
        },
        Fault::Error {
            status: 401,
            kind: "invalid_request_error",
            code: "api_key_expired",
        },
        Fault::Error {
            status: 503,
            kind: "api_error",
            code: "",
        },
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("confirm:{n}");
        stripe.fail("/v1/payment_intents", 1, fault);
        assert_eq!(
            charge(&gateway, &token, eur(1000), &key).await,
            Err(GatewayError::NoAnswer),
            "{fault:?}"
        );
        assert_eq!(stripe.charges().len(), n, "{fault:?}: nothing charged");
        // The same key, resent, charges once.
        assert!(charge(&gateway, &token, eur(1000), &key).await.is_ok());
        assert_eq!(stripe.charges().len(), n + 1);
    }

    // Charged, then the answer lost: the resend answers that charge.
    stripe.fail("/v1/payment_intents", 1, Fault::DropAfterEffect);
    let charged = stripe.charges().len();
    assert_eq!(
        charge(&gateway, &token, eur(1000), "lost").await,
        Err(GatewayError::NoAnswer)
    );
    let made = stripe.charges();
    assert_eq!(
        made.len(),
        charged + 1,
        "charged before the answer was lost"
    );
    let receipt = charge(&gateway, &token, eur(1000), "lost").await.unwrap();
    assert_eq!(receipt.reference, made.last().unwrap().id);
    assert_eq!(stripe.charges().len(), charged + 1);

    // A wrong secret key (401) and a closed port are no answer either.
    let wrong = gateway_at(&stripe.base_url(), "sk_test_wrong", Duration::from_secs(10));
    assert_eq!(
        charge(&wrong, &token, eur(1000), "wrong-key").await,
        Err(GatewayError::NoAnswer)
    );
    assert_eq!(wrong.card(&token).await, Err(GatewayError::NoAnswer));
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let unreachable = gateway_at(&closed, SECRET_KEY, Duration::from_secs(10));
    assert_eq!(
        charge(&unreachable, &token, eur(1000), "closed").await,
        Err(GatewayError::NoAnswer)
    );
    assert_eq!(
        refund(&unreachable, &receipt.reference, 100, "closed").await,
        Err(GatewayError::NoAnswer)
    );
    assert_eq!(stripe.charges().len(), charged + 1);
}

#[tokio::test]
async fn a_timeout_is_no_answer_and_the_resend_charges_once() {
    let stripe = FakeStripe::start().await;
    let token = saved_card(&stripe, &gateway(&stripe), "payment-method:1").await;
    let impatient = Arc::new(gateway_at(
        &stripe.base_url(),
        SECRET_KEY,
        Duration::from_millis(200),
    ));
    stripe.hold("/v1/payment_intents");
    let call = {
        let (impatient, token) = (impatient.clone(), token.clone());
        tokio::spawn(async move { charge(&impatient, &token, eur(1000), "slow").await })
    };
    stripe.wait_for_held(1).await;
    assert_eq!(call.await.unwrap(), Err(GatewayError::NoAnswer));
    assert!(stripe.charges().is_empty());
    stripe.release();
    // The held request may still be carried out once released: let it finish.
    stripe.wait_until_idle().await;
    let receipt = charge(&gateway(&stripe), &token, eur(1000), "slow")
        .await
        .unwrap();
    let charges = stripe.charges();
    assert_eq!(charges.len(), 1, "one charge for the key");
    assert_eq!(charges[0].id, receipt.reference);
}

#[tokio::test]
async fn refunds_are_bounded_by_their_charge_and_replayed_by_key() {
    let stripe = FakeStripe::start().await;
    let gateway = gateway(&stripe);
    let token = saved_card(&stripe, &gateway, "payment-method:1").await;
    let charged = charge(&gateway, &token, eur(1000), "confirm:1")
        .await
        .unwrap();

    let first = refund(&gateway, &charged.reference, 600, "refund:1")
        .await
        .unwrap();
    assert!(first.reference.starts_with("re_"));
    let sent = stripe.requests().pop().unwrap();
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/refunds")
    );
    assert_eq!(
        form(&sent),
        [
            ("payment_intent", charged.reference.as_str()),
            ("amount", "600"),
            ("metadata[paylater_idempotency_key]", "refund:1"),
        ]
    );
    assert_eq!(sent.idempotency_key(), Some("refund:1"));
    assert_authenticated(&sent);

    assert_eq!(
        refund(&gateway, &charged.reference, 600, "refund:1").await,
        Ok(first),
        "replayed, not refunded twice"
    );
    assert_eq!(
        refund(&gateway, &charged.reference, 600, "refund:2").await,
        Err(GatewayError::InvalidRefund),
        "amount_too_large"
    );
    assert!(
        refund(&gateway, &charged.reference, 400, "refund:3")
            .await
            .is_ok()
    );
    assert_eq!(
        refund(&gateway, &charged.reference, 1, "refund:4").await,
        Err(GatewayError::InvalidRefund),
        "charge_already_refunded"
    );
    assert_eq!(
        refund(&gateway, "pi_unknown", 1, "refund:5").await,
        Err(GatewayError::InvalidRefund)
    );
    let requests = stripe.requests().len();
    assert_eq!(
        refund(&gateway, "ch_sandbox_0123", 1, "refund:6").await,
        Err(GatewayError::InvalidRefund),
        "not a Stripe charge: never sent"
    );
    assert_eq!(stripe.requests().len(), requests);
    let refunds = stripe.refunds();
    assert_eq!(
        refunds.iter().map(|r| r.amount).collect::<Vec<_>>(),
        [600, 400]
    );
    assert!(
        refunds
            .iter()
            .all(|r| r.payment_intent == charged.reference)
    );

    // A pending refund is taken on; failed and canceled ones are refusals.
    let other = charge(&gateway, &token, eur(1000), "confirm:2")
        .await
        .unwrap();
    for (status, expected) in [
        ("pending", None),
        ("failed", Some(GatewayError::InvalidRefund)),
        ("canceled", Some(GatewayError::InvalidRefund)),
    ] {
        stripe.fail("/v1/refunds", 1, Fault::RefundStatus(status));
        let outcome = refund(&gateway, &other.reference, 100, status).await;
        assert_eq!(outcome.err(), expected, "{status}");
    }
    // A lost answer and a server error are no answer; the resend refunds once.
    stripe.fail("/v1/refunds", 1, Fault::DropAfterEffect);
    assert_eq!(
        refund(&gateway, &other.reference, 100, "lost").await,
        Err(GatewayError::NoAnswer)
    );
    stripe.fail("/v1/refunds", 1, Fault::ServerError);
    assert_eq!(
        refund(&gateway, &other.reference, 100, "lost").await,
        Err(GatewayError::NoAnswer)
    );
    assert!(
        refund(&gateway, &other.reference, 100, "lost")
            .await
            .is_ok()
    );
    let lost: Vec<_> = stripe
        .refunds()
        .into_iter()
        .filter(|r| r.idempotency_key.as_deref() == Some("lost"))
        .collect();
    assert_eq!(lost.len(), 1);
}

#[tokio::test]
async fn an_order_is_paid_captured_and_refunded_through_stripe() {
    let stripe = FakeStripe::start().await;
    let base = stripe.base_url();
    let app = TestApp::spawn_with_configured_gateway(|config| {
        config.gateway.kind = Some(GatewayKind::Stripe);
        config.gateway.stripe_api_base = base;
        config.gateway.stripe_secret_key = Some(SECRET_KEY.into());
    })
    .await;
    // Every answer takes a while, as over a network; nothing waits on it.
    stripe.set_latency(Duration::from_millis(5));
    let tokenize = app
        .client
        .post(format!("{}/sandbox/tokenize", app.base))
        .json(
            &json!({ "number": "4242424242424242", "expMonth": 2, "expYear": 2030, "cvc": "123" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(tokenize.status(), 404, "no sandbox routes with Stripe");

    let merchant = app.merchant("Shop").await;
    let ada = consumer(&app, "ada@example.com").await;
    // What Stripe.js gives the checkout page.
    let pm = stripe.add_card("visa", "4242", 12, 2030, "fp_ada");
    let added = app
        .gql(
            Some(&ada),
            "mutation($t: String!) { addPaymentMethod(input: { token: $t }) {
                paymentMethod { id brand last4 expMonth expYear } userErrors { code } } }",
            json!({ "t": pm }),
        )
        .await;
    let method = &added["data"]["addPaymentMethod"]["paymentMethod"];
    assert_eq!(
        (&method["brand"], &method["last4"], &method["expYear"]),
        (&json!("VISA"), &json!("4242"), &json!(2030)),
        "{added}"
    );
    let customer = stripe
        .customer_of(&pm)
        .expect("saved for off-session charges");
    let row = payment_method::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        paylater::service::payment_methods::token(&app.state.deps, &row).unwrap(),
        format!("{customer}:{pm}"),
        "the stored token holds both ids"
    );

    let unknown = app
        .gql(
            Some(&ada),
            "mutation { addPaymentMethod(input: { token: \"pm_nobody\" }) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        unknown["data"]["addPaymentMethod"]["userErrors"],
        json!([{ "code": "INVALID_PAYMENT_TOKEN" }])
    );

    let checkout = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let confirmed = app
        .gql(
            Some(&ada),
            "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) { order { id } userErrors { code message } } }",
            json!({ "i": { "token": checkout["checkoutToken"], "plan": "PAY_IN_3",
                           "paymentMethodId": method["id"], "idempotencyKey": "o-1" } }),
        )
        .await;
    let order = confirmed["data"]["confirmCheckout"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{confirmed}"))
        .to_owned();

    let orders = |mutation: &str, input: serde_json::Value| {
        let query = format!(
            "mutation($i: {}Input!) {{ {mutation}(input: $i) {{ order {{ status refundedAmount {{ amount }} }} refund {{ refundedToCard {{ amount }} }} userErrors {{ code message }} }} }}",
            if mutation == "refundOrder" {
                "RefundOrder"
            } else {
                "OrderAction"
            }
        );
        let app = &app;
        let key = merchant.key.clone();
        async move { app.gql(Some(&key), &query, json!({ "i": input })).await }
    };
    let captured = orders(
        "captureOrder",
        json!({ "id": order, "idempotencyKey": "cap" }),
    )
    .await;
    assert_eq!(
        captured["data"]["captureOrder"]["order"]["status"], "CAPTURED",
        "{captured}"
    );
    // 60.00: 56.66 off the two unpaid instalments, 3.34 back to the card.
    let refunded = orders(
        "refundOrder",
        json!({ "id": order, "amount": { "amount": "60.00", "currencyCode": "EUR" }, "idempotencyKey": "r-1" }),
    )
    .await;
    assert_eq!(
        refunded["data"]["refundOrder"]["refund"]["refundedToCard"]["amount"], "3.34",
        "{refunded}"
    );

    let charges = stripe.charges();
    assert_eq!(charges.len(), 1, "{charges:?}");
    let charged = &charges[0];
    assert_eq!(
        (charged.amount, charged.currency.as_str()),
        (2834, "eur"),
        "the first instalment, in cents"
    );
    assert_eq!(charged.customer.as_deref(), Some(customer.as_str()));
    assert_eq!(charged.payment_method, pm);
    let charge_key = charged.idempotency_key.clone().unwrap();
    assert_eq!(
        charge_key,
        gateway_key(attempt_of(&app, AttemptKind::Confirmation).await, 0),
        "the charge is keyed by its payment attempt"
    );
    let paid = payment::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(paid.len(), 1);
    assert_eq!(
        paid[0].gateway_reference.as_deref(),
        Some(charged.id.as_str())
    );

    let refunds = stripe.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(
        (refunds[0].amount, refunds[0].payment_intent.as_str()),
        (334, charged.id.as_str())
    );
    let stored = refund::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        refunds[0].idempotency_key.as_deref(),
        Some(gateway_key(attempt_of(&app, AttemptKind::Refund).await, 0).as_str())
    );
    assert_eq!(
        stored[0].gateway_reference.as_deref(),
        Some(refunds[0].id.as_str())
    );

    // Every request was authenticated and pinned; each money POST carried its key.
    let requests = stripe.requests();
    requests.iter().for_each(assert_authenticated);
    for money in requests
        .iter()
        .filter(|r| r.path == "/v1/payment_intents" || r.path == "/v1/refunds")
    {
        assert_eq!(
            money.field("metadata[paylater_idempotency_key]"),
            money.idempotency_key(),
            "the key is also left on the object, for reconciliation"
        );
    }
    let posted: Vec<(&str, Option<&str>)> = requests
        .iter()
        .filter(|r| r.path == "/v1/payment_intents" || r.path == "/v1/refunds")
        .map(|r| (r.path.as_str(), r.idempotency_key()))
        .collect();
    assert_eq!(
        posted,
        [
            ("/v1/payment_intents", Some(charge_key.as_str())),
            ("/v1/refunds", refunds[0].idempotency_key.as_deref()),
        ]
    );
}

/// The id of the one payment attempt of `kind`, whose id keys its gateway calls.
async fn attempt_of(app: &TestApp, kind: AttemptKind) -> uuid::Uuid {
    let attempts = payment_attempt::Entity::find()
        .filter(payment_attempt::Column::Kind.eq(kind.as_str()))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    attempts[0].id
}
