//! `cancelCheckout`: only open checkouts of the caller, refusals change nothing.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, checkout_input, create_checkout, error_codes};

const CANCEL: &str = "mutation($input: CancelCheckoutInput!) { cancelCheckout(input: $input) {
    checkout { id status cancelledAt cancellationReason } userErrors { field code message } } }";

fn user_error_codes(body: &Value) -> Vec<String> {
    body["data"]["cancelCheckout"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn cancels_an_open_checkout_once() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let id = created["checkout"]["id"].as_str().unwrap();
    app.clock.advance(chrono::Duration::minutes(5));

    let body = app
        .gql(
            Some(&merchant.key),
            CANCEL,
            json!({ "input": { "id": id, "reason": " out of stock " } }),
        )
        .await;
    assert_eq!(
        body["data"]["cancelCheckout"],
        json!({ "checkout": { "id": id, "status": "CANCELLED", "cancelledAt": "2027-01-31T10:05:00.000Z",
                              "cancellationReason": "out of stock" }, "userErrors": [] })
    );

    let body = app
        .gql(
            Some(&merchant.key),
            CANCEL,
            json!({ "input": { "id": id } }),
        )
        .await;
    assert_eq!(body["data"]["cancelCheckout"]["checkout"], Value::Null);
    assert_eq!(user_error_codes(&body), ["CHECKOUT_NOT_OPEN"]);

    // The reference is free again.
    create_checkout(&app, &merchant, checkout_input("order-1")).await;
}

#[tokio::test]
async fn expired_checkouts_cannot_be_cancelled() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let id = created["checkout"]["id"].as_str().unwrap();
    app.clock.advance(chrono::Duration::minutes(60));
    let body = app
        .gql(
            Some(&merchant.key),
            CANCEL,
            json!({ "input": { "id": id } }),
        )
        .await;
    assert_eq!(user_error_codes(&body), ["CHECKOUT_EXPIRED"]);
    let token = created["checkoutToken"].as_str().unwrap();
    let read = app
        .gql(
            None,
            "query($t: String!) { checkout(token: $t) { status cancelledAt } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(
        read["data"]["checkout"],
        json!({ "status": "EXPIRED", "cancelledAt": null })
    );
}

#[tokio::test]
async fn another_merchants_checkout_is_not_found_and_unchanged() {
    let app = TestApp::spawn().await;
    let owner = app.merchant("Owner").await;
    let stranger = app.merchant("Stranger").await;
    let created = create_checkout(&app, &owner, checkout_input("order-1")).await;
    let id = created["checkout"]["id"].as_str().unwrap();

    let body = app
        .gql(
            Some(&stranger.key),
            CANCEL,
            json!({ "input": { "id": id } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"], "{body}");
    // A merchant's ID where a checkout's is expected is not found either.
    let body = app
        .gql(
            Some(&owner.key),
            CANCEL,
            json!({ "input": { "id": owner.id } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"], "{body}");
    let token = created["checkoutToken"].as_str().unwrap();
    let read = app
        .gql(
            None,
            "query($t: String!) { checkout(token: $t) { status } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(read["data"]["checkout"]["status"], "OPEN");
}

#[tokio::test]
async fn a_too_long_reason_is_refused() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let id = created["checkout"]["id"].as_str().unwrap();
    let body = app
        .gql(
            Some(&merchant.key),
            CANCEL,
            json!({ "input": { "id": id, "reason": "r".repeat(501) } }),
        )
        .await;
    assert_eq!(user_error_codes(&body), ["TOO_LONG"]);
    assert_eq!(
        body["data"]["cancelCheckout"]["userErrors"][0]["field"],
        json!(["input", "reason"])
    );
}

#[tokio::test]
async fn concurrent_cancellations_succeed_exactly_once() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let id = created["checkout"]["id"].as_str().unwrap();
    let attempts = (0..8).map(|_| {
        app.gql(
            Some(&merchant.key),
            CANCEL,
            json!({ "input": { "id": id } }),
        )
    });
    let bodies = futures_util::future::join_all(attempts).await;
    let cancelled = bodies
        .iter()
        .filter(|b| b["data"]["cancelCheckout"]["checkout"].is_object())
        .count();
    assert_eq!(cancelled, 1, "{bodies:?}");
    assert!(
        bodies
            .iter()
            .filter(|b| b["data"]["cancelCheckout"]["checkout"].is_null())
            .all(|b| user_error_codes(b) == ["CHECKOUT_NOT_OPEN"]),
        "{bodies:?}"
    );
    // One cancellation, one audit entry, in the same transaction as the change.
    let audited = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("checkout.cancelled"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    let events = entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::EventType.eq("checkout.cancelled"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "one outbox event, written with the change");
    assert_eq!(audited[0].actor_kind, "merchant_api_key");
    assert_eq!(audited[0].ip.as_deref(), Some("127.0.0.1"));
}
