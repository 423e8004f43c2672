//! Webhook rules: which URLs may receive events, when a failed delivery is tried again, and
//! when an endpoint that keeps failing is disabled.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use url::{Host, Url};

/// Longest URL an endpoint may have.
pub const MAX_URL_LENGTH: usize = 2048;
/// The wait before the second attempt, before jitter; each later wait doubles.
pub const FIRST_RETRY: Duration = Duration::seconds(30);
/// The longest wait between two attempts, before jitter.
pub const LONGEST_RETRY: Duration = Duration::hours(4);

crate::vocabulary! {
    /// Whether an endpoint receives events.
    pub enum EndpointStatus as "endpoint status" {
        /// Events are sent.
        Enabled = "ENABLED",
        /// Every attempt failed for the whole retry window; nothing is sent until the
        /// merchant sets the endpoint again.
        Disabled = "DISABLED",
    }
}

crate::vocabulary! {
    /// Where a delivery is.
    pub enum DeliveryStatus as "delivery status" {
        /// Not yet answered with a 2xx; another attempt is planned (or running).
        Pending = "PENDING",
        /// An attempt was answered with a 2xx.
        Succeeded = "SUCCEEDED",
        /// Every attempt failed for the whole retry window, or the endpoint was disabled.
        Failed = "FAILED",
    }
}

/// How strict the rules for endpoint URLs are (production: both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Only `https` URLs.
    pub https_only: bool,
    /// Only hosts on public addresses: no private, loopback, link-local or other
    /// special-purpose ones.
    pub public_addresses_only: bool,
}

/// Why a URL cannot receive webhooks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not an absolute URL.
    #[error("is not an absolute URL")]
    Invalid,
    /// Longer than [`MAX_URL_LENGTH`].
    #[error("is longer than {MAX_URL_LENGTH} characters")]
    TooLong,
    /// Neither http nor https, or http where https is required.
    #[error("must use https")]
    NotHttps,
    /// Carries a user name or password.
    #[error("must not carry credentials; authenticate our requests by their signature")]
    Credentials,
    /// Names, or resolves to, an address that is not public.
    #[error("must reach a public address, not a private, loopback or link-local one")]
    NotPublic,
}

/// Checks an endpoint URL by its text (a host name's addresses are checked when it is
/// resolved, see [`is_public`]).
pub fn check_url(text: &str, policy: UrlPolicy) -> Result<Url, UrlError> {
    if text.len() > MAX_URL_LENGTH {
        return Err(UrlError::TooLong);
    }
    let url = Url::parse(text.trim()).map_err(|_| UrlError::Invalid)?;
    match url.scheme() {
        "https" => {}
        "http" if !policy.https_only => {}
        _ => return Err(UrlError::NotHttps),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    let literal = match url.host() {
        None => return Err(UrlError::Invalid),
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(Host::Domain(_)) => None,
    };
    if policy.public_addresses_only && literal.is_some_and(|ip| !is_public(ip)) {
        return Err(UrlError::NotPublic);
    }
    Ok(url)
}

/// Whether an address is on the public internet: not private (RFC 1918, unique local),
/// loopback, link-local, unspecified, shared (CGNAT), benchmarking, documentation,
/// multicast or reserved. IPv4-mapped IPv6 addresses are judged as their IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            let [a, b, ..] = ip.octets();
            !(ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_documentation()
                || ip.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || (a == 192 && b == 0 && ip.octets()[2] == 0))
        }
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = ip.segments()[0];
            !(ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && ip.segments()[1] == 0x0db8)
        }
    }
}

/// The wait after attempt `attempt` (from 1) failed: [`FIRST_RETRY`] doubling per attempt
/// up to [`LONGEST_RETRY`], of which the second half is scaled by `jitter` (in `[0, 1)`),
/// so that endpoints failing together are not retried together. Until the longest wait is
/// reached, each wait is longer than the one before, whatever the jitter.
pub fn retry_delay(attempt: u32, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let full = FIRST_RETRY
        .checked_mul(1 << doublings)
        .map_or(LONGEST_RETRY, |wait| wait.min(LONGEST_RETRY));
    let half = full.num_milliseconds() / 2;
    let spread = (half as f64 * jitter.clamp(0.0, 1.0 - f64::EPSILON)) as i64;
    Duration::milliseconds(half + spread)
}

