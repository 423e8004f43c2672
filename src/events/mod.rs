//! Change notifications between requests of one process, feeding GraphQL subscriptions.
//! Published after the change commits, so a subscriber never sees a rolled-back state.

use tokio::sync::broadcast;
use uuid::Uuid;

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
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            checkouts: broadcast::channel(CAPACITY).0,
        }
    }
}

impl EventBus {
    /// Tells subscribers a checkout changed; nobody listening is fine.
    pub fn checkout_changed(&self, checkout_id: Uuid) {
        let _ = self.checkouts.send(CheckoutChanged { checkout_id });
    }

    /// Receives checkout changes from now on.
    pub fn subscribe_checkouts(&self) -> broadcast::Receiver<CheckoutChanged> {
        self.checkouts.subscribe()
    }
}
