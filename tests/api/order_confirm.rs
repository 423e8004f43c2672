//! `confirmCheckout`: a checkout becomes an order once, whatever the retries, races and
//! declines; refusals leave the checkout open and change nothing.

use chrono::Duration;
use entity::{consumer, order, payment};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, checkout_input, create_checkout, error_codes},
    payment_methods::{add_card, consumer as login_consumer},
};

const CONFIRM: &str = "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) {
    order { id status merchantReference total { amount } capturedAmount { amount }
      installments { sequence dueDate amount { amount } status paidAt } merchant { name } }
    redirectUrl userErrors { field code message } } }";

/// A merchant's checkout and a consumer with a card, ready to confirm.
struct Ready {
    app: TestApp,
    token: String,
    consumer: String,
    card: String,
}

async fn ready(card_number: &str) -> Ready {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let token = created["checkoutToken"].as_str().unwrap().to_owned();
    let consumer = login_consumer(&app, "ada@example.com").await;
    let card = add_card(&app, &consumer, card_number).await;
    Ready {
        app,
        token,
        consumer,
        card,
    }
}

impl Ready {
    async fn confirm(&self, plan: &str, key: &str) -> Value {
        self.app
            .gql(
                Some(&self.consumer),
                CONFIRM,
                json!({ "i": { "token": self.token, "plan": plan, "paymentMethodId": self.card, "idempotencyKey": key } }),
            )
            .await
    }

    async fn checkout_status(&self) -> Value {
        self.app
            .gql(
                None,
                "query($t: String!) { checkout(token: $t) { status } }",
                json!({ "t": self.token }),
            )
            .await["data"]["checkout"]["status"]
            .clone()
    }

    async fn orders(&self) -> u64 {
        order::Entity::find().count(&self.app.db).await.unwrap()
    }
}

fn codes(body: &Value) -> Vec<String> {
    body["data"]["confirmCheckout"]["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn confirming_charges_the_first_instalment_and_completes_the_checkout() {
    let ready = ready("4242424242424242").await;
    let body = ready.confirm("PAY_IN_3", "k-1").await;
    let payload = &body["data"]["confirmCheckout"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    assert_eq!(payload["redirectUrl"], "https://shop.example/ok");
    let order = &payload["order"];
    assert_eq!(order["status"], "AUTHORIZED");
    assert_eq!(order["merchantReference"], "o-1");
    assert_eq!(order["total"]["amount"], "85.00");
    assert_eq!(order["capturedAmount"]["amount"], "0.00");
    assert_eq!(order["merchant"]["name"], "Shop");
    // 85.00 in 3: 28.34 today, then the last day of February and March 31st.
    assert_eq!(
        order["installments"],
        json!([
            { "sequence": 1, "dueDate": "2027-01-31", "amount": { "amount": "28.34" }, "status": "PAID", "paidAt": "2027-01-31T10:00:00.000Z" },
            { "sequence": 2, "dueDate": "2027-02-28", "amount": { "amount": "28.33" }, "status": "SCHEDULED", "paidAt": null },
            { "sequence": 3, "dueDate": "2027-03-31", "amount": { "amount": "28.33" }, "status": "SCHEDULED", "paidAt": null },
        ])
    );
    assert_eq!(ready.checkout_status().await, "COMPLETED");
    let payments = payment::Entity::find().all(&ready.app.db).await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].amount_minor, 2834);
    assert!(
        payments[0]
            .gateway_reference
            .as_deref()
            .unwrap()
            .starts_with("ch_sandbox_")
    );

    // The same key replays the same order; a new key finds the checkout completed.
    let replay = ready.confirm("PAY_IN_3", "k-1").await;
    assert_eq!(
        replay["data"]["confirmCheckout"]["order"]["id"],
        order["id"]
    );
    let again = ready.confirm("PAY_IN_3", "k-2").await;
    assert_eq!(codes(&again), ["CHECKOUT_NOT_OPEN"]);
    let reused = ready.confirm("PAY_IN_30_DAYS", "k-1").await;
    assert_eq!(codes(&reused), ["IDEMPOTENCY_KEY_REUSED"]);
    assert_eq!(ready.orders().await, 1);

    // The order is the consumer's and the merchant's, nobody else's.
    let id = order["id"].as_str().unwrap();
    let node = format!("{{ node(id: \"{id}\") {{ ... on Order {{ status }} }} }}");
    let own = ready.app.gql(Some(&ready.consumer), &node, json!({})).await;
    assert_eq!(own["data"]["node"]["status"], "AUTHORIZED");
    let bob = login_consumer(&ready.app, "bob@example.com").await;
    assert_eq!(
        error_codes(&ready.app.gql(Some(&bob), &node, json!({})).await),
        ["NOT_FOUND"]
    );
    let stranger = ready.app.merchant("Other").await;
    assert_eq!(
        error_codes(&ready.app.gql(Some(&stranger.key), &node, json!({})).await),
        ["NOT_FOUND"]
    );
}

#[tokio::test]
async fn each_decline_is_a_user_error_and_leaves_the_checkout_open() {
    for (number, code) in [
        ("4000000000000002", "CARD_DECLINED"),
        ("4000000000009995", "INSUFFICIENT_FUNDS"),
        ("4000000000000069", "CARD_EXPIRED"),
    ] {
        let ready = ready(number).await;
        let body = ready.confirm("PAY_IN_3", "k").await;
        assert_eq!(codes(&body), [code], "{body}");
        assert_eq!(body["data"]["confirmCheckout"]["order"], Value::Null);
        assert_eq!(ready.checkout_status().await, "OPEN");
        assert_eq!(ready.orders().await, 0);
        // The refusal is the key's outcome: replayed, not charged again.
        assert_eq!(codes(&ready.confirm("PAY_IN_3", "k").await), [code]);
    }

    // A processing error passes: the same key, sent again, goes through.
    let ready = ready("4000000000000119").await;
    assert_eq!(
        codes(&ready.confirm("PAY_IN_3", "k").await),
        ["PAYMENT_PROCESSING_ERROR"]
    );
    assert_eq!(ready.checkout_status().await, "OPEN");
    let retried = ready.confirm("PAY_IN_3", "k").await;
    assert_eq!(codes(&retried), Vec::<String>::new(), "{retried}");
    assert_eq!(ready.orders().await, 1);
}

