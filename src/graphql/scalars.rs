//! Scalars with exact, documented wire formats: money never travels as a float, instants
//! are RFC 3339 UTC, dates are ISO dates.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

use crate::domain::{Currency, parse_plain_decimal};

/// A decimal number sent as a string, e.g. `"129.90"`, so that no client turns it into a
/// binary float. Inputs accept a string in plain decimal form (digits, an optional leading
/// `-`, an optional `.` followed by digits; no exponent, `+` sign or spaces) or an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal(pub rust_decimal::Decimal);

/// A decimal number sent as a string, e.g. `"129.90"`, so that no client turns it into a
/// binary float. Inputs accept a string in plain decimal form (digits, an optional leading
/// `-`, an optional `.` followed by digits; no exponent, `+` sign or spaces) or an integer.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => parse_plain_decimal(text).map(Decimal).map_err(|err| {
                InputValueError::custom(format!("{text:?} is not a plain decimal number: {err}"))
            }),
            Value::Number(number) if number.is_i64() => number
                .as_i64()
                .map(|n| Decimal(n.into()))
                .ok_or_else(|| InputValueError::custom("not an integer")),
            Value::Number(_) => Err(InputValueError::custom(
                "send decimals as strings, e.g. \"19.99\", never as floats",
            )),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// An instant in time, as an RFC 3339 string in UTC with millisecond precision, e.g.
/// `"2026-11-23T10:15:30.000Z"`. Inputs accept any RFC 3339 offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant in time, as an RFC 3339 string in UTC with millisecond precision, e.g.
/// `"2026-11-23T10:15:30.000Z"`. Inputs accept any RFC 3339 offset.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|at| DateTime(at.with_timezone(&Utc)))
            .map_err(|_| InputValueError::custom(format!("{text:?} is not an RFC 3339 date-time")))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

/// A calendar date as an ISO 8601 string, e.g. `"2026-12-31"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar date as an ISO 8601 string, e.g. `"2026-12-31"`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Date)
            .map_err(|_| {
                InputValueError::custom(format!("{text:?} is not an ISO date (YYYY-MM-DD)"))
            })
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An ISO 4217 currency code that paylater accepts: EUR, GBP, USD, CHF, SEK, NOK, DKK,
/// PLN, CZK, HUF, RON, BGN or ISK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrencyCode(pub Currency);

/// An ISO 4217 currency code that paylater accepts: EUR, GBP, USD, CHF, SEK, NOK, DKK,
/// PLN, CZK, HUF, RON, BGN or ISK.
#[Scalar(name = "CurrencyCode")]
impl ScalarType for CurrencyCode {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        text.parse::<Currency>()
            .map(CurrencyCode)
            .map_err(|err| InputValueError::custom(err.to_string()))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.code().to_owned())
    }
}
