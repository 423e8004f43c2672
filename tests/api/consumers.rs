//! Consumer accounts: registration, login without account enumeration, throttling,
//! refresh-token rotation with reuse detection, logout.

use entity::{audit_log, consumer};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes};

const REGISTER: &str =
    "mutation($input: RegisterConsumerInput!) { registerConsumer(input: $input) {
    consumer { id email givenName } userErrors { field code message } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) {
    session { accessToken expiresIn refreshToken consumer { email } } userErrors { field code message } } }";
const REFRESH: &str =
    "mutation($token: String!) { refreshSession(input: { refreshToken: $token }) {
    session { accessToken refreshToken } } }";
const ME: &str = "query { me { email givenName } }";
const PASSWORD: &str = "correct horse battery staple";

async fn register(app: &TestApp, email: &str) -> Value {
    let input = json!({ "email": email, "password": PASSWORD, "givenName": "Ada", "phone": "+393331234567" });
    let body = app.gql(None, REGISTER, json!({ "input": input })).await;
    body["data"]["registerConsumer"].clone()
}

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.gql(None, LOGIN, json!({ "email": email, "password": password }))
        .await
}

#[tokio::test]
async fn register_log_in_and_read_me() {
    let app = TestApp::spawn().await;
    let registered = register(&app, " Ada@Example.com ").await;
    assert_eq!(registered["userErrors"], json!([]));
    assert_eq!(registered["consumer"]["email"], "ada@example.com");
    let stored = consumer::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let hash = stored.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(PASSWORD));

    let body = login(&app, "ADA@example.com", PASSWORD).await;
    let session = &body["data"]["login"]["session"];
    assert_eq!(session["expiresIn"], 900);
    assert!(session["refreshToken"].as_str().unwrap().starts_with("rt_"));
    let access = session["accessToken"].as_str().unwrap();
    let me = app.gql(Some(access), ME, json!({})).await;
    assert_eq!(
        me["data"]["me"],
        json!({ "email": "ada@example.com", "givenName": "Ada" })
    );

    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    assert!(header.kid.is_some());

    // Access tokens expire.
    app.clock.advance(chrono::Duration::minutes(15));
    assert_eq!(app.post(Some(access), ME, json!({})).await.status(), 401);
}

#[tokio::test]
async fn registration_is_validated_and_emails_are_unique() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.com").await;
    let app = &app;
    let codes = |input: Value| async move {
        let body = app.gql(None, REGISTER, json!({ "input": input })).await;
        let errors = body["data"]["registerConsumer"]["userErrors"]
            .as_array()
            .unwrap()
            .clone();
        errors
            .iter()
            .map(|e| e["code"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        codes(json!({ "email": "ADA@example.com", "password": PASSWORD })).await,
        ["EMAIL_TAKEN"]
    );
    assert_eq!(
        codes(json!({ "email": "nope", "password": "short" })).await,
        ["INVALID_EMAIL", "WEAK_PASSWORD"]
    );
    assert_eq!(
        codes(json!({ "email": "b@example.com", "password": "b@example.com" })).await,
        ["WEAK_PASSWORD"]
    );
    assert_eq!(
        codes(json!({ "email": "c@example.com", "password": PASSWORD, "phone": "12" })).await,
        ["INVALID_PHONE"]
    );
    assert_eq!(
        consumer::Entity::find().all(&app.db).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn login_failures_do_not_reveal_whether_the_account_exists() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.com").await;
    let wrong_password = login(&app, "ada@example.com", "not the password").await;
    let unknown = login(&app, "nobody@example.com", "not the password").await;
    assert_eq!(wrong_password, unknown);
    assert_eq!(wrong_password["data"]["login"]["session"], Value::Null);
    assert_eq!(
        wrong_password["data"]["login"]["userErrors"][0]["code"],
        "INVALID_CREDENTIALS"
    );

    let actions: Vec<String> = audit_log::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "consumer.registered",
            "consumer.login_failed",
            "consumer.login_failed"
        ]
    );
}

