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

/// A shopper with an account and a card that always pays.
pub struct Shopper {
    /// The shopper's access token.
    pub token: String,
    /// The card's global ID.
    pub card: String,
}

/// Registers a shopper with a card that always pays.
pub async fn shopper(app: &TestApp, email: &str) -> Shopper {
    let token = consumer(app, email).await;
    let card = add_card(app, &token, "4242424242424242").await;
    Shopper { token, card }
}

/// The shopper confirms a new 85.00 EUR checkout of `merchant` on `plan`; returns the
/// order's global ID.
pub async fn place_order(
    app: &TestApp,
    merchant: &TestMerchant,
    shopper: &Shopper,
    reference: &str,
    plan: &str,
) -> String {
    let created = create_checkout(app, merchant, checkout_input(reference)).await;
    let body = app
        .gql(
            Some(&shopper.token),
            "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) { order { id } userErrors { field code message } } }",
            json!({ "i": { "token": created["checkoutToken"], "plan": plan, "paymentMethodId": shopper.card, "idempotencyKey": reference } }),
        )
        .await;
    body["data"]["confirmCheckout"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

/// An 85.00 EUR order on `plan`, confirmed on 2027-01-31 with a card that always pays
/// (in 3: 28.34 paid then, 28.33 due on 02-28 and on 03-31).
pub async fn placed_order(plan: &str) -> PlacedOrder {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let ada = shopper(&app, "ada@example.com").await;
    let order = place_order(&app, &merchant, &ada, "o-1", plan).await;
    PlacedOrder {
        app,
        merchant,
        shopper: ada.token,
        order,
    }
}
