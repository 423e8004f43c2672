//! Signed returns: when the shopper goes back to the merchant (to its confirm or cancel
//! URL), the URL carries the checkout's outcome and an HMAC-SHA256 signature under the
//! merchant's return signing secret, so the merchant's page can trust the outcome without
//! asking the API. The signature is the one webhooks carry ([`super::signing`]):
//! `HMAC-SHA256(secret, "<timestamp>.<body>")` in hex, where the body is
//! `"<checkout id>.<order id>.<status>"` (the order id empty when there is none). Global IDs
//! and statuses never contain a `.`, so the body splits one way only.

use url::Url;

use super::signing;

/// The checkout's global ID.
pub const CHECKOUT_ID_PARAM: &str = "paylater_checkout_id";
/// The order's global ID; only when the checkout made one.
pub const ORDER_ID_PARAM: &str = "paylater_order_id";
/// The checkout's status as the shopper left it (`COMPLETED`, `OPEN`, `CANCELLED`, …).
pub const STATUS_PARAM: &str = "paylater_status";
/// When the URL was signed, in seconds since the epoch.
pub const TIMESTAMP_PARAM: &str = "paylater_timestamp";
/// `HMAC-SHA256(secret, "<timestamp>.<checkout id>.<order id>.<status>")`, lowercase hex.
pub const SIGNATURE_PARAM: &str = "paylater_signature";

const PARAMS: [&str; 5] = [
    CHECKOUT_ID_PARAM,
    ORDER_ID_PARAM,
    STATUS_PARAM,
    TIMESTAMP_PARAM,
    SIGNATURE_PARAM,
];

/// What the merchant learns as the shopper comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnOutcome<'a> {
    /// The checkout's global ID.
    pub checkout_id: &'a str,
    /// The order's global ID, when the checkout made one.
    pub order_id: Option<&'a str>,
    /// The checkout's status.
    pub status: &'a str,
}

impl ReturnOutcome<'_> {
    /// The signed text that follows the timestamp: `"<checkout id>.<order id>.<status>"`.
    pub fn signed_body(&self) -> String {
        format!(
            "{}.{}.{}",
            self.checkout_id,
            self.order_id.unwrap_or_default(),
            self.status
        )
    }
}

/// `url` with the outcome, the signing time and the signature appended as query
/// parameters. The URL's own parameters and fragment stay; parameters of the same names
/// it already had are replaced, so only paylater's values reach the merchant.
pub fn signed_url(
    url: &str,
    secret: &str,
    outcome: &ReturnOutcome<'_>,
    timestamp: i64,
) -> Result<String, url::ParseError> {
    let mut url = Url::parse(url)?;
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !PARAMS.contains(&name.as_ref()))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let signature = signing::signature_hex(secret, timestamp, outcome.signed_body().as_bytes());
    let timestamp = timestamp.to_string();
    {
        let mut query = url.query_pairs_mut();
        query.clear().extend_pairs(kept);
        query.append_pair(CHECKOUT_ID_PARAM, outcome.checkout_id);
        if let Some(order_id) = outcome.order_id {
            query.append_pair(ORDER_ID_PARAM, order_id);
        }
        query
            .append_pair(STATUS_PARAM, outcome.status)
            .append_pair(TIMESTAMP_PARAM, &timestamp)
            .append_pair(SIGNATURE_PARAM, &signature);
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPLETED: ReturnOutcome<'static> = ReturnOutcome {
        checkout_id: "Q2hlY2tvdXQ6MDE5NGY1YTAwMDAwNzAwMDgwMDAwMDAwMDAwMDAwMDE",
        order_id: Some("T3JkZXI6MDE5NGY1YTAwMDAwNzAwMDgwMDAwMDAwMDAwMDAwMDI"),
        status: "COMPLETED",
    };

    #[test]
    fn the_documented_example_holds() {
        // README, "Signed returns".
        let url = signed_url(
            "https://shop.example/paylater/confirm?cart=42",
            "rtsec_test_secret",
            &COMPLETED,
            1_800_000_000,
        )
        .unwrap();
        assert_eq!(
            url,
            "https://shop.example/paylater/confirm?cart=42\
             &paylater_checkout_id=Q2hlY2tvdXQ6MDE5NGY1YTAwMDAwNzAwMDgwMDAwMDAwMDAwMDAwMDE\
             &paylater_order_id=T3JkZXI6MDE5NGY1YTAwMDAwNzAwMDgwMDAwMDAwMDAwMDAwMDI\
             &paylater_status=COMPLETED&paylater_timestamp=1800000000\
             &paylater_signature=8e189b0505aaa6d815f23cc393ee3f3ea120d8b1c416cd8446d1e2e50019e453"
        );
    }

    #[test]
    fn the_signature_is_the_webhook_signature_of_the_body() {
        let url = signed_url("https://shop.example/ok", "s3cret", &COMPLETED, 1_000).unwrap();
        let signature = Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(name, _)| name == SIGNATURE_PARAM)
            .unwrap()
            .1
            .into_owned();
        let header = format!("t=1000,v1={signature}");
        let body = COMPLETED.signed_body();
        assert_eq!(
            signing::verify("s3cret", None, Some(&header), body.as_bytes(), 1_000),
            Ok(())
        );
        assert!(signing::verify("other", None, Some(&header), body.as_bytes(), 1_000).is_err());
    }

    #[test]
    fn a_cancel_return_has_no_order_and_keeps_the_fragment() {
        let outcome = ReturnOutcome {
            checkout_id: "Q2hlY2tvdXQ6eA",
            order_id: None,
            status: "OPEN",
        };
        assert_eq!(outcome.signed_body(), "Q2hlY2tvdXQ6eA..OPEN");
        let url = signed_url("http://localhost:3000/cancel#top", "s", &outcome, 7).unwrap();
        assert!(
            url.starts_with(
                "http://localhost:3000/cancel?paylater_checkout_id=Q2hlY2tvdXQ6eA\
                 &paylater_status=OPEN&paylater_timestamp=7&paylater_signature="
            ),
            "{url}"
        );
        assert!(url.ends_with("#top"), "{url}");
    }

    #[test]
    fn parameters_of_the_same_names_in_the_merchant_url_are_replaced() {
        let url = signed_url(
            "https://shop.example/ok?paylater_status=COMPLETED&paylater_order_id=forged&a=1",
            "s",
            &ReturnOutcome {
                status: "CANCELLED",
                order_id: None,
                ..COMPLETED
            },
            7,
        )
        .unwrap();
        let pairs: Vec<(String, String)> = Url::parse(&url)
            .unwrap()
            .query_pairs()
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        let named = |name: &str| pairs.iter().filter(|(n, _)| n == name).count();
        assert_eq!(named("a"), 1);
        assert_eq!(named(STATUS_PARAM), 1);
        assert_eq!(named(ORDER_ID_PARAM), 0);
        assert!(pairs.contains(&(STATUS_PARAM.to_owned(), "CANCELLED".to_owned())));
    }
}
