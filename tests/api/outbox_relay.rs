//! The outbox relay: every committed change's event is published, in order, at least once;
//! a crash between publishing and marking loses nothing and, after de-duplication by event
//! id, each subscriber sees each event once.

use std::collections::HashSet;

use entity::outbox_event;
use paylater::{clock::Clock, jobs::relay};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::fixtures::placed_order;

async fn unpublished(app: &crate::helpers::TestApp) -> u64 {
    outbox_event::Entity::find()
        .filter(outbox_event::Column::PublishedAt.is_null())
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_crash_between_publishing_and_marking_loses_nothing() {
    let placed = placed_order("PAY_IN_3").await;
    let app = &placed.app;
    let deps = &app.state.deps;
    let now = app.clock.now();
    // The confirmation wrote its events with the order; the test server runs no relay.
    let written = unpublished(app).await;
    assert_eq!(written, 2, "checkout.completed and order.authorized");
    let mut subscriber = deps.events.subscribe();

    // A relay claims and publishes, then dies before marking the events published.
    let claimed = relay::claim(deps, 100).await.unwrap();
    for event in claimed.events() {
        deps.events.publish(event.clone());
    }
    drop(claimed);
    assert_eq!(
        unpublished(app).await,
        written,
        "nothing was marked published"
    );

    // After the restart the next run publishes them again, and marks them.
    assert_eq!(
        relay::relay_once(deps, now, 100).await.unwrap() as u64,
        written
    );
    assert_eq!(unpublished(app).await, 0);
    assert_eq!(
        relay::relay_once(deps, now, 100).await.unwrap(),
        0,
        "published once"
    );

    let mut received = Vec::new();
    while let Ok(event) = subscriber.try_recv() {
        received.push(event);
    }
    assert_eq!(
        received.len() as u64,
        2 * written,
        "at least once: twice here"
    );
    let mut seen = HashSet::new();
    let unique: Vec<&str> = received
        .iter()
        .filter(|event| seen.insert(event.id))
        .map(|event| event.event_type.as_str())
        .collect();
    assert_eq!(
        unique,
        ["checkout.completed", "order.authorized"],
        "in order, once each"
    );
}

#[tokio::test]
async fn two_relays_at_once_publish_each_event_once() {
    let placed = placed_order("PAY_IN_3").await;
    let app = &placed.app;
    let deps = &app.state.deps;
    let now = app.clock.now();
    let mut subscriber = deps.events.subscribe();
    let (a, b) = tokio::join!(
        relay::relay_once(deps, now, 100),
        relay::relay_once(deps, now, 100)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 2);
    let mut ids = Vec::new();
    while let Ok(event) = subscriber.try_recv() {
        ids.push(event.id);
    }
    assert_eq!(ids.len(), 2);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 2);
}

#[tokio::test]
async fn a_subscriber_sees_a_republished_event_once() {
    use crate::ws::{connect, next, subscribe};
    use serde_json::json;

    let placed = placed_order("PAY_IN_3").await;
    let app = &placed.app;
    let deps = &app.state.deps;
    let now = app.clock.now();
    let mut socket = connect(app, Some(&placed.merchant.key)).await;
    subscribe(
        &mut socket,
        "1",
        "subscription { orderEvents { id type order { id } } }",
        json!({}),
    )
    .await;
    app.listening(1).await;

    // The relay publishes the confirmation's events, then dies before marking them.
    let claimed = relay::claim(deps, 100).await.unwrap();
    for event in claimed.events() {
        deps.events.publish(event.clone());
    }
    drop(claimed);
    // Restarted, it publishes them again.
    relay::relay_once(deps, now, 100).await.unwrap();

    let first = next(&mut socket).await;
    assert_eq!(
        first["payload"]["data"]["orderEvents"]["type"],
        "ORDER_AUTHORIZED"
    );
    assert_eq!(
        first["payload"]["data"]["orderEvents"]["order"]["id"],
        placed.order
    );
    // The next thing the subscriber hears is the next change, not the repeat.
    let capture = "mutation($i: ID!) { captureOrder(input: { id: $i, idempotencyKey: \"c\" }) { userErrors { code } } }";
    app.gql(
        Some(&placed.merchant.key),
        capture,
        json!({ "i": placed.order }),
    )
    .await;
    relay::relay_once(deps, now, 100).await.unwrap();
    let second = next(&mut socket).await;
    assert_eq!(
        second["payload"]["data"]["orderEvents"]["type"],
        "ORDER_CAPTURED"
    );
    assert_ne!(
        second["payload"]["data"]["orderEvents"]["id"],
        first["payload"]["data"]["orderEvents"]["id"]
    );
}
