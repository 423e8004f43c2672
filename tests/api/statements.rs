//! Statement counts: relations are batched by DataLoaders, so a page costs the same number
//! of SQL statements whatever its size; read-mostly data (API keys, merchants, plan
//! settings) comes from the caches once warm, which each count's comment states.

use serde_json::json;

use crate::helpers::{TestApp, checkout_input, create_checkout};

const PAGE: &str = "query($first: Int) { merchant { name checkouts(first: $first) { totalCount
    nodes { id status total { amount } merchant { name } items { name quantity unitPrice { amount } }
            availablePlans { plan installments { dueDate amount { amount } } } } } } }";

async fn statements_for_page(app: &TestApp, key: &str, first: usize) -> usize {
    let before = app.statements();
    let body = app.gql(Some(key), PAGE, json!({ "first": first })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["merchant"]["checkouts"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        first
    );
    app.statements() - before
}

#[tokio::test]
async fn listing_fifty_checkouts_costs_a_constant_number_of_statements() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    for i in 0..50 {
        let mut input = checkout_input(&format!("ref-{i}"));
        input["items"] = json!([
            { "name": "A", "quantity": 1, "unitPrice": { "amount": "40.00", "currencyCode": "EUR" } },
            { "name": "B", "quantity": 1, "unitPrice": { "amount": "50.00", "currencyCode": "EUR" } }
        ]);
        create_checkout(&app, &merchant, input).await;
    }
    let one = statements_for_page(&app, &merchant.key, 1).await;
    let fifty = statements_for_page(&app, &merchant.key, 50).await;
    // Merchant, page, count, items; the key, merchants and plans are cached by then.
    assert_eq!(fifty, 4, "statements for 50 checkouts");
    assert_eq!(
        one, fifty,
        "the statement count must not grow with the page size"
    );
}

#[tokio::test]
async fn creating_a_checkout_is_one_transaction_of_fixed_size() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let before = app.statements();
    create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let create = app.statements() - before;
    // Key lookup; in one transaction: release an expired reference, INSERT checkout,
    // INSERT items; then the payload's merchant, items, plan settings and plans.
    // (BEGIN and COMMIT are not reported by the driver's statement callback.)
    assert_eq!(create, 8);
}

const ORDERS: &str = "query($first: Int) { merchant { orders(first: $first) { totalCount
    nodes { id status total { amount } merchant { name } customer { email } items { name quantity }
            installments { sequence status amount { amount } } payments { status amount { amount } }
            refunds { amount { amount } } } } } }";

const ME: &str = "query($first: Int) { me { email orders(first: $first) { totalCount
    nodes { id status merchant { name } items { name } installments { sequence dueDate } } }
    upcomingInstallments { sequence dueDate amount { amount } } spendingLimit { available { amount } } } }";

const CONFIRM: &str = "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) {
    order { id status installments { sequence status } } userErrors { code } } }";

/// Statements run by one request, which must succeed, and its data.
async fn measure(
    app: &TestApp,
    key: &str,
    query: &str,
    variables: serde_json::Value,
) -> (usize, serde_json::Value) {
    let before = app.statements();
    let body = app.gql(Some(key), query, variables).await;
    assert!(body["errors"].is_null(), "{body}");
    (app.statements() - before, body["data"].clone())
}

