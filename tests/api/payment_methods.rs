//! A consumer's cards: added from sandbox tokens, stored encrypted, one default, removed.

use chrono::Duration;
use entity::payment_method;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes};

/// Registers and logs in a consumer; returns the access token.
pub async fn consumer(app: &TestApp, email: &str) -> String {
    app.gql(None, "mutation($e: String!) { registerConsumer(input: { email: $e, password: \"correct horse battery\" }) { consumer { id } } }", json!({ "e": email })).await;
    let login = app
        .gql(None, "mutation($e: String!) { login(input: { email: $e, password: \"correct horse battery\" }) { session { accessToken } } }", json!({ "e": email }))
        .await;
    login["data"]["login"]["session"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{login}"))
        .to_owned()
}

/// A sandbox token for a test card number.
pub async fn card_token(app: &TestApp, number: &str) -> String {
    card_token_expiring(app, number, 2, 2027).await
}

const ADD: &str = "mutation($t: String!) { addPaymentMethod(input: { token: $t }) {
    paymentMethod { id brand last4 expMonth expYear isDefault } userErrors { field code } } }";
const LIST: &str = "{ me { paymentMethods { id last4 isDefault } } }";

/// Adds a card that must be accepted; returns its ID.
pub async fn add_card(app: &TestApp, consumer: &str, number: &str) -> String {
    let token = card_token(app, number).await;
    let body = app.gql(Some(consumer), ADD, json!({ "t": token })).await;
    body["data"]["addPaymentMethod"]["paymentMethod"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

#[tokio::test]
async fn cards_are_added_listed_and_one_is_the_default() {
    let app = TestApp::spawn().await;
    let ada = consumer(&app, "ada@example.com").await;
    let token = card_token(&app, "4242424242424242").await;
    let added = app.gql(Some(&ada), ADD, json!({ "t": token })).await;
    assert_eq!(
        added["data"]["addPaymentMethod"]["paymentMethod"]
            .as_object()
            .map(|card| (
                card["brand"].clone(),
                card["last4"].clone(),
                card["expMonth"].clone(),
                card["expYear"].clone(),
                card["isDefault"].clone()
            )),
        Some((
            json!("VISA"),
            json!("4242"),
            json!(2),
            json!(2027),
            json!(true)
        )),
        "{added}"
    );
    let visa = added["data"]["addPaymentMethod"]["paymentMethod"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mastercard = add_card(&app, &ada, "5555555555554444").await;

    let listed = app.gql(Some(&ada), LIST, json!({})).await;
    assert_eq!(
        listed["data"]["me"]["paymentMethods"],
        json!([{ "id": visa, "last4": "4242", "isDefault": true }, { "id": mastercard, "last4": "4444", "isDefault": false }])
    );

    let chosen = app
        .gql(Some(&ada), "mutation($id: ID!) { setDefaultPaymentMethod(input: { id: $id }) { paymentMethod { isDefault } } }", json!({ "id": mastercard }))
        .await;
    assert_eq!(
        chosen["data"]["setDefaultPaymentMethod"]["paymentMethod"]["isDefault"],
        true
    );
    let listed = app.gql(Some(&ada), LIST, json!({})).await;
    assert_eq!(
        listed["data"]["me"]["paymentMethods"][0]["id"],
        mastercard.as_str()
    );
    assert_eq!(
        listed["data"]["me"]["paymentMethods"][1]["isDefault"],
        false
    );

    // Removing the default makes the other card the default.
    let removed = app
        .gql(Some(&ada), "mutation($id: ID!) { removePaymentMethod(input: { id: $id }) { removedPaymentMethodId userErrors { code } } }", json!({ "id": mastercard }))
        .await;
    assert_eq!(
        removed["data"]["removePaymentMethod"]["removedPaymentMethodId"],
        mastercard.as_str()
    );
    let listed = app.gql(Some(&ada), LIST, json!({})).await;
    assert_eq!(
        listed["data"]["me"]["paymentMethods"],
        json!([{ "id": visa, "last4": "4242", "isDefault": true }])
    );

    // The token is ciphertext at rest.
    let rows = payment_method::Entity::find().all(&app.db).await.unwrap();
    assert!(
        rows.iter()
            .all(|row| row.gateway_token.starts_with("v1.dev.")
                && !row.gateway_token.contains("tok_sandbox"))
    );
}

#[tokio::test]
async fn bad_tokens_and_other_consumers_cards_are_refused() {
    let app = TestApp::spawn().await;
    let ada = consumer(&app, "ada@example.com").await;
    let bob = consumer(&app, "bob@example.com").await;
    let card = add_card(&app, &ada, "4242424242424242").await;

    let forged = app
        .gql(
            Some(&ada),
            ADD,
            json!({ "t": "tok_sandbox_ok_visa4242022027_ffff" }),
        )
        .await;
    assert_eq!(
        forged["data"]["addPaymentMethod"]["userErrors"],
        json!([]),
        "a well-formed sandbox token is a card"
    );
    let garbage = app
        .gql(Some(&ada), ADD, json!({ "t": "4242424242424242" }))
        .await;
    assert_eq!(
        garbage["data"]["addPaymentMethod"]["userErrors"],
        json!([{ "field": ["input", "token"], "code": "INVALID_PAYMENT_TOKEN" }])
    );

    for query in [
        format!("{{ node(id: \"{card}\") {{ id }} }}"),
        format!(
            "mutation {{ setDefaultPaymentMethod(input: {{ id: \"{card}\" }}) {{ paymentMethod {{ id }} }} }}"
        ),
        format!(
            "mutation {{ removePaymentMethod(input: {{ id: \"{card}\" }}) {{ removedPaymentMethodId }} }}"
        ),
    ] {
        let body = app.gql(Some(&bob), &query, json!({})).await;
        assert_eq!(error_codes(&body), ["NOT_FOUND"], "{query}");
    }
    let own = app
        .gql(
            Some(&ada),
            &format!("{{ node(id: \"{card}\") {{ ... on PaymentMethod {{ last4 }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(own["data"]["node"]["last4"], "4242");

    // A card that expires before it is added.
    let token = card_token(&app, "4242424242424242").await;
    app.clock.advance(Duration::days(40));
    // Access tokens do not last 40 days: log in again.
    let login = app
        .gql(None, "mutation { login(input: { email: \"ada@example.com\", password: \"correct horse battery\" }) { session { accessToken } } }", json!({}))
        .await;
    let ada = login["data"]["login"]["session"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let expired = app.gql(Some(&ada), ADD, json!({ "t": token })).await;
    assert_eq!(
        expired["data"]["addPaymentMethod"]["userErrors"][0]["code"],
        "CARD_EXPIRED"
    );
}

/// A sandbox token for a test card number with the given expiry.
async fn card_token_expiring(app: &TestApp, number: &str, month: i32, year: i32) -> String {
    let body: Value = app
        .client
        .post(format!("{}/sandbox/tokenize", app.base))
        .json(&json!({ "number": number, "expMonth": month, "expYear": year, "cvc": "123" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

/// Adds the card of `token`, which must be accepted; returns the payment method.
async fn add_token(app: &TestApp, consumer: &str, token: &str) -> Value {
    let body = app.gql(Some(consumer), ADD, json!({ "t": token })).await;
    let payload = &body["data"]["addPaymentMethod"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    payload["paymentMethod"].clone()
}

/// The IDs of the consumer's cards, as `me { paymentMethods }` lists them.
async fn listed(app: &TestApp, consumer: &str) -> Vec<String> {
    let body = app.gql(Some(consumer), LIST, json!({})).await;
    body["data"]["me"]["paymentMethods"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|card| card["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn audited(app: &TestApp, action: &str) -> usize {
    use sea_orm::{ColumnTrait, QueryFilter};
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq(action))
        .all(&app.db)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn the_same_token_added_twice_is_one_payment_method() {
    let app = TestApp::spawn().await;
    let ada = consumer(&app, "ada@example.com").await;
    let token = card_token(&app, "4242424242424242").await;
    let first = add_token(&app, &ada, &token).await;
    let again = add_token(&app, &ada, &token).await;
    assert_eq!(again, first);
    assert_eq!(first["isDefault"], true);
    assert_eq!(listed(&app, &ada).await, [first["id"].as_str().unwrap()]);
    assert_eq!(
        payment_method::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(audited(&app, "payment_method.added").await, 1);
    assert_eq!(audited(&app, "payment_method.refreshed").await, 0);
}

#[tokio::test]
async fn another_token_of_the_same_card_refreshes_its_payment_method() {
    let app = TestApp::spawn().await;
    let ada = consumer(&app, "ada@example.com").await;
    let first_token = card_token(&app, "4242424242424242").await;
    let first = add_token(&app, &ada, &first_token).await;
    // The same card number tokenized again, with the expiry of a renewed card.
    let second_token = card_token_expiring(&app, "4242 4242 4242 4242", 3, 2029).await;
    assert_ne!(second_token, first_token);
    let second = add_token(&app, &ada, &second_token).await;
    assert_eq!(second["id"], first["id"]);
    assert_eq!(
        (
            &second["last4"],
            &second["expMonth"],
            &second["expYear"],
            &second["isDefault"]
        ),
        (&json!("4242"), &json!(3), &json!(2029), &json!(true))
    );
    assert_eq!(listed(&app, &ada).await, [first["id"].as_str().unwrap()]);
    assert_eq!(audited(&app, "payment_method.refreshed").await, 1);

    // One row, charged through the new token; its fingerprint is kept only as a keyed hash.
    let rows = payment_method::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    let deps = &app.state.deps;
    assert_eq!(
        paylater::service::payment_methods::token(deps, row).unwrap(),
        second_token
    );
    use paylater::payments::PaymentGateway;
    let fingerprint = app.sandbox.card(&second_token).await.unwrap().fingerprint;
    let hash = row.fingerprint_hash.clone().expect("a fingerprint hash");
    assert_eq!(
        hash,
        paylater::service::payment_methods::fingerprint_hash(deps, &fingerprint)
    );
    assert!(hash.len() == 64 && !hash.contains(&fingerprint), "{hash}");
    assert!(!format!("{row:?}").contains(&fingerprint));
}

#[tokio::test]
async fn parallel_adds_of_one_card_make_one_payment_method() {
    let app = TestApp::spawn().await;
    let ada = consumer(&app, "ada@example.com").await;
    let first = card_token(&app, "5555555555554444").await;
    let tokens = [
        first.clone(),
        first,
        card_token(&app, "5555555555554444").await,
        card_token(&app, "5555 5555 5555 4444").await,
    ];
    // Every add has looked for the card and is at the gateway before any stores it.
    app.sandbox.hold_saves();
    let adds = futures_util::future::join_all(
        tokens
            .iter()
            .map(|token| app.gql(Some(&ada), ADD, json!({ "t": token }))),
    );
    let (bodies, ()) = tokio::join!(adds, async {
        app.sandbox.wait_for_saves(tokens.len()).await;
        app.sandbox.release_saves();
    });
    let ids: Vec<&str> = bodies
        .iter()
        .map(|body| {
            body["data"]["addPaymentMethod"]["paymentMethod"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(listed(&app, &ada).await, [ids[0]]);
    let rows = payment_method::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].is_default);
    assert_eq!(audited(&app, "payment_method.added").await, 1);
}

#[tokio::test]
async fn different_cards_and_other_consumers_cards_are_separate_payment_methods() {
    let app = TestApp::spawn().await;
    let ada = consumer(&app, "ada@example.com").await;
    let bob = consumer(&app, "bob@example.com").await;
    let visa_token = card_token(&app, "4242424242424242").await;
    let visa = add_token(&app, &ada, &visa_token).await;
    let mastercard = add_card(&app, &ada, "5555555555554444").await;
    assert_ne!(visa["id"].as_str().unwrap(), mastercard);
    assert_eq!(
        listed(&app, &ada).await,
        [visa["id"].as_str().unwrap(), mastercard.as_str()]
    );
    // Bob's card with the same number is his own.
    let bobs = add_token(&app, &bob, &visa_token).await;
    assert_ne!(bobs["id"], visa["id"]);
    assert_eq!(bobs["isDefault"], true);
    assert_eq!(listed(&app, &bob).await, [bobs["id"].as_str().unwrap()]);

    // A removed card can be added again, as a new payment method.
    let removed = app
        .gql(Some(&ada), "mutation($id: ID!) { removePaymentMethod(input: { id: $id }) { userErrors { code } } }", json!({ "id": visa["id"] }))
        .await;
    assert_eq!(
        removed["data"]["removePaymentMethod"]["userErrors"],
        json!([])
    );
    let again = add_token(&app, &ada, &visa_token).await;
    assert_ne!(again["id"], visa["id"]);
    assert_eq!(again["isDefault"], false);
    assert_eq!(
        listed(&app, &ada).await,
        [mastercard.as_str(), again["id"].as_str().unwrap()]
    );
    assert_eq!(
        payment_method::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len(),
        4
    );
}
