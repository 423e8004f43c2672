//! Background work that runs beside the HTTP server.

use std::time::Duration;

use tokio::{task::JoinHandle, time::MissedTickBehavior};

use crate::service::{Services, checkouts};

/// Most checkouts expired in one transaction; a larger backlog takes several rounds.
const EXPIRY_BATCH: u64 = 500;

/// Every `every`, stores `EXPIRED` on open checkouts past their expiry, so lists, reports
/// and subscribers see it without anyone reading the checkout first.
pub fn spawn_checkout_expiry(services: Services, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            loop {
                match checkouts::expire_due(&services, EXPIRY_BATCH).await {
                    Ok(expired) if expired.len() as u64 == EXPIRY_BATCH => continue,
                    Ok(expired) => {
                        if !expired.is_empty() {
                            tracing::info!(count = expired.len(), "expired checkouts");
                        }
                        break;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err.describe(), "checkout expiry failed; retrying next round");
                        break;
                    }
                }
            }
        }
    })
}

/// How often the last use of API keys is written.
pub const KEY_USAGE_FLUSH: Duration = Duration::from_secs(30);

/// Every `every`, writes the last use of API keys noted since the previous round.
pub fn spawn_key_usage_flush(services: Services, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = services.key_usage.flush(&services.db).await {
                tracing::warn!(error = %err, "could not record the last use of API keys");
            }
        }
    })
}

/// Every minute, drops rate-limit buckets that have refilled, so memory stays bounded.
pub fn spawn_limiter_cleanup(services: Services) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(60));
        loop {
            ticker.tick().await;
            services.request_limiter.forget_idle();
            services.login_throttle.forget_idle();
        }
    })
}
