//! Sandbox-only endpoints, mounted when the sandbox gateway is in use:
//! `POST /sandbox/tokenize` stands in for a gateway's client-side SDK, turning a test card
//! into a token (the card number and CVC are checked and dropped: never stored, never
//! logged, never echoed in an error); `POST /sandbox/run-jobs` runs the background jobs as
//! of a given time.

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
struct CardDetails {
    number: String,
    exp_month: i32,
    exp_year: i32,
    cvc: String,
}

/// The fields of a tokenize request.
const CARD_FIELDS: [&str; 4] = ["number", "expMonth", "expYear", "cvc"];

/// A tokenize body that is not a card: the field at fault, if one is, and what to send.
/// Messages name fields and forms, never a value sent (it could be card data).
struct BadCard {
    field: Option<&'static str>,
    message: String,
}

impl BadCard {
    fn new(field: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Reads a card from a JSON body by hand, since a deserializer's message could quote the
/// card number. Expiry month and year may be numbers or strings of digits (`12` or `"12"`),
/// as card forms hold them as text.
fn card_details(body: &[u8]) -> Result<CardDetails, BadCard> {
    let send = "send a JSON object with number, expMonth, expYear and cvc";
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) else {
        return Err(BadCard::new(None, send));
    };
    if fields
        .keys()
        .any(|name| !CARD_FIELDS.contains(&name.as_str()))
    {
        return Err(BadCard::new(
            None,
            format!("unknown field: {send}, and nothing else"),
        ));
    }
    let field = |name: &'static str| {
        fields
            .get(name)
            .ok_or_else(|| BadCard::new(Some(name), format!("{name} is missing: {send}")))
    };
    let text = |name: &'static str, form: &str| {
        field(name)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| BadCard::new(Some(name), format!("{name} must be a string of {form}")))
    };
    let whole_number = |name: &'static str, form: &str| {
        let value = field(name)?;
        value
            .as_i64()
            .or_else(|| {
                value
                    .as_str()
                    .filter(|digits| {
                        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
                    })
                    .and_then(|digits| digits.parse().ok())
            })
            .and_then(|number| i32::try_from(number).ok())
            .ok_or_else(|| {
                BadCard::new(
                    Some(name),
                    format!("{name} must be {form}, as a number or a string of digits"),
                )
            })
    };
    Ok(CardDetails {
        number: text("number", "digits, like \"4242 4242 4242 4242\"")?,
        exp_month: whole_number("expMonth", "the expiry month, 1 to 12 (12 or \"12\")")?,
        exp_year: whole_number("expYear", "the expiry year, four digits (2030 or \"2030\")")?,
        cvc: text("cvc", "3 or 4 digits, like \"123\"")?,
    })
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
/// brand and last 4 digits, or 400 with `error` and `message` (and `field` when one field
/// is at fault).
pub async fn tokenize(State(state): State<AppState>, body: Bytes) -> Response {
    let card = match card_details(&body) {
        Ok(card) => card,
        Err(bad) => {
            let body =
                json!({ "error": "invalid_request", "message": bad.message, "field": bad.field });
            return no_store((StatusCode::BAD_REQUEST, Json(body)).into_response());
        }
    };
    let today = state.deps.clock.now().date_naive();
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

/// When to run the jobs as of.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RunJobs {
    at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `POST /sandbox/run-jobs` with `{"at": "<RFC 3339>"}` (now when absent): runs every job due
/// as of that time (checkout expiry, voiding orders not captured in time, charging due
/// instalments) and answers what they did. A test clock for walking orders through life.
pub async fn run_jobs(State(state): State<AppState>, body: Bytes) -> Response {
    let request = if body.is_empty() {
        Ok(RunJobs { at: None })
    } else {
        serde_json::from_slice::<RunJobs>(&body)
    };
    let Ok(request) = request else {
        return no_store(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send JSON like {\"at\": \"2027-03-01T00:00:00Z\"}",
        ));
    };
    let at = request.at.unwrap_or_else(|| state.deps.clock.now());
    match crate::jobs::run_due(&state.deps, at).await {
        Ok(report) => no_store(Json(json!({ "at": at, "report": report })).into_response()),
        Err(err) => {
            tracing::error!(error = %err.describe(), "sandbox job run failed");
            no_store(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the jobs failed; see the server log",
            ))
        }
    }
}
