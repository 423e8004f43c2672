//! Random lives of orders over HTTP: after every payment, refund and job run, the order's
//! books balance (DESIGN.md's refund invariant), refunds never exceed what was captured,
//! and no instalment is both paid and cancelled.

use chrono::Duration;
use entity::{installment, order, refund};
use proptest::prelude::*;
use sea_orm::EntityTrait;
use serde_json::json;

use crate::{
    fixtures::placed_order,
    helpers::{TestApp, start_time},
};

#[derive(Debug, Clone)]
enum Step {
    /// The merchant refunds this share (per mille) of what is still refundable.
    Refund(u16),
    /// The shopper pays this instalment early.
    PayEarly(i32),
    /// The jobs run this many days after the previous run.
    RunJobs(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u16..=1000).prop_map(Step::Refund),
        (1i32..=3).prop_map(Step::PayEarly),
        (1i64..=40).prop_map(Step::RunJobs),
    ]
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
        prop_assert!(i.status != "CANCELLED" || (i.paid_at.is_none() && i.amount_minor == 0));
        prop_assert!(i.amount_minor >= 0 && i.amount_minor <= i.original_amount_minor);
    }
    Ok(())
}

async fn live(plan: &'static str, steps: Vec<Step>) -> Result<(), TestCaseError> {
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
    let mut jobs_at = start_time();
    for (n, step) in steps.into_iter().enumerate() {
        match step {
            Step::Refund(share) => {
                let row = order::Entity::find().one(&app.db).await.unwrap().unwrap();
                let refundable = row.captured_minor - row.refunded_minor;
                let amount = refundable * i64::from(share) / 1000;
                let body = app
                    .gql(
                        Some(&merchant.key),
                        "mutation($i: RefundOrderInput!) { refundOrder(input: $i) { userErrors { code } } }",
                        json!({ "i": { "id": order_id, "amount": { "amount": format!("{}.{:02}", amount / 100, amount % 100), "currencyCode": "EUR" }, "idempotencyKey": format!("r{n}") } }),
                    )
                    .await;
                prop_assert!(body["errors"].is_null(), "{}", body);
            }
            Step::PayEarly(sequence) => {
                let body = app
                    .gql(
                        Some(&shopper),
                        "mutation($i: PayInstallmentInput!) { payInstallment(input: $i) { userErrors { code } } }",
                        json!({ "i": { "orderId": order_id, "sequence": sequence, "idempotencyKey": format!("p{n}") } }),
                    )
                    .await;
                prop_assert!(body["errors"].is_null(), "{}", body);
            }
            Step::RunJobs(days) => {
                jobs_at += Duration::days(days);
                let response = app
                    .client
                    .post(format!("{}/sandbox/run-jobs", app.base))
                    .json(&json!({ "at": jobs_at }))
                    .send()
                    .await
                    .unwrap();
                prop_assert_eq!(response.status().as_u16(), 200);
            }
        }
        check_books(&app).await?;
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
