//! The expiry sweep: open checkouts past their expiry are stored as expired, once.

use std::collections::HashSet;

use paylater::service::checkouts::expire_due;
use serde_json::json;

use crate::helpers::{TestApp, checkout_input, create_checkout};

#[tokio::test]
async fn stores_expired_on_due_open_checkouts_only() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let due = create_checkout(&app, &merchant, checkout_input("due")).await;
    let mut later = checkout_input("later");
    later["expiresAt"] = json!("2027-01-31T12:00:00Z");
    create_checkout(&app, &merchant, later).await;
    let cancelled = create_checkout(&app, &merchant, checkout_input("cancelled")).await;
    let cancel =
        "mutation($id: ID!) { cancelCheckout(input: { id: $id }) { userErrors { code } } }";
    app.gql(
        Some(&merchant.key),
        cancel,
        json!({ "id": cancelled["checkout"]["id"] }),
    )
    .await;

    assert!(
        expire_due(
            &app.state.deps,
            paylater::clock::Clock::now(app.clock.as_ref()),
            100
        )
        .await
        .unwrap()
        .is_empty(),
        "nothing is due yet"
    );
    app.clock.advance(chrono::Duration::minutes(60));
    assert_eq!(
        expire_due(
            &app.state.deps,
            paylater::clock::Clock::now(app.clock.as_ref()),
            100
        )
        .await
        .unwrap()
        .len(),
        1
    );
    assert!(
        expire_due(
            &app.state.deps,
            paylater::clock::Clock::now(app.clock.as_ref()),
            100
        )
        .await
        .unwrap()
        .is_empty(),
        "expired once"
    );
    let expired_events = <entity::outbox_event::Entity as sea_orm::EntityTrait>::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.event_type == "checkout.expired")
        .count();
    assert_eq!(expired_events, 1, "one outbox event per expired checkout");

    let list = "query { merchant { checkouts(sort: { direction: ASC }) { nodes { merchantReference status } } } }";
    let body = app.gql(Some(&merchant.key), list, json!({})).await;
    assert_eq!(
        body["data"]["merchant"]["checkouts"]["nodes"],
        json!([
            { "merchantReference": "due", "status": "EXPIRED" },
            { "merchantReference": "later", "status": "OPEN" },
            { "merchantReference": "cancelled", "status": "CANCELLED" },
        ])
    );
    let token = due["checkoutToken"].as_str().unwrap();
    let read = app
        .gql(
            None,
            "query($t: String!) { checkout(token: $t) { status updatedAt } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(
        read["data"]["checkout"],
        json!({ "status": "EXPIRED", "updatedAt": "2027-01-31T11:00:00.000Z" })
    );
    // The reference is free again.
    create_checkout(&app, &merchant, checkout_input("due")).await;
}

#[tokio::test]
async fn concurrent_sweeps_expire_each_checkout_once() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    for i in 0..30 {
        create_checkout(&app, &merchant, checkout_input(&format!("ref-{i}"))).await;
    }
    app.clock.advance(chrono::Duration::hours(2));
    let sweeps = (0..4).map(|_| async {
        let mut mine = Vec::new();
        loop {
            let batch = expire_due(
                &app.state.deps,
                paylater::clock::Clock::now(app.clock.as_ref()),
                4,
            )
            .await
            .unwrap();
            if batch.is_empty() {
                return mine;
            }
            mine.extend(batch);
        }
    });
    let results = futures_util::future::join_all(sweeps).await;
    let all: Vec<_> = results.into_iter().flatten().collect();
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 30, "every checkout expired exactly once");
    assert_eq!(distinct.len(), 30);
}
