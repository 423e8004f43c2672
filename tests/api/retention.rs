//! Retention: published outbox events and finished webhook deliveries (delivered, or given
//! up) are deleted once older than their retention (7 and 30 days by default) on the
//! business clock, in bounded batches; unpublished events and pending deliveries stay
//! however old. `/sandbox/run-jobs` prunes as of its time, as the background sweep does.

use chrono::{DateTime, Duration, Utc};
use entity::{outbox_event, webhook_attempt, webhook_delivery};
use paylater::{
    clock::Clock,
    jobs::{
        Job,
        retention::{Pruned, prune_once},
    },
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    fixtures::{place_order, shopper},
    helpers::TestApp,
    receiver::Receiver,
    webhooks::{at, deliveries, only_delivery, subscribe},
};

/// How many outbox events are published, and how many wait to be.
async fn outbox(app: &TestApp) -> (u64, u64) {
    let published = outbox_event::Entity::find()
        .filter(outbox_event::Column::PublishedAt.is_not_null())
        .count(&app.db)
        .await
        .unwrap();
    let total = rows::<outbox_event::Entity>(app).await;
    (published, total - published)
}

/// How many rows of `E` are stored.
async fn rows<E: EntityTrait>(app: &TestApp) -> u64
where
    E::Model: Sync,
{
    E::find().count(&app.db).await.unwrap()
}

/// The statuses of the merchant's deliveries, oldest first.
async fn statuses(app: &TestApp, merchant: &crate::helpers::TestMerchant) -> Vec<Value> {
    let mut log = deliveries(app, merchant).await;
    log.reverse();
    log.iter().map(|d| d["status"].clone()).collect()
}

async fn prune(app: &TestApp, at: DateTime<Utc>, limit: u64) -> Pruned {
    prune_once(&app.state.deps, at, limit).await.unwrap()
}

fn pruned(outbox_events: usize, webhook_deliveries: usize) -> Pruned {
    Pruned {
        outbox_events,
        webhook_deliveries,
    }
}

#[tokio::test]
async fn published_events_and_finished_deliveries_are_pruned_after_their_retention() {
    let app = TestApp::spawn_with(|config| config.webhooks.retry_hours = 1).await;
    let deps = &app.state.deps;
    let receiver = Receiver::start().await;
    let failing = Receiver::start().await;
    failing.always(503);
    let shop = app.merchant("Shop").await;
    let broken = app.merchant("Broken").await;
    subscribe(&app, &shop, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    subscribe(&app, &broken, &failing.url, json!(["ORDER_AUTHORIZED"])).await;
    let ada = shopper(&app, "ada@example.com").await;
    place_order(&app, &shop, &ada, "o-1", "PAY_IN_3").await;
    place_order(&app, &broken, &ada, "b-1", "PAY_IN_3").await;

    // Day 0: the shop's delivery succeeds; the broken one is retried for the hour and
    // given up.
    let start = app.clock.now();
    let mut run_at = start;
    loop {
        app.run_jobs(&run_at.to_rfc3339()).await;
        match only_delivery(&app, &broken).await["nextAttemptAt"].as_str() {
            Some(next) => run_at = at(&json!(next)),
            None => break,
        }
    }
    assert_eq!(statuses(&app, &shop).await, ["SUCCEEDED"]);
    assert_eq!(statuses(&app, &broken).await, ["FAILED"]);

    // Day 2: one more delivered, one relayed but not yet sent, and one not even relayed.
    app.clock.advance(Duration::days(2));
    let day2 = app.clock.now();
    let bob = shopper(&app, "bob@example.com").await;
    place_order(&app, &shop, &bob, "o-2", "PAY_IN_3").await;
    Job::Relay.run(deps, day2).await.unwrap();
    Job::Webhooks.run(deps, day2).await.unwrap();
    place_order(&app, &shop, &bob, "o-3", "PAY_IN_3").await;
    Job::Relay.run(deps, day2).await.unwrap();
    place_order(&app, &shop, &bob, "o-4", "PAY_IN_3").await;
    assert_eq!(
        statuses(&app, &shop).await,
        ["SUCCEEDED", "SUCCEEDED", "PENDING"]
    );
    assert_eq!(outbox(&app).await, (8, 2));
    assert_eq!(
        prune(&app, start + Duration::days(7), 100).await,
        pruned(0, 0)
    );

    // Day 8: the events published on day 0 are past 7 days, a batch at a time.
    let day8 = start + Duration::days(8);
    assert_eq!(prune(&app, day8, 3).await, pruned(3, 0));
    assert_eq!(prune(&app, day8, 3).await, pruned(1, 0));
    assert_eq!(prune(&app, day8, 3).await, pruned(0, 0));
    assert_eq!(outbox(&app).await, (4, 2));

    // Day 31: day 2's events go, the unpublished stay; day 0's deliveries (the delivered
    // and the given up) go with their attempts.
    let attempts_before = rows::<webhook_attempt::Entity>(&app).await;
    assert_eq!(
        prune(&app, start + Duration::days(31), 100).await,
        pruned(4, 2)
    );
    assert_eq!(outbox(&app).await, (0, 2));
    assert_eq!(statuses(&app, &shop).await, ["SUCCEEDED", "PENDING"]);
    assert!(deliveries(&app, &broken).await.is_empty());
    assert_eq!(
        rows::<webhook_attempt::Entity>(&app).await,
        1,
        "only the attempt of day 2's delivery is left of {attempts_before}"
    );

    // Long after: the pending delivery and the unpublished events stay however old.
    assert_eq!(
        prune(&app, start + Duration::days(400), 100).await,
        pruned(0, 1)
    );
    assert_eq!(statuses(&app, &shop).await, ["PENDING"]);
    assert_eq!(outbox(&app).await, (0, 2));
    assert_eq!(rows::<webhook_attempt::Entity>(&app).await, 0);
}

#[tokio::test]
async fn run_jobs_prunes_as_of_its_time() {
    let app = TestApp::spawn_with(|config| {
        config.jobs.outbox_retention_days = 2;
        config.webhooks.retention_days = 3;
    })
    .await;
    let receiver = Receiver::start().await;
    let merchant = app.merchant("Shop").await;
    subscribe(&app, &merchant, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    let ada = shopper(&app, "ada@example.com").await;
    place_order(&app, &merchant, &ada, "o-1", "PAY_IN_3").await;
    let start = app.clock.now();
    let report = app.run_jobs(&start.to_rfc3339()).await;
    assert_eq!(report["webhooksDelivered"], 1, "{report}");

    // What a run as of `days` after the start deleted: (events, deliveries).
    let pruned_on = |days: i64| {
        let app = &app;
        async move {
            let report = app
                .run_jobs(&(start + Duration::days(days)).to_rfc3339())
                .await;
            let count = |key: &str| report[key].as_u64().unwrap_or_else(|| panic!("{report}"));
            (
                count("prunedOutboxEvents"),
                count("prunedWebhookDeliveries"),
            )
        }
    };
    assert_eq!(
        pruned_on(2).await,
        (0, 0),
        "exactly the retention is not past it"
    );
    assert_eq!(pruned_on(3).await, (2, 0));
    assert_eq!(pruned_on(4).await, (0, 1));
    assert!(deliveries(&app, &merchant).await.is_empty());
    assert_eq!(rows::<webhook_delivery::Entity>(&app).await, 0);
}
