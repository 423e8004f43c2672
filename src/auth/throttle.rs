//! Login throttling: token buckets per account and per client address, so guessing one
//! account's password, or many accounts' from one place, is slowed to a crawl.

use std::{hash::Hash, net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock as _};

/// Attempts allowed per minute, per account and per client address.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Per account (the normalised email).
    pub per_account: NonZeroU32,
    /// Per client address.
    pub per_ip: NonZeroU32,
}

/// The two buckets every login attempt draws from.
pub struct LoginThrottle {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
}

fn wait<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Option<Duration> {
    limiter
        .check_key(key)
        .err()
        .map(|not_until| not_until.wait_time_from(governor::clock::DefaultClock::default().now()))
}

impl LoginThrottle {
    /// Buckets that refill `limits` attempts per minute.
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            accounts: RateLimiter::keyed(Quota::per_minute(limits.per_account)),
            addresses: RateLimiter::keyed(Quota::per_minute(limits.per_ip)),
        }
    }

    /// Takes one attempt for `account` from `ip`; when a bucket is empty, how long to wait.
    pub fn attempt(&self, account: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        let by_ip = ip.and_then(|ip| wait(&self.addresses, &ip));
        let by_account = wait(&self.accounts, &account.to_owned());
        match by_ip.into_iter().chain(by_account).max() {
            Some(wait) => Err(wait.max(Duration::from_secs(1))),
            None => Ok(()),
        }
    }

    /// Forgets keys whose buckets are full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.accounts.retain_recent();
        self.addresses.retain_recent();
    }
}

/// Request budgets, in query cost units (a GraphQL operation costs its complexity).
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Units a principal regains per second.
    pub per_principal_per_second: NonZeroU32,
    /// Most units a principal can spend at once.
    pub principal_burst: NonZeroU32,
    /// Units a client address regains per second.
    pub per_ip_per_second: NonZeroU32,
    /// Most units a client address can spend at once.
    pub ip_burst: NonZeroU32,
}

/// Why a request was refused by [`RequestLimiter::charge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The bucket is empty for now; retry after this long.
    RetryAfter(Duration),
    /// The request costs more than a full bucket holds; it can never pass.
    TooExpensive,
}

/// Token buckets per principal (a merchant, a consumer) and per client address.
pub struct RequestLimiter {
    principals: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
}

fn charge_n<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    cost: NonZeroU32,
) -> Result<(), Refusal> {
    match limiter.check_key_n(key, cost) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(not_until)) => Err(Refusal::RetryAfter(
            not_until.wait_time_from(governor::clock::DefaultClock::default().now()),
        )),
        Err(_) => Err(Refusal::TooExpensive),
    }
}

impl RequestLimiter {
    /// Buckets with these limits.
    pub fn new(limits: RequestLimits) -> Self {
        let quota = |rate, burst| Quota::per_second(rate).allow_burst(burst);
        Self {
            principals: RateLimiter::keyed(quota(
                limits.per_principal_per_second,
                limits.principal_burst,
            )),
            addresses: RateLimiter::keyed(quota(limits.per_ip_per_second, limits.ip_burst)),
        }
    }

    /// Takes `cost` units from the principal's bucket (if any) and the address's bucket.
    pub fn charge(
        &self,
        principal: Option<String>,
        ip: Option<IpAddr>,
        cost: u32,
    ) -> Result<(), Refusal> {
        let cost = NonZeroU32::new(cost).unwrap_or(NonZeroU32::MIN);
        if let Some(ip) = ip {
            charge_n(&self.addresses, &ip, cost)?;
        }
        if let Some(principal) = principal {
            charge_n(&self.principals, &principal, cost)?;
        }
        Ok(())
    }

    /// Forgets keys whose buckets are full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.principals.retain_recent();
        self.addresses.retain_recent();
    }
}
