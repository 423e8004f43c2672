//! Several instances behind one Redis: a subscription on one instance hears the events
//! another relays. Runs when `TEST_REDIS_URL` names a Redis server (`.ci/run` sets it);
//! without one there is nothing to fan out through, and the test says it was skipped.

use serde_json::json;

use crate::{
    fixtures::{place_order, shopper},
    helpers::TestApp,
    ws::{connect, next, subscribe},
};

#[tokio::test]
async fn a_subscription_hears_events_another_instance_relays() {
    let Some(redis) = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        eprintln!("skipped: set TEST_REDIS_URL to run the Redis fan-out test");
        return;
    };
    let channel = format!("paylater:test:{}", uuid::Uuid::now_v7());
    let relaying = TestApp::spawn_with(|config| {
        config.redis.url = Some(redis.into());
        config.redis.channel = channel;
    })
    .await;
    let listening = relaying.second_instance();
    let _brokers = (
        relaying.start_broker().await,
        listening.start_broker().await,
    );
    let merchant = relaying.merchant("Shop").await;
    let mut socket = connect(&listening, Some(&merchant.key)).await;
    subscribe(
        &mut socket,
        "1",
        "subscription { orderEvents { type order { id merchantReference } } }",
        json!({}),
    )
    .await;
    listening.listening(1).await;

    // Only the first instance relays; the order is placed through it too.
    relaying.start_relay();
    let ada = shopper(&relaying, "ada@example.com").await;
    let order = place_order(&relaying, &merchant, &ada, "o-1", "PAY_IN_3").await;

    let message = next(&mut socket).await;
    assert_eq!(
        message["payload"]["data"]["orderEvents"],
        json!({ "type": "ORDER_AUTHORIZED", "order": { "id": order, "merchantReference": "o-1" } }),
        "{message}"
    );
}
