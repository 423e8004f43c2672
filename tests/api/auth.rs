//! Merchant authentication: API keys in the `Authorization` header.

use chrono::Utc;
use entity::{api_key, merchant};
use sea_orm::{ActiveValue::Set, EntityTrait, IntoActiveModel, prelude::ChronoUnixTimestampMillis};
use serde_json::{Value, json};

use crate::helpers::{TestApp, checkout_input, create_checkout_mutation, error_codes};
use paylater::domain::account::MerchantStatus;

const ME: &str = "query { merchant { id name } }";

#[tokio::test]
async fn a_valid_key_identifies_its_merchant() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let body = app.gql(Some(&merchant.key), ME, json!({})).await;
    assert_eq!(
        body["data"]["merchant"],
        json!({ "id": merchant.id, "name": "Shop" })
    );
}

#[tokio::test]
async fn bad_credentials_are_refused_with_401() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    for header in [
        "Bearer sk_test_unknown".to_owned(),
        format!("Bearer {}x", merchant.key),
        format!("Basic {}", merchant.key),
        "Bearer ".to_owned(),
    ] {
        let response = app
            .client
            .post(format!("{}/graphql", app.base))
            .header("Authorization", &header)
            .json(&json!({ "query": ME }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_codes(&body), ["UNAUTHENTICATED"], "{header}");
    }
}

#[tokio::test]
async fn a_revoked_key_is_refused() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let key = api_key::Entity::find().one(&app.db).await.unwrap().unwrap();
    let mut revoked = key.into_active_model();
    revoked.revoked_at = Set(Some(ChronoUnixTimestampMillis(Utc::now())));
    api_key::Entity::update(revoked)
        .exec(&app.db)
        .await
        .unwrap();
    let response = app.post(Some(&merchant.key), ME, json!({})).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn merchant_operations_need_a_key() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            &create_checkout_mutation(),
            json!({ "input": checkout_input("order-1") }),
        )
        .await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"], "{body}");
    let body = app.gql(None, ME, json!({})).await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
    let body = app
        .gql(
            None,
            "mutation { cancelCheckout(input: { id: \"x\" }) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
}

#[tokio::test]
async fn keys_of_a_suspended_merchant_are_refused() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let stored = merchant::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut suspended = stored.into_active_model();
    suspended.status = Set(MerchantStatus::Suspended);
    merchant::Entity::update(suspended)
        .exec(&app.db)
        .await
        .unwrap();
    let response = app.post(Some(&merchant.key), ME, json!({})).await;
    assert_eq!(response.status(), 401);
}
