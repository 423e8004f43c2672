//! Random lives of orders over HTTP, with payments cut off by crashes, failed writes and
//! lost gateway answers: after every payment, refund and job run (and the reconciler
//! finishing what was cut off), the order's books balance (DESIGN.md's refund invariant),
//! refunds never exceed what was captured, no instalment is both paid and cancelled, and
//! the gateway moved exactly the money the books say.

use chrono::Duration;
use entity::{installment, order, payment, payment_attempt, refund};
use paylater::{
    auth::session,
    clock::Clock,
    domain::attempt::AttemptKind,
    service::attempts::{Failpoint, Failure},
};
use proptest::prelude::*;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    fixtures::placed_order,
    helpers::{TestApp, start_time},
    payment_methods::add_card,
};
use paylater::domain::order::InstallmentStatus;

/// Which card pays an early payment.
#[derive(Debug, Clone, Copy)]
enum Card {
    /// The order's card, which always pays.
    TheOrders,
    /// A card whose answer is lost after charging, once per key.
    LosesAnswerAfterCharging,
    /// A card whose request is lost before charging, once per key.
    LosesRequestBeforeCharging,
}

#[derive(Debug, Clone)]
enum Step {
    /// The merchant refunds this share (per mille) of what is still refundable.
    Refund(u16),
    /// The shopper pays this instalment early with this card.
    PayEarly(i32, Card),
    /// The jobs run this many days after the previous run.
    RunJobs(i64),
}

/// What cuts the step's payment off, if it makes one.
#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    Crash(Failpoint),
    FailedWrite,
}

fn step() -> impl Strategy<Value = (Step, Fault)> {
    let card = prop_oneof![
        2 => Just(Card::TheOrders),
        1 => Just(Card::LosesAnswerAfterCharging),
        1 => Just(Card::LosesRequestBeforeCharging),
    ];
    let step = prop_oneof![
        (1u16..=1000).prop_map(Step::Refund),
        (1i32..=3, card).prop_map(|(sequence, card)| Step::PayEarly(sequence, card)),
        (1i64..=40).prop_map(Step::RunJobs),
    ];
    let fault = prop_oneof![
        3 => Just(Fault::None),
        1 => Just(Fault::Crash(Failpoint::Recorded)),
        1 => Just(Fault::Crash(Failpoint::Answered)),
        1 => Just(Fault::FailedWrite),
    ];
    (step, fault)
}

/// The money the sandbox moved is the money the books say: charges are the successful
/// payments, refunds what went back to the card.
async fn check_gateway(app: &TestApp) -> Result<(), TestCaseError> {
    let movements = app.sandbox.movements();
    let moved = |kind: &str| -> i64 {
        movements
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.amount_minor)
            .sum()
    };
    let paid: i64 = payment::Entity::find()
        .filter(payment::Column::Status.eq("SUCCEEDED"))
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|p| p.amount_minor)
        .sum();
    let to_card: i64 = refund::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.to_shopper_minor)
        .sum();
    prop_assert_eq!(moved("charge"), paid, "{:?}", movements);
    prop_assert_eq!(moved("refund"), to_card, "{:?}", movements);
    Ok(())
}

async fn pending_attempts(app: &TestApp) -> u64 {
    payment_attempt::Entity::find()
        .filter(payment_attempt::Column::Status.eq("PENDING"))
        .count(&app.db)
        .await
        .unwrap()
}

async fn check_books(app: &TestApp) -> Result<(), TestCaseError> {
    let row = order::Entity::find().one(&app.db).await.unwrap().unwrap();
    let instalments = installment::Entity::find().all(&app.db).await.unwrap();
    let to_card: i64 = refund::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.to_shopper_minor)
        .sum();
    let sum = |statuses: &[&str]| -> i64 {
        instalments
            .iter()
            .filter(|i| statuses.contains(&i.status.as_str()))
            .map(|i| i.amount_minor)
            .sum()
    };
    let (paid, unpaid) = (sum(&["PAID"]), sum(&["SCHEDULED", "FAILED", "OVERDUE"]));
    prop_assert_eq!(
        paid - to_card + unpaid,
        row.total_minor - row.refunded_minor
    );
    prop_assert!(row.refunded_minor <= row.captured_minor);
    prop_assert!(to_card <= paid);
    for i in &instalments {
        prop_assert!(
            i.status != InstallmentStatus::Cancelled
                || (i.paid_at.is_none() && i.amount_minor == 0)
        );
        prop_assert!(i.amount_minor >= 0 && i.amount_minor <= i.original_amount_minor);
    }
    Ok(())
}

