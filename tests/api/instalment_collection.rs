//! Whole lives of orders, walked with the sandbox test clock (`POST /sandbox/run-jobs`):
//! instalments charged when due, retries, overdue, early payment, automatic voids.

use serde_json::{Value, json};

use crate::payment_methods::{add_card, card_token};

use crate::fixtures::{PlacedOrder as Life, placed_order};

async fn confirmed() -> Life {
    placed_order("PAY_IN_3").await
}

impl Life {
    async fn run_jobs(&self, at: &str) -> Value {
        self.app.run_jobs(at).await
    }

    /// The order as its merchant sees it: status and each instalment's status.
    async fn state(&self) -> (String, Vec<String>) {
        let query = format!(
            "{{ node(id: \"{}\") {{ ... on Order {{ status installments {{ status }} }} }} }}",
            self.order
        );
        let body = self
            .app
            .gql(Some(&self.merchant.key), &query, json!({}))
            .await;
        let order = &body["data"]["node"];
        let statuses = order["installments"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|i| i["status"].as_str().unwrap().to_owned())
            .collect();
        (order["status"].as_str().unwrap().to_owned(), statuses)
    }

    async fn capture_in_full(&self) {
        let body = self
            .app
            .gql(
                Some(&self.merchant.key),
                "mutation($i: OrderActionInput!) { captureOrder(input: $i) { userErrors { code } } }",
                json!({ "i": { "id": self.order, "idempotencyKey": "capture" } }),
            )
            .await;
        assert_eq!(
            body["data"]["captureOrder"]["userErrors"],
            json!([]),
            "{body}"
        );
    }
}

fn state(order: &str, instalments: [&str; 3]) -> (String, Vec<String>) {
    (order.to_owned(), instalments.map(str::to_owned).to_vec())
}

#[tokio::test]
async fn confirm_capture_then_instalments_charged_when_due_until_completed() {
    let life = confirmed().await;
    life.capture_in_full().await;
    // Nothing is due before the 28th of February.
    let early = life.run_jobs("2027-02-27T23:00:00Z").await;
    assert_eq!(early["paidInstallments"], 0);
    let february = life.run_jobs("2027-02-28T06:00:00Z").await;
    assert_eq!(february["paidInstallments"], 1, "{february}");
    assert_eq!(
        life.state().await,
        state("CAPTURED", ["PAID", "PAID", "SCHEDULED"])
    );
    // Running again charges nothing twice.
    assert_eq!(
        life.run_jobs("2027-02-28T07:00:00Z").await["paidInstallments"],
        0
    );
    life.run_jobs("2027-03-31T06:00:00Z").await;
    assert_eq!(
        life.state().await,
        state("COMPLETED", ["PAID", "PAID", "PAID"])
    );
    // Each charge is audited as the system's, in its transaction.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let charged = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("installment.charged"))
        .all(&life.app.db)
        .await
        .unwrap();
    assert_eq!(charged.len(), 2);
    assert!(charged.iter().all(|entry| entry.actor_kind == "system"));
}