#[tokio::test]
async fn brute_force_on_one_account_is_throttled() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.com").await;
    register(&app, "bob@example.com").await;
    for _ in 0..5 {
        let body = login(&app, "ada@example.com", "guess guess guess").await;
        assert_eq!(
            body["data"]["login"]["userErrors"][0]["code"],
            "INVALID_CREDENTIALS"
        );
    }
    let response = app
        .post(
            None,
            LOGIN,
            json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 429);
    assert!(
        response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let limited: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&limited), ["RATE_LIMITED"], "{limited}");
    assert!(
        limited["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // Another account is not affected.
    let other = login(&app, "bob@example.com", PASSWORD).await;
    assert!(other["data"]["login"]["session"].is_object(), "{other}");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_session() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.com").await;
    let first =
        login(&app, "ada@example.com", PASSWORD).await["data"]["login"]["session"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned();
    let rotated = app.gql(None, REFRESH, json!({ "token": first })).await;
    let second = rotated["data"]["refreshSession"]["session"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    let access = rotated["data"]["refreshSession"]["session"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.gql(Some(&access), ME, json!({})).await["data"]["me"]["email"],
        "ada@example.com"
    );

    // The first token again: a replay. The session ends, the newest token with it.
    let replay = app.gql(None, REFRESH, json!({ "token": first })).await;
    assert_eq!(error_codes(&replay), ["UNAUTHENTICATED"]);
    let after = app.gql(None, REFRESH, json!({ "token": second })).await;
    assert_eq!(error_codes(&after), ["UNAUTHENTICATED"]);
    let garbage = app
        .gql(None, REFRESH, json!({ "token": "rt_garbage" }))
        .await;
    assert_eq!(error_codes(&garbage), ["UNAUTHENTICATED"]);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.com").await;
    let session =
        login(&app, "ada@example.com", PASSWORD).await["data"]["login"]["session"].clone();
    let access = session["accessToken"].as_str().unwrap();
    let body = app
        .gql(Some(access), "mutation { logout { loggedOut } }", json!({}))
        .await;
    assert_eq!(body["data"]["logout"]["loggedOut"], true);
    let refresh = app
        .gql(None, REFRESH, json!({ "token": session["refreshToken"] }))
        .await;
    assert_eq!(error_codes(&refresh), ["UNAUTHENTICATED"]);
}

#[tokio::test]
async fn consumers_and_merchants_stay_in_their_lanes() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    register(&app, "ada@example.com").await;
    let session =
        login(&app, "ada@example.com", PASSWORD).await["data"]["login"]["session"].clone();
    let access = session["accessToken"].as_str().unwrap();

    assert_eq!(
        error_codes(
            &app.gql(Some(access), "query { merchant { name } }", json!({}))
                .await
        ),
        ["FORBIDDEN"]
    );
    assert_eq!(
        error_codes(&app.gql(Some(&merchant.key), ME, json!({})).await),
        ["FORBIDDEN"]
    );
    assert_eq!(
        error_codes(&app.gql(None, ME, json!({})).await),
        ["UNAUTHENTICATED"]
    );

    let id = app
        .gql(Some(access), "query { me { id } }", json!({}))
        .await;
    let id = id["data"]["me"]["id"].clone();
    let node = "query($id: ID!) { node(id: $id) { id } }";
    assert_eq!(
        app.gql(Some(access), node, json!({ "id": id })).await["data"]["node"]["id"],
        id
    );
    assert_eq!(
        error_codes(
            &app.gql(Some(&merchant.key), node, json!({ "id": id }))
                .await
        ),
        ["NOT_FOUND"]
    );
    assert_eq!(
        error_codes(
            &app.gql(Some(access), node, json!({ "id": merchant.id }))
                .await
        ),
        ["NOT_FOUND"]
    );
}

#[tokio::test]
async fn the_demo_shopper_can_log_in() {
    let app = TestApp::spawn().await;
    paylater::demo::seed(&app.state.deps).await.unwrap();
    let body = login(
        &app,
        paylater::demo::DEMO_CONSUMER_EMAIL,
        paylater::demo::DEMO_CONSUMER_PASSWORD,
    )
    .await;
    assert!(
        body["data"]["login"]["session"]["accessToken"].is_string(),
        "{body}"
    );
}