async fn live(plan: &'static str, steps: Vec<(Step, Fault)>) -> Result<(), TestCaseError> {
    let placed = placed_order(plan).await;
    let (app, merchant, shopper, order_id) =
        (placed.app, placed.merchant, placed.shopper, placed.order);
    app.gql(
        Some(&merchant.key),
        "mutation($i: OrderActionInput!) { captureOrder(input: $i) { userErrors { code } } }",
        json!({ "i": { "id": order_id, "idempotencyKey": "cap" } }),
    )
    .await;
    check_books(&app).await?;
    let lost_after = add_card(&app, &shopper, "4000000000001018").await;
    let lost_before = add_card(&app, &shopper, "4000000000001026").await;
    let principal = session::verify(&app.state.deps.keys, &shopper, app.clock.now())
        .unwrap()
        .principal;
    let failpoints = &app.state.deps.failpoints;
    let mut reached = 0;
    let mut jobs_at = start_time();
    for (n, (step, fault)) in steps.into_iter().enumerate() {
        let kind = match step {
            Step::Refund(_) => AttemptKind::Refund,
            Step::PayEarly(..) => AttemptKind::EarlyPayment,
            Step::RunJobs(_) => AttemptKind::InstallmentCharge,
        };
        match fault {
            Fault::None => {}
            Fault::Crash(point) => failpoints.arm(point, kind, Failure::Crash, 1),
            Fault::FailedWrite => {
                failpoints.arm(Failpoint::OutcomeWritten, kind, Failure::WriteFails, 1);
            }
        }
        let request = async {
            match step {
                Step::Refund(share) => {
                    let row = order::Entity::find().one(&app.db).await.unwrap().unwrap();
                    let refundable = row.captured_minor - row.refunded_minor;
                    let amount = refundable * i64::from(share) / 1000;
                    app.gql(
                        Some(&merchant.key),
                        "mutation($i: RefundOrderInput!) { refundOrder(input: $i) { userErrors { code } } }",
                        json!({ "i": { "id": order_id, "amount": { "amount": format!("{}.{:02}", amount / 100, amount % 100), "currencyCode": "EUR" }, "idempotencyKey": format!("r{n}") } }),
                    )
                    .await
                }
                Step::PayEarly(sequence, card) => {
                    let card = match card {
                        Card::TheOrders => Value::Null,
                        Card::LosesAnswerAfterCharging => json!(lost_after),
                        Card::LosesRequestBeforeCharging => json!(lost_before),
                    };
                    // A fresh access token of the session: time has passed.
                    let session = session::issue(
                        &app.state.deps.keys,
                        &principal,
                        app.clock.now(),
                        Duration::minutes(15),
                    )
                    .unwrap();
                    app.gql(
                        Some(&session),
                        "mutation($i: PayInstallmentInput!) { payInstallment(input: $i) { userErrors { code } } }",
                        json!({ "i": { "orderId": order_id, "sequence": sequence, "paymentMethodId": card, "idempotencyKey": format!("p{n}") } }),
                    )
                    .await
                }
                Step::RunJobs(days) => {
                    // Time passes for requests too.
                    jobs_at += Duration::days(days);
                    app.clock.advance(Duration::days(days));
                    json!({ "report": app.run_jobs(&jobs_at.to_rfc3339()).await })
                }
            }
        };
        // A crash stops the request where it is; its client gives up.
        let crashed = tokio::select! {
            body = request => {
                prop_assert!(body["errors"].is_null(), "{}", body);
                false
            }
            () = failpoints.wait_reached(reached + 1), if matches!(fault, Fault::Crash(_)) => true,
        };
        if crashed {
            reached += 1;
        }
        failpoints.disarm();
        check_books(&app).await?;
        // Whatever was cut off, the reconciler finishes past its age (a refund to a card
        // that loses answers loses the reconciler's first one too: it looks again later).
        for _ in 0..3 {
            if pending_attempts(&app).await == 0 {
                break;
            }
            jobs_at += Duration::minutes(61);
            app.clock.advance(Duration::minutes(61));
            app.run_jobs(&jobs_at.to_rfc3339()).await;
            check_books(&app).await?;
        }
        prop_assert_eq!(pending_attempts(&app).await, 0);
        check_gateway(&app).await?;
    }
    Ok(())
}

proptest! {
    // Each case runs a server and a database; a dozen random lives cover the moves.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_lives_keep_the_books_balanced(
        plan in prop::sample::select(vec!["PAY_IN_3", "PAY_IN_30_DAYS"]),
        steps in prop::collection::vec(step(), 1..12),
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(live(plan, steps))?;
    }
}
