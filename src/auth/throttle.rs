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