/// When to try a delivery created at `created_at` again after attempt `attempt` failed
/// at `now`, or `None` when its retry window has passed. The last try falls at the end of
/// the window.
pub fn next_attempt(
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    attempt: u32,
    window: Duration,
    jitter: f64,
) -> Option<DateTime<Utc>> {
    let deadline = created_at + window;
    (now < deadline).then(|| (now + retry_delay(attempt, jitter)).min(deadline))
}

/// Whether an endpoint failing since `failing_since` has failed for the whole window and
/// should be disabled.
pub fn should_disable(failing_since: DateTime<Utc>, now: DateTime<Utc>, window: Duration) -> bool {
    now - failing_since >= window
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STRICT: UrlPolicy = UrlPolicy {
        https_only: true,
        public_addresses_only: true,
    };
    const LAX: UrlPolicy = UrlPolicy {
        https_only: false,
        public_addresses_only: false,
    };

    #[test]
    fn urls_are_checked_by_the_policy() {
        assert!(check_url("https://shop.example/hooks", STRICT).is_ok());
        assert_eq!(
            check_url("http://shop.example/hooks", STRICT),
            Err(UrlError::NotHttps)
        );
        assert!(check_url("http://127.0.0.1:9000/hooks", LAX).is_ok());
        assert_eq!(
            check_url("ftp://shop.example", LAX),
            Err(UrlError::NotHttps)
        );
        assert_eq!(
            check_url("https://user:pw@shop.example", STRICT),
            Err(UrlError::Credentials)
        );
        assert_eq!(check_url("not a url", STRICT), Err(UrlError::Invalid));
        for private in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://192.168.0.1/",
            "https://172.16.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
        ] {
            assert_eq!(
                check_url(private, STRICT),
                Err(UrlError::NotPublic),
                "{private}"
            );
        }
        assert!(check_url("https://93.184.215.14/", STRICT).is_ok());
        assert!(check_url("https://[2a00:1450:4001::1]/", STRICT).is_ok());
        let long = format!("https://shop.example/{}", "a".repeat(MAX_URL_LENGTH));
        assert_eq!(check_url(&long, STRICT), Err(UrlError::TooLong));
    }

    #[test]
    fn waits_double_up_to_the_longest() {
        assert_eq!(retry_delay(1, 0.0), Duration::seconds(15));
        assert_eq!(retry_delay(2, 0.0), Duration::seconds(30));
        assert_eq!(retry_delay(3, 0.999_999), Duration::milliseconds(119_999));
        assert_eq!(retry_delay(40, 0.0), LONGEST_RETRY / 2);
    }

    proptest! {
        #[test]
        fn waits_grow_until_the_longest_whatever_the_jitter(
            attempt in 1u32..40, a in 0.0f64..1.0, b in 0.0f64..1.0,
        ) {
            let this = retry_delay(attempt, a);
            let next = retry_delay(attempt + 1, b);
            prop_assert!(this > Duration::zero());
            prop_assert!(this <= LONGEST_RETRY);
            if attempt < 9 {
                prop_assert!(next > this, "{next} after {this}");
            }
        }

        #[test]
        fn retries_stay_inside_the_window(
            attempt in 1u32..40, elapsed in 0i64..200_000, jitter in 0.0f64..1.0,
        ) {
            let created = DateTime::<Utc>::UNIX_EPOCH;
            let window = Duration::hours(24);
            let now = created + Duration::seconds(elapsed);
            match next_attempt(created, now, attempt, window, jitter) {
                Some(at) => {
                    prop_assert!(now < created + window);
                    prop_assert!(at > now && at <= created + window);
                }
                None => prop_assert!(now >= created + window),
            }
        }
    }
}
