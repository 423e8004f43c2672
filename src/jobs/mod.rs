//! Background work that runs beside the HTTP server. Each job takes "now" as an argument,
//! claims its rows so several instances may run it at once, and handles a batch per
//! round until its backlog is gone: checkout expiry, payment reconciliation, voids and
//! instalment collection (through the services), the outbox [`relay`] with its
//! [`webhook_fanout`], the [`webhook_delivery`], and the [`retention`] of published events
//! and finished deliveries.

pub mod relay;
pub mod retention;
pub mod webhook_delivery;
pub mod webhook_fanout;

use std::{future::Future, ops::AddAssign, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::{task::JoinHandle, time::MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::service::{
    Deps, ServiceResult, attempts, checkouts,
    orders::{self, collection},
};

/// Most rows one job handles per round; a larger backlog takes several rounds.
const BATCH: usize = 500;

/// What a run of the jobs did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobReport {
    /// Open checkouts stored as expired.
    pub expired_checkouts: usize,
    /// Instalments charged successfully.
    pub paid_installments: usize,
    /// Instalment charges that failed (to be retried, or now overdue).
    pub failed_installments: usize,
    /// Orders voided because their capture window closed.
    pub voided_orders: usize,
    /// Payments left pending by their requests that the reconciler settled.
    pub reconciled_payments: usize,
    /// Payments the card gateway has not answered yet (asked again later).
    pub pending_payments: usize,
    /// Outbox events relayed to subscriptions and webhooks.
    pub relayed_events: usize,
    /// Webhook attempts answered with a 2xx.
    pub webhooks_delivered: usize,
    /// Webhook attempts that failed.
    pub webhooks_failed: usize,
    /// Published outbox events deleted after their retention.
    pub pruned_outbox_events: usize,
    /// Finished webhook deliveries deleted after their retention.
    pub pruned_webhook_deliveries: usize,
}

impl JobReport {
    /// How many rows the run handled, of every kind.
    fn handled(&self) -> usize {
        self.expired_checkouts
            + self.paid_installments
            + self.failed_installments
            + self.voided_orders
            + self.reconciled_payments
            + self.pending_payments
            + self.relayed_events
            + self.webhooks_delivered
            + self.webhooks_failed
            + self.pruned_outbox_events
            + self.pruned_webhook_deliveries
    }
}

impl AddAssign for JobReport {
    fn add_assign(&mut self, other: Self) {
        self.expired_checkouts += other.expired_checkouts;
        self.paid_installments += other.paid_installments;
        self.failed_installments += other.failed_installments;
        self.voided_orders += other.voided_orders;
        self.reconciled_payments += other.reconciled_payments;
        self.pending_payments += other.pending_payments;
        self.relayed_events += other.relayed_events;
        self.webhooks_delivered += other.webhooks_delivered;
        self.webhooks_failed += other.webhooks_failed;
        self.pruned_outbox_events += other.pruned_outbox_events;
        self.pruned_webhook_deliveries += other.pruned_webhook_deliveries;
    }
}

/// Runs `round` until one handles less than a full batch; returns what they did together.
async fn drain<Fut>(mut round: impl FnMut() -> Fut) -> ServiceResult<JobReport>
where
    Fut: Future<Output = ServiceResult<JobReport>>,
{
    let mut total = JobReport::default();
    loop {
        let done = round().await?;
        total += done;
        if done.handled() < BATCH {
            return Ok(total);
        }
    }
}

/// A kind of background work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Everything due by time: see [`run_due`].
    Due,
    /// Relaying the outbox to subscriptions and webhook deliveries.
    Relay,
    /// Sending due webhooks.
    Webhooks,
}

impl Job {
    /// Runs the job once as of `now`, through its whole backlog.
    pub async fn run(self, deps: &Deps, now: DateTime<Utc>) -> ServiceResult<JobReport> {
        match self {
            Self::Due => run_due(deps, now).await,
            Self::Relay => relay_all(deps, now).await,
            Self::Webhooks => deliver_all(deps, now).await,
        }
    }

    /// Waits for this process to announce work for the job (never, for time-driven work).
    async fn woken(self, deps: &Deps) {
        match self {
            Self::Due => std::future::pending().await,
            Self::Relay => deps.events.wait_for_writes().await,
            Self::Webhooks => deps.events.wait_for_deliveries().await,
        }
    }
}

/// Everything due as of `now`: open checkouts past their expiry are stored `EXPIRED`
/// (so lists and subscribers see it), payments left pending are reconciled, orders not
/// captured in time are voided, due instalments are charged, then the outbox is relayed,
/// due webhooks are sent, and published events and finished deliveries past their
/// retention are deleted.
pub async fn run_due(deps: &Deps, now: DateTime<Utc>) -> ServiceResult<JobReport> {
    let limit = BATCH as u64;
    let mut report = drain(|| async {
        Ok(JobReport {
            expired_checkouts: checkouts::expire_due(deps, now, limit).await?.len(),
            ..JobReport::default()
        })
    })
    .await?;
    report += drain(|| async {
        let reconciled = attempts::reconcile(deps, now, limit, orders::settlement_for).await?;
        Ok(JobReport {
            reconciled_payments: reconciled.settled,
            pending_payments: reconciled.unanswered,
            ..JobReport::default()
        })
    })
    .await?;
    report += drain(|| async {
        let voided = collection::void_lapsed(deps, now, limit).await?;
        Ok(JobReport {
            voided_orders: voided.voided,
            pending_payments: voided.pending,
            ..JobReport::default()
        })
    })
    .await?;
    report += drain(|| async {
        let charged = collection::charge_due(deps, now, limit).await?;
        Ok(JobReport {
            paid_installments: charged.paid,
            failed_installments: charged.failed,
            pending_payments: charged.pending,
            ..JobReport::default()
        })
    })
    .await?;
    report += relay_all(deps, now).await?;
    report += deliver_all(deps, now).await?;
    report += prune_all(deps, now).await?;
    crate::metrics::job_run(&report);
    Ok(report)
}

