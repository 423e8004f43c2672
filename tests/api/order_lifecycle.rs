//! What merchants do to orders: capture, cancel (void) and refund, with the instalments and
//! the shopper's card following the refund rules, under races and retries.

use entity::{audit_log, installment, order};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::error_codes;

use crate::fixtures::{PlacedOrder as Placed, placed_order};
use paylater::domain::order::InstallmentStatus;

async fn placed() -> Placed {
    placed_order("PAY_IN_3").await
}

const ORDER: &str = "order { status capturedAmount { amount } refundedAmount { amount }
    installments { sequence amount { amount } status } refunds { amount { amount } refundedToCard { amount } reason } }
    refund { amount { amount } refundedToCard { amount } merchantRefundReference } userErrors { field code message }";

impl Placed {
    async fn act(&self, mutation: &str, input: Value) -> Value {
        let query = format!(
            "mutation($i: {}Input!) {{ {mutation}(input: $i) {{ {ORDER} }} }}",
            input_type(mutation)
        );
        self.app
            .gql(Some(&self.merchant.key), &query, json!({ "i": input }))
            .await
    }

    pub(crate) async fn capture(&self, key: &str) -> Value {
        self.act(
            "captureOrder",
            json!({ "id": self.order, "idempotencyKey": key }),
        )
        .await
    }

    pub(crate) async fn refund(&self, amount: &str, key: &str) -> Value {
        self.act(
            "refundOrder",
            json!({ "id": self.order, "amount": { "amount": amount, "currencyCode": "EUR" }, "idempotencyKey": key, "merchantRefundReference": format!("r-{key}") }),
        )
        .await
    }

    /// paid − refunded to the card + unpaid = total − refunded, read from the database.
    pub(crate) async fn assert_ledger_balances(&self) {
        let row = order::Entity::find()
            .one(&self.app.db)
            .await
            .unwrap()
            .unwrap();
        let instalments = installment::Entity::find()
            .filter(installment::Column::OrderId.eq(row.id))
            .all(&self.app.db)
            .await
            .unwrap();
        let sum = |statuses: &[&str]| -> i64 {
            instalments
                .iter()
                .filter(|i| statuses.contains(&i.status.as_str()))
                .map(|i| i.amount_minor)
                .sum()
        };
        let to_card: i64 = entity::refund::Entity::find()
            .filter(entity::refund::Column::OrderId.eq(row.id))
            .all(&self.app.db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.to_shopper_minor)
            .sum();
        let (paid, unpaid) = (sum(&["PAID"]), sum(&["SCHEDULED", "FAILED", "OVERDUE"]));
        assert_eq!(
            paid - to_card + unpaid,
            row.total_minor - row.refunded_minor
        );
        assert!(row.refunded_minor <= row.total_minor);
        assert!(
            instalments
                .iter()
                .all(|i| i.status != InstallmentStatus::Cancelled || i.amount_minor == 0)
        );
    }
}

fn input_type(mutation: &str) -> &'static str {
    match mutation {
        "refundOrder" => "RefundOrder",
        _ => "OrderAction",
    }
}

fn payload<'a>(body: &'a Value, mutation: &str) -> &'a Value {
    &body["data"][mutation]
}