#[tokio::test]
async fn plan_checkout_and_credit_refusals() {
    let ready = ready("4242424242424242").await;
    // 85.00 is under PAY_IN_4's minimum of 100.00.
    assert_eq!(
        codes(&ready.confirm("PAY_IN_4", "a").await),
        ["PLAN_NOT_AVAILABLE"]
    );

    consumer::Entity::update_many()
        .col_expr(consumer::Column::SpendingLimitMinor, Expr::value(8_000i64))
        .exec(&ready.app.db)
        .await
        .unwrap();
    let over = ready.confirm("PAY_IN_3", "b").await;
    assert_eq!(codes(&over), ["SPENDING_LIMIT_EXCEEDED"]);
    assert!(
        over["data"]["confirmCheckout"]["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("80.00"),
        "{over}"
    );
    consumer::Entity::update_many()
        .col_expr(
            consumer::Column::SpendingLimitMinor,
            Expr::value(100_000i64),
        )
        .col_expr(
            consumer::Column::Status,
            Expr::value(paylater::domain::account::ConsumerStatus::Blocked),
        )
        .exec(&ready.app.db)
        .await
        .unwrap();
    assert_eq!(
        codes(&ready.confirm("PAY_IN_3", "c").await),
        ["ACCOUNT_NOT_IN_GOOD_STANDING"]
    );
    consumer::Entity::update_many()
        .col_expr(consumer::Column::Status, Expr::value("ACTIVE"))
        .exec(&ready.app.db)
        .await
        .unwrap();

    let empty = ready.confirm("PAY_IN_3", "").await;
    assert_eq!(codes(&empty), ["INVALID_IDEMPOTENCY_KEY"]);
    assert_eq!(ready.orders().await, 0);

    ready.app.clock.advance(Duration::minutes(61));
    // The access token outlived: log in again, then find the checkout expired.
    let consumer = login_consumer_again(&ready.app).await;
    let body = ready
        .app
        .gql(
            Some(&consumer),
            CONFIRM,
            json!({ "i": { "token": ready.token, "plan": "PAY_IN_3", "paymentMethodId": ready.card, "idempotencyKey": "d" } }),
        )
        .await;
    assert_eq!(codes(&body), ["CHECKOUT_EXPIRED"]);
    assert_eq!(ready.orders().await, 0);
}

async fn login_consumer_again(app: &TestApp) -> String {
    let login = app
        .gql(None, "mutation { login(input: { email: \"ada@example.com\", password: \"correct horse battery\" }) { session { accessToken } } }", json!({}))
        .await;
    login["data"]["login"]["session"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn twenty_simultaneous_confirmations_make_one_order() {
    let ready = ready("4242424242424242").await;
    let attempts = (0..20).map(|n| {
        let key = format!("key-{n}");
        let ready = &ready;
        async move { ready.confirm("PAY_IN_3", &key).await }
    });
    let bodies = futures_util::future::join_all(attempts).await;
    let confirmed = bodies
        .iter()
        .filter(|b| b["data"]["confirmCheckout"]["order"].is_object())
        .count();
    assert_eq!(confirmed, 1, "{bodies:#?}");
    // The others waited for the winner's payment, then found the checkout completed.
    assert!(
        bodies
            .iter()
            .filter(|b| b["data"]["confirmCheckout"]["order"].is_null())
            .all(|b| codes(b) == ["CHECKOUT_NOT_OPEN"]),
        "{bodies:#?}"
    );
    assert_eq!(ready.orders().await, 1);
    assert_eq!(
        ready.app.sandbox.movements().len(),
        1,
        "one charge at the gateway"
    );
    let charges = payment::Entity::find()
        .filter(payment::Column::Status.eq("SUCCEEDED"))
        .count(&ready.app.db)
        .await
        .unwrap();
    assert_eq!(charges, 1);
}

#[tokio::test]
async fn one_key_sent_ten_times_at_once_has_one_effect() {
    let ready = ready("4242424242424242").await;
    let attempts = (0..10).map(|_| ready.confirm("PAY_IN_3", "same-key"));
    let bodies = futures_util::future::join_all(attempts).await;
    let ids: std::collections::HashSet<String> = bodies
        .iter()
        .filter_map(|b| {
            b["data"]["confirmCheckout"]["order"]["id"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(ids.len(), 1, "{bodies:#?}");
    assert!(
        bodies
            .iter()
            .filter(|b| b["data"]["confirmCheckout"]["order"].is_null())
            // In use while the first request records its payment, pending while the
            // gateway is asked.
            .all(|b| codes(b) == ["IDEMPOTENCY_KEY_IN_USE"] || codes(b) == ["PAYMENT_PENDING"]),
        "{bodies:#?}"
    );
    assert_eq!(ready.orders().await, 1);
    // Once finished, the key replays the order.
    let replay = ready.confirm("PAY_IN_3", "same-key").await;
    assert!(
        ids.contains(
            replay["data"]["confirmCheckout"]["order"]["id"]
                .as_str()
                .unwrap()
        )
    );
}