/// Relays every unpublished outbox event.
async fn relay_all(deps: &Deps, now: DateTime<Utc>) -> ServiceResult<JobReport> {
    drain(|| async {
        Ok(JobReport {
            relayed_events: relay::relay_once(deps, now, BATCH as u64).await?,
            ..JobReport::default()
        })
    })
    .await
}

/// Sends every webhook due at `now`.
async fn deliver_all(deps: &Deps, now: DateTime<Utc>) -> ServiceResult<JobReport> {
    drain(|| async {
        let sent = webhook_delivery::deliver_due(deps, now, BATCH as u64).await?;
        Ok(JobReport {
            webhooks_delivered: sent.delivered,
            webhooks_failed: sent.failed,
            ..JobReport::default()
        })
    })
    .await
}

/// Deletes everything past its retention at `now`, a batch of each kind per round.
async fn prune_all(deps: &Deps, now: DateTime<Utc>) -> ServiceResult<JobReport> {
    drain(|| async {
        let pruned = retention::prune_once(deps, now, BATCH as u64).await?;
        Ok(JobReport {
            pruned_outbox_events: pruned.outbox_events,
            pruned_webhook_deliveries: pruned.webhook_deliveries,
            ..JobReport::default()
        })
    })
    .await
}

/// How often the outbox relay looks for events that no wake-up announced (those of other
/// instances, or left by a crash).
pub const RELAY_INTERVAL: Duration = Duration::from_millis(500);

/// How often the webhook sender looks for due deliveries that no wake-up announced
/// (retries coming due, other instances' events).
pub const DELIVERY_INTERVAL: Duration = Duration::from_secs(1);

/// Every job an instance runs in the background, started and stopped together.
pub struct Background {
    stopping: CancellationToken,
    jobs: Vec<JoinHandle<()>>,
}

impl Background {
    /// Starts due work every `sweep` (expiries, collections, voids, retention), the
    /// key-usage flush, the rate-limiter cleanup, the outbox relay and webhook delivery.
    pub fn start(deps: &Deps, sweep: Duration) -> Self {
        let stopping = CancellationToken::new();
        let jobs = vec![
            spawn(deps.clone(), Job::Due, sweep, stopping.clone()),
            spawn_key_usage_flush(deps.clone(), KEY_USAGE_FLUSH, stopping.clone()),
            spawn_limiter_cleanup(deps.clone(), stopping.clone()),
            spawn(deps.clone(), Job::Relay, RELAY_INTERVAL, stopping.clone()),
            spawn(
                deps.clone(),
                Job::Webhooks,
                DELIVERY_INTERVAL,
                stopping.clone(),
            ),
        ];
        Self { stopping, jobs }
    }

    /// Stops the jobs at shutdown: at once, none starts another round; the rounds running
    /// finish (a webhook in flight is sent and recorded, a batch of charges settles), for
    /// at most `grace`, after which what still runs is cut off. Every job is safe to cut
    /// off (its claims lapse and another instance takes the work over), but finishing
    /// spares that wait.
    pub fn stop(mut self, grace: Duration) -> impl Future<Output = ()> {
        self.stopping.cancel();
        async move {
            let finished = futures_util::future::join_all(self.jobs.iter_mut());
            if tokio::time::timeout(grace, finished).await.is_err() {
                tracing::warn!(
                    ?grace,
                    "background jobs still running at the end of the grace period; cut off"
                );
                self.jobs.iter().for_each(JoinHandle::abort);
            }
        }
    }
}

/// Runs `job` as of the clock's now every `every`, and at once when this process announces
/// work for it, until `stopping` is cancelled (a round running then finishes). A failed
/// run is logged and tried again next time.
pub fn spawn(deps: Deps, job: Job, every: Duration, stopping: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = stopping.cancelled() => break,
                _ = ticker.tick() => {}
                () = job.woken(&deps) => {}
            }
            match job.run(&deps, deps.clock.now()).await {
                Ok(report) if job == Job::Due && report != JobReport::default() => {
                    tracing::info!(?report, "background jobs ran");
                }
                Ok(report) if report != JobReport::default() => {
                    tracing::debug!(?job, ?report, "background job ran");
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(?job, error = %err.describe(), "background job failed; retrying next round");
                }
            }
        }
    })
}

/// How often the last use of API keys is written.
pub const KEY_USAGE_FLUSH: Duration = Duration::from_secs(30);

/// Every `every`, writes the last use of API keys noted since the previous round, until
/// `stopping` (the server writes the last ones as it stops).
pub fn spawn_key_usage_flush(
    deps: Deps,
    every: Duration,
    stopping: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = stopping.cancelled() => break,
                _ = ticker.tick() => {}
            }
            if let Err(err) = deps.key_usage.flush(&deps.db).await {
                tracing::warn!(error = %err, "could not record the last use of API keys");
            }
        }
    })
}

/// Every minute, drops rate-limit buckets that have refilled, so memory stays bounded,
/// until `stopping`.
pub fn spawn_limiter_cleanup(deps: Deps, stopping: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                biased;
                () = stopping.cancelled() => break,
                _ = ticker.tick() => {}
            }
            deps.request_limiter.forget_idle();
            deps.login_throttle.forget_idle();
        }
    })
}