fn codes(body: &Value, mutation: &str) -> Vec<String> {
    payload(body, mutation)["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn capture_then_partial_refunds_then_full_refund() {
    let placed = placed().await;
    let captured = placed.capture("cap").await;
    let order = &payload(&captured, "captureOrder")["order"];
    assert_eq!(order["status"], "CAPTURED", "{captured}");
    assert_eq!(order["capturedAmount"]["amount"], "85.00");
    assert_eq!(
        codes(&placed.capture("cap-2").await, "captureOrder"),
        ["ORDER_NOT_AUTHORIZED"]
    );
    assert_eq!(
        payload(&placed.capture("cap").await, "captureOrder")["order"]["status"],
        "CAPTURED",
        "the same key replays"
    );

    // 30.00: the last instalment (28.33) is cancelled, the second shrinks by 1.67.
    let first = placed.refund("30.00", "r1").await;
    let body = payload(&first, "refundOrder");
    assert_eq!(body["userErrors"], json!([]), "{first}");
    assert_eq!(
        body["refund"],
        json!({ "amount": { "amount": "30.00" }, "refundedToCard": { "amount": "0.00" }, "merchantRefundReference": "r-r1" })
    );
    assert_eq!(body["order"]["status"], "CAPTURED");
    assert_eq!(body["order"]["refundedAmount"]["amount"], "30.00");
    assert_eq!(
        body["order"]["installments"],
        json!([
            { "sequence": 1, "amount": { "amount": "28.34" }, "status": "PAID" },
            { "sequence": 2, "amount": { "amount": "26.66" }, "status": "SCHEDULED" },
            { "sequence": 3, "amount": { "amount": "0.00" }, "status": "CANCELLED" },
        ])
    );
    placed.assert_ledger_balances().await;

    assert_eq!(
        codes(&placed.refund("55.01", "r2").await, "refundOrder"),
        ["REFUND_EXCEEDS_REFUNDABLE"]
    );
    // The rest: 26.66 off the second instalment, 28.34 back to the card.
    let rest = placed.refund("55.00", "r3").await;
    let body = payload(&rest, "refundOrder");
    assert_eq!(
        body["refund"]["refundedToCard"]["amount"], "28.34",
        "{rest}"
    );
    assert_eq!(body["order"]["status"], "REFUNDED");
    assert_eq!(body["order"]["refundedAmount"]["amount"], "85.00");
    assert_eq!(body["order"]["refunds"].as_array().unwrap().len(), 2);
    placed.assert_ledger_balances().await;
    assert_eq!(
        codes(&placed.refund("1.00", "r4").await, "refundOrder"),
        ["ORDER_NOT_REFUNDABLE"]
    );

    let actions: Vec<String> = audit_log::Entity::find()
        .filter(audit_log::Column::Action.starts_with("order."))
        .order_by_asc(audit_log::Column::Id)
        .all(&placed.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(
        actions,
        [
            "order.authorized",
            "order.captured",
            "order.refunded",
            "order.refunded"
        ]
    );
}

#[tokio::test]
async fn cancelling_refunds_what_was_paid_and_cancels_the_rest() {
    let placed = placed().await;
    let cancelled = placed
        .act(
            "cancelOrder",
            json!({ "id": placed.order, "reason": "out of stock", "idempotencyKey": "v" }),
        )
        .await;
    let body = payload(&cancelled, "cancelOrder");
    assert_eq!(body["userErrors"], json!([]), "{cancelled}");
    assert_eq!(body["order"]["status"], "CANCELLED");
    assert_eq!(body["refund"]["refundedToCard"]["amount"], "28.34");
    assert_eq!(body["order"]["refunds"][0]["reason"], "out of stock");
    let statuses: Vec<&str> = body["order"]["installments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PAID", "CANCELLED", "CANCELLED"]);
    placed.assert_ledger_balances().await;
    assert_eq!(
        codes(&placed.capture("late").await, "captureOrder"),
        ["ORDER_NOT_AUTHORIZED"]
    );
    // Keys are per merchant, not per operation: a new one for the refund.
    assert_eq!(
        codes(&placed.refund("1.00", "late-refund").await, "refundOrder"),
        ["ORDER_NOT_REFUNDABLE"]
    );
}

#[tokio::test]
async fn parallel_refunds_never_exceed_the_captured_amount() {
    let placed = placed().await;
    placed.capture("cap").await;
    let attempts = (0..10).map(|n| {
        let key = format!("r{n}");
        let placed = &placed;
        async move { placed.refund("20.00", &key).await }
    });
    let bodies = futures_util::future::join_all(attempts).await;
    let succeeded = bodies
        .iter()
        .filter(|b| b["data"]["refundOrder"]["refund"].is_object())
        .count();
    assert_eq!(succeeded, 4, "4 × 20.00 fit in 85.00: {bodies:#?}");
    assert!(
        bodies
            .iter()
            .filter(|b| b["data"]["refundOrder"]["refund"].is_null())
            .all(|b| codes(b, "refundOrder") == ["REFUND_EXCEEDS_REFUNDABLE"])
    );
    let row = order::Entity::find()
        .one(&placed.app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.refunded_minor, 8_000);
    placed.assert_ledger_balances().await;
}

#[tokio::test]
async fn bad_refunds_and_strangers_are_refused() {
    let placed = placed().await;
    assert_eq!(
        codes(&placed.refund("10.00", "early").await, "refundOrder"),
        ["ORDER_NOT_REFUNDABLE"]
    );
    placed.capture("cap").await;
    let query =
        format!("mutation($i: RefundOrderInput!) {{ refundOrder(input: $i) {{ {ORDER} }} }}");
    for (amount, code) in [
        (
            json!({ "amount": "10.001", "currencyCode": "EUR" }),
            "TOO_PRECISE",
        ),
        (
            json!({ "amount": "10.00", "currencyCode": "GBP" }),
            "CURRENCY_MISMATCH",
        ),
        (
            json!({ "amount": "0", "currencyCode": "EUR" }),
            "OUT_OF_RANGE",
        ),
    ] {
        let body = placed
            .app
            .gql(
                Some(&placed.merchant.key),
                &query,
                json!({ "i": { "id": placed.order, "amount": amount, "idempotencyKey": code } }),
            )
            .await;
        assert_eq!(codes(&body, "refundOrder"), [code], "{body}");
    }
    let stranger = placed.app.merchant("Other").await;
    let body = placed
        .app
        .gql(Some(&stranger.key), &query, json!({ "i": { "id": placed.order, "amount": { "amount": "1.00", "currencyCode": "EUR" }, "idempotencyKey": "s" } }))
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    placed.assert_ledger_balances().await;
    let row = order::Entity::find()
        .one(&placed.app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.refunded_minor, 0);
}
