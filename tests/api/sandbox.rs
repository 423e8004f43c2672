//! The sandbox tokenizer: test cards in, tokens out; card data is checked, never echoed.

use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn tokenize(app: &TestApp, body: Value) -> (u16, Value, String) {
    let response = app
        .client
        .post(format!("{}/sandbox/tokenize", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, response.json().await.unwrap(), cache)
}

#[tokio::test]
async fn a_test_card_becomes_a_token() {
    let app = TestApp::spawn().await;
    let (status, body, cache) = tokenize(
        &app,
        json!({ "number": "4242 4242 4242 4242", "expMonth": 2, "expYear": 2029, "cvc": "123" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache, "no-store");
    assert_eq!(body["brand"], "VISA");
    assert_eq!(body["last4"], "4242");
    assert_eq!(
        (body["expMonth"].clone(), body["expYear"].clone()),
        (json!(2), json!(2029))
    );
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("tok_sandbox_ok_"), "{token}");
    assert!(
        !token.contains("4242424242424242"),
        "the number is not in the token"
    );

    let (_, declining, _) = tokenize(
        &app,
        json!({ "number": "4000000000000002", "expMonth": 2, "expYear": 2029, "cvc": "123" }),
    )
    .await;
    assert!(
        declining["token"]
            .as_str()
            .unwrap()
            .starts_with("tok_sandbox_card_declined_")
    );
}

#[tokio::test]
async fn bad_cards_are_refused_without_echoing_them() {
    let app = TestApp::spawn().await;
    for (body, code) in [
        (
            json!({ "number": "4242424242424241", "expMonth": 2, "expYear": 2029, "cvc": "123" }),
            "invalid_number",
        ),
        (
            json!({ "number": "4242424242424242", "expMonth": 13, "expYear": 2029, "cvc": "123" }),
            "invalid_expiry",
        ),
        // The test clock says January 2027.
        (
            json!({ "number": "4242424242424242", "expMonth": 12, "expYear": 2026, "cvc": "123" }),
            "expired_card",
        ),
        (
            json!({ "number": "4242424242424242", "expMonth": 2, "expYear": 2029, "cvc": "12" }),
            "invalid_cvc",
        ),
        (
            json!({ "number": "4242424242424242", "expMonth": "2" }),
            "invalid_request",
        ),
        (
            json!({ "number": 4242424242424242u64, "expMonth": 2, "expYear": 2029, "cvc": "123" }),
            "invalid_request",
        ),
    ] {
        let (status, answer, _) = tokenize(&app, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"], code, "{body} → {answer}");
        assert!(!answer.to_string().contains("424242424242"), "{answer}");
    }
}

#[tokio::test]
async fn expiry_may_be_sent_as_digits_and_a_bad_field_is_named() {
    let app = TestApp::spawn().await;
    let (status, token, _) = tokenize(
        &app,
        json!({ "number": "4242 4242 4242 4242", "expMonth": "02", "expYear": "2029", "cvc": "123" }),
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        (&token["expMonth"], &token["expYear"]),
        (&json!(2), &json!(2029))
    );

    for (body, field, says) in [
        (
            json!({ "number": "4242424242424242", "expMonth": "Dec", "expYear": 2029, "cvc": "123" }),
            "expMonth",
            "expMonth must be the expiry month, 1 to 12 (12 or \"12\"), as a number or a string of digits",
        ),
        (
            json!({ "number": "4242424242424242", "expMonth": 12, "expYear": "20 29", "cvc": "123" }),
            "expYear",
            "expYear must be the expiry year, four digits (2030 or \"2030\"), as a number or a string of digits",
        ),
        (
            json!({ "number": "4242424242424242", "expMonth": 12, "expYear": 2029, "cvc": 123 }),
            "cvc",
            "cvc must be a string of 3 or 4 digits, like \"123\"",
        ),
        (
            json!({ "number": "4242424242424242", "expMonth": 12, "cvc": "123" }),
            "expYear",
            "expYear is missing: send a JSON object with number, expMonth, expYear and cvc",
        ),
    ] {
        let (status, answer, _) = tokenize(&app, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"], "invalid_request", "{answer}");
        assert_eq!(answer["field"], field, "{answer}");
        assert_eq!(answer["message"], says, "{answer}");
        assert!(!answer.to_string().contains("424242"), "{answer}");
    }
}
