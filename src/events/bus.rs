//! Change notifications between requests of one process, feeding GraphQL subscriptions.
//! Checkout changes are told after the change commits, so a subscriber never sees a
//! rolled-back state; outbox events come from the relay, at least once each.

use tokio::sync::broadcast;
use uuid::Uuid;

use super::relay::PublishedEvent;

/// How many notifications a slow subscriber may fall behind before it skips ahead.
const CAPACITY: usize = 1024;

/// A checkout's stored state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutChanged {
    /// The checkout that changed.
    pub checkout_id: Uuid,
}

/// Fans change notifications out to every live subscription.
#[derive(Debug, Clone)]
pub struct EventBus {
    checkouts: broadcast::Sender<CheckoutChanged>,
    events: broadcast::Sender<PublishedEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            checkouts: broadcast::channel(CAPACITY).0,
            events: broadcast::channel(CAPACITY).0,
        }
    }
}

impl EventBus {
    /// Tells subscribers a checkout changed; nobody listening is fine.
    pub fn checkout_changed(&self, checkout_id: Uuid) {
        let _ = self.checkouts.send(CheckoutChanged { checkout_id });
    }

    /// Hands a relayed outbox event to every listener; nobody listening is fine.
    pub fn publish(&self, event: PublishedEvent) {
        let _ = self.events.send(event);
    }

    /// Receives relayed outbox events from now on. An event may arrive twice (delivery is
    /// at least once): listeners drop ids they have seen.
    pub fn subscribe_events(&self) -> broadcast::Receiver<PublishedEvent> {
        self.events.subscribe()
    }

    /// Receives checkout changes from now on.
    pub fn subscribe_checkouts(&self) -> broadcast::Receiver<CheckoutChanged> {
        self.checkouts.subscribe()
    }
}
