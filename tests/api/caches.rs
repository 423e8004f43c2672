//! The in-memory caches: read-mostly data is served without the database once read, and
//! every write that changes it takes effect at once on the instance that made it.

use serde_json::json;

use crate::{helpers::TestApp, oauth::access_token};

const REVOKE: &str =
    "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { userErrors { code } } }";

#[tokio::test]
async fn a_cached_key_stops_working_the_moment_it_is_revoked() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = app
        .gql(
            Some(&merchant.key),
            "mutation { createApiKey(input: { name: \"web\", scopes: [CHECKOUTS_WRITE] }) { secret apiKey { id } } }",
            json!({}),
        )
        .await;
    let secret = created["data"]["createApiKey"]["secret"].as_str().unwrap();
    let id = created["data"]["createApiKey"]["apiKey"]["id"].clone();
    let keys = &app.state.deps.caches.api_keys;

    assert_eq!(
        app.post(Some(secret), "{ __typename }", json!({}))
            .await
            .status(),
        200
    );
    let before = keys.stats();
    let statements = app.statements();
    assert_eq!(
        app.post(Some(secret), "{ __typename }", json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(
        keys.stats().hits,
        before.hits + 1,
        "answered from the cache"
    );
    assert_eq!(app.statements(), statements, "without a statement");

    let revoked = app
        .gql(Some(&merchant.key), REVOKE, json!({ "id": id }))
        .await;
    assert_eq!(revoked["data"]["revokeApiKey"]["userErrors"], json!([]));
    assert_eq!(
        app.post(Some(secret), "{ __typename }", json!({}))
            .await
            .status(),
        401,
        "refused at once"
    );
}

#[tokio::test]
async fn merchants_and_their_plans_are_read_once() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let plans = "query($m: ID!) { installmentPlans(amount: { amount: \"120.00\", currencyCode: \"EUR\" }, merchantId: $m) { plan } merchantProfile(id: $m) { name } }";
    let vars = json!({ "m": merchant.id });
    let first = app.gql(None, plans, vars.clone()).await;
    assert_eq!(first["data"]["merchantProfile"]["name"], "Shop");
    let statements = app.statements();
    let second = app.gql(None, plans, vars).await;
    assert_eq!(second, first);
    assert_eq!(
        app.statements(),
        statements,
        "merchant and plans come from memory"
    );
    let caches = &app.state.deps.caches;
    assert!(caches.merchants.stats().hits >= 1 && caches.offered_plans.stats().hits >= 1);
}

#[tokio::test]
async fn requiring_signatures_applies_at_once_to_cached_keys_and_tokens() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let token = access_token(&app, &merchant, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = "{ merchant { name } }";
    // Both credentials are read, and cached without a signing secret.
    assert_eq!(app.post(Some(&token), me, json!({})).await.status(), 200);
    assert_eq!(
        app.post(Some(&merchant.key), me, json!({})).await.status(),
        200
    );

    let enabled = app
        .gql(
            Some(&merchant.key),
            "mutation { enableRequestSigning { signingSecret } }",
            json!({}),
        )
        .await;
    assert!(enabled["data"]["enableRequestSigning"]["signingSecret"].is_string());
    assert_eq!(app.post(Some(&token), me, json!({})).await.status(), 401);
    assert_eq!(
        app.post(Some(&merchant.key), me, json!({})).await.status(),
        401
    );
}
