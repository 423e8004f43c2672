//! The in-memory caches: read-mostly data is served without the database once read, and
//! every write that changes it takes effect at once on the instance that made it.

use sea_orm::EntityTrait;
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
    let plans = "query($m: ID!, $a: MoneyInput!) { installmentPlans(amount: $a, merchantId: $m) { plan } merchantProfile(id: $m) { name } }";
    let amount = |amount: &str| json!({ "amount": amount, "currencyCode": "EUR" });
    let first = app
        .gql(
            None,
            plans,
            json!({ "m": merchant.id, "a": amount("120.00") }),
        )
        .await;
    assert_eq!(first["data"]["merchantProfile"]["name"], "Shop");
    let statements = app.statements();
    // Another amount: not an answer kept (see below), so it runs.
    let second = app
        .gql(
            None,
            plans,
            json!({ "m": merchant.id, "a": amount("130.00") }),
        )
        .await;
    assert_eq!(
        second["data"]["merchantProfile"],
        first["data"]["merchantProfile"]
    );
    assert_eq!(
        second["data"]["installmentPlans"],
        first["data"]["installmentPlans"]
    );
    assert_eq!(
        app.statements(),
        statements,
        "merchant and plans come from memory"
    );
    let caches = &app.state.deps.caches;
    assert!(caches.merchants.stats().hits >= 1 && caches.offered_plans.stats().hits >= 1);
}

#[tokio::test]
async fn public_answers_are_kept_until_their_merchant_changes() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let query = "query Widget($m: ID!, $a: MoneyInput!) {
        installmentPlans(amount: $a, merchantId: $m) { plan }
        merchantProfile(id: $m) { name }
    }";
    let vars = json!({ "m": merchant.id, "a": { "amount": "120.00", "currencyCode": "EUR" } });
    let first = app.gql(None, query, vars.clone()).await;
    assert_eq!(first["data"]["merchantProfile"]["name"], "Shop");
    assert!(
        !first["data"]["installmentPlans"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Renamed behind the API's back: what was kept is what is served.
    entity::merchant::Entity::update_many()
        .col_expr(
            entity::merchant::Column::Name,
            sea_orm::sea_query::Expr::value("Renamed"),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let caches = &app.state.deps.caches;
    let looked_up = (caches.merchants.stats(), caches.offered_plans.stats());
    let statements = app.statements();
    let respaced = "query Widget($m:ID!,$a:MoneyInput!){installmentPlans(amount:$a,merchantId:$m){plan} merchantProfile(id:$m){name}}";
    let kept = app.post(None, respaced, vars.clone()).await;
    assert_eq!(kept.status(), 200);
    assert_eq!(
        kept.headers()["cache-control"],
        "no-store",
        "a POST is not for HTTP caches"
    );
    let kept: serde_json::Value = kept.json().await.unwrap();
    assert_eq!(kept, first, "the same document written differently");
    assert_eq!(
        (caches.merchants.stats(), caches.offered_plans.stats()),
        looked_up,
        "answered without executing"
    );
    assert_eq!(app.statements(), statements);

    // A change to the merchant through paylater forgets every answer made before it.
    let rotated = app
        .gql(
            Some(&merchant.key),
            "mutation { rotateReturnSigningSecret { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        rotated["data"]["rotateReturnSigningSecret"]["userErrors"],
        json!([])
    );
    let fresh = app.gql(None, query, vars).await;
    assert_eq!(fresh["data"]["merchantProfile"]["name"], "Renamed");
}

#[tokio::test]
async fn kept_answers_are_charged_to_the_rate_limits() {
    let app = TestApp::spawn_with(|config| {
        config.limits.rate_limit_ip_per_second = std::num::NonZeroU32::new(1).unwrap();
        config.limits.rate_limit_ip_burst = std::num::NonZeroU32::new(10).unwrap();
    })
    .await;
    let merchant = app.merchant("Shop").await;
    // Costs 2: the profile and its name.
    let query = "query($m: ID!) { merchantProfile(id: $m) { name } }";
    let vars = json!({ "m": merchant.id });
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(app.post(None, query, vars.clone()).await.status().as_u16());
    }
    assert!(statuses[..4].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
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

#[tokio::test]
async fn an_access_token_is_verified_once_and_refused_once_expired() {
    let app = TestApp::spawn().await;
    let token = crate::payment_methods::consumer(&app, "ada@example.com").await;
    let me = "{ me { email } }";
    let tokens = &app.state.deps.caches.access_tokens;
    assert_eq!(app.post(Some(&token), me, json!({})).await.status(), 200);
    let before = tokens.stats();
    assert_eq!(app.post(Some(&token), me, json!({})).await.status(), 200);
    assert_eq!(tokens.stats().hits, before.hits + 1, "verified from memory");

    // The default lifetime is 900 s: one second past it, the kept token is refused.
    app.clock.advance(chrono::Duration::seconds(901));
    assert_eq!(app.post(Some(&token), me, json!({})).await.status(), 401);
    assert_eq!(
        tokens.stats().hits,
        before.hits + 2,
        "refused from memory too"
    );
}
