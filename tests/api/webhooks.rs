//! Webhooks against a real local receiver, walked with the sandbox test clock: signed and
//! verifiable, retried with growing waits, redelivered on request, logged accurately,
//! disabled after failing for the whole window; and the endpoint rules.

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use paylater::{clock::Clock, jobs::relay};
use serde_json::{Value, json};

use crate::{
    fixtures::{place_order, shopper},
    helpers::{TestApp, TestMerchant},
    receiver::{Answer, Received, Receiver},
};

const SET: &str = "mutation($i: SetWebhookEndpointInput!) { setWebhookEndpoint(input: $i) {
    signingSecret endpoint { url eventTypes status disabledReason failingSince }
    userErrors { field code message } } }";

const DELIVERIES: &str = "{ merchant { webhookDeliveries { totalCount nodes {
    id eventId eventType status payload attemptCount nextAttemptAt lastStatusCode lastError
    createdAt deliveredAt
    attempts { number startedAt durationMs statusCode error succeeded redelivery } } } } }";

/// Sets the merchant's endpoint; returns the payload.
async fn set_endpoint(app: &TestApp, merchant: &TestMerchant, url: &str, types: Value) -> Value {
    let body = app
        .gql(
            Some(&merchant.key),
            SET,
            json!({ "i": { "url": url, "eventTypes": types } }),
        )
        .await;
    body["data"]["setWebhookEndpoint"].clone()
}

/// Sets the endpoint, which must succeed; returns the signing secret.
pub(crate) async fn subscribe(
    app: &TestApp,
    merchant: &TestMerchant,
    url: &str,
    types: Value,
) -> String {
    let payload = set_endpoint(app, merchant, url, types).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    payload["signingSecret"].as_str().unwrap().to_owned()
}