#[tokio::test]
async fn order_operations_cost_a_constant_number_of_statements() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let shopper = crate::payment_methods::consumer(&app, "ada@example.com").await;
    let card = crate::payment_methods::add_card(&app, &shopper, "4242424242424242").await;
    // Fifty open orders need more credit than a new account has.
    use sea_orm::{EntityTrait, sea_query::Expr};
    entity::consumer::Entity::update_many()
        .col_expr(
            entity::consumer::Column::SpendingLimitMinor,
            Expr::value(10_000_000i64),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let mut confirms = Vec::new();
    for i in 0..50 {
        let created = create_checkout(&app, &merchant, checkout_input(&format!("ref-{i}"))).await;
        let variables = json!({ "i": { "token": created["checkoutToken"], "plan": "PAY_IN_3", "paymentMethodId": card, "idempotencyKey": format!("k{i}") } });
        let (statements, data) = measure(&app, &shopper, CONFIRM, variables).await;
        assert_eq!(data["confirmCheckout"]["userErrors"], json!([]), "{data}");
        confirms.push(statements);
    }
    // The idempotency key's claim. Phase 1: the checkout (locked), the card, the consumer
    // (locked) and their balance, the checkout confirming, the attempt and the key waiting
    // for it. Phase 3: the checkout locked (before the attempt, as in phase 1), the attempt
    // settled, the checkout read, the order, instalments, payment,
    // checkout completed, the key's outcome, the audit entry and the two events (one
    // statement, written with the commit). Then the payload's order and instalments. The
    // merchant's plans are cached.
    assert!(confirms.iter().all(|n| *n == 20), "{confirms:?}");

    let merchant_page =
        |first: usize| measure(&app, &merchant.key, ORDERS, json!({ "first": first }));
    let (five, page) = merchant_page(5).await;
    assert_eq!(
        page["merchant"]["orders"]["nodes"][0]["installments"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (fifty, page) = merchant_page(50).await;
    assert_eq!(
        page["merchant"]["orders"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
    assert_eq!(
        page["merchant"]["orders"]["nodes"][49]["customer"]["email"],
        "ada@example.com"
    );
    // Merchant, page, count, customers, items, instalments, payments, refunds; the key and
    // the merchants are cached by then.
    assert_eq!(
        (five, fifty),
        (8, 8),
        "statements for 5 and 50 of a merchant's orders"
    );

    let me = |first: usize| measure(&app, &shopper, ME, json!({ "first": first }));
    let (five, data) = me(5).await;
    assert_eq!(data["me"]["orders"]["nodes"].as_array().unwrap().len(), 5);
    let (fifty, data) = me(50).await;
    assert_eq!(data["me"]["orders"]["nodes"].as_array().unwrap().len(), 50);
    assert_eq!(
        data["me"]["upcomingInstallments"].as_array().unwrap().len(),
        20
    );
    // Consumer, page, count, items, instalments, upcoming instalments, balance.
    assert_eq!(
        (five, fifty),
        (7, 7),
        "statements of `me` with 5 and 50 orders"
    );
}

#[tokio::test]
async fn reading_a_checkout_by_token_costs_a_constant_number_of_statements() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let mut input = checkout_input("o-1");
    input["items"] = json!(
        (0..30)
            .map(|i| json!({ "name": format!("item {i}"), "quantity": 1,
        "unitPrice": { "amount": "2.00", "currencyCode": "EUR" } }))
            .collect::<Vec<_>>()
    );
    input["total"] = json!({ "amount": "55.00", "currencyCode": "EUR" });
    let created = create_checkout(&app, &merchant, input).await;
    let query = "query($t: String!) { checkout(token: $t) { status merchant { name logoUrl }
        items { name quantity unitPrice { amount } } availablePlans { plan installments { dueDate amount { amount } } } } }";
    let variables = json!({ "t": created["checkoutToken"] });
    let before = app.statements();
    let body = app.gql(None, query, variables).await;
    assert_eq!(
        body["data"]["checkout"]["items"].as_array().unwrap().len(),
        30,
        "{body}"
    );
    // The checkout and its items; its merchant and plans are cached since its creation.
    assert_eq!(app.statements() - before, 2);
}

const DELIVERIES: &str = "query($first: Int) { merchant { webhookDeliveries(first: $first) {
    totalCount nodes { id eventType status attempts { number statusCode } } } } }";

#[tokio::test]
async fn listing_fifty_webhook_deliveries_costs_a_constant_number_of_statements() {
    use chrono::Utc;
    use entity::{webhook_attempt, webhook_delivery};
    use paylater::service::{audit::Actor, webhooks};
    use sea_orm::{EntityTrait, IntoActiveModel, prelude::ChronoUnixTimestampMillis};

    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let deps = &app.state.deps;
    let (_, merchant_id) =
        paylater::graphql::ids::decode_any(&async_graphql::ID(merchant.id.clone())).unwrap();
    let input = webhooks::EndpointInput {
        url: "https://hooks.shop.example/paylater".into(),
        event_types: vec![],
    };
    let (endpoint, _) = webhooks::set_endpoint(deps, &Actor::command_line(), merchant_id, &input)
        .await
        .unwrap();
    let at = ChronoUnixTimestampMillis(Utc::now());
    for _ in 0..50 {
        let delivery = webhook_delivery::Model {
            id: uuid::Uuid::now_v7(),
            endpoint_id: endpoint.id,
            merchant_id,
            event_id: uuid::Uuid::now_v7(),
            event_type: paylater::domain::event::EventType::OrderCaptured,
            payload: "{}".into(),
            status: paylater::domain::webhook::DeliveryStatus::Succeeded,
            attempt_count: 2,
            next_attempt_at: None,
            redelivery_requested: false,
            last_status_code: Some(200),
            last_error: None,
            created_at: at,
            updated_at: at,
            delivered_at: Some(at),
            claimed_until: None,
        };
        webhook_delivery::Entity::insert(delivery.clone().into_active_model())
            .exec_without_returning(&app.db)
            .await
            .unwrap();
        for (number, code) in [(1, 500), (2, 200)] {
            let attempt = webhook_attempt::Model {
                id: uuid::Uuid::now_v7(),
                delivery_id: delivery.id,
                number,
                started_at: at,
                duration_ms: 12,
                status_code: Some(code),
                error: (code != 200).then(|| "answered HTTP 500".into()),
                redelivery: false,
            };
            webhook_attempt::Entity::insert(attempt.into_active_model())
                .exec_without_returning(&app.db)
                .await
                .unwrap();
        }
    }
    let count = |first: usize| {
        let app = &app;
        let key = merchant.key.clone();
        async move {
            let before = app.statements();
            let body = app
                .gql(Some(&key), DELIVERIES, json!({ "first": first }))
                .await;
            let nodes = body["data"]["merchant"]["webhookDeliveries"]["nodes"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| panic!("{body}"));
            assert_eq!(nodes.len(), first);
            assert_eq!(nodes[0]["attempts"].as_array().unwrap().len(), 2);
            app.statements() - before
        }
    };
    // The first request warms the key's cache entry.
    count(5).await;
    // Merchant, page, attempts, count.
    assert_eq!((count(5).await, count(50).await), (4, 4));
}
