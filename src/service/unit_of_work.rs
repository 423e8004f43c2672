//! One change to the database as a unit: its writes, the audit entries that say who made
//! it and the events others must hear of, committed together or not at all.
//!
//! Every use case that changes data begins a [`UnitOfWork`], writes through
//! [`UnitOfWork::txn`], notes its audit entries and events as it goes, and ends with
//! [`UnitOfWork::commit`], which writes what was noted (one statement per table) and then
//! commits. Dropping it instead rolls everything back, noted entries included.

use chrono::{DateTime, Utc};
use entity::{audit_log, outbox_event};
use sea_orm::{DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel};
use serde_json::Value;
use uuid::Uuid;

use super::{
    Deps,
    audit::{self, Actor},
    outbox::{self, Event},
};
use crate::{db::begin_write, events::EventBus};

/// A write transaction with the audit entries and events of its change.
pub struct UnitOfWork<'a> {
    txn: DatabaseTransaction,
    bus: &'a EventBus,
    entries: Vec<audit_log::Model>,
    events: Vec<outbox_event::Model>,
}

impl<'a> UnitOfWork<'a> {
    /// Begins a change (a write transaction, see [`begin_write`]).
    pub async fn begin(deps: &'a Deps) -> Result<Self, DbErr> {
        Ok(Self {
            txn: begin_write(&deps.db).await?,
            bus: &deps.events,
            entries: Vec::new(),
            events: Vec::new(),
        })
    }

    /// The transaction the change's writes go through.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Notes that `actor` did `action` to `target` (type, id) at `at`; written on commit.
    pub fn audit(
        &mut self,
        actor: &Actor,
        action: &str,
        target: Option<(&str, Uuid)>,
        details: Value,
        at: DateTime<Utc>,
    ) {
        self.entries
            .push(audit::entry(actor, action, target, details, at));
    }

    /// Notes an event of the change at `at`; written on commit and published after it.
    pub fn publish(&mut self, event: Event, at: DateTime<Utc>) {
        self.events.push(outbox::row(event, at));
    }

    /// Notes a change that is both audited and announced: an audit entry named after the
    /// event, keeping its data, and the event.
    pub fn record_change(&mut self, actor: &Actor, event: Event, at: DateTime<Utc>) {
        self.audit(
            actor,
            event.event_type.as_str(),
            Some((event.event_type.aggregate_type(), event.aggregate_id)),
            event.data.clone(),
            at,
        );
        self.publish(event, at);
    }

    /// Writes the noted audit entries and events, commits, and wakes the outbox relay
    /// when there were events, so they go out now rather than at its next round.
    pub async fn commit(self) -> Result<(), DbErr> {
        let announce = !self.events.is_empty();
        if !self.entries.is_empty() {
            audit_log::Entity::insert_many(
                self.entries
                    .into_iter()
                    .map(IntoActiveModel::into_active_model),
            )
            .exec_without_returning(&self.txn)
            .await?;
        }
        if announce {
            outbox_event::Entity::insert_many(
                self.events
                    .into_iter()
                    .map(IntoActiveModel::into_active_model),
            )
            .exec_without_returning(&self.txn)
            .await?;
        }
        self.txn.commit().await?;
        if announce {
            self.bus.outbox_written();
        }
        Ok(())
    }
}