/// The merchant's delivery log, newest first.
pub(crate) async fn deliveries(app: &TestApp, merchant: &TestMerchant) -> Vec<Value> {
    let body = app.gql(Some(&merchant.key), DELIVERIES, json!({})).await;
    body["data"]["merchant"]["webhookDeliveries"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

/// The one delivery of the log.
pub(crate) async fn only_delivery(app: &TestApp, merchant: &TestMerchant) -> Value {
    let log = deliveries(app, merchant).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    log[0].clone()
}

/// The `t` and every `v1` of the signature header of `received`.
fn signature_parts(received: &Received) -> (Option<&str>, Vec<&str>) {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in received.header("paylater-signature").split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    (timestamp, signatures)
}

/// Whether `received` carries a valid signature made with `secret`, checked the way the
/// README tells merchants to: HMAC-SHA256 of "<t>.<body>", hex, against any `v1`.
pub(crate) fn signed_with(received: &Received, secret: &str) -> bool {
    let (Some(timestamp), signatures) = signature_parts(received) else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", received.body).as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    signatures.contains(&expected.as_str())
}

/// The signing time of `received`, from its `t`.
pub(crate) fn signed_at(received: &Received) -> Option<i64> {
    signature_parts(received).0.and_then(|t| t.parse().ok())
}

/// Whether `received` was signed within `seconds` of `clock`, the README's check (five
/// minutes) with another tolerance.
pub(crate) fn signed_within(received: &Received, clock: DateTime<Utc>, seconds: i64) -> bool {
    signed_at(received).is_some_and(|t| (clock.timestamp() - t).abs() <= seconds)
}

pub(crate) fn at(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .parse()
        .unwrap()
}

pub(crate) fn now(app: &TestApp) -> String {
    app.clock.now().to_rfc3339()
}

#[tokio::test]
async fn webhooks_arrive_signed_verifiable_and_logged() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let merchant = app.merchant("Shop").await;
    let secret = subscribe(&app, &merchant, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let ada = shopper(&app, "ada@example.com").await;
    let order = place_order(&app, &merchant, &ada, "o-1", "PAY_IN_3").await;

    let report = app.run_jobs(&now(&app)).await;
    assert_eq!(report["webhooksDelivered"], 1, "{report}");
    let received = receiver.received();
    assert_eq!(received.len(), 1, "only the subscribed type is sent");
    let request = &received[0];
    assert!(signed_with(request, &secret), "{:?}", request.headers);
    assert!(!signed_with(request, "whsec_other"));
    assert!(
        signed_within(request, Utc::now(), 5),
        "signed at the time of sending: {:?}",
        request.headers
    );
    assert_eq!(request.header("content-type"), "application/json");
    let event = request.json();
    assert_eq!(event["type"], "order.authorized");
    assert_eq!(event["livemode"], false);
    assert_eq!(event["data"]["orderId"], order);
    assert_eq!(event["data"]["merchantReference"], "o-1");
    assert_eq!(event["data"]["status"], "AUTHORIZED");
    assert_eq!(
        event["data"]["total"],
        json!({ "amount": "85.00", "currencyCode": "EUR", "minorUnits": 8500 })
    );
    assert_eq!(event["data"]["paidNow"]["amount"], "28.34");
    assert_eq!(request.header("paylater-event-id"), event["id"]);
    assert_eq!(request.header("paylater-event-type"), "order.authorized");

    // The global ID in the event opens the order.
    let read = app
        .gql(
            Some(&merchant.key),
            "query($id: ID!) { order(id: $id) { merchantReference } }",
            json!({ "id": event["data"]["orderId"] }),
        )
        .await;
    assert_eq!(read["data"]["order"]["merchantReference"], "o-1");

    let delivery = only_delivery(&app, &merchant).await;
    assert_eq!(delivery["status"], "SUCCEEDED");
    assert_eq!(delivery["eventId"], event["id"]);
    assert_eq!(delivery["eventType"], "ORDER_AUTHORIZED");
    assert_eq!(delivery["payload"], request.body);
    assert_eq!(delivery["attemptCount"], 1);
    assert_eq!(delivery["nextAttemptAt"], Value::Null);
    assert_eq!(delivery["lastStatusCode"], 200);
    assert_eq!(at(&delivery["deliveredAt"]), app.clock.now());
    let attempt = &delivery["attempts"][0];
    assert_eq!(
        (
            attempt["number"].clone(),
            attempt["statusCode"].clone(),
            attempt["succeeded"].clone(),
            attempt["error"].clone(),
            attempt["redelivery"].clone()
        ),
        (json!(1), json!(200), json!(true), Value::Null, json!(false))
    );
    assert!(attempt["durationMs"].as_i64().unwrap() >= 0);

    // Nothing is sent twice: the next run has nothing to do.
    let report = app.run_jobs(&now(&app)).await;
    assert_eq!(report["webhooksDelivered"], 0);
    assert_eq!(receiver.received().len(), 1);

    // The secret is shown once: setting the endpoint again keeps it and does not show it.
    let again = set_endpoint(&app, &merchant, &receiver.url, json!([])).await;
    assert_eq!(again["signingSecret"], Value::Null);
    assert_eq!(again["endpoint"]["eventTypes"], json!([]));
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_with_growing_waits_then_succeeds() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_next([Answer::Status(500); 4]);
    let merchant = app.merchant("Shop").await;
    let secret = subscribe(&app, &merchant, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    let ada = shopper(&app, "ada@example.com").await;
    place_order(&app, &merchant, &ada, "o-1", "PAY_IN_3").await;

    let mut run_at = app.clock.now();
    let mut waits = Vec::new();
    for attempt in 1..=4 {
        let report = app.run_jobs(&run_at.to_rfc3339()).await;
        assert_eq!(report["webhooksFailed"], 1, "attempt {attempt}: {report}");
        let delivery = only_delivery(&app, &merchant).await;
        assert_eq!(delivery["status"], "PENDING");
        assert_eq!(delivery["attemptCount"], attempt);
        assert_eq!(delivery["lastStatusCode"], 500);
        assert_eq!(delivery["lastError"], "answered HTTP 500");
        let next = at(&delivery["nextAttemptAt"]);
        waits.push(next - run_at);
        // Before it is due, nothing is sent.
        let early = (next - chrono::Duration::milliseconds(1)).to_rfc3339();
        assert_eq!(app.run_jobs(&early).await["webhooksFailed"], 0);
        assert_eq!(receiver.received().len(), attempt as usize);
        run_at = next;
    }
    assert!(
        waits.windows(2).all(|pair| pair[1] > pair[0]),
        "waits grow: {waits:?}"
    );
    assert!(waits[0] >= chrono::Duration::seconds(15) && waits[0] < chrono::Duration::seconds(30));

    let report = app.run_jobs(&run_at.to_rfc3339()).await;
    assert_eq!(report["webhooksDelivered"], 1, "{report}");
    let delivery = only_delivery(&app, &merchant).await;
    assert_eq!(delivery["status"], "SUCCEEDED");
    assert_eq!(delivery["nextAttemptAt"], Value::Null);
    let codes: Vec<&Value> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["statusCode"])
        .collect();
    assert_eq!(codes, [500, 500, 500, 500, 200]);
    let started: Vec<DateTime<Utc>> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| at(&a["startedAt"]))
        .collect();
    assert!(started.windows(2).all(|pair| pair[1] > pair[0]));
    // The same event every time, each signed for its own moment.
    let received = receiver.received();
    assert!(received.iter().all(|r| r.body == received[0].body));
    assert!(received.iter().all(|r| signed_with(r, &secret)));
    assert_eq!(
        received
            .iter()
            .map(|r| r.header("paylater-attempt").to_owned())
            .collect::<Vec<_>>(),
        ["1", "2", "3", "4", "5"]
    );
    // A success clears the endpoint's failures.
    let endpoint = set_endpoint(&app, &merchant, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    assert_eq!(endpoint["endpoint"]["failingSince"], Value::Null);
}

#[tokio::test]
async fn redelivery_sends_the_same_event_again_and_is_logged() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let merchant = app.merchant("Shop").await;
    subscribe(&app, &merchant, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    let ada = shopper(&app, "ada@example.com").await;
    place_order(&app, &merchant, &ada, "o-1", "PAY_IN_3").await;
    app.run_jobs(&now(&app)).await;
    let delivery = only_delivery(&app, &merchant).await;

    app.clock.advance(chrono::Duration::hours(30));
    let redeliver = "mutation($d: ID!) { redeliverWebhook(input: { deliveryId: $d }) {
        delivery { status nextAttemptAt } userErrors { code } } }";
    let body = app
        .gql(
            Some(&merchant.key),
            redeliver,
            json!({ "d": delivery["id"] }),
        )
        .await;
    let payload = &body["data"]["redeliverWebhook"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    assert_eq!(payload["delivery"]["status"], "PENDING");
    assert_eq!(at(&payload["delivery"]["nextAttemptAt"]), app.clock.now());

    let report = app.run_jobs(&now(&app)).await;
    assert_eq!(report["webhooksDelivered"], 1);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].body, received[0].body, "the same event");
    let delivery = only_delivery(&app, &merchant).await;
    assert_eq!(delivery["status"], "SUCCEEDED");
    assert_eq!(delivery["attemptCount"], 2);
    assert_eq!(delivery["attempts"][1]["redelivery"], true);
    assert_eq!(at(&delivery["attempts"][1]["startedAt"]), app.clock.now());

    // Another merchant cannot redeliver it, nor see it.
    let stranger = app.merchant("Stranger").await;
    let body = app
        .gql(
            Some(&stranger.key),
            redeliver,
            json!({ "d": delivery["id"] }),
        )
        .await;
    assert_eq!(crate::helpers::error_codes(&body), ["NOT_FOUND"]);
    assert!(deliveries(&app, &stranger).await.is_empty());
}

