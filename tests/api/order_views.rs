//! What consumers and merchants see of orders: lists with filters, the upcoming instalments
//! and the spending limit.

use serde_json::json;

use crate::{
    helpers::{TestApp, checkout_input, create_checkout, error_codes},
    payment_methods::{add_card, consumer},
};

#[tokio::test]
async fn consumers_and_merchants_see_their_orders() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let shopper = consumer(&app, "ada@example.com").await;
    let card = add_card(&app, &shopper, "4242424242424242").await;
    let mut ids = Vec::new();
    for reference in ["o-1", "o-2"] {
        let created = create_checkout(&app, &merchant, checkout_input(reference)).await;
        let body = app
            .gql(
                Some(&shopper),
                "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) { order { id } } }",
                json!({ "i": { "token": created["checkoutToken"], "plan": "PAY_IN_3", "paymentMethodId": card, "idempotencyKey": reference } }),
            )
            .await;
        ids.push(
            body["data"]["confirmCheckout"]["order"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    app.gql(
        Some(&merchant.key),
        "mutation($i: OrderActionInput!) { captureOrder(input: $i) { userErrors { code } } }",
        json!({ "i": { "id": ids[0], "idempotencyKey": "cap" } }),
    )
    .await;

    let me = app
        .gql(
            Some(&shopper),
            "{ me { orders { totalCount nodes { id merchantReference items { name } } }
                    upcomingInstallments { orderId sequence dueDate amount { amount } }
                    spendingLimit { limit { amount } outstanding { amount } available { amount } } } }",
            json!({}),
        )
        .await;
    let me = &me["data"]["me"];
    assert_eq!(me["orders"]["totalCount"], 2, "{me}");
    assert_eq!(
        me["orders"]["nodes"][0]["id"],
        ids[1].as_str(),
        "newest first"
    );
    assert_eq!(me["orders"]["nodes"][0]["items"][0]["name"], "Sneakers");
    let upcoming = me["upcomingInstallments"].as_array().unwrap();
    assert_eq!(upcoming.len(), 4);
    assert_eq!(upcoming[0]["dueDate"], "2027-02-28");
    assert_eq!(upcoming[3]["dueDate"], "2027-03-31");
    // Two orders each owe 2 × 28.33 of the 1000.00 limit.
    assert_eq!(
        me["spendingLimit"],
        json!({ "limit": { "amount": "1000.00" }, "outstanding": { "amount": "113.32" }, "available": { "amount": "886.68" } })
    );

    let filtered = app
        .gql(
            Some(&merchant.key),
            "query($f: OrderFilterInput) { merchant { orders(filter: $f) { totalCount nodes { merchantReference status } } } }",
            json!({ "f": { "status": "CAPTURED" } }),
        )
        .await;
    assert_eq!(
        filtered["data"]["merchant"]["orders"],
        json!({ "totalCount": 1, "nodes": [{ "merchantReference": "o-1", "status": "CAPTURED" }] })
    );
    let by_reference = app
        .gql(
            Some(&merchant.key),
            "query($f: OrderFilterInput) { merchant { orders(filter: $f, sort: { direction: ASC }) { nodes { merchantReference } } } }",
            json!({ "f": { "merchantReference": "o-2" } }),
        )
        .await;
    assert_eq!(
        by_reference["data"]["merchant"]["orders"]["nodes"],
        json!([{ "merchantReference": "o-2" }])
    );

    let query = format!("{{ order(id: \"{}\") {{ merchantReference }} }}", ids[0]);
    assert_eq!(
        app.gql(Some(&shopper), &query, json!({})).await["data"]["order"]["merchantReference"],
        "o-1"
    );
    assert_eq!(
        app.gql(Some(&merchant.key), &query, json!({})).await["data"]["order"]["merchantReference"],
        "o-1"
    );
    let stranger = app.merchant("Other").await;
    assert_eq!(
        error_codes(&app.gql(Some(&stranger.key), &query, json!({})).await),
        ["NOT_FOUND"]
    );
    assert_eq!(
        error_codes(&app.gql(None, &query, json!({})).await),
        ["UNAUTHENTICATED"]
    );
    let strangers_list = app
        .gql(
            Some(&stranger.key),
            "{ merchant { orders { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        strangers_list["data"]["merchant"]["orders"]["totalCount"],
        0
    );
}