#[tokio::test]
async fn a_failing_instalment_is_retried_then_overdue_then_paid_early() {
    let life = confirmed().await;
    life.capture_in_full().await;
    // The shopper's only card now declines: add a declining card, remove the good one.
    let declining = add_card(&life.app, &life.shopper, "4000000000000002").await;
    let cards = life
        .app
        .gql(
            Some(&life.shopper),
            "{ me { paymentMethods { id last4 } } }",
            json!({}),
        )
        .await;
    let good = cards["data"]["me"]["paymentMethods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["last4"] == "4242")
        .unwrap()["id"]
        .clone();
    life.app
        .gql(Some(&life.shopper), "mutation($id: ID!) { setDefaultPaymentMethod(input: { id: $id }) { paymentMethod { id } } }", json!({ "id": declining }))
        .await;
    let removed = life
        .app
        .gql(Some(&life.shopper), "mutation($id: ID!) { removePaymentMethod(input: { id: $id }) { userErrors { code } } }", json!({ "id": good }))
        .await;
    assert_eq!(
        removed["data"]["removePaymentMethod"]["userErrors"],
        json!([]),
        "{removed}"
    );

    // Due on the 28th: fails, then retried after 1, 3 and 7 days.
    for (at, expected) in [
        ("2027-02-28T06:00:00Z", "FAILED"),
        ("2027-03-01T06:00:00Z", "FAILED"),
        ("2027-03-04T06:00:00Z", "FAILED"),
    ] {
        let report = life.run_jobs(at).await;
        assert_eq!(report["failedInstallments"], 1, "{at}: {report}");
        assert_eq!(
            life.state().await,
            state("CAPTURED", ["PAID", expected, "SCHEDULED"])
        );
    }
    // Not before the retry is due.
    assert_eq!(
        life.run_jobs("2027-03-10T06:00:00Z").await["failedInstallments"],
        0
    );
    life.run_jobs("2027-03-11T06:00:00Z").await;
    assert_eq!(
        life.state().await,
        state("OVERDUE", ["PAID", "OVERDUE", "SCHEDULED"])
    );

    // Overdue instalments are not retried by the job; the shopper pays with a new card.
    // (The test clock of the API is still January; tokenize accepts the card.)
    let token = card_token(&life.app, "5555555555554444").await;
    let added = life
        .app
        .gql(Some(&life.shopper), "mutation($t: String!) { addPaymentMethod(input: { token: $t }) { paymentMethod { id } } }", json!({ "t": token }))
        .await;
    let fresh = added["data"]["addPaymentMethod"]["paymentMethod"]["id"].clone();
    let pay = "mutation($i: PayInstallmentInput!) { payInstallment(input: $i) { order { status } userErrors { code } } }";
    let declined = life
        .app
        .gql(
            Some(&life.shopper),
            pay,
            json!({ "i": { "orderId": life.order, "sequence": 2, "idempotencyKey": "p1" } }),
        )
        .await;
    assert_eq!(
        declined["data"]["payInstallment"]["userErrors"],
        json!([{ "code": "CARD_DECLINED" }])
    );
    let paid = life
        .app
        .gql(Some(&life.shopper), pay, json!({ "i": { "orderId": life.order, "sequence": 2, "paymentMethodId": fresh, "idempotencyKey": "p2" } }))
        .await;
    assert_eq!(
        paid["data"]["payInstallment"]["order"]["status"], "CAPTURED",
        "{paid}"
    );
    assert_eq!(
        life.state().await,
        state("CAPTURED", ["PAID", "PAID", "SCHEDULED"])
    );
    let again = life
        .app
        .gql(Some(&life.shopper), pay, json!({ "i": { "orderId": life.order, "sequence": 2, "paymentMethodId": fresh, "idempotencyKey": "p3" } }))
        .await;
    assert_eq!(
        again["data"]["payInstallment"]["userErrors"],
        json!([{ "code": "INSTALLMENT_NOT_PAYABLE" }])
    );
    // The last one early too: the order completes.
    let last = life
        .app
        .gql(Some(&life.shopper), pay, json!({ "i": { "orderId": life.order, "sequence": 3, "paymentMethodId": fresh, "idempotencyKey": "p4" } }))
        .await;
    assert_eq!(
        last["data"]["payInstallment"]["order"]["status"], "COMPLETED",
        "{last}"
    );
}

#[tokio::test]
async fn an_order_not_captured_in_time_is_voided() {
    let life = confirmed().await;
    // The capture window is 7 days.
    assert_eq!(
        life.run_jobs("2027-02-07T09:59:00Z").await["voidedOrders"],
        0
    );
    let report = life.run_jobs("2027-02-07T10:00:00Z").await;
    assert_eq!(report["voidedOrders"], 1, "{report}");
    assert_eq!(
        life.state().await,
        state("CANCELLED", ["PAID", "CANCELLED", "CANCELLED"])
    );
    let query = format!(
        "{{ node(id: \"{}\") {{ ... on Order {{ refunds {{ refundedToCard {{ amount }} reason }} }} }} }}",
        life.order
    );
    let body = life
        .app
        .gql(Some(&life.merchant.key), &query, json!({}))
        .await;
    assert_eq!(
        body["data"]["node"]["refunds"],
        json!([{ "refundedToCard": { "amount": "28.34" }, "reason": "capture window closed" }])
    );
    assert_eq!(
        life.run_jobs("2027-03-01T00:00:00Z").await["voidedOrders"],
        0
    );
}

#[tokio::test]
async fn the_last_card_of_an_order_still_being_paid_cannot_be_removed() {
    let life = confirmed().await;
    let cards = life
        .app
        .gql(
            Some(&life.shopper),
            "{ me { paymentMethods { id } } }",
            json!({}),
        )
        .await;
    let card = cards["data"]["me"]["paymentMethods"][0]["id"].clone();
    let remove = "mutation($id: ID!) { removePaymentMethod(input: { id: $id }) { removedPaymentMethodId userErrors { code } } }";
    let refused = life
        .app
        .gql(Some(&life.shopper), remove, json!({ "id": card }))
        .await;
    assert_eq!(
        refused["data"]["removePaymentMethod"],
        json!({ "removedPaymentMethodId": null, "userErrors": [{ "code": "PAYMENT_METHOD_IN_USE" }] })
    );
    // Once the order is voided nothing is owed, and the card can go.
    life.run_jobs("2027-02-08T00:00:00Z").await;
    let removed = life
        .app
        .gql(Some(&life.shopper), remove, json!({ "id": card }))
        .await;
    assert_eq!(
        removed["data"]["removePaymentMethod"]["userErrors"],
        json!([]),
        "{removed}"
    );
}
