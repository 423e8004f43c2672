//! Background work that runs beside the HTTP server.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::{task::JoinHandle, time::MissedTickBehavior};

use crate::{
    events::{relay, webhooks},
    service::{
        ServiceResult, Services, checkouts,
        orders::collection::{self, JobReport},
    },
};

/// Most rows one job handles per round; a larger backlog takes several rounds.
const BATCH: u64 = 500;

/// Everything due as of `now`: open checkouts past their expiry are stored `EXPIRED`
/// (so lists and subscribers see it), orders not captured in time are voided, due
/// instalments are charged, then the outbox is relayed and due webhooks are sent.
/// Several instances may run it at once.
pub async fn run_due(services: &Services, now: DateTime<Utc>) -> ServiceResult<JobReport> {
    let mut report = JobReport::default();
    loop {
        let expired = checkouts::expire_due(services, now, BATCH).await?;
        report.expired_checkouts += expired.len();
        if (expired.len() as u64) < BATCH {
            break;
        }
    }
    loop {
        let voided = collection::void_lapsed(services, now, BATCH).await?;
        report.voided_orders += voided;
        if (voided as u64) < BATCH {
            break;
        }
    }
    loop {
        let round = collection::charge_due(services, now, BATCH).await?;
        report.paid_installments += round.paid_installments;
        report.failed_installments += round.failed_installments;
        if ((round.paid_installments + round.failed_installments) as u64) < BATCH {
            break;
        }
    }
    loop {
        let relayed = relay::relay_once(services, now, BATCH).await?;
        report.relayed_events += relayed;
        if (relayed as u64) < BATCH {
            break;
        }
    }
    loop {
        let sent = webhooks::deliver_due(services, now, BATCH).await?;
        report.webhooks_delivered += sent.delivered;
        report.webhooks_failed += sent.failed;
        if ((sent.delivered + sent.failed) as u64) < BATCH {
            break;
        }
    }
    Ok(report)
}

/// Every `every`, runs [`run_due`] as of the clock's now.
pub fn spawn_due_jobs(services: Services, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match run_due(&services, services.clock.now()).await {
                Ok(report) if report != JobReport::default() => {
                    tracing::info!(?report, "background jobs ran");
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err.describe(), "background jobs failed; retrying next round");
                }
            }
        }
    })
}

/// How often the outbox relay looks for events that no wake-up announced (those of other
/// instances, or left by a crash).
pub const RELAY_INTERVAL: Duration = Duration::from_millis(500);

/// Relays the outbox's new events to the event bus, a batch at a time: at once when this
/// process commits some, and every `every` for the rest.
pub fn spawn_outbox_relay(services: Services, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = services.events.wait_for_writes() => {}
            }
            loop {
                match relay::relay_once(&services, services.clock.now(), BATCH).await {
                    Ok(count) if count as u64 == BATCH => continue,
                    Ok(_) => break,
                    Err(err) => {
                        tracing::warn!(error = %err.describe(), "outbox relay failed; retrying next round");
                        break;
                    }
                }
            }
        }
    })
}

/// How often the webhook sender looks for due deliveries that no wake-up announced
/// (retries coming due, other instances' events).
pub const DELIVERY_INTERVAL: Duration = Duration::from_secs(1);

/// Sends due webhooks: at once when the relay queues some, and every `every` for retries.
pub fn spawn_webhook_delivery(services: Services, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = services.events.wait_for_deliveries() => {}
            }
            loop {
                match webhooks::deliver_due(&services, services.clock.now(), BATCH).await {
                    Ok(sent) if (sent.delivered + sent.failed) as u64 == BATCH => continue,
                    Ok(_) => break,
                    Err(err) => {
                        tracing::warn!(error = %err.describe(), "webhook delivery failed; retrying next round");
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
