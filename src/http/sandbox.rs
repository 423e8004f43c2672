//! Sandbox-only endpoints, mounted when the sandbox gateway is in use:
//! `POST /sandbox/tokenize` stands in for a gateway's client-side SDK, turning a test card
//! into a token. The card number and CVC are checked and dropped: never stored, never
//! logged, never echoed in an error.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use crate::{app::AppState, domain::card::CardError, payments::sandbox};

/// A test card, as a checkout page would send it to a gateway.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CardDetails {
    number: String,
    exp_month: i32,
    exp_year: i32,
    cvc: String,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /sandbox/tokenize` with `{"number", "expMonth", "expYear", "cvc"}`: a token with
/// brand and last 4 digits, or 400 with `error` and `message`.
pub async fn tokenize(State(state): State<AppState>, body: Bytes) -> Response {
    // Parsed by hand: a deserializer's message could quote the card number.
    let Ok(card) = serde_json::from_slice::<CardDetails>(&body) else {
        return no_store(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send JSON with number, expMonth, expYear and cvc",
        ));
    };
    let today = state.services.clock.now().date_naive();
    let response = match sandbox::tokenize(
        &card.number,
        card.exp_month,
        card.exp_year,
        &card.cvc,
        today,
    ) {
        Ok(token) => Json(json!({
            "token": token.token,
            "brand": token.brand.as_str(),
            "last4": token.last4,
            "expMonth": token.exp_month,
            "expYear": token.exp_year,
        }))
        .into_response(),
        Err(err) => {
            let code = match err {
                CardError::InvalidNumber => "invalid_number",
                CardError::InvalidExpiry => "invalid_expiry",
                CardError::Expired => "expired_card",
                CardError::InvalidCvc => "invalid_cvc",
            };
            error(StatusCode::BAD_REQUEST, code, &err.to_string())
        }
    };
    no_store(response)
}
