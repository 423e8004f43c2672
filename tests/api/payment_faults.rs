//! Payments when the card network is slow, silent or cut off: no request holds a lock while
//! the gateway takes its time, and a payment stopped between any two of its phases (a
//! crash, a lost answer, a failed last write) is finished by the reconciler with exactly
//! one movement of money at the gateway.

use std::time::Duration;

use entity::{installment, order, payment, refund};
use paylater::{
    domain::attempt::AttemptKind,
    service::attempts::{Failpoint, Failure},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    fixtures::{PlacedOrder, Shopper, placed_order, shopper},
    helpers::{TestApp, checkout_input, create_checkout},
    payment_methods::add_card,
};

const CONFIRM: &str = "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) {
    order { id status installments { sequence status } } userErrors { field code message } } }";
const PAY: &str = "mutation($i: PayInstallmentInput!) { payInstallment(input: $i) {
    order { id installments { sequence status } } userErrors { field code message } } }";
const STATUS: &str = "query($t: String!) { checkout(token: $t) { status } }";
/// Past the reconciler's age (60 s) after the tests' start, 2027-01-31T10:00:00Z.
const RECONCILE_AT: &str = "2027-01-31T10:02:00Z";
/// How long a test waits for something that happens at once, before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

fn user_errors(body: &Value, mutation: &str) -> Vec<String> {
    body["data"][mutation]["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Lets one consumer hold many open orders.
async fn raise_spending_limits(app: &TestApp) {
    entity::consumer::Entity::update_many()
        .col_expr(
            entity::consumer::Column::SpendingLimitMinor,
            Expr::value(10_000_000i64),
        )
        .exec(&app.db)
        .await
        .unwrap();
}

async fn confirm(app: &TestApp, shopper: &Shopper, card: &str, token: &str, key: &str) -> Value {
    app.gql(
        Some(&shopper.token),
        CONFIRM,
        json!({ "i": { "token": token, "plan": "PAY_IN_3", "paymentMethodId": card, "idempotencyKey": key } }),
    )
    .await
}

async fn checkout_status(app: &TestApp, token: &str) -> Value {
    app.gql(None, STATUS, json!({ "t": token })).await["data"]["checkout"]["status"].clone()
}

/// Sends a request until the armed crash stops its payment, then gives up on it, as the
/// client of a server that died would.
async fn cut_off(app: &TestApp, request: impl Future<Output = Value>) {
    let crashed = async {
        app.state.deps.failpoints.wait_reached(1).await;
    };
    let raced = tokio::time::timeout(PATIENCE, async {
        tokio::select! {
            body = request => panic!("answered though its payment crashed: {body}"),
            () = crashed => {}
        }
    });
    raced.await.expect("the payment reached its failpoint");
}

#[tokio::test]
async fn sixteen_confirmations_are_at_the_gateway_at_once_and_hold_no_lock() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let ada = shopper(&app, "ada@example.com").await;
    raise_spending_limits(&app).await;
    let mut tokens = Vec::new();
    for n in 0..16 {
        let created = create_checkout(&app, &merchant, checkout_input(&format!("o-{n}"))).await;
        tokens.push(created["checkoutToken"].as_str().unwrap().to_owned());
    }
    app.sandbox.hold();
    let keys: Vec<String> = (0..16).map(|n| format!("k-{n}")).collect();
    let confirmations = futures_util::future::join_all(
        tokens
            .iter()
            .zip(&keys)
            .map(|(token, key)| confirm(&app, &ada, &ada.card, token, key)),
    );
    let meanwhile = async {
        app.sandbox.wait_for_in_flight(16).await;
        // Every confirmation waits at the gateway; reads and writes are answered meanwhile.
        let status = checkout_status(&app, &tokens[0]).await;
        let created = create_checkout(&app, &merchant, checkout_input("o-new")).await;
        let in_flight = app.sandbox.in_flight();
        app.sandbox.release();
        (status, created, in_flight)
    };
    let (bodies, (status, created, in_flight)) =
        tokio::time::timeout(PATIENCE, async { tokio::join!(confirmations, meanwhile) })
            .await
            .expect("sixteen confirmations reach the gateway together");
    assert_eq!(status, "CONFIRMING");
    assert!(created["checkoutToken"].is_string(), "{created}");
    assert_eq!(in_flight, 16, "answered while all sixteen were still held");
    for body in &bodies {
        assert_eq!(
            body["data"]["confirmCheckout"]["order"]["status"], "AUTHORIZED",
            "{body}"
        );
    }
    assert_eq!(app.sandbox.movements().len(), 16);
    assert_eq!(order::Entity::find().count(&app.db).await.unwrap(), 16);
}

/// How a confirmation is stopped before it can finish.
#[derive(Clone, Copy)]
enum Stop {
    /// The process dies at this point.
    Crash(Failpoint),
    /// The last write fails; the request answers.
    FailedWrite,
    /// The gateway loses its answer for this test card.
    LostAnswer(&'static str),
}

/// A confirmation stopped by `stop` is pending (the checkout confirming, the key
/// answering `PAYMENT_PENDING`), and the reconciler makes it an order with one charge.
async fn confirmation_finished_by_the_reconciler(stop: Stop) {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let ada = shopper(&app, "ada@example.com").await;
    let card = match stop {
        Stop::LostAnswer(number) => add_card(&app, &ada.token, number).await,
        _ => ada.card.clone(),
    };
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let token = created["checkoutToken"].as_str().unwrap();
    let failpoints = &app.state.deps.failpoints;
    let charged_before_reconciling = match stop {
        Stop::Crash(point) => {
            failpoints.arm(point, AttemptKind::Confirmation, Failure::Crash, 1);
            cut_off(&app, confirm(&app, &ada, &card, token, "k-1")).await;
            point == Failpoint::Answered
        }
        Stop::FailedWrite => {
            failpoints.arm(
                Failpoint::OutcomeWritten,
                AttemptKind::Confirmation,
                Failure::WriteFails,
                1,
            );
            let body = confirm(&app, &ada, &card, token, "k-1").await;
            assert_eq!(user_errors(&body, "confirmCheckout"), ["PAYMENT_PENDING"]);
            true
        }
        Stop::LostAnswer(number) => {
            let body = confirm(&app, &ada, &card, token, "k-1").await;
            assert_eq!(user_errors(&body, "confirmCheckout"), ["PAYMENT_PENDING"]);
            number == "4000000000001018"
        }
    };
    assert_eq!(
        app.sandbox.movements().len(),
        usize::from(charged_before_reconciling)
    );
    assert_eq!(checkout_status(&app, token).await, "CONFIRMING");
    let replay = confirm(&app, &ada, &card, token, "k-1").await;
    assert_eq!(user_errors(&replay, "confirmCheckout"), ["PAYMENT_PENDING"]);

    // Before the reconciler's age, nothing is asked again; after it, the payment settles.
    let early = app.run_jobs("2027-01-31T10:00:30Z").await;
    assert_eq!(early["reconciledPayments"], 0, "{early}");
    let report = app.run_jobs(RECONCILE_AT).await;
    assert_eq!(report["reconciledPayments"], 1, "{report}");
    assert_eq!(checkout_status(&app, token).await, "COMPLETED");
    let settled = confirm(&app, &ada, &card, token, "k-1").await;
    let order = &settled["data"]["confirmCheckout"]["order"];
    assert_eq!(order["status"], "AUTHORIZED", "{settled}");
    assert_eq!(order["installments"][0]["status"], "PAID");

    let movements = app.sandbox.movements();
    assert_eq!(
        movements.len(),
        1,
        "one charge at the gateway: {movements:?}"
    );
    let payments = payment::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(
        payments[0].gateway_reference.as_deref(),
        Some(movements[0].reference.as_str())
    );
    assert_eq!(payments[0].amount_minor, movements[0].amount_minor);
    assert_eq!(order::Entity::find().count(&app.db).await.unwrap(), 1);
    let again = app.run_jobs("2027-01-31T11:00:00Z").await;
    assert_eq!(again["reconciledPayments"], 0, "{again}");
    assert_eq!(app.sandbox.movements().len(), 1);
}

#[tokio::test]
async fn a_confirmation_crashed_before_asking_the_gateway_is_finished_once() {
    confirmation_finished_by_the_reconciler(Stop::Crash(Failpoint::Recorded)).await;
}

#[tokio::test]
async fn a_confirmation_crashed_after_the_charge_is_finished_once() {
    confirmation_finished_by_the_reconciler(Stop::Crash(Failpoint::Answered)).await;
}

#[tokio::test]
async fn a_confirmation_whose_outcome_cannot_be_written_is_finished_once() {
    confirmation_finished_by_the_reconciler(Stop::FailedWrite).await;
}

#[tokio::test]
async fn a_confirmation_whose_answer_is_lost_after_the_charge_is_finished_once() {
    confirmation_finished_by_the_reconciler(Stop::LostAnswer("4000000000001018")).await;
}

#[tokio::test]
async fn a_confirmation_whose_request_is_lost_before_the_charge_is_finished_once() {
    confirmation_finished_by_the_reconciler(Stop::LostAnswer("4000000000001026")).await;
}

/// The order of `placed`, captured, refunded in full with its refund stopped by `stop`:
/// the reconciler finishes the refund once, and no more can be refunded.
async fn refund_finished_by_the_reconciler(stop: Failpoint) {
    let placed: PlacedOrder = placed_order("PAY_IN_3").await;
    placed.capture("cap").await;
    let failpoints = &placed.app.state.deps.failpoints;
    if stop == Failpoint::OutcomeWritten {
        failpoints.arm(stop, AttemptKind::Refund, Failure::WriteFails, 1);
        let body = placed.refund("85.00", "r-1").await;
        assert_eq!(user_errors(&body, "refundOrder"), ["PAYMENT_PENDING"]);
    } else {
        failpoints.arm(stop, AttemptKind::Refund, Failure::Crash, 1);
        cut_off(&placed.app, placed.refund("85.00", "r-1")).await;
    }
    let replay = placed.refund("85.00", "r-1").await;
    assert_eq!(user_errors(&replay, "refundOrder"), ["PAYMENT_PENDING"]);

    let report = placed.app.run_jobs(RECONCILE_AT).await;
    assert_eq!(report["reconciledPayments"], 1, "{report}");
    let settled = placed.refund("85.00", "r-1").await;
    assert_eq!(
        settled["data"]["refundOrder"]["refund"]["refundedToCard"]["amount"], "28.34",
        "{settled}"
    );
    let more = placed.refund("0.01", "r-2").await;
    assert_eq!(
        user_errors(&more, "refundOrder"),
        ["ORDER_NOT_REFUNDABLE"],
        "refunded in full"
    );

    let refunds: Vec<_> = placed
        .app
        .sandbox
        .movements()
        .into_iter()
        .filter(|m| m.kind == "refund")
        .collect();
    assert_eq!(refunds.len(), 1, "one refund at the gateway: {refunds:?}");
    assert_eq!(refunds[0].amount_minor, 2834, "what was captured, no more");
    let stored = refund::Entity::find().all(&placed.app.db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].to_shopper_minor, 2834);
    placed.assert_ledger_balances().await;
}

#[tokio::test]
async fn a_refund_crashed_before_asking_the_gateway_is_finished_once() {
    refund_finished_by_the_reconciler(Failpoint::Recorded).await;
}

#[tokio::test]
async fn a_refund_crashed_after_the_gateway_refunded_is_finished_once() {
    refund_finished_by_the_reconciler(Failpoint::Answered).await;
}

#[tokio::test]
async fn a_refund_whose_outcome_cannot_be_written_is_finished_once() {
    refund_finished_by_the_reconciler(Failpoint::OutcomeWritten).await;
}

async fn installment_statuses(app: &TestApp) -> Vec<String> {
    let mut rows = installment::Entity::find().all(&app.db).await.unwrap();
    rows.sort_by_key(|row| row.sequence);
    rows.into_iter().map(|row| row.status.to_string()).collect()
}

/// The collection job stopped by `stop` while charging the second instalment; its next
/// run (past the reconciler's age) finishes the charge once.
async fn collection_finished_by_the_reconciler(stop: Failpoint) {
    let placed = placed_order("PAY_IN_3").await;
    placed.capture("cap").await;
    let failpoints = &placed.app.state.deps.failpoints;
    let due = "2027-02-28T06:00:00Z";
    if stop == Failpoint::OutcomeWritten {
        failpoints.arm(stop, AttemptKind::InstallmentCharge, Failure::WriteFails, 1);
        let report = placed.app.run_jobs(due).await;
        assert_eq!(report["pendingPayments"], 1, "{report}");
        assert_eq!(report["paidInstallments"], 0, "{report}");
    } else {
        failpoints.arm(stop, AttemptKind::InstallmentCharge, Failure::Crash, 1);
        let run = async { json!({ "report": placed.app.run_jobs(due).await }) };
        cut_off(&placed.app, run).await;
    }
    assert_eq!(
        installment_statuses(&placed.app).await,
        ["PAID", "SCHEDULED", "SCHEDULED"]
    );

    // Within the reconciler's age the job neither asks again nor charges anew.
    let soon = placed.app.run_jobs("2027-02-28T06:00:30Z").await;
    assert_eq!(
        (
            soon["reconciledPayments"].clone(),
            soon["paidInstallments"].clone()
        ),
        (json!(0), json!(0)),
        "{soon}"
    );
    let later = placed.app.run_jobs("2027-02-28T06:02:00Z").await;
    assert_eq!(later["reconciledPayments"], 1, "{later}");
    assert_eq!(later["paidInstallments"], 0, "{later}");
    assert_eq!(
        installment_statuses(&placed.app).await,
        ["PAID", "PAID", "SCHEDULED"]
    );
    let charges: Vec<i64> = placed
        .app
        .sandbox
        .movements()
        .iter()
        .filter(|m| m.kind == "charge")
        .map(|m| m.amount_minor)
        .collect();
    assert_eq!(
        charges,
        [2834, 2833],
        "the first instalment, then the second once"
    );
    assert_eq!(
        payment::Entity::find()
            .filter(payment::Column::Status.eq("SUCCEEDED"))
            .count(&placed.app.db)
            .await
            .unwrap(),
        2
    );
    placed.assert_ledger_balances().await;
}

#[tokio::test]
async fn a_collection_crashed_before_asking_the_gateway_is_finished_once() {
    collection_finished_by_the_reconciler(Failpoint::Recorded).await;
}

#[tokio::test]
async fn a_collection_crashed_after_the_charge_is_finished_once() {
    collection_finished_by_the_reconciler(Failpoint::Answered).await;
}

#[tokio::test]
async fn a_collection_whose_outcome_cannot_be_written_is_finished_once() {
    collection_finished_by_the_reconciler(Failpoint::OutcomeWritten).await;
}

#[tokio::test]
async fn pay_installment_retried_after_a_failed_write_charges_once() {
    let placed = placed_order("PAY_IN_3").await;
    let app = &placed.app;
    app.state.deps.failpoints.arm(
        Failpoint::OutcomeWritten,
        AttemptKind::EarlyPayment,
        Failure::WriteFails,
        1,
    );
    let pay = |key: &'static str| {
        app.gql(
            Some(&placed.shopper),
            PAY,
            json!({ "i": { "orderId": placed.order, "sequence": 2, "idempotencyKey": key } }),
        )
    };
    let first = pay("p-1").await;
    assert_eq!(user_errors(&first, "payInstallment"), ["PAYMENT_PENDING"]);
    let retried = pay("p-1").await;
    assert_eq!(user_errors(&retried, "payInstallment"), ["PAYMENT_PENDING"]);
    assert_eq!(app.sandbox.movements().len(), 2, "confirmation, then one");

    let report = app.run_jobs(RECONCILE_AT).await;
    assert_eq!(report["reconciledPayments"], 1, "{report}");
    let settled = pay("p-1").await;
    assert_eq!(
        settled["data"]["payInstallment"]["order"]["installments"][1]["status"], "PAID",
        "{settled}"
    );
    let anew = pay("p-2").await;
    assert_eq!(
        user_errors(&anew, "payInstallment"),
        ["INSTALLMENT_NOT_PAYABLE"]
    );
    let charges: Vec<i64> = app
        .sandbox
        .movements()
        .iter()
        .map(|m| m.amount_minor)
        .collect();
    assert_eq!(charges, [2834, 2833]);
    placed.assert_ledger_balances().await;
}
