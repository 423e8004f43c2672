//! Webhook senders and their clocks: a delivery is held by exactly one sender at a time,
//! whatever business time each runs as of (the background job's, `/sandbox/run-jobs`
//! moved days ahead); a sender that dies mid-request lets its delivery go once its lease
//! passes on the wall clock, one stopping at shutdown finishes its request first; and
//! every request is signed with the real time of sending.

use chrono::{DateTime, Duration, Utc};
use entity::webhook_delivery;
use futures_util::future::join_all;
use paylater::{clock::Clock, jobs::Job};
use sea_orm::{EntityTrait, sea_query::Expr};
use serde_json::json;

use crate::{
    fixtures::{place_order, shopper},
    helpers::{TestApp, TestMerchant},
    receiver::{Answer, Receiver},
    webhooks::{at, now, only_delivery, signed_at, signed_with, signed_within, subscribe},
};

/// A merchant subscribed to `order.authorized` at `receiver`, with one order whose event
/// is relayed: one delivery due now. Returns the merchant and its signing secret.
async fn one_due_delivery(app: &TestApp, receiver: &Receiver) -> (TestMerchant, String) {
    let merchant = app.merchant("Shop").await;
    let secret = subscribe(app, &merchant, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    let ada = shopper(app, "ada@example.com").await;
    place_order(app, &merchant, &ada, "o-1", "PAY_IN_3").await;
    let relayed = Job::Relay
        .run(&app.state.deps, app.clock.now())
        .await
        .unwrap();
    assert_eq!(relayed.relayed_events, 2, "{relayed:?}");
    (merchant, secret)
}

/// A test whose one due delivery gets a receiver that holds the first request in flight
/// until released. Returns the app, the receiver, the merchant and when it started.
async fn held_delivery() -> (TestApp, Receiver, TestMerchant, DateTime<Utc>) {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_next([Answer::Held]);
    let (merchant, _) = one_due_delivery(&app, &receiver).await;
    let start = app.clock.now();
    (app, receiver, merchant, start)
}

/// The stored delivery (each of these tests has one).
async fn stored(app: &TestApp) -> webhook_delivery::Model {
    webhook_delivery::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .expect("a delivery")
}

/// One sender of webhooks as of `at`: the delivery job itself for even `i`, as the
/// background runs it, and `/sandbox/run-jobs` for odd `i`. Returns how many it delivered.
async fn sender(app: &TestApp, i: usize, at: DateTime<Utc>) -> u64 {
    if i.is_multiple_of(2) {
        let report = Job::Webhooks.run(&app.state.deps, at).await.unwrap();
        report.webhooks_delivered as u64
    } else {
        let report = app.run_jobs(&at.to_rfc3339()).await;
        report["webhooksDelivered"].as_u64().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_is_sent_once_however_many_senders_race_for_it() {
    let (app, receiver, merchant, start) = held_delivery().await;
    // Business times from now to six days ahead (before the capture window voids the order).
    let minutes = [
        0, 0, 1, 5, 60, 360, 1440, 4320, 0, 2, 30, 720, 2880, 5000, 7200, 8640,
    ];
    let senders = |range: std::ops::Range<usize>| {
        join_all(range.map(|i| sender(&app, i, start + Duration::minutes(minutes[i]))))
    };

    let (first, second) = tokio::join!(senders(0..8), async {
        // Once one of the first eight holds the delivery in flight, eight more try.
        receiver.until_received(1).await;
        let second = senders(8..16).await;
        assert_eq!(receiver.received().len(), 1, "sent while in flight");
        receiver.release();
        second
    });

    let delivered: u64 = first.iter().chain(&second).sum();
    assert_eq!(delivered, 1, "{first:?} {second:?}");
    assert_eq!(receiver.received().len(), 1);
    let delivery = only_delivery(&app, &merchant).await;
    assert_eq!(delivery["status"], "SUCCEEDED");
    assert_eq!(delivery["attemptCount"], 1);
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 1);
    // Once delivered, no sender at any time sends it again.
    let later = (start + Duration::days(6)).to_rfc3339();
    assert_eq!(app.run_jobs(&later).await["webhooksDelivered"], 0);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_sender_that_dies_mid_request_lets_the_delivery_go_when_its_lease_passes() {
    let (app, receiver, merchant, start) = held_delivery().await;

    let deps = app.state.deps.clone();
    let dying = tokio::spawn(async move { Job::Webhooks.run(&deps, start).await });
    receiver.until_received(1).await;
    dying.abort();
    assert!(dying.await.unwrap_err().is_cancelled());

    // Its claim holds on the wall clock, whatever business time a run is as of.
    for days in [0, 1, 6] {
        let at = (start + Duration::days(days)).to_rfc3339();
        let report = app.run_jobs(&at).await;
        assert_eq!(
            (&report["webhooksDelivered"], &report["webhooksFailed"]),
            (&json!(0), &json!(0)),
            "{days} days ahead: {report}"
        );
    }
    assert_eq!(receiver.received().len(), 1);
    let delivery = only_delivery(&app, &merchant).await;
    assert_eq!(delivery["status"], "PENDING");
    assert_eq!(delivery["attemptCount"], 1);
    assert_eq!(
        delivery["attempts"],
        json!([]),
        "the attempt was never recorded"
    );
    let held_until = stored(&app).await.claimed_until.expect("claimed").0;
    let lease = Duration::from_std(app.state.deps.webhook_sender.lease()).unwrap();
    assert!(
        held_until > Utc::now() && held_until <= Utc::now() + lease,
        "a lease on the wall clock: {held_until}"
    );

    // The lease passes (the row is moved back rather than the test waiting for it).
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::ClaimedUntil,
            Expr::value((Utc::now() - Duration::seconds(1)).timestamp_millis()),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let report = app.run_jobs(&now(&app)).await;
    assert_eq!(report["webhooksDelivered"], 1, "{report}");
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].body, received[0].body);
    assert_eq!(received[1].header("paylater-attempt"), "2");
    let delivery = only_delivery(&app, &merchant).await;
    assert_eq!(delivery["status"], "SUCCEEDED");
    assert_eq!(delivery["attemptCount"], 2);
    assert_eq!(
        stored(&app).await.claimed_until,
        None,
        "released when recorded"
    );
}

#[tokio::test]
async fn signatures_carry_the_real_time_of_sending_under_a_test_clock_days_ahead() {
    let app = TestApp::spawn().await;
    app.clock.advance(Duration::days(5));
    let receiver = Receiver::start().await;
    let (merchant, secret) = one_due_delivery(&app, &receiver).await;

    let report = app.run_jobs(&now(&app)).await;
    assert_eq!(report["webhooksDelivered"], 1, "{report}");
    let request = &receiver.received()[0];
    assert!(signed_with(request, &secret), "{:?}", request.headers);
    // A receiver following the README (five minutes of its own clock) accepts it.
    assert!(signed_within(request, Utc::now(), 300));
    assert!(
        signed_within(request, Utc::now(), 5),
        "signed at {:?}, now is {}",
        signed_at(request),
        Utc::now().timestamp()
    );
    // The log keeps business time.
    let delivery = only_delivery(&app, &merchant).await;
    assert_eq!(at(&delivery["attempts"][0]["startedAt"]), app.clock.now());
    assert_eq!(at(&delivery["deliveredAt"]), app.clock.now());
}

#[tokio::test]
async fn stopping_the_background_jobs_lets_a_delivery_in_flight_finish() {
    let (app, receiver, merchant, _) = held_delivery().await;
    let background =
        paylater::jobs::Background::start(&app.state.deps, std::time::Duration::from_secs(3600));
    receiver.until_received(1).await;

    // Stopping starts now: no job begins another round, the one in flight goes on.
    let stopped = background.stop(std::time::Duration::from_secs(30));
    receiver.release();
    stopped.await;

    let delivery = only_delivery(&app, &merchant).await;
    assert_eq!(delivery["status"], "SUCCEEDED", "{delivery}");
    assert_eq!(
        delivery["attempts"].as_array().unwrap().len(),
        1,
        "recorded"
    );
    assert_eq!(stored(&app).await.claimed_until, None, "not left claimed");
    assert_eq!(receiver.received().len(), 1);
}
