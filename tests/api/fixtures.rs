//! A confirmed order to start from: a merchant, a shopper with a card, and their order.

use serde_json::json;

use crate::{
    helpers::{TestApp, TestMerchant, checkout_input, create_checkout},
    payment_methods::{add_card, consumer},
};

/// A running app with one confirmed order of 85.00 EUR.
pub struct PlacedOrder {
    /// The app.
    pub app: TestApp,
    /// The merchant selling.
    pub merchant: TestMerchant,
    /// The shopper's access token.
    pub shopper: String,
    /// The order's global ID.
    pub order: String,
}

/// An 85.00 EUR order on `plan`, confirmed on 2027-01-31 with a card that always pays
/// (in 3: 28.34 paid then, 28.33 due on 02-28 and on 03-31).
pub async fn placed_order(plan: &str) -> PlacedOrder {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let shopper = consumer(&app, "ada@example.com").await;
    let card = add_card(&app, &shopper, "4242424242424242").await;
    let body = app
        .gql(
            Some(&shopper),
            "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) { order { id } } }",
            json!({ "i": { "token": created["checkoutToken"], "plan": plan, "paymentMethodId": card, "idempotencyKey": "confirm" } }),
        )
        .await;
    let order = body["data"]["confirmCheckout"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    PlacedOrder {
        app,
        merchant,
        shopper,
        order,
    }
}
