//! API key management: scopes, creation, listing with last use, revocation, audit.

use entity::{api_key, audit_log};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestMerchant, checkout_input, create_checkout_mutation, error_codes,
};

const CREATE: &str = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
    secret apiKey { id name prefix scopes lastUsedAt revokedAt } userErrors { field code } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id revokedAt } userErrors { code } } }";
const LIST: &str = "query { merchant { apiKeys(first: 10) { totalCount nodes { name prefix scopes lastUsedAt revokedAt } } } }";

/// Creates a key with `scopes` through the API with `with_key`; returns (id, secret).
pub async fn new_key(app: &TestApp, with_key: &str, name: &str, scopes: Value) -> (String, String) {
    let body = app
        .gql(
            Some(with_key),
            CREATE,
            json!({ "input": { "name": name, "scopes": scopes } }),
        )
        .await;
    let payload = &body["data"]["createApiKey"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    (
        payload["apiKey"]["id"].as_str().unwrap().to_owned(),
        payload["secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_key_can_do_only_what_its_scopes_allow() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let (_, checkouts_only) =
        new_key(&app, &merchant.key, "web shop", json!(["CHECKOUTS_WRITE"])).await;

    let created = app
        .gql(
            Some(&checkouts_only),
            &create_checkout_mutation(),
            json!({ "input": checkout_input("o-1") }),
        )
        .await;
    assert_eq!(
        created["data"]["createCheckout"]["userErrors"],
        json!([]),
        "{created}"
    );

    let body = app.gql(Some(&checkouts_only), LIST, json!({})).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    let body = app
        .gql(
            Some(&checkouts_only),
            CREATE,
            json!({ "input": { "name": "x", "scopes": ["CHECKOUTS_WRITE"] } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("api_keys:manage")
    );

    let (_, orders_only) = new_key(&app, &merchant.key, "reporting", json!(["ORDERS_READ"])).await;
    let body = app
        .gql(
            Some(&orders_only),
            &create_checkout_mutation(),
            json!({ "input": checkout_input("o-2") }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
}

#[tokio::test]
async fn a_key_cannot_grant_more_than_it_holds_and_refusals_store_nothing() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let (_, manager) = new_key(
        &app,
        &merchant.key,
        "key manager",
        json!(["API_KEYS_MANAGE", "CHECKOUTS_WRITE"]),
    )
    .await;
    let before = api_key::Entity::find().count(&app.db).await.unwrap();
    for (input, field, code) in [
        (
            json!({ "name": "x", "scopes": ["ORDERS_WRITE"] }),
            "scopes",
            "SCOPE_NOT_HELD",
        ),
        (json!({ "name": "x", "scopes": [] }), "scopes", "EMPTY"),
        (
            json!({ "name": "  ", "scopes": ["CHECKOUTS_WRITE"] }),
            "name",
            "BLANK",
        ),
        (
            json!({ "name": "n".repeat(101), "scopes": ["CHECKOUTS_WRITE"] }),
            "name",
            "TOO_LONG",
        ),
    ] {
        let body = app
            .gql(Some(&manager), CREATE, json!({ "input": input }))
            .await;
        let payload = &body["data"]["createApiKey"];
        assert_eq!(payload["secret"], Value::Null);
        assert_eq!(
            payload["userErrors"],
            json!([{ "field": ["input", field], "code": code }]),
            "{body}"
        );
    }
    assert_eq!(
        api_key::Entity::find().count(&app.db).await.unwrap(),
        before
    );
    new_key(&app, &manager, "narrower", json!(["CHECKOUTS_WRITE"])).await;
}

#[tokio::test]
async fn keys_are_listed_with_prefix_scopes_and_last_use() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let (_, secret) = new_key(
        &app,
        &merchant.key,
        "web shop",
        json!(["CHECKOUTS_WRITE", "ORDERS_READ"]),
    )
    .await;
    app.clock.advance(chrono::Duration::minutes(3));
    app.gql(Some(&secret), "query { merchant { name } }", json!({}))
        .await;
    app.state.deps.key_usage.flush(&app.db).await.unwrap();

    let body = app.gql(Some(&merchant.key), LIST, json!({})).await;
    let keys = &body["data"]["merchant"]["apiKeys"];
    assert_eq!(keys["totalCount"], 2);
    assert_eq!(
        keys["nodes"][0],
        json!({ "name": "web shop", "prefix": secret[..16], "scopes": ["CHECKOUTS_WRITE", "ORDERS_READ"],
                "lastUsedAt": "2027-01-31T10:03:00.000Z", "revokedAt": null })
    );
    assert_eq!(keys["nodes"][1]["name"], "Default key");
    assert_eq!(keys["nodes"][1]["scopes"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once_and_is_audited() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let (id, secret) = new_key(&app, &merchant.key, "leaked", json!(["CHECKOUTS_WRITE"])).await;
    assert_eq!(
        app.post(Some(&secret), "{ __typename }", json!({}))
            .await
            .status(),
        200
    );

    let body = app
        .gql(Some(&merchant.key), REVOKE, json!({ "id": id }))
        .await;
    assert_eq!(
        body["data"]["revokeApiKey"]["apiKey"]["revokedAt"],
        "2027-01-31T10:00:00.000Z"
    );
    assert_eq!(
        app.post(Some(&secret), "{ __typename }", json!({}))
            .await
            .status(),
        401
    );
    // Revoking again changes nothing.
    app.clock.advance(chrono::Duration::minutes(1));
    let again = app
        .gql(Some(&merchant.key), REVOKE, json!({ "id": id }))
        .await;
    assert_eq!(
        again["data"]["revokeApiKey"]["apiKey"]["revokedAt"],
        "2027-01-31T10:00:00.000Z"
    );

    let entries = audit_log::Entity::find().all(&app.db).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["api_key.created", "api_key.revoked"]);
    for entry in &entries {
        assert_eq!(entry.actor_kind, "merchant_api_key");
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
        let metadata = entry.metadata.clone().unwrap_or_default();
        assert!(
            !metadata.contains(&secret[16..]),
            "the secret must not reach the audit log"
        );
    }
}

#[tokio::test]
async fn another_merchants_keys_are_not_found() {
    let app = TestApp::spawn().await;
    let owner = app.merchant("Owner").await;
    let stranger: TestMerchant = app.merchant("Stranger").await;
    let (id, secret) = new_key(&app, &owner.key, "web", json!(["CHECKOUTS_WRITE"])).await;

    let body = app
        .gql(Some(&stranger.key), REVOKE, json!({ "id": id }))
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    assert_eq!(
        app.post(Some(&secret), "{ __typename }", json!({}))
            .await
            .status(),
        200
    );

    let node = "query($id: ID!) { node(id: $id) { id ... on ApiKey { name } } }";
    let body = app
        .gql(Some(&stranger.key), node, json!({ "id": id }))
        .await;
    assert_eq!(error_codes(&body), ["NOT_FOUND"]);
    let body = app.gql(Some(&owner.key), node, json!({ "id": id })).await;
    assert_eq!(body["data"]["node"], json!({ "id": id, "name": "web" }));
    let body = app.gql(Some(&secret), node, json!({ "id": id })).await;
    assert_eq!(
        error_codes(&body),
        ["FORBIDDEN"],
        "a key without api_keys:manage"
    );
}

#[tokio::test]
async fn key_management_needs_a_key() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            CREATE,
            json!({ "input": { "name": "x", "scopes": ["CHECKOUTS_WRITE"] } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
    let body = app.gql(None, REVOKE, json!({ "id": "x" })).await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
}
