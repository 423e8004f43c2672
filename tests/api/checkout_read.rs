//! Reading checkouts: by token (anyone), by `node(id:)` (the owner only), expiry, and the
//! public `installmentPlans` widget query.

use serde_json::{Value, json};

use crate::helpers::{CHECKOUT_FIELDS, TestApp, checkout_input, create_checkout, error_codes};

fn by_token() -> String {
    format!("query($token: String!) {{ checkout(token: $token) {{ {CHECKOUT_FIELDS} }} }}")
}

#[tokio::test]
async fn anyone_with_the_token_reads_the_checkout() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let token = created["checkoutToken"].as_str().unwrap();

    let body = app.gql(None, &by_token(), json!({ "token": token })).await;
    assert_eq!(body["data"]["checkout"], created["checkout"], "{body}");

    let body = app
        .gql(None, &by_token(), json!({ "token": "ct_unknown" }))
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    assert_eq!(body["data"], Value::Null);
}

#[tokio::test]
async fn an_open_checkout_reads_as_expired_after_its_expiry() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let token = created["checkoutToken"].as_str().unwrap();
    let read = || async {
        let query = "query($t: String!) { checkout(token: $t) { status availablePlans { plan } } }";
        app.gql(None, query, json!({ "t": token })).await["data"]["checkout"].clone()
    };
    app.clock.advance(chrono::Duration::minutes(59));
    let open = read().await;
    assert_eq!(open["status"], "OPEN");
    assert_eq!(open["availablePlans"].as_array().unwrap().len(), 2);
    app.clock.advance(chrono::Duration::minutes(1));
    // Nothing can be chosen on an expired checkout.
    assert_eq!(
        read().await,
        json!({ "status": "EXPIRED", "availablePlans": [] })
    );
}

#[tokio::test]
async fn node_returns_checkouts_and_merchants_to_their_owner_only() {
    let app = TestApp::spawn().await;
    let owner = app.merchant("Owner").await;
    let stranger = app.merchant("Stranger").await;
    let created = create_checkout(&app, &owner, checkout_input("order-1")).await;
    let id = created["checkout"]["id"].as_str().unwrap();
    let query = "query($id: ID!) { node(id: $id) { id ... on Checkout { merchantReference } ... on Merchant { name } } }";

    let body = app.gql(Some(&owner.key), query, json!({ "id": id })).await;
    assert_eq!(
        body["data"]["node"],
        json!({ "id": id, "merchantReference": "order-1" })
    );
    let body = app
        .gql(Some(&owner.key), query, json!({ "id": owner.id }))
        .await;
    assert_eq!(
        body["data"]["node"],
        json!({ "id": owner.id, "name": "Owner" })
    );

    for (key, id) in [
        (Some(stranger.key.as_str()), id),
        (None, id),
        (Some(stranger.key.as_str()), owner.id.as_str()),
    ] {
        let body = app.gql(key, query, json!({ "id": id })).await;
        assert_eq!(error_codes(&body), ["NOT_FOUND"], "{body}");
        assert_eq!(body["data"], Value::Null);
    }

    let body = app
        .gql(Some(&owner.key), query, json!({ "id": "not-an-id" }))
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);

    let nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
    let body = app
        .gql(
            Some(&stranger.key),
            nodes,
            json!({ "ids": [stranger.id, id] }),
        )
        .await;
    assert_eq!(body["data"]["nodes"], json!([{ "id": stranger.id }, null]));
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    assert_eq!(body["errors"][0]["path"], json!(["nodes", 1]));
}

#[tokio::test]
async fn installment_plans_preview_for_product_pages() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let query = "query($amount: MoneyInput!, $merchant: ID!) { installmentPlans(amount: $amount, merchantId: $merchant) {
        plan installmentCount total { amount } installments { sequence dueDate amount { minorUnits } } } }";
    let app = &app;
    let plans = |amount: &str, currency: &str, merchant_id: &str| {
        let variables = json!({ "amount": { "amount": amount, "currencyCode": currency }, "merchant": merchant_id });
        async move { app.gql(None, query, variables).await }
    };

    let body = plans("1000.01", "EUR", &merchant.id).await;
    let found = body["data"]["installmentPlans"].as_array().unwrap();
    let codes: Vec<&str> = found.iter().map(|p| p["plan"].as_str().unwrap()).collect();
    // 1000.01 is above PAY_IN_30_DAYS' maximum of 1000.00.
    assert_eq!(codes, ["PAY_IN_3", "PAY_IN_4"]);
    let pay_in_4: Vec<i64> = found[1]["installments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount"]["minorUnits"].as_i64().unwrap())
        .collect();
    assert_eq!(pay_in_4, [25_001, 25_000, 25_000, 25_000]);
    let dates: Vec<&str> = found[1]["installments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dueDate"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]
    );

    assert_eq!(
        plans("5.00", "EUR", &merchant.id).await["data"]["installmentPlans"],
        json!([])
    );
    assert_eq!(
        plans("100.00", "SEK", &merchant.id).await["data"]["installmentPlans"],
        json!([])
    );
    assert_eq!(
        error_codes(&plans("1.001", "EUR", &merchant.id).await),
        ["BAD_USER_INPUT"]
    );
    assert_eq!(
        error_codes(&plans("-5", "EUR", &merchant.id).await),
        ["BAD_USER_INPUT"]
    );
    let unknown = paylater::graphql::ids::encode(
        paylater::graphql::ids::NodeKind::Merchant,
        uuid::Uuid::now_v7(),
    )
    .0;
    assert_eq!(
        error_codes(&plans("100.00", "EUR", &unknown).await),
        ["NOT_FOUND"]
    );
}
