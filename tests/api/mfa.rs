//! TOTP multi-factor authentication: enrolment, the second login step, replay refusal,
//! recovery codes, disabling.

use chrono::Duration;
use entity::consumer;
use paylater::{auth::totp, clock::Clock};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes};

const PASSWORD: &str = "correct horse battery";
const LOGIN: &str =
    "mutation { login(input: { email: \"ada@example.com\", password: \"correct horse battery\" }) {
    session { accessToken } mfaRequired mfaToken userErrors { code } } }";
const VERIFY: &str =
    "mutation($t: String!, $c: String!) { verifyMfa(input: { mfaToken: $t, code: $c }) {
    session { accessToken consumer { mfaEnabled } } userErrors { code } } }";

async fn login(app: &TestApp) -> Value {
    app.gql(None, LOGIN, json!({})).await["data"]["login"].clone()
}

/// Registers Ada, turns MFA on, and returns (access token, secret, recovery codes).
async fn with_mfa(app: &TestApp) -> (String, String, Vec<String>) {
    app.gql(None, &format!("mutation {{ registerConsumer(input: {{ email: \"ada@example.com\", password: \"{PASSWORD}\" }}) {{ consumer {{ id }} }} }}"), json!({})).await;
    let access = login(app).await["session"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrolled = app
        .gql(
            Some(&access),
            "mutation { enrollTotp { secret provisioningUri userErrors { code } } }",
            json!({}),
        )
        .await;
    let secret = enrolled["data"]["enrollTotp"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        enrolled["data"]["enrollTotp"]["provisioningUri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/paylater:ada%40example.com?")
    );
    // Not on until confirmed.
    assert_eq!(login(app).await["mfaRequired"], false);

    let confirm = "mutation($c: String!) { confirmTotp(input: { code: $c }) { recoveryCodes userErrors { code } } }";
    let wrong = app
        .gql(Some(&access), confirm, json!({ "c": "000000" }))
        .await;
    assert_eq!(
        wrong["data"]["confirmTotp"]["userErrors"][0]["code"],
        "INVALID_CODE"
    );
    let code = totp::code_at(&secret, app.clock.now()).unwrap();
    let confirmed = app.gql(Some(&access), confirm, json!({ "c": code })).await;
    let codes: Vec<String> =
        serde_json::from_value(confirmed["data"]["confirmTotp"]["recoveryCodes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    (access, secret, codes)
}

#[tokio::test]
async fn login_needs_a_fresh_code_once_mfa_is_on() {
    let app = TestApp::spawn().await;
    let (access, secret, _) = with_mfa(&app).await;
    let me = app
        .gql(Some(&access), "{ me { mfaEnabled } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["mfaEnabled"], true);

    let first = login(&app).await;
    assert_eq!(first["mfaRequired"], true);
    assert_eq!(first["session"], Value::Null);
    let token = first["mfaToken"].as_str().unwrap();

    // The code that confirmed enrolment is spent: replaying it in its window fails.
    let replay = totp::code_at(&secret, app.clock.now()).unwrap();
    let body = app
        .gql(None, VERIFY, json!({ "t": token, "c": replay }))
        .await;
    assert_eq!(
        body["data"]["verifyMfa"]["userErrors"][0]["code"],
        "INVALID_CODE"
    );

    app.clock.advance(Duration::seconds(30));
    let code = totp::code_at(&secret, app.clock.now()).unwrap();
    let body = app
        .gql(None, VERIFY, json!({ "t": token, "c": code }))
        .await;
    let session = &body["data"]["verifyMfa"]["session"];
    assert_eq!(session["consumer"]["mfaEnabled"], true, "{body}");
    let fresh = session["accessToken"].as_str().unwrap();
    assert_eq!(
        app.gql(Some(fresh), "{ me { mfaEnabled } }", json!({}))
            .await["data"]["me"]["mfaEnabled"],
        true
    );

    // The same code again, on a new login: refused.
    let again = login(&app).await["mfaToken"].as_str().unwrap().to_owned();
    let body = app
        .gql(None, VERIFY, json!({ "t": again, "c": code }))
        .await;
    assert_eq!(
        body["data"]["verifyMfa"]["userErrors"][0]["code"],
        "INVALID_CODE"
    );

    // MFA tokens expire.
    app.clock.advance(Duration::minutes(6));
    let late = totp::code_at(&secret, app.clock.now()).unwrap();
    let body = app
        .gql(None, VERIFY, json!({ "t": again, "c": late }))
        .await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
}

#[tokio::test]
async fn recovery_codes_work_once_and_mfa_can_be_disabled() {
    let app = TestApp::spawn().await;
    let (access, secret, codes) = with_mfa(&app).await;
    let token = login(&app).await["mfaToken"].as_str().unwrap().to_owned();
    let body = app
        .gql(
            None,
            VERIFY,
            json!({ "t": token, "c": codes[0].to_uppercase() }),
        )
        .await;
    assert!(body["data"]["verifyMfa"]["session"].is_object(), "{body}");
    let token = login(&app).await["mfaToken"].as_str().unwrap().to_owned();
    let body = app
        .gql(None, VERIFY, json!({ "t": token, "c": codes[0] }))
        .await;
    assert_eq!(
        body["data"]["verifyMfa"]["userErrors"][0]["code"],
        "INVALID_CODE"
    );

    // The secret is stored encrypted.
    let row = consumer::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let stored = row.totp_secret.unwrap();
    assert!(stored.starts_with("v1.") && !stored.contains(&secret));

    let disable = "mutation($c: String!) { disableTotp(input: { code: $c }) { mfaEnabled userErrors { code } } }";
    let wrong = app
        .gql(Some(&access), disable, json!({ "c": "123456" }))
        .await;
    assert_eq!(
        wrong["data"]["disableTotp"]["userErrors"][0]["code"],
        "INVALID_CODE"
    );
    let done = app
        .gql(Some(&access), disable, json!({ "c": codes[1] }))
        .await;
    assert_eq!(
        done["data"]["disableTotp"],
        json!({ "mfaEnabled": false, "userErrors": [] })
    );
    assert!(login(&app).await["session"].is_object());
}