#[tokio::test]
async fn an_endpoint_failing_for_the_whole_window_is_disabled() {
    let app = TestApp::spawn_with(|config| config.webhooks.retry_hours = 1).await;
    let receiver = Receiver::start().await;
    receiver.always(503);
    let merchant = app.merchant("Shop").await;
    subscribe(&app, &merchant, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    let ada = shopper(&app, "ada@example.com").await;
    place_order(&app, &merchant, &ada, "o-1", "PAY_IN_3").await;

    let start = app.clock.now();
    let mut run_at = start;
    let mut runs = 0;
    let delivery = loop {
        app.run_jobs(&run_at.to_rfc3339()).await;
        runs += 1;
        let delivery = only_delivery(&app, &merchant).await;
        match delivery["nextAttemptAt"].as_str() {
            Some(_) => run_at = at(&delivery["nextAttemptAt"]),
            None => break delivery,
        }
        assert!(runs < 30, "the retries never end");
    };
    assert_eq!(delivery["status"], "FAILED");
    assert_eq!(receiver.received().len(), runs);
    // The last attempt falls at the end of the window.
    assert_eq!(run_at, start + chrono::Duration::hours(1));

    let endpoint = app
        .gql(
            Some(&merchant.key),
            "{ merchant { webhookEndpoint { status disabledReason failingSince } } }",
            json!({}),
        )
        .await;
    let endpoint = &endpoint["data"]["merchant"]["webhookEndpoint"];
    assert_eq!(endpoint["status"], "DISABLED");
    let reason = endpoint["disabledReason"].as_str().unwrap();
    assert!(
        reason.contains("1 hours") && reason.contains("HTTP 503"),
        "{reason}"
    );
    assert_eq!(at(&endpoint["failingSince"]), start);

    // Disabled: new events are not sent, and redelivery is refused.
    place_order(&app, &merchant, &ada, "o-2", "PAY_IN_3").await;
    app.run_jobs(&run_at.to_rfc3339()).await;
    assert_eq!(receiver.received().len(), runs);
    let body = app
        .gql(
            Some(&merchant.key),
            "mutation($d: ID!) { redeliverWebhook(input: { deliveryId: $d }) { userErrors { field code } } }",
            json!({ "d": delivery["id"] }),
        )
        .await;
    assert_eq!(
        body["data"]["redeliverWebhook"]["userErrors"],
        json!([{ "field": ["input", "deliveryId"], "code": "WEBHOOK_ENDPOINT_DISABLED" }])
    );

    // Setting the endpoint again enables it.
    let set = set_endpoint(&app, &merchant, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    assert_eq!(set["endpoint"]["status"], "ENABLED");
    assert_eq!(set["endpoint"]["disabledReason"], Value::Null);
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_in_time_fails_the_attempt() {
    let app = TestApp::spawn_with(|config| config.webhooks.timeout_seconds = 1).await;
    let receiver = Receiver::start().await;
    receiver.answer_next([Answer::Hang(std::time::Duration::from_secs(10))]);
    let merchant = app.merchant("Shop").await;
    subscribe(&app, &merchant, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    let ada = shopper(&app, "ada@example.com").await;
    place_order(&app, &merchant, &ada, "o-1", "PAY_IN_3").await;
    let report = app.run_jobs(&now(&app)).await;
    assert_eq!(report["webhooksFailed"], 1);
    let attempt = only_delivery(&app, &merchant).await["attempts"][0].clone();
    assert_eq!(attempt["error"], "no answer within 1 s");
    assert_eq!(attempt["statusCode"], Value::Null);
    assert!(attempt["durationMs"].as_i64().unwrap() >= 1000, "{attempt}");
}

#[tokio::test]
async fn a_rotated_secret_keeps_signing_beside_the_new_one_for_a_while() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let merchant = app.merchant("Shop").await;
    let old = subscribe(&app, &merchant, &receiver.url, json!(["ORDER_AUTHORIZED"])).await;
    let rotate =
        "mutation($s: Int!) { rotateWebhookSecret(input: { keepPreviousSecretForSeconds: $s }) {
        signingSecret endpoint { previousSecretExpiresAt } userErrors { field code } } }";
    let body = app
        .gql(Some(&merchant.key), rotate, json!({ "s": 3600 }))
        .await;
    let payload = &body["data"]["rotateWebhookSecret"];
    let new = payload["signingSecret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(
        at(&payload["endpoint"]["previousSecretExpiresAt"]),
        app.clock.now() + chrono::Duration::hours(1)
    );
    let ada = shopper(&app, "ada@example.com").await;
    place_order(&app, &merchant, &ada, "o-1", "PAY_IN_3").await;
    app.run_jobs(&now(&app)).await;
    let first = &receiver.received()[0];
    assert!(signed_with(first, &new) && signed_with(first, &old));

    // After the overlap only the new secret signs.
    app.clock.advance(chrono::Duration::hours(2));
    let bob = shopper(&app, "bob@example.com").await;
    place_order(&app, &merchant, &bob, "o-2", "PAY_IN_3").await;
    app.run_jobs(&now(&app)).await;
    let second = &receiver.received()[1];
    assert!(signed_with(second, &new) && !signed_with(second, &old));

    let body = app
        .gql(Some(&merchant.key), rotate, json!({ "s": 700_000 }))
        .await;
    assert_eq!(
        body["data"]["rotateWebhookSecret"]["userErrors"][0]["code"],
        "OUT_OF_RANGE"
    );
}

#[tokio::test]
async fn a_relay_crash_before_publishing_queues_each_webhook_once() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let merchant = app.merchant("Shop").await;
    subscribe(&app, &merchant, &receiver.url, json!([])).await;
    let ada = shopper(&app, "ada@example.com").await;
    place_order(&app, &merchant, &ada, "o-1", "PAY_IN_3").await;
    let deps = &app.state.deps;

    // The relay queues the webhooks of the batch and dies before acknowledging it.
    let claimed = relay::claim(deps, 100).await.unwrap();
    paylater::jobs::webhook_fanout::queue(
        claimed.transaction(),
        claimed.events(),
        false,
        app.clock.now(),
    )
    .await
    .unwrap();
    drop(claimed);

    let report = app.run_jobs(&now(&app)).await;
    assert_eq!(report["relayedEvents"], 2, "{report}");
    assert_eq!(report["webhooksDelivered"], 2, "{report}");
    let mut types: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(types, ["checkout.completed", "order.authorized"]);
    assert_eq!(app.run_jobs(&now(&app)).await["webhooksDelivered"], 0);
}

