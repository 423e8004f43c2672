//! Several instances behind one Redis: a subscription on one instance hears the events
//! another relays, and what one changes the others stop serving from their caches within
//! a second. Runs when `TEST_REDIS_URL` names a Redis server (`.ci/run` sets it); without
//! one there is nothing to fan out through, and the tests say they were skipped.

use serde_json::json;

use crate::{
    fixtures::{place_order, shopper},
    helpers::TestApp,
    ws::{connect, next, subscribe},
};

/// An instance on its own Redis channel, or `None` (and a note) without `TEST_REDIS_URL`.
async fn on_redis() -> Option<TestApp> {
    let Some(redis) = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        eprintln!("skipped: set TEST_REDIS_URL to run the Redis fan-out tests");
        return None;
    };
    let channel = format!("paylater:test:{}", uuid::Uuid::now_v7());
    Some(
        TestApp::spawn_with(|config| {
            config.redis.url = Some(redis.into());
            config.redis.channel = channel;
        })
        .await,
    )
}

/// Asks `instance` with `key` until it answers `status`, for at most a second: how soon
/// another instance's change must show.
async fn answers_within_a_second(instance: &TestApp, key: &str, status: u16) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let answered = instance
            .post(Some(key), "{ merchant { name } }", json!({}))
            .await;
        if answered.status().as_u16() == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {} after a second",
            answered.status()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_key_revoked_or_a_merchant_changed_on_one_instance_shows_on_the_others() {
    let Some(first) = on_redis().await else {
        return;
    };
    let second = first.second_instance();
    let _brokers = (first.start_broker().await, second.start_broker().await);
    let merchant = first.merchant("Shop").await;
    let created = first
        .gql(
            Some(&merchant.key),
            "mutation { createApiKey(input: { name: \"web\", scopes: [CHECKOUTS_WRITE] }) { secret apiKey { id } } }",
            json!({}),
        )
        .await;
    let secret = created["data"]["createApiKey"]["secret"].as_str().unwrap();
    let id = created["data"]["createApiKey"]["apiKey"]["id"].clone();
    // The second instance reads both keys and keeps them.
    for key in [secret, merchant.key.as_str()] {
        assert_eq!(
            second
                .post(Some(key), "{ merchant { name } }", json!({}))
                .await
                .status(),
            200
        );
    }
    let hits = second.state.deps.caches.api_keys.stats().hits;
    assert_eq!(
        second
            .post(Some(secret), "{ merchant { name } }", json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(
        second.state.deps.caches.api_keys.stats().hits,
        hits + 1,
        "kept"
    );

    let revoked = first
        .gql(
            Some(&merchant.key),
            "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { userErrors { code } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(revoked["data"]["revokeApiKey"]["userErrors"], json!([]));
    answers_within_a_second(&second, secret, 401).await;

    // Requiring signed requests changes the merchant: the second instance's kept key
    // must ask for signatures too.
    let enabled = first
        .gql(
            Some(&merchant.key),
            "mutation { enableRequestSigning { signingSecret } }",
            json!({}),
        )
        .await;
    assert!(enabled["data"]["enableRequestSigning"]["signingSecret"].is_string());
    answers_within_a_second(&second, &merchant.key, 401).await;
}

#[tokio::test]
async fn a_subscription_hears_events_another_instance_relays() {
    let Some(relaying) = on_redis().await else {
        return;
    };
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