#[tokio::test]
async fn endpoint_urls_must_be_https_and_public_when_required() {
    let app = TestApp::spawn_with(|config| {
        config.webhooks.https_only = true;
        config.webhooks.public_addresses_only = true;
    })
    .await;
    let merchant = app.merchant("Shop").await;
    for (url, code) in [
        ("http://hooks.shop.example/paylater", "INVALID_URL"),
        ("https://127.0.0.1/hooks", "ADDRESS_NOT_PUBLIC"),
        ("https://localhost:8443/hooks", "ADDRESS_NOT_PUBLIC"),
        ("https://10.0.0.7/hooks", "ADDRESS_NOT_PUBLIC"),
        (
            "https://169.254.169.254/latest/meta-data",
            "ADDRESS_NOT_PUBLIC",
        ),
        ("https://[::1]/hooks", "ADDRESS_NOT_PUBLIC"),
        ("https://user:pw@hooks.shop.example/", "INVALID_URL"),
        ("not a url", "INVALID_URL"),
    ] {
        let payload = set_endpoint(&app, &merchant, url, json!([])).await;
        assert_eq!(payload["userErrors"][0]["code"], code, "{url}: {payload}");
        assert_eq!(payload["userErrors"][0]["field"], json!(["input", "url"]));
        assert_eq!(payload["endpoint"], Value::Null);
    }
    let stored = app
        .gql(
            Some(&merchant.key),
            "{ merchant { webhookEndpoint { url } } }",
            json!({}),
        )
        .await;
    assert_eq!(stored["data"]["merchant"]["webhookEndpoint"], Value::Null);
}
